/**
 * The TCP bench loop one worker runs: its connections on non-blocking sockets in one
 * epoll(7) set, waited on synchronously on this thread (level-triggered), one shared read
 * buffer, and every echoed byte compared with what was sent (memcmp(3) against the payload
 * pattern). The modes (see {@link BenchMode}):
 *
 * - `pingpong`: one message in flight per connection; the next leaves as soon as the echo
 *   is complete. Latency runs from the send.
 * - `rate`: one message in flight per connection, each sent at its scheduled time or, when
 *   the echo before it came back late, at once; latency runs from the SCHEDULED time, so
 *   a server that stalls is charged for every message that should have been sent meanwhile
 *   (coordinated omission, corrected as wrk2 does).
 * - `stream`: writes as fast as the kernel takes them while reading the echo back; each
 *   write is a message whose latency runs from the write to the arrival of its last byte.
 *
 * A connection that is reset, closed by the server, or holds a message longer than the
 * timeout is counted (resets, short, timeouts), closed, and opened again.
 *
 * A worker with a single `pingpong` connection makes its socket blocking once connected
 * and waits for each echo in recv(2) itself (see {@link blockWithTimeout}): one system
 * call fewer per round trip than epoll_wait(2) then recv(2).
 *
 * @module
 */
import { errnoName } from "../errno.ts";
import {
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  ERRNO,
  IPPROTO_TCP,
  MSG_NOSIGNAL,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "../constants.ts";
import { BenchLoop, BUSY, DOWN, HOUSEKEEPING_MS, IDLE, type Member, type Post } from "./loop.ts";
import { blockWithTimeout } from "./sys.ts";
import { sizeArg } from "../libc.ts";
import { type BenchWorkerConfig, type BenchWorkerMessage, PATTERN_PERIOD } from "./protocol.ts";

/** The shared read buffer (and the largest read). */
const RBUF_SIZE = 256 * 1024;
const RBUF_N = BigInt(RBUF_SIZE);
/** Connects in progress at once during setup (a server with a short listen queue copes). */
const CONNECT_WINDOW = 16;
/** After a failed reconnect, wait this long before the next, ns. */
const RETRY_NS = 100e6;

/** A connect in progress (the other states are the loop's). */
const CONNECTING = 3;

/** One connection. */
interface Conn extends Member {
  /** The message in flight: size, pattern offset, bytes sent and received, a bad byte. */
  size: number;
  off: number;
  sent: number;
  rcvd: number;
  bad: boolean;
  /** Latency origin (the send, or the scheduled time in `rate` mode), ns. */
  t0: number;
  /** When the message (or the connect) must be done by, ns. */
  deadline: number;
  /** Messages sent (picks each one's pattern offset). */
  msgs: number;
  /** EPOLLOUT is in the interest set. */
  wantOut: boolean;
  /** DOWN: when to connect again. */
  retryAt: number;
  /** stream: bytes written and read back; marks: [end offset, write time] pairs. */
  wBytes: number;
  rBytes: number;
  marks: Float64Array;
  mHead: number;
  mLen: number;
}

/** One thread's TCP bench loop. */
export class TcpBenchLoop extends BenchLoop<Conn> {
  readonly rbuf = new Uint8Array(RBUF_SIZE);
  readonly intOut = new Int32Array(1);
  readonly lenOut = new Uint32Array([4]);
  readonly one = new Int32Array([1]);
  readonly stream: boolean;
  /** The largest message size as a bigint (the usual length argument, made once). */
  readonly maxN: bigint;
  /** {@link solo}'s socket is blocking now (set again at each connect, see the module doc). */
  soloBlocking = false;

  constructor(cfg: BenchWorkerConfig, post: Post) {
    const stream = cfg.mode === "stream";
    super(cfg, post, stream ? Math.max(cfg.sizeMax, RBUF_SIZE) : cfg.sizeMax);
    this.stream = stream;
    this.maxN = BigInt(cfg.sizeMax);
    for (let i = 0; i < cfg.conns; i++) {
      this.conns.push({
        i,
        fd: -1,
        state: DOWN,
        size: 0,
        off: 0,
        sent: 0,
        rcvd: 0,
        bad: false,
        t0: 0,
        deadline: 0,
        msgs: 0,
        wantOut: false,
        retryAt: 0,
        wBytes: 0,
        rBytes: 0,
        marks: new Float64Array(stream ? 256 : 0),
        mHead: 0,
        mLen: 0,
        next: 0,
        heapPos: -1,
      });
    }
    this.solo = cfg.conns === 1 && cfg.mode === "pingpong" ? this.conns[0]! : null;
  }

  /** Starts a non-blocking connect(2); false (counted, noted) when it failed at once. */
  #connect(k: Conn, now: number): boolean {
    const c = this.c;
    const fd = c.socket(this.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return this.#connectFailed(k, "socket", this.err[0]!, now);
    c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.one, 4);
    if (c.connect(fd, this.sa, this.sa.length) < 0 && this.err[0] !== ERRNO.EINPROGRESS) {
      const e = this.err[0]!;
      c.close(fd);
      return this.#connectFailed(k, "connect", e, now);
    }
    k.fd = fd;
    k.state = CONNECTING;
    k.deadline = now + this.cfg.timeoutMs * 1e6;
    k.wantOut = true;
    if (!this.ctlOp(EPOLL_CTL_ADD, fd, EPOLLOUT, k.i)) {
      const e = this.err[0]!;
      c.close(fd);
      k.fd = -1;
      return this.#connectFailed(k, "epoll_ctl", e, now);
    }
    return true;
  }

  #connectFailed(k: Conn, syscall: string, e: number, now: number): false {
    k.state = DOWN;
    k.fd = -1;
    k.retryAt = now + RETRY_NS;
    if (!this.running) this.setupFailed(syscall, e);
    else if (now >= this.warmEnd) {
      this.counters.errors++;
      this.noteError(`${syscall} ${errnoName(e)} ${this.where}`);
    }
    return false;
  }

  /** The connect finished (EPOLLOUT, EPOLLERR or EPOLLHUP): did it work? */
  #connected(k: Conn, now: number): boolean {
    this.lenOut[0] = 4;
    const c = this.c;
    let e = 0;
    if (c.getsockopt(k.fd, SOL_SOCKET, SO_ERROR, this.intOut, this.lenOut) < 0) e = this.err[0]!;
    else e = this.intOut[0]!;
    if (e !== 0) {
      c.close(k.fd);
      return this.#connectFailed(k, "connect", e, now);
    }
    k.state = IDLE;
    k.wantOut = this.stream;
    this.ctlOp(EPOLL_CTL_MOD, k.fd, this.stream ? EPOLLIN | EPOLLOUT : EPOLLIN, k.i);
    if (k === this.solo) {
      this.soloBlocking = blockWithTimeout(c, k.fd, Math.min(this.cfg.timeoutMs, HOUSEKEEPING_MS));
    }
    return true;
  }

  setup(): BenchWorkerMessage {
    const conns = this.conns;
    let next = 0, pending = 0, connected = 0, failed = 0;
    while (connected + failed < conns.length) {
      if (this.stopAsked()) break;
      let now = this.now();
      while (pending < CONNECT_WINDOW && next < conns.length) {
        if (this.#connect(conns[next++]!, now)) pending++;
        else failed++;
      }
      const n = this.wait(10e6);
      now = this.now();
      for (let j = 0; j < n; j++) {
        const k = conns[this.ev32[j * this.evStride + this.evData]!]!;
        if (k.state !== CONNECTING) continue;
        pending--;
        if (this.#connected(k, now)) connected++;
        else failed++;
      }
      for (const k of conns) {
        if (k.state === CONNECTING && now > k.deadline) {
          this.c.close(k.fd);
          this.#connectFailed(k, "connect", ERRNO.ETIMEDOUT, now);
          pending--;
          failed++;
        }
      }
    }
    return this.ready(connected, failed);
  }

  protected begin(k: Conn, now: number): void {
    if (this.stream) this.#fill(k, now);
    else this.send(k, now);
  }

  protected awaitSolo(k: Conn): boolean {
    if (!this.soloBlocking || k.sent < k.size) return false;
    this.#read(k); // waits in recv(2), at most HOUSEKEEPING_MS
    return true;
  }

  protected handleReady(n: number): void {
    const { conns, ev32, evStride, evFlags, evData } = this;
    for (let j = 0; j < n; j++) {
      const base = j * evStride;
      const k = conns[ev32[base + evData]!]!;
      const flags = ev32[base + evFlags]!;
      if (k.state === CONNECTING) {
        const now = this.now();
        if (this.#connected(k, now)) this.#start(k, now);
        continue;
      }
      if (k.fd < 0) continue;
      if (this.stream) {
        if (flags & (EPOLLIN | EPOLLHUP | EPOLLERR)) this.#readStream(k);
        if (k.fd >= 0 && (flags & EPOLLOUT)) this.#fill(k, this.now());
        continue;
      }
      if ((flags & EPOLLOUT) && k.state === BUSY && k.sent < k.size) this.#write(k);
      if (k.fd >= 0 && (flags & (EPOLLIN | EPOLLHUP | EPOLLERR))) this.#read(k);
    }
  }

  /** A connection (re)opened while running starts its traffic. */
  #start(k: Conn, now: number): void {
    if (this.rate) {
      // Messages it owes since it went down are skipped: the schedule resumes now.
      if (k.next < now) k.next = now;
      this.heap.push(k);
    } else this.begin(k, now);
  }

  /** Timeouts, and reconnects that are due. */
  protected housekeeping(now: number): void {
    for (const k of this.conns) {
      const late = k.state === BUSY
        ? now > k.deadline
        : this.stream && k.state === IDLE && k.mLen > 0 &&
          now - k.marks[k.mHead * 2 + 1]! > this.cfg.timeoutMs * 1e6;
      if (late) {
        if (now >= this.warmEnd) {
          this.counters.timeouts++;
          this.noteError(`no echo within ${this.cfg.timeoutMs}ms from ${this.where}`);
        }
        this.#drop(k, now);
      } else if (k.state === CONNECTING && now > k.deadline) {
        this.c.close(k.fd);
        this.#connectFailed(k, "connect", ERRNO.ETIMEDOUT, now);
      } else if (k.state === DOWN && now >= k.retryAt) {
        this.#connect(k, now);
      }
    }
  }

  /** Closes `k` and schedules it to connect again. */
  #drop(k: Conn, now: number): void {
    if (k.fd >= 0) this.c.close(k.fd); // closing also leaves the epoll set
    if (k === this.solo) this.soloBlocking = false;
    this.heap.remove(k);
    k.fd = -1;
    k.state = DOWN;
    k.retryAt = now; // at the next housekeeping
    k.mLen = k.mHead = 0;
    k.wBytes = k.rBytes = 0;
  }

  /** Counts a failed read or write on `k` and drops it. */
  #fail(k: Conn, syscall: string, e: number, now: number): void {
    if (now >= this.warmEnd) {
      if (e === ERRNO.ECONNRESET || e === ERRNO.EPIPE) this.counters.resets++;
      else this.counters.errors++;
      this.noteError(`${syscall} ${errnoName(e)} ${this.where}`);
    }
    this.#drop(k, now);
  }

  /** The server closed `k`: a short echo if a message was in flight. */
  #eof(k: Conn, now: number): void {
    if (now >= this.warmEnd) {
      const inFlight = this.stream ? k.wBytes > k.rBytes : k.state === BUSY;
      if (inFlight) this.counters.short++;
      else this.counters.errors++;
      this.noteError(
        inFlight
          ? `${this.where} closed the connection with an echo incomplete`
          : `${this.where} closed the connection`,
      );
    }
    this.#drop(k, now);
  }

  /** Sends the next message on an idle connection (pingpong, rate). */
  protected send(k: Conn, now: number): void {
    k.size = this.nextSize();
    k.off = (k.msgs * 61 + k.i * 7) % PATTERN_PERIOD;
    k.msgs++;
    k.sent = k.rcvd = 0;
    k.bad = false;
    if (this.rate) {
      k.t0 = k.next;
      k.next += this.period;
    } else k.t0 = now;
    k.deadline = now + this.cfg.timeoutMs * 1e6;
    k.state = BUSY;
    if (now >= this.warmEnd) this.counters.sent++;
    this.#write(k);
  }

  /** Writes what is left of the message in flight; EPOLLOUT covers the rest. */
  #write(k: Conn): void {
    const len = k.size - k.sent;
    const w = Number(
      this.c.send(
        k.fd,
        this.view(k.off + k.sent),
        len === this.cfg.sizeMax ? this.maxN : sizeArg(len),
        MSG_NOSIGNAL,
      ),
    );
    if (w >= 0) k.sent += w;
    else {
      const e = this.err[0]!;
      if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) return this.#fail(k, "send", e, this.now());
    }
    const want = k.sent < k.size;
    if (want !== k.wantOut) {
      k.wantOut = want;
      this.ctlOp(EPOLL_CTL_MOD, k.fd, want ? EPOLLIN | EPOLLOUT : EPOLLIN, k.i);
    }
  }

  /** recv(2) on `k` returned `n` <= 0: the server closed it, or it failed (or would block). */
  #recvEnded(k: Conn, n: number): void {
    if (n === 0) return this.#eof(k, this.now());
    const e = this.err[0]!;
    if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) this.#fail(k, "recv", e, this.now());
  }

  /** Reads the echo of the message in flight (pingpong, rate). */
  #read(k: Conn): void {
    const c = this.c, rbuf = this.rbuf;
    const n = Number(c.recv(k.fd, rbuf, RBUF_N, 0));
    if (n <= 0) return this.#recvEnded(k, n);
    if (k.state !== BUSY) {
      // Bytes nobody asked for: the server sent more than the last echo.
      const now = this.now();
      if (now >= this.warmEnd) this.counters.mismatches++;
      return;
    }
    const want = k.size - k.rcvd;
    const cmp = n < want ? n : want;
    const cmpN = cmp === this.cfg.sizeMax ? this.maxN : sizeArg(cmp);
    if (c.memcmp(rbuf, this.view(k.off + k.rcvd), cmpN) !== 0) k.bad = true;
    k.rcvd += cmp;
    if (n > want) k.bad = true; // a longer echo than the message
    if (k.rcvd < k.size || k.sent < k.size) return;
    const now = this.now();
    // Open loop counts the messages SCHEDULED in the window (as its latencies do).
    if (now >= this.warmEnd && (!this.rate || k.t0 >= this.warmEnd)) {
      const ct = this.counters;
      if (k.bad) {
        ct.mismatches++;
        this.noteError(`an echo from ${this.where} differs from what was sent`);
      } else {
        ct.roundTrips++;
        ct.bytes += k.size;
        if (k.t0 >= this.warmEnd) this.hist.record(now - k.t0);
      }
    }
    k.state = IDLE;
    if (now >= this.end) return;
    if (!this.rate) return this.send(k, now);
    if (k.next <= now) this.send(k, now);
    else this.heap.push(k);
  }

  /** stream: writes one message, marking its end. */
  #fill(k: Conn, now: number): void {
    k.state = IDLE;
    // One write per readiness: EPOLLOUT (level-triggered) comes back while there is room,
    // and a write that would block costs a syscall for nothing.
    const size = this.nextSize();
    const w = Number(
      this.c.send(k.fd, this.view(k.wBytes % PATTERN_PERIOD), sizeArg(size), MSG_NOSIGNAL),
    );
    if (w < 0) {
      const e = this.err[0]!;
      if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) this.#fail(k, "send", e, now);
      return;
    }
    k.wBytes += w;
    if (now >= this.warmEnd) this.counters.sent++;
    // A mark per write: [offset of its last byte + 1, write time].
    if (k.mLen * 2 === k.marks.length) this.#growMarks(k);
    const at = ((k.mHead + k.mLen) * 2) % k.marks.length;
    k.marks[at] = k.wBytes;
    k.marks[at + 1] = now;
    k.mLen++;
  }

  #growMarks(k: Conn): void {
    const old = k.marks, n = old.length;
    const bigger = new Float64Array(n * 2);
    for (let j = 0; j < k.mLen * 2; j++) bigger[j] = old[(k.mHead * 2 + j) % n]!;
    k.marks = bigger;
    k.mHead = 0;
  }

  /** stream: reads what came back, checks it, and completes the writes it covers. */
  #readStream(k: Conn): void {
    const c = this.c, rbuf = this.rbuf;
    const n = Number(c.recv(k.fd, rbuf, RBUF_N, 0));
    if (n <= 0) return this.#recvEnded(k, n);
    const now = this.now();
    const measuring = now >= this.warmEnd;
    const ct = this.counters;
    const over = k.rBytes + n > k.wBytes; // more than was written
    if (over || c.memcmp(rbuf, this.view(k.rBytes % PATTERN_PERIOD), sizeArg(n)) !== 0) {
      if (measuring) {
        ct.mismatches++;
        this.noteError(`an echo from ${this.where} differs from what was sent`);
      }
      // The stream is out of step: start it again on a fresh connection.
      return this.#drop(k, now);
    }
    k.rBytes += n;
    if (measuring) ct.bytes += n;
    const marks = k.marks, len = marks.length;
    while (k.mLen > 0) {
      const at = k.mHead * 2;
      if (marks[at]! > k.rBytes) break;
      if (measuring) {
        ct.roundTrips++;
        const t = marks[at + 1]!;
        if (t >= this.warmEnd) this.hist.record(now - t);
      }
      k.mHead = (k.mHead + 1) % (len / 2);
      k.mLen--;
    }
  }
}
