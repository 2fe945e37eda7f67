/**
 * What the TCP and UDP bench loops share: the synchronous epoll(7) set with a nanosecond
 * wait (epoll_pwait2(2), or epoll_wait(2) where the C library lacks it), the clock, the
 * run's phases (warm-up, measurement, the ticks at which counters and latencies are posted
 * to the main thread), the payload pattern, a min-heap of connections waiting for their
 * scheduled send time (`rate` mode), and the run loop itself ({@link BenchLoop.run}), which
 * hands each protocol its sends, its housekeeping and its ready list.
 *
 * @module
 */
import { formatEndpoint } from "../../base/errors.ts";
import { Histogram } from "../../base/histogram.ts";
import { errnoName, sysError } from "../errno.ts";
import { AF_INET, AF_INET6, CLOCK_MONOTONIC, EPOLL_CLOEXEC, ERRNO } from "../constants.ts";
import { encodeSockAddr, EPOLL_EVENT } from "../structs.ts";
import { benchLibc, errnoCell } from "./sys.ts";
import {
  type BenchWorkerConfig,
  type BenchWorkerMessage,
  CONTROL,
  type Counters,
  noCounters,
  PATTERN_PERIOD,
  payloadPattern,
  PHASE,
  START_INDEX,
} from "./protocol.ts";

/** Posts a message to the main thread. */
export type Post = (m: BenchWorkerMessage) => void;

/** Ready fds taken per wait. */
export const MAX_EVENTS = 256;
/** How often (at most) in-flight messages are checked against the timeout, ms. */
export const HOUSEKEEPING_MS = 5;
const HOUSEKEEPING_NS = HOUSEKEEPING_MS * 1e6;

/** Something the rate heap orders by its next scheduled send. */
export interface Scheduled {
  /** The scheduled time of its next message, ns. */
  next: number;
  /** Its place in the heap, or -1. */
  heapPos: number;
}

/** A connection (UDP: a connected socket) of a loop. */
export interface Member extends Scheduled {
  /** Its index in {@link BenchLoop.conns}, and its epoll data. */
  i: number;
  fd: number;
  /** {@link IDLE}, {@link BUSY}, {@link DOWN}, or a state of the protocol's own. */
  state: number;
}

/** Ready to send. */
export const IDLE = 0;
/** A message in flight. */
export const BUSY = 1;
/** Closed (TCP) or refused (UDP): waiting to connect or send again. */
export const DOWN = 2;

/** A binary min-heap of {@link Scheduled} items by `next`. */
export class ScheduleHeap<T extends Scheduled> {
  readonly items: T[] = [];

  /** The item due first, if any. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds `x` (not already in the heap). */
  push(x: T): void {
    const a = this.items;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.next <= x.next) break;
      a[i] = a[p]!;
      a[i]!.heapPos = i;
      i = p;
    }
    a[i] = x;
    x.heapPos = i;
  }

  /** Removes and returns the item due first. */
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    if (top === undefined) return undefined;
    top.heapPos = -1;
    const last = a.pop()!;
    if (a.length > 0) this.#sift(last, 0);
    return top;
  }

  /** Takes `x` out wherever it is. */
  remove(x: T): void {
    const i = x.heapPos;
    if (i < 0) return;
    x.heapPos = -1;
    const a = this.items;
    const last = a.pop()!;
    if (i < a.length) {
      this.#sift(last, i);
      // It may belong higher up too.
      let j = last.heapPos;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (a[p]!.next <= last.next) break;
        a[j] = a[p]!;
        a[j]!.heapPos = j;
        j = p;
      }
      a[j] = last;
      last.heapPos = j;
    }
  }

  #sift(x: T, i: number): void {
    const a = this.items, n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.next < a[l]!.next ? r : l;
      if (a[c]!.next >= x.next) break;
      a[i] = a[c]!;
      a[i]!.heapPos = i;
      i = c;
    }
    a[i] = x;
    x.heapPos = i;
  }
}

/** The base of one thread's bench loop (see the module doc). */
export abstract class BenchLoop<T extends Member> {
  readonly cfg: BenchWorkerConfig;
  readonly post: Post;
  readonly c = benchLibc();
  /** errno, read as memory (see sys.ts). */
  readonly err = errnoCell();
  readonly ctl: Int32Array;
  readonly ctlTime: Float64Array;
  readonly events = new Uint8Array(EPOLL_EVENT.size * MAX_EVENTS);
  /** The ready list as 32-bit words: event i's flags at `i * evStride + evFlags`. */
  readonly ev32 = new Uint32Array(this.events.buffer);
  readonly evStride = EPOLL_EVENT.size / 4;
  readonly evFlags = EPOLL_EVENT.events / 4;
  readonly evData = EPOLL_EVENT.data / 4;
  readonly ctlEvent = new Uint8Array(EPOLL_EVENT.size);
  readonly ctlView = new DataView(this.ctlEvent.buffer);
  readonly #ts = new Int32Array(4);
  readonly #timeout = new Int32Array(4);
  readonly #clock = this.c.clock_gettime;
  #pwait2 = this.c.epoll_pwait2;
  /** The payload: {@link payloadPattern}, and views of it from each offset in one period. */
  readonly pattern: Uint8Array;
  readonly views: Uint8Array[] = [];
  /** Counted since the last tick. */
  counters: Counters = noCounters();
  readonly hist = new Histogram();
  /** The first error seen while measuring. */
  firstError: string | undefined;
  ep = -1;
  /** Phase boundaries, ns on the monotonic clock (never reached before the go). */
  start = Infinity;
  warmEnd = Infinity;
  end = Infinity;
  nextTick = 0;
  tickIndex = 0;
  nextHousekeeping = 0;
  /** xorshift32 state for message sizes. */
  #rand: number;
  readonly conns: T[] = [];
  /** `rate`: the members waiting for their scheduled send. */
  readonly heap = new ScheduleHeap<T>();
  /** The server: its address family, sockaddr and text. */
  readonly family: number;
  readonly sa: Uint8Array;
  readonly where: string;
  readonly rate: boolean;
  /** `rate`: ns between two messages of one member. */
  readonly period: number;
  /** The run has begun (the setup is over). */
  running = false;
  /**
   * The one `pingpong` member of this worker, when it has one: its socket is made blocking
   * (blockWithTimeout in sys.ts) so that a round waits for its echo in recv(2) itself
   * ({@link awaitSolo}), one system call fewer per round trip than epoll_wait(2) then recv(2).
   */
  solo: T | null = null;
  /** The first failure of the setup, as a SysError's syscall, code and message. */
  setupError: { syscall: string; code: string; message: string } | undefined;

  constructor(cfg: BenchWorkerConfig, post: Post, patternSize: number) {
    this.cfg = cfg;
    this.post = post;
    this.rate = cfg.mode === "rate";
    this.period = this.rate ? 1e9 / cfg.ratePerConn : 0;
    this.family = cfg.address.includes(":") ? AF_INET6 : AF_INET;
    this.sa = encodeSockAddr(cfg.address, cfg.port);
    this.where = formatEndpoint(cfg.address, cfg.port);
    this.ctl = new Int32Array(cfg.control, 0, CONTROL.length);
    this.ctlTime = new Float64Array(cfg.control);
    this.#rand = (0x9e3779b9 ^ (cfg.index * 0x85ebca6b)) >>> 0 || 1;
    this.pattern = payloadPattern(patternSize, cfg.index + 1);
    for (let i = 0; i < PATTERN_PERIOD; i++) this.views.push(this.pattern.subarray(i));
    this.ep = this.c.epoll_create1(EPOLL_CLOEXEC);
    if (this.ep < 0) throw sysError("epoll_create1", this.err[0]!);
  }

  /** The monotonic clock, ns. */
  now(): number {
    this.#clock(CLOCK_MONOTONIC, this.#ts);
    return this.#ts[0]! * 1e9 + this.#ts[2]!;
  }

  /** The pattern from offset `i` on. */
  view(i: number): Uint8Array {
    return i < PATTERN_PERIOD ? this.views[i]! : this.pattern.subarray(i);
  }

  /** The next message size: fixed, or uniform in [sizeMin, sizeMax]. */
  nextSize(): number {
    const { sizeMin, sizeMax } = this.cfg;
    if (sizeMin === sizeMax) return sizeMin;
    let s = this.#rand;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.#rand = s;
    return sizeMin + (s % (sizeMax - sizeMin + 1));
  }

  /** Whether the main thread asked to stop. */
  stopAsked(): boolean {
    return Atomics.load(this.ctl, CONTROL.phase) === PHASE.stop;
  }

  /** epoll_ctl(2) on the loop's set; data is `key`. False (errno set) when it failed. */
  ctlOp(op: number, fd: number, flags: number, key: number): boolean {
    const dv = this.ctlView;
    dv.setUint32(EPOLL_EVENT.events, flags >>> 0, true);
    dv.setUint32(EPOLL_EVENT.data, key, true);
    dv.setUint32(EPOLL_EVENT.data + 4, 0, true);
    return this.c.epoll_ctl(this.ep, op, fd, this.ctlEvent) === 0;
  }

  /** Waits at most `ns` (0: poll) for readiness; returns how many fds are ready. */
  wait(ns: number): number {
    if (ns < 0) ns = 0;
    let n: number;
    if (this.#pwait2 !== null) {
      const t = this.#timeout;
      const sec = Math.floor(ns / 1e9);
      t[0] = sec;
      t[2] = ns - sec * 1e9;
      n = this.#pwait2(this.ep, this.events, MAX_EVENTS, t, null);
      if (n < 0 && this.err[0] === ERRNO.ENOSYS) {
        this.#pwait2 = null; // a kernel before 5.11
        return this.wait(ns);
      }
    } else {
      // Milliseconds, rounded down: the last fraction is polled (scheduled sends stay on time).
      n = this.c.epoll_wait(this.ep, this.events, MAX_EVENTS, Math.floor(ns / 1e6));
    }
    if (n < 0) {
      const e = this.err[0]!;
      if (e === ERRNO.EINTR) return 0;
      throw sysError("epoll_wait", e);
    }
    return n;
  }

  /**
   * Waits for the main thread's go (or stop); false when told to stop. Then reads the
   * start time and sets the phase boundaries.
   */
  awaitGo(): boolean {
    for (;;) {
      const phase = Atomics.load(this.ctl, CONTROL.phase);
      if (phase === PHASE.stop) return false;
      if (phase === PHASE.go) break;
      Atomics.wait(this.ctl, CONTROL.phase, PHASE.setup, 1000);
    }
    this.start = this.ctlTime[START_INDEX]!;
    this.warmEnd = this.start + this.cfg.warmupMs * 1e6;
    this.end = this.warmEnd + this.cfg.durationMs * 1e6;
    this.nextTick = this.warmEnd + this.cfg.intervalMs * 1e6;
    this.nextHousekeeping = 0;
    return true;
  }

  /** Records a failure as the run's first error (when measuring). */
  noteError(message: string): void {
    this.firstError ??= message;
  }

  /** Posts the ticks due by `now`. */
  ticks(now: number): void {
    while (now >= this.nextTick && this.nextTick <= this.end) {
      this.post({
        type: "tick",
        index: this.tickIndex++,
        counters: this.counters,
        hist: this.hist.toSparse(),
      });
      this.counters = noCounters();
      this.hist.reset();
      this.nextTick += this.cfg.intervalMs * 1e6;
    }
  }

  /** Whether in-flight messages should be checked against the timeout now. */
  housekeepingDue(now: number): boolean {
    if (now < this.nextHousekeeping) return false;
    this.nextHousekeeping = now + HOUSEKEEPING_NS;
    return true;
  }

  /** The `done` message: what was counted since the last tick. */
  done(): BenchWorkerMessage {
    return {
      type: "done",
      counters: this.counters,
      hist: this.hist.toSparse(),
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
    };
  }

  /** Keeps the first failure of the setup (`syscall` failed with errno `e`). */
  setupFailed(syscall: string, e: number): void {
    const code = errnoName(e);
    this.setupError ??= { syscall, code, message: `${syscall} ${code} ${this.where}` };
  }

  /** The `ready` message: how the setup went. */
  ready(connected: number, failed: number): BenchWorkerMessage {
    return {
      type: "ready",
      connected,
      failed,
      ...(this.setupError ? { error: this.setupError } : {}),
    };
  }

  /**
   * Runs from the start time to the end (or a stop): starts every idle member (in `rate`
   * mode spread over one period), then, round after round, posts the ticks that are due,
   * does the housekeeping, sends what the schedule says is due, and either waits for the
   * solo member's echo in recv(2) or waits on the epoll set and handles what is ready.
   */
  run(): void {
    if (!this.awaitGo()) return;
    this.running = true;
    const heap = this.heap;
    for (const k of this.conns) {
      if (k.state !== IDLE) continue;
      if (this.rate) {
        // Spread over one period, so the run's messages leave evenly.
        k.next = this.start + this.period * ((this.cfg.connBase + k.i) / this.cfg.connsTotal);
        heap.push(k);
      } else this.begin(k, this.now());
    }
    for (;;) {
      const now = this.now();
      if (now >= this.end || this.stopAsked()) break;
      if (now >= this.nextTick) this.ticks(now);
      if (this.housekeepingDue(now)) this.housekeeping(now);
      // Scheduled sends that are due.
      for (let top = heap.peek(); top !== undefined && top.next <= now; top = heap.peek()) {
        heap.pop();
        this.send(top, now);
      }
      const solo = this.solo;
      if (solo !== null && solo.state === BUSY && this.awaitSolo(solo)) continue;
      let until = Math.min(this.end, this.nextTick, this.nextHousekeeping);
      const top = heap.peek();
      if (top !== undefined && top.next < until) until = top.next;
      this.handleReady(this.wait(until - now));
    }
    this.ticks(this.now()); // the tick at the end, when the end was reached
  }

  /** Closes every fd. */
  close(): void {
    for (const k of this.conns) {
      if (k.fd >= 0) this.c.close(k.fd);
      k.fd = -1;
    }
    if (this.ep >= 0) this.c.close(this.ep);
    this.ep = -1;
  }

  /** Connects (setup phase) and says how it went. */
  abstract setup(): BenchWorkerMessage;
  /** Starts the traffic of idle `k` when the run begins (not in `rate` mode). */
  protected abstract begin(k: T, now: number): void;
  /** Sends the next message on idle `k`. */
  protected abstract send(k: T, now: number): void;
  /** Timeouts, and members due to connect or send again. */
  protected abstract housekeeping(now: number): void;
  /**
   * The solo member has a message in flight: waits for its echo in recv(2), at most
   * HOUSEKEEPING_MS, and says so; false when the round must wait on the epoll set instead.
   */
  protected abstract awaitSolo(k: T): boolean;
  /** Handles the `n` ready fds the last wait left in {@link events}. */
  protected abstract handleReady(n: number): void;
}
