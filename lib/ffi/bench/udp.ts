/**
 * The UDP bench loop one worker runs: connected non-blocking datagram sockets (so an ICMP
 * port unreachable comes back as ECONNREFUSED) in one epoll(7) set, waited on
 * synchronously, one datagram in flight per socket (`pingpong`, or `rate` with latency
 * from the scheduled time as in ./tcp.ts). Each datagram starts with its sequence number
 * and that number's complement (8 bytes), then the payload pattern: an echo must carry the
 * sequence number in flight and the same bytes. A datagram not echoed within the timeout
 * is lost; its echo, if it comes later, is counted late.
 *
 * @module
 */
import { errnoName } from "../errno.ts";
import {
  EPOLL_CTL_ADD,
  EPOLLIN,
  ERRNO,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "../constants.ts";
import { BenchLoop, BUSY, DOWN, HOUSEKEEPING_MS, IDLE, type Member, type Post } from "./loop.ts";
import { blockWithTimeout } from "./sys.ts";
import { sizeArg } from "../libc.ts";
import { type BenchWorkerConfig, type BenchWorkerMessage, PATTERN_PERIOD } from "./protocol.ts";

/** The datagram header: sequence number and its complement. */
export const UDP_HEADER = 8;
/** Room for the largest datagram, so a long echo is seen whole. */
const RBUF_SIZE = 65536;
const RBUF_N = BigInt(RBUF_SIZE);
/** After ECONNREFUSED, wait this long before sending again on that socket, ns. */
const RETRY_NS = 100e6;

/** One socket. */
interface Sock extends Member {
  /** The datagram: header, then the pattern from this socket's offset. */
  buf: Uint8Array;
  head: Uint32Array;
  tail: Uint8Array;
  seq: number;
  size: number;
  t0: number;
  deadline: number;
  retryAt: number;
}

/** One thread's UDP bench loop. */
export class UdpBenchLoop extends BenchLoop<Sock> {
  readonly rbuf = new Uint8Array(RBUF_SIZE);
  readonly rhead = new Uint32Array(this.rbuf.buffer, 0, 2);
  readonly rtail = this.rbuf.subarray(UDP_HEADER);

  constructor(cfg: BenchWorkerConfig, post: Post) {
    super(cfg, post, cfg.sizeMax);
    for (let i = 0; i < cfg.conns; i++) {
      const buf = new Uint8Array(Math.max(cfg.sizeMax, UDP_HEADER));
      const off = ((cfg.connBase + i) * 61) % PATTERN_PERIOD;
      buf.set(this.pattern.subarray(off, off + buf.length));
      this.conns.push({
        i,
        fd: -1,
        state: DOWN,
        buf,
        head: new Uint32Array(buf.buffer, 0, 2),
        tail: buf.subarray(UDP_HEADER),
        seq: 0,
        size: 0,
        t0: 0,
        deadline: 0,
        retryAt: 0,
        next: 0,
        heapPos: -1,
      });
    }
  }

  /**
   * Opens and connects every socket, then sends each one datagram and waits (at most the
   * timeout) for its echo: a socket whose datagram is refused (nothing listens) fails;
   * one whose datagram is lost still runs.
   */
  setup(): BenchWorkerMessage {
    const { c, sa } = this;
    let failed = 0;
    let now = this.now();
    for (const s of this.conns) {
      const fd = c.socket(this.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        this.setupFailed("socket", this.err[0]!);
        failed++;
        continue;
      }
      if (c.connect(fd, sa, sa.length) < 0 || !this.ctlOp(EPOLL_CTL_ADD, fd, EPOLLIN, s.i)) {
        this.setupFailed("connect", this.err[0]!);
        c.close(fd);
        failed++;
        continue;
      }
      s.fd = fd;
      this.send(s, now);
    }
    let waiting = this.conns.filter((s) => s.state === BUSY).length;
    const deadline = now + this.cfg.timeoutMs * 1e6;
    while (waiting > 0 && now < deadline && !this.stopAsked()) {
      const n = this.wait(Math.min(deadline - now, 10e6));
      for (let j = 0; j < n; j++) {
        const s = this.conns[this.ev32[j * this.evStride + this.evData]!]!;
        const r = this.#drain(s, false);
        if (r === "echo" || r === "refused") waiting--;
        if (r === "refused") failed++;
      }
      now = this.now();
    }
    for (const s of this.conns) if (s.state === BUSY) s.state = IDLE; // lost: still runs
    // The one pingpong socket is the solo when it could be made blocking.
    const only = this.conns[0]!;
    if (
      this.conns.length === 1 && this.cfg.mode === "pingpong" && only.fd >= 0 &&
      blockWithTimeout(c, only.fd, Math.min(this.cfg.timeoutMs, HOUSEKEEPING_MS))
    ) this.solo = only;
    return this.ready(this.conns.length - failed, failed);
  }

  protected begin(s: Sock, now: number): void {
    this.send(s, now);
  }

  protected awaitSolo(s: Sock): boolean {
    this.#drain(s, true); // waits in recv(2), at most HOUSEKEEPING_MS
    return true;
  }

  protected handleReady(n: number): void {
    const { conns, ev32, evStride, evData } = this;
    for (let j = 0; j < n; j++) {
      const s = conns[ev32[j * evStride + evData]!]!;
      if (s.fd >= 0) this.#drain(s, true);
    }
  }

  /** Lost datagrams, and sockets whose back-off after a refusal is over. */
  protected housekeeping(now: number): void {
    for (const s of this.conns) {
      if (s.state === BUSY && now > s.deadline) {
        if (now >= this.warmEnd && s.t0 >= this.warmEnd) this.counters.lost++;
        s.state = IDLE;
        this.#next(s, now);
      } else if (s.state === DOWN && s.fd >= 0 && now >= s.retryAt) {
        s.state = IDLE;
        this.#next(s, now);
      }
    }
  }

  /** The socket is free: send now (pingpong, or rate when due) or wait for its time. */
  #next(s: Sock, now: number): void {
    if (now >= this.end) return;
    if (!this.rate || s.next <= now) this.send(s, now);
    else this.heap.push(s);
  }

  protected send(s: Sock, now: number): void {
    const seq = (s.seq + 1) >>> 0;
    s.seq = seq;
    s.head[0] = seq;
    s.head[1] = ~seq >>> 0;
    s.size = this.nextSize();
    if (this.rate) {
      s.t0 = s.next;
      s.next += this.period;
    } else s.t0 = now;
    s.deadline = now + this.cfg.timeoutMs * 1e6;
    s.state = BUSY;
    const w = Number(this.c.send(s.fd, s.buf, sizeArg(s.size), 0));
    if (w >= 0) {
      if (now >= this.warmEnd) this.counters.sent++;
      return;
    }
    const e = this.err[0]!;
    // EAGAIN: the send buffer is full; the datagram counts as lost at its deadline.
    if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) this.#refusedOrFailed(s, "send", e, now);
  }

  #refusedOrFailed(s: Sock, syscall: string, e: number, now: number): void {
    if (now >= this.warmEnd) {
      this.counters.errors++;
      this.noteError(
        `${syscall} ${errnoName(e)} ${this.where}` +
          (e === ERRNO.ECONNREFUSED ? " (port unreachable: nothing listens there)" : ""),
      );
    }
    s.state = DOWN;
    s.retryAt = now + RETRY_NS;
  }

  /**
   * Reads every queued datagram of `s`; says whether the one in flight was echoed, or
   * refused. `counting`: update the counters (false during setup).
   */
  #drain(s: Sock, counting: boolean): "echo" | "refused" | "none" {
    const c = this.c, rbuf = this.rbuf, rhead = this.rhead;
    for (;;) {
      const n = Number(c.recv(s.fd, rbuf, RBUF_N, 0));
      if (n < 0) {
        const e = this.err[0]!;
        if (e === ERRNO.EAGAIN) return "none";
        if (e === ERRNO.EINTR) continue;
        const now = this.now();
        if (!counting) this.setupFailed("recv", e);
        this.#refusedOrFailed(s, "recv", e, counting ? now : 0);
        return "refused";
      }
      const now = this.now();
      const measuring = counting && now >= this.warmEnd;
      const seq = rhead[0]!;
      const valid = n >= UDP_HEADER && rhead[1] === (~seq >>> 0);
      if (valid && (seq !== s.seq || s.state !== BUSY)) {
        if (measuring) this.counters.late++; // its datagram was counted lost already
        continue;
      }
      const ok = valid && n === s.size &&
        (n === UDP_HEADER || c.memcmp(this.rtail, s.tail, sizeArg(n - UDP_HEADER)) === 0);
      if (!valid && s.state !== BUSY) {
        if (measuring) this.counters.mismatches++;
        continue;
      }
      // Open loop counts the messages SCHEDULED in the window (as its latencies do).
      if (measuring && (!this.rate || s.t0 >= this.warmEnd)) {
        if (ok) {
          this.counters.roundTrips++;
          this.counters.bytes += n;
          if (s.t0 >= this.warmEnd) this.hist.record(now - s.t0);
        } else {
          this.counters.mismatches++;
          this.noteError(`an echo from ${this.where} differs from what was sent`);
        }
      }
      s.state = IDLE;
      if (counting) this.#next(s, now);
      // Done: one more recv(2) would only say EAGAIN (a syscall per echo); the set is
      // level-triggered, so anything else queued raises readiness again.
      return "echo";
    }
  }
}
