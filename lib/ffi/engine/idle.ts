/**
 * Idle-timeout bookkeeping for a worker: every connection has the same timeout, so
 * ordering them by their last activity is enough. A doubly linked list does it in O(1)
 * per read (move to the tail) and per check (look at the head), with no timers at all:
 * the worker passes {@link IdleList.nextTimeout} to epoll_wait(2). Pure.
 *
 * @module
 */

/** A member of an {@link IdleList} (the connection object itself carries the links). */
export interface IdleLink {
  idlePrev: IdleLink | null;
  idleNext: IdleLink | null;
  /** When it last saw data (ms, the clock the list is given). */
  lastActive: number;
}

/** Members ordered by last activity, oldest first. */
export class IdleList<T extends IdleLink> {
  #head: T | null = null;
  #tail: T | null = null;
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Adds `m` (not yet in the list) as active at `now`. */
  add(m: T, now: number): void {
    m.lastActive = now;
    m.idlePrev = this.#tail;
    m.idleNext = null;
    if (this.#tail) this.#tail.idleNext = m;
    else this.#head = m;
    this.#tail = m;
  }

  /** Removes `m`; harmless when it is not in the list. */
  remove(m: T): void {
    if (m.idlePrev) m.idlePrev.idleNext = m.idleNext;
    else if (this.#head === m) this.#head = m.idleNext as T | null;
    else return;
    if (m.idleNext) m.idleNext.idlePrev = m.idlePrev;
    else this.#tail = m.idlePrev as T | null;
    m.idlePrev = m.idleNext = null;
  }

  /** Marks `m` active at `now` (moves it to the tail). */
  touch(m: T, now: number): void {
    if (this.#tail === m) {
      m.lastActive = now;
      return;
    }
    this.remove(m);
    this.add(m, now);
  }

  /** The oldest member whose timeout has passed at `now`, or null. */
  expired(now: number): T | null {
    const h = this.#head;
    return h !== null && now - h.lastActive >= this.timeoutMs ? h : null;
  }

  /** Milliseconds until the oldest member expires (0 if it has), or -1 when empty. */
  nextTimeout(now: number): number {
    const h = this.#head;
    if (h === null) return -1;
    return Math.max(0, Math.ceil(h.lastActive + this.timeoutMs - now));
  }
}
