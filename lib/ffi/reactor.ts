/**
 * A readiness loop over epoll for FFI sockets. Sockets wait here for "readable" or
 * "writable"; one `epoll_wait` at a time runs off the main thread (a `nonblocking` FFI
 * call), so Deno's event loop never blocks. The real syscalls are then made synchronously
 * on the main thread, where errno is valid. An eventfd wakes the waiting thread when the
 * last waiter goes away, so an idle reactor holds no pending op.
 *
 * {@link doIo} is the one retry path for non-blocking I/O built on it: try the syscall; on
 * EAGAIN wait for readiness here; try again.
 *
 * @module
 */
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLPRI,
} from "./constants.ts";
import { lastError, WOULD_BLOCK, type WouldBlock } from "./errno.ts";
import { libc } from "./libc.ts";
import { EPOLL_EVENT } from "./structs.ts";

/** What a waiter waits for. */
export type Interest = "read" | "write";

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface FdState {
  readers: Waiter[];
  writers: Waiter[];
  registered: boolean;
}

const MAX_EVENTS = 64;

/** The process-wide readiness loop (see the module doc). */
export class Reactor {
  #epfd = -1;
  #wakefd = -1;
  #fds = new Map<number, FdState>();
  #waiting = 0;
  #loop: Promise<void> | null = null;
  #events = new Uint8Array(EPOLL_EVENT.size * MAX_EVENTS);
  #ev = new Uint8Array(EPOLL_EVENT.size);

  #init(): void {
    if (this.#epfd >= 0) return;
    const c = libc();
    const ep = c.epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw lastError("epoll_create1");
    const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) {
      const err = lastError("eventfd");
      c.close(ep);
      throw err;
    }
    this.#epfd = ep;
    this.#wakefd = wake;
    this.#ctl(EPOLL_CTL_ADD, wake, EPOLLIN);
  }

  #ctl(op: number, fd: number, events: number): void {
    const dv = new DataView(this.#ev.buffer);
    dv.setUint32(EPOLL_EVENT.events, events, true);
    dv.setBigUint64(EPOLL_EVENT.data, BigInt(fd), true);
    if (libc().epoll_ctl(this.#epfd, op, fd, this.#ev) < 0) throw lastError("epoll_ctl");
  }

  /** Resolves when `fd` is readable (or writable), or has an error or hang-up pending. */
  wait(fd: number, interest: Interest, signal?: AbortSignal): Promise<void> {
    this.#init();
    signal?.throwIfAborted();
    let st = this.#fds.get(fd);
    if (!st) {
      st = { readers: [], writers: [], registered: false };
      this.#fds.set(fd, st);
    }
    const state = st;
    return new Promise<void>((resolve, reject) => {
      const list = interest === "read" ? state.readers : state.writers;
      const onAbort = () => {
        const i = list.indexOf(w);
        if (i >= 0) {
          list.splice(i, 1);
          this.#waiting--;
          this.#wake();
        }
        reject(signal!.reason);
      };
      const w: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(w);
      this.#waiting++;
      try {
        this.#arm(fd, state);
      } catch (e) {
        list.pop();
        this.#waiting--;
        w.reject(e);
        return;
      }
      this.#loop ??= this.#run();
    });
  }

  #arm(fd: number, st: FdState): void {
    const events = (st.readers.length ? EPOLLIN | EPOLLPRI : 0) |
      (st.writers.length ? EPOLLOUT : 0);
    if (events === 0) return;
    this.#ctl(st.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, events | EPOLLONESHOT);
    st.registered = true;
  }

  /** Drops `fd` (call before closing it): pending waiters reject with `reason`. */
  forget(fd: number, reason: unknown = new Deno.errors.Interrupted("socket closed")): void {
    const st = this.#fds.get(fd);
    if (!st) return;
    this.#fds.delete(fd);
    if (st.registered) {
      try {
        this.#ctl(EPOLL_CTL_DEL, fd, 0);
      } catch {
        // already gone
      }
    }
    for (const w of [...st.readers, ...st.writers]) {
      this.#waiting--;
      w.reject(reason);
    }
    this.#wake();
  }

  #wake(): void {
    if (this.#wakefd < 0 || this.#loop === null) return;
    const one = new BigUint64Array([1n]);
    libc().write(this.#wakefd, one, 8n);
  }

  async #run(): Promise<void> {
    const c = libc();
    const dv = new DataView(this.#events.buffer);
    try {
      while (this.#waiting > 0) {
        const n = await c.epoll_wait_nb(this.#epfd, this.#events, MAX_EVENTS, -1);
        if (n < 0) continue; // EINTR: errno is not readable here, and retrying is right
        for (let i = 0; i < n; i++) {
          const base = i * EPOLL_EVENT.size;
          const events = dv.getUint32(base + EPOLL_EVENT.events, true);
          const fd = Number(dv.getBigUint64(base + EPOLL_EVENT.data, true));
          if (fd === this.#wakefd) {
            c.read(this.#wakefd, new Uint8Array(8), 8n);
            continue;
          }
          const st = this.#fds.get(fd);
          if (!st) continue;
          const bad = (events & (EPOLLERR | EPOLLHUP)) !== 0;
          let fired: Waiter[] = [];
          if (bad || (events & (EPOLLIN | EPOLLPRI))) fired = st.readers.splice(0);
          if (bad || (events & EPOLLOUT)) fired = fired.concat(st.writers.splice(0));
          this.#waiting -= fired.length;
          try {
            this.#arm(fd, st);
          } catch (e) {
            for (const w of [...st.readers.splice(0), ...st.writers.splice(0)]) {
              this.#waiting--;
              w.reject(e);
            }
          }
          for (const w of fired) w.resolve();
        }
      }
    } finally {
      this.#loop = null;
    }
  }

  /** Resolves once no `epoll_wait` is in flight (for tests and clean shutdown). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }
}

/** The shared reactor every FFI socket uses. */
export const reactor: Reactor = new Reactor();

/**
 * The one retry path for non-blocking I/O (mio's `IoSource::do_io`, Go's internal/poll
 * `FD.Read`): run `attempt`, a `try*` call; while it returns {@link WOULD_BLOCK}, wait with
 * `ready` (a {@link Reactor.wait} on the fd, with the caller's signal) and run it again.
 *
 * @example
 * ```ts ignore
 * const n = await doIo(() => sock.tryRecv(buf), () => sock.readable(signal));
 * ```
 */
export async function doIo<T>(
  attempt: () => T | WouldBlock,
  ready: () => Promise<void>,
): Promise<T> {
  for (;;) {
    const r = attempt();
    if (r !== WOULD_BLOCK) return r;
    await ready();
  }
}
