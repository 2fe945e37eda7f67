/**
 * The TCP echo loop one worker runs (RFC 862 over TCP): epoll_wait(2) called synchronously
 * on this thread, non-blocking sockets, edge-triggered readiness, and one 64 KiB buffer for
 * every connection of the worker (a connection owns memory only while the kernel refuses
 * its echo). The design follows a plain C epoll server:
 *
 * - A connection is read until a read comes back short (the socket is then empty, and with
 *   EPOLLET new data raises a new edge), and each read is echoed at once.
 * - Backpressure: when the echo would block, the unsent rest is kept and the connection is
 *   not read again until EPOLLOUT says the kernel took it, so a peer that writes and never
 *   reads costs at most one buffer and never slows the others.
 * - Bulk: a read that fills the whole buffer marks a streaming peer; from then on the bytes
 *   move socket -> pipe -> socket with splice(2) and never enter this process. The pipe is
 *   also the backpressure buffer. When splice(2) is refused or fails for a reason that is
 *   not the peer's, read/write carries on (what the pipe holds is written out); a
 *   loopback peer, where splice saves nothing, stays on read/write unless told otherwise
 *   (lib/base/splice.ts).
 * - Half-close: on EOF the rest is echoed, then the socket is closed (FIN).
 * - Urgent data (tcp(7), "Out-of-band data"): EPOLLPRI means an urgent byte is pending;
 *   in-band data is read up to the mark (SIOCATMARK), the byte is taken with MSG_OOB and
 *   reported with its stream offset, and it is not echoed.
 * - Admission (./admission.ts): right after accept(2), before a byte is read, the lists,
 *   the count and the rate per source decide; `maxBytes` caps what a connection gets
 *   echoed (read/write only, so the cap is exact), then closes it (`max-bytes`) the way
 *   HTTP servers do, a lingering close: FIN once the last allowed byte is out, then what
 *   the peer still sends is read and dropped until its EOF, {@link DRAIN_QUIET_MS} without
 *   a byte, or {@link LINGER_MS}; closing with unread bytes would send RST instead
 *   (RFC 1122 4.2.2.13, tcp(7)), which may cost the peer the end of its echo.
 * - Stop (drain): the listener is taken out of the loop (the pool has already stopped it
 *   listening); connections keep being served, and each one closes (`shutdown`) once its
 *   echo is out and its peer has sent nothing for {@link DRAIN_QUIET_MS}, as on the
 *   `Deno.listen` engine; at the drain deadline the rest close (their unechoed bytes
 *   reported as `bytes_dropped`).
 *
 * @module
 */
import { DRAIN_QUIET_MS, LINGER_MS } from "../../base/drain.ts";
import { sysError } from "../errno.ts";
import {
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLPRI,
  EPOLLRDHUP,
  ERRNO,
  F_SETPIPE_SZ,
  MSG_DONTWAIT,
  MSG_OOB,
  MSG_PEEK,
  O_CLOEXEC,
  O_NONBLOCK,
  SHUT_WR,
  SIOCATMARK,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
} from "../constants.ts";
import { engineLibc, errnoCell } from "./sys.ts";
import { sizeArg } from "../libc.ts";
import { EPOLL_EVENT, SOCKADDR_STORAGE } from "../structs.ts";
import { decodePeer } from "./peer.ts";
import { type IdleLink, IdleList } from "./idle.ts";
import { SharedAdmission } from "./admission.ts";
import { Refusals } from "../../base/refusals.ts";
import { splicesFor } from "../../base/splice.ts";
import {
  CloseReason,
  CONTROL,
  noTotals,
  publishTotals,
  releaseSlot,
  takeSlot,
  type Totals,
  type WorkerConfig,
  type WorkerEvent,
} from "./protocol.ts";

/** The shared read buffer (and the largest read). */
const BUF_SIZE = 65536;
const BUF_SIZE_N = BigInt(BUF_SIZE);
/** Pipe capacity asked for a splicing connection (F_SETPIPE_SZ; the kernel may give less). */
const PIPE_SIZE = 256 * 1024;
const PIPE_SIZE_N = BigInt(PIPE_SIZE);
const MAX_EVENTS = 256;
/** Events wait at most this long (ms) to be posted with others, or until this many. */
const FLUSH_MS = 10;
const FLUSH_EVENTS = 1024;
/**
 * A lingering connection is read at most this many times (of {@link BUF_SIZE}) a turn, so
 * a peer that floods it cannot hold the loop.
 */
const LINGER_READS = 16;
/** After EMFILE and friends, stop accepting for this long (ms), as the Deno engine does. */
const ACCEPT_BACKOFF_MS = 100;
const CONN_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
const INPUT = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI;
const SPLICE_FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
/**
 * A splice(2) failing with one of these reports the connection's end; any other failure
 * (refused, or nothing to do with the peer) moves the connection to read/write instead.
 */
const CONN_ERRORS: ReadonlySet<number> = new Set([
  ERRNO.ECONNRESET,
  ERRNO.EPIPE,
  ERRNO.ETIMEDOUT,
  ERRNO.ENOTCONN,
  ERRNO.ECONNABORTED,
  ERRNO.EHOSTUNREACH,
  ERRNO.ENETUNREACH,
  ERRNO.ENETDOWN,
  ERRNO.EHOSTDOWN,
  ERRNO.ECONNREFUSED,
]);

/** One accepted connection. */
interface Conn extends IdleLink {
  fd: number;
  peer: string;
  port: number;
  t0: number;
  bytesIn: number;
  bytesOut: number;
  /** Read/write path: echo bytes the kernel has not taken yet. */
  pending: Uint8Array | null;
  /** Splice path: the pipe (read end, write end), or -1. */
  pipeR: number;
  pipeW: number;
  /** Splice path: bytes in the pipe not yet sent. */
  piped: number;
  /** Stay on read/write: splice(2) refused, not wanted for this peer, or --max-bytes. */
  noSplice: boolean;
  /** Read with read(2) even though a pipe exists (around an urgent mark). */
  readPath: boolean;
  /** The peer half-closed; close once everything is echoed. */
  eof: boolean;
  /** EPOLLPRI seen: an urgent byte waits at the mark. */
  urgent: boolean;
  /** `maxBytes` reached: FIN and linger (`max-bytes`) once the allowed echo is out. */
  capped: boolean;
  /** Capped, the echo out and FIN sent: when the linger ends at the latest (0: not yet). */
  lingerUntil: number;
}

/** Milliseconds on a clock every thread shares (each Worker has its own `timeOrigin`). */
function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Posts events to the pool. */
export type Post = (events: WorkerEvent[]) => void;

/** Runs one TCP echo worker until the pool sets the stop word; returns what it served. */
export function runTcpWorker(cfg: WorkerConfig, post: Post): Totals {
  const loop = new TcpEchoLoop(cfg, post);
  try {
    while (!loop.done) loop.step(-1);
  } finally {
    loop.close();
  }
  return loop.totals;
}

/**
 * One thread's TCP echo loop, a step at a time: a Worker steps it with no time limit; the
 * main thread (one worker, no Worker) steps it with a bounded wait and yields in between.
 */
export class TcpEchoLoop {
  readonly cfg: WorkerConfig;
  readonly post: Post;
  readonly c = engineLibc();
  /** errno, read as memory (see sys.ts). */
  readonly err = errnoCell();
  readonly control: Int32Array;
  readonly buf = new Uint8Array(BUF_SIZE);
  readonly conns: (Conn | undefined)[] = [];
  readonly idle: IdleList<Conn> | null;
  readonly events = new Uint8Array(EPOLL_EVENT.size * MAX_EVENTS);
  readonly evView = new DataView(this.events.buffer);
  readonly ctlEvent = new Uint8Array(EPOLL_EVENT.size);
  readonly ctlView = new DataView(this.ctlEvent.buffer);
  readonly name = new Uint8Array(SOCKADDR_STORAGE.size);
  readonly nameLen = new Uint32Array(1);
  readonly intOut = new Int32Array(1);
  readonly oob = new Uint8Array(1);
  readonly pipeFds = new Int32Array(2);
  readonly wakeBuf = new BigUint64Array(1);
  /** Events not posted yet. */
  out: WorkerEvent[] = [];
  /** When the oldest event in `out` was queued (0: none), and when `out` must be posted. */
  outSince = 0;
  flushAt = 0;
  /** What this loop served (complete once {@link close} has run). */
  totals: Totals = noTotals();
  ep = -1;
  acceptPausedUntil = 0;
  /** An accept(2) resource shortage (EMFILE...) under way: its `accept-paused` is out. */
  paused: { since: number; deferred: number; lastFail: number; okSince: number } | null = null;
  /** Peer-aborted accepts not yet told (-v), and when they were last told. */
  abortedSince = 0;
  abortedToldAt = -Infinity;
  /** Set by the wake fd (Worker) or {@link stop} (main thread): drain, close and report. */
  stopping = false;
  /** The stop has been seen: no accepts; connections close once quiet (see the module doc). */
  draining = false;
  drainStart = 0;
  drainUntil = 0;
  /** While draining: when the next connection may have become quiet (0: look now). */
  quietCheck = 0;
  /** Everything is closed: the loop has finished. */
  done = false;
  /** Connections open in this loop. */
  open = 0;
  /** Capped connections in their lingering close, and when one may have ended (ms). */
  readonly lingering = new Set<Conn>();
  lingerCheck = 0;
  /** The lists, counts and rates per source (null: everyone is served). */
  readonly gate: SharedAdmission | null;
  /** TCP `maxBytes` (Infinity: no cap). */
  readonly maxBytes: number;
  /** Refusals by reason (the summary's `refused`). */
  readonly refusals = new Refusals();
  /** Where this loop publishes its running totals for the pool's snapshots. */
  readonly stats: Float64Array;

  constructor(cfg: WorkerConfig, post: Post) {
    this.cfg = cfg;
    this.post = post;
    this.control = new Int32Array(cfg.control);
    this.stats = new Float64Array(cfg.stats);
    const spec = cfg.admission;
    this.gate = spec && (spec.allow.length || spec.deny.length || cfg.admissionTable)
      ? new SharedAdmission(spec, cfg.admissionTable ?? null)
      : null;
    this.maxBytes = spec?.maxBytes ?? Infinity;
    this.idle = cfg.idleTimeoutMs > 0 ? new IdleList<Conn>(cfg.idleTimeoutMs) : null;
    const c = this.c;
    this.ep = c.epoll_create1(EPOLL_CLOEXEC);
    if (this.ep < 0) throw sysError("epoll_create1", this.err[0]!);
    try {
      this.#ctl(EPOLL_CTL_ADD, cfg.fd, EPOLLIN | (cfg.shared ? EPOLLEXCLUSIVE : 0));
      if (cfg.wakeFd >= 0) this.#ctl(EPOLL_CTL_ADD, cfg.wakeFd, EPOLLIN);
    } catch (err) {
      c.close(this.ep);
      throw err;
    }
  }

  /** Asks the loop to finish (the next {@link step} returns at once). */
  stop(): void {
    this.stopping = true;
  }

  /** Closes every connection (reason `shutdown`), posts what is left, frees the epoll fd. */
  close(): void {
    if (this.ep < 0) return;
    this.#endEpisode();
    this.#tellAborted(true);
    for (const conn of this.conns) if (conn) this.#finish(conn, "shutdown");
    this.#publish();
    this.#flush();
    this.c.close(this.ep);
    this.ep = -1;
    this.done = true;
  }

  /** Publishes the running totals (see protocol.ts {@link publishTotals}). */
  #publish(): void {
    if (this.refusals.total) this.totals.refused = this.refusals.toJSON();
    publishTotals(this.stats, this.cfg.index, this.totals);
  }

  /**
   * The stop, seen for the first time: stop accepting (the pool has already shut the
   * listener down), close every connection with nothing left to echo, and give the rest
   * until the drain deadline.
   */
  #beginDrain(): void {
    this.draining = true;
    this.drainStart = performance.now();
    this.drainUntil = this.drainStart + Math.max(0, this.cfg.drainMs);
    if (this.acceptPausedUntil === 0) {
      try {
        this.#ctl(EPOLL_CTL_DEL, this.cfg.fd, 0);
      } catch { /* not in the set */ }
    }
    this.acceptPausedUntil = 0;
    this.quietCheck = 0;
    this.#checkDrained();
  }

  /**
   * While draining: closes the connections that are quiet (nothing to echo, nothing from
   * the peer for DRAIN_QUIET_MS since the drain began), all of them at the deadline, and
   * finishes the loop once none is left.
   */
  #checkDrained(): void {
    const now = performance.now();
    if (now >= this.drainUntil) {
      for (const conn of this.conns) if (conn) this.#finish(conn, "shutdown");
    } else if (now >= this.quietCheck) {
      let next = this.drainUntil;
      for (const conn of this.conns) {
        if (!conn || conn.pending !== null || conn.piped > 0) continue;
        const quietAt = Math.max(conn.lastActive, this.drainStart) + DRAIN_QUIET_MS;
        if (quietAt <= now) this.#finish(conn, "shutdown");
        else next = Math.min(next, quietAt);
      }
      this.quietCheck = next;
    }
    if (this.open === 0) this.close();
  }

  #ctl(op: number, fd: number, events: number): void {
    // No DataView or BigInt per call: an fd fits the low half of the 64-bit data word.
    const dv = this.ctlView;
    dv.setUint32(EPOLL_EVENT.events, events >>> 0, true);
    dv.setUint32(EPOLL_EVENT.data, fd, true);
    dv.setUint32(EPOLL_EVENT.data + 4, 0, true);
    if (this.c.epoll_ctl(this.ep, op, fd, this.ctlEvent) < 0) {
      throw sysError("epoll_ctl", this.err[0]!);
    }
  }

  /** The epoll_wait(2) timeout: the first idle expiry, accept back-off or event flush. */
  #timeout(): number {
    let t = -1;
    const now = performance.now();
    const at = (ms: number) => {
      const d = Math.max(0, Math.ceil(ms));
      t = t < 0 ? d : Math.min(t, d);
    };
    if (this.idle) {
      const i = this.idle.nextTimeout(now);
      if (i >= 0) at(i);
    }
    if (this.acceptPausedUntil > 0) at(this.acceptPausedUntil - now);
    if (this.paused?.okSince) at(this.paused.okSince + 1000 - now);
    if (this.abortedSince > 0 && this.cfg.verbose) at(this.abortedToldAt + 1000 - now);
    if (this.out.length) at(this.flushAt - now);
    if (this.draining) at(Math.min(this.quietCheck, this.drainUntil) - now);
    if (this.lingering.size) at(this.lingerCheck - now);
    return t;
  }

  /**
   * Waits for readiness (at most `maxWaitMs`, or as long as needed when -1) and serves what
   * is ready; returns the number of ready fds.
   */
  step(maxWaitMs: number): number {
    const { c, cfg, evView, conns } = this;
    const lfd = cfg.fd, wfd = cfg.wakeFd;
    const size = EPOLL_EVENT.size, evOff = EPOLL_EVENT.events, dataOff = EPOLL_EVENT.data;
    if (this.done) return 0;
    if (this.stopping && !this.draining) {
      this.#beginDrain();
      if (this.done) return 0;
    }
    let timeout = this.idle || this.acceptPausedUntil > 0 || this.out.length || this.paused ||
        this.abortedSince > 0 || this.draining || this.lingering.size
      ? this.#timeout()
      : -1;
    if (maxWaitMs >= 0 && (timeout < 0 || timeout > maxWaitMs)) timeout = maxWaitMs;
    const n = c.epoll_wait(this.ep, this.events, MAX_EVENTS, timeout);
    if (n < 0) {
      const e = this.err[0]!;
      if (e === ERRNO.EINTR) return 0;
      throw sysError("epoll_wait", e);
    }
    for (let i = 0; i < n; i++) {
      const base = i * size;
      const ev = evView.getUint32(base + evOff, true);
      const fd = evView.getUint32(base + dataOff, true);
      if (fd === lfd) {
        if (!this.draining) this.#accept();
      } else if (fd === wfd) this.#wake();
      else {
        const conn = conns[fd];
        if (conn !== undefined) this.#service(conn, ev);
      }
    }
    if (this.idle) this.#expire();
    if (this.lingering.size && performance.now() >= this.lingerCheck) this.#checkLingering();
    if (this.paused !== null || this.abortedSince > 0) {
      const now = performance.now();
      if (this.paused?.okSince && now - this.paused.okSince >= 1000) this.#endEpisode();
      this.#tellAborted(false);
    }
    if (this.acceptPausedUntil > 0 && performance.now() >= this.acceptPausedUntil) {
      this.acceptPausedUntil = 0;
      this.#ctl(EPOLL_CTL_ADD, lfd, EPOLLIN | (cfg.shared ? EPOLLEXCLUSIVE : 0));
    }
    if (this.stopping && !this.draining) this.#beginDrain();
    if (this.draining) {
      this.#checkDrained();
      if (this.done) return n;
    }
    this.#publish();
    if (this.out.length) {
      // Events travel in batches: the first one waits at most FLUSH_MS for company, so a
      // busy server posts (and wakes the main thread) a hundred times a second, not per
      // connection.
      const now = performance.now();
      if (this.outSince === 0) {
        this.outSince = now;
        this.flushAt = now + (cfg.wakeFd < 0 ? 0 : FLUSH_MS); // main thread: no message to save
      }
      if (now >= this.flushAt || this.out.length >= FLUSH_EVENTS) this.#flush();
    }
    return n;
  }

  /** `accept-resumed`, once accept(2) has worked for a second after an `accept-paused`. */
  #endEpisode(): void {
    const p = this.paused;
    if (p === null) return;
    this.out.push({
      event: "accept-resumed",
      proto: "tcp",
      deferred: p.deferred,
      duration_ms: Math.round(p.lastFail - p.since),
    });
    this.paused = null;
  }

  /** Under -v, the peer-aborted accepts, at most once a second (or now, when `last`). */
  #tellAborted(last: boolean): void {
    if (!this.cfg.verbose || this.abortedSince === 0) return;
    const now = performance.now();
    if (!last && now - this.abortedToldAt < 1000) return;
    this.out.push({
      event: "aborted",
      proto: "tcp",
      count: this.abortedSince,
      total: Atomics.load(this.control, CONTROL.aborted),
    });
    this.abortedSince = 0;
    this.abortedToldAt = now;
  }

  #flush(): void {
    this.outSince = 0;
    if (this.out.length === 0) return;
    this.post(this.out);
    this.out = [];
  }

  #wake(): void {
    this.c.read32(this.cfg.wakeFd, this.wakeBuf, 8n);
    if (Atomics.load(this.control, CONTROL.stop) !== 0) this.stopping = true;
  }

  #accept(): void {
    const { c, cfg } = this;
    for (;;) {
      this.nameLen[0] = this.name.length;
      const fd = c.accept4(cfg.fd, this.name, this.nameLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const e = this.err[0]!;
        if (e === ERRNO.EAGAIN) return;
        if (e === ERRNO.EINTR) continue;
        if (Atomics.load(this.control, CONTROL.stop) !== 0) {
          this.stopping = true; // the pool shut the listener down (EINVAL): drain
          return;
        }
        if (e === ERRNO.ECONNABORTED || e === ERRNO.ENOTCONN || e === ERRNO.EPROTO) {
          // The peer's doing (accept(2), "Error handling"): count it, take the next one.
          Atomics.add(this.control, CONTROL.aborted, 1);
          this.totals.aborted++;
          this.abortedSince++;
          this.#tellAborted(false);
          continue;
        }
        const now = performance.now();
        if (e === ERRNO.EMFILE || e === ERRNO.ENFILE || e === ERRNO.ENOBUFS || e === ERRNO.ENOMEM) {
          // Out of a resource: connections wait in the backlog; retry every 100 ms.
          if (this.paused === null) {
            this.paused = { since: now, deferred: 0, lastFail: now, okSince: 0 };
            this.out.push({
              event: "accept-paused",
              proto: "tcp",
              error: sysError("accept", e).message,
            });
          }
          this.paused.deferred++;
          this.paused.lastFail = now;
          this.paused.okSince = 0;
        } else {
          this.out.push({ event: "error", proto: "tcp", error: sysError("accept", e).message });
        }
        this.acceptPausedUntil = now + ACCEPT_BACKOFF_MS;
        this.#ctl(EPOLL_CTL_DEL, cfg.fd, 0);
        return;
      }
      if (this.paused !== null && this.paused.okSince === 0) {
        this.paused.okSince = performance.now();
      }
      const { address: peer, port, mapped } = decodePeer(this.name, this.nameLen[0]!);
      if (cfg.rejectMapped && mapped) {
        if (!cfg.quiet) {
          this.out.push({ event: "reject", proto: "tcp", peer, port, reason: "ipv4-peer" });
        }
        c.close(fd);
        continue;
      }
      const open = takeSlot(this.control, cfg.maxConns);
      if (open === 0) {
        this.totals.max_conns++;
        if (!cfg.quiet) {
          this.out.push({ event: "reject", proto: "tcp", peer, port, reason: "max-conns" });
        }
        c.close(fd);
        continue;
      }
      const refused = this.gate?.admit(peer, sharedNow());
      if (refused) {
        releaseSlot(this.control);
        this.refusals.add(refused);
        if (!cfg.quiet) {
          this.out.push({ event: "reject", proto: "tcp", peer, port, reason: refused });
        }
        c.close(fd);
        continue;
      }
      try {
        this.#ctl(EPOLL_CTL_ADD, fd, CONN_EVENTS);
      } catch (err) {
        releaseSlot(this.control);
        this.gate?.release(peer, sharedNow());
        c.close(fd);
        this.out.push({ event: "error", proto: "tcp", peer, port, error: (err as Error).message });
        continue;
      }
      const now = performance.now();
      const conn: Conn = {
        fd,
        peer,
        port,
        t0: now,
        bytesIn: 0,
        bytesOut: 0,
        pending: null,
        pipeR: -1,
        pipeW: -1,
        piped: 0,
        // The cap is counted read by read: a capped connection stays on read/write.
        noSplice: !splicesFor(cfg.splice, peer) || this.maxBytes !== Infinity,
        readPath: false,
        eof: false,
        urgent: false,
        capped: false,
        lingerUntil: 0,
        idlePrev: null,
        idleNext: null,
        lastActive: now,
      };
      this.conns[fd] = conn;
      this.open++;
      this.idle?.add(conn, now);
      this.totals.connections++;
      if (!cfg.quiet) this.out.push({ event: "accept", proto: "tcp", peer, port, open });
    }
  }

  #expire(): void {
    const now = performance.now();
    for (let conn = this.idle!.expired(now); conn; conn = this.idle!.expired(now)) {
      this.#finish(conn, "idle-timeout");
    }
  }

  /** Handles readiness `ev` on `conn`. */
  #service(conn: Conn, ev: number): void {
    if (conn.lingerUntil > 0) {
      if (ev & INPUT) this.#discard(conn);
      return;
    }
    if (ev & EPOLLPRI) conn.urgent = true;
    if (conn.pending !== null || conn.piped > 0) {
      if (!this.#drain(conn)) return; // still blocked (or closed)
      if (this.draining) this.quietCheck = 0; // it may be quiet now
    } else if ((ev & INPUT) === 0) {
      return; // writable, with nothing to write
    }
    if (conn.capped) return this.#capped(conn);
    if (conn.eof) {
      this.#finish(conn, "eof");
      return;
    }
    this.#pump(conn, (ev & (EPOLLRDHUP | EPOLLHUP)) !== 0);
  }

  /** Reads and echoes until the socket is empty, the echo blocks, or the peer is done. */
  #pump(conn: Conn, peerClosed: boolean): void {
    const { c, buf } = this;
    const fd = conn.fd;
    for (;;) {
      if (conn.urgent && !this.#urgent(conn)) return;
      if (conn.pipeR >= 0 && !conn.readPath && !conn.urgent) {
        const n = c.splice32(fd, null, conn.pipeW, null, PIPE_SIZE_N, SPLICE_FLAGS);
        if (n > 0) {
          this.#received(conn, n);
          conn.piped = n;
          if (!this.#drainPipe(conn)) return;
          // A short splice may mean a full pipe, not an empty socket: go on until EAGAIN.
          continue;
        }
        if (n === 0) {
          // Once the FIN is in, splice(2) returns 0 whenever it moved nothing, which is not
          // only at the end of the stream: also at an urgent mark, and when no page could
          // be had to move the bytes into (net/ipv4/tcp.c, tcp_splice_read). Closing then
          // would drop the rest with a RST, so read(2) says whether this is the end.
          if (this.#atMark(conn)) conn.urgent = true;
          conn.readPath = true;
          continue;
        }
        const e = this.err[0]!;
        if (e === ERRNO.EAGAIN) return;
        if (e === ERRNO.EINTR) continue;
        if (CONN_ERRORS.has(e)) return this.#fail(conn, "recv", e);
        // Refused (EINVAL, ENOSYS, EOPNOTSUPP), or failed for a reason that is not the
        // connection's: read/write from now on.
        this.#closePipe(conn); // empty: every splice in is sent before the next
        conn.noSplice = true;
        continue;
      }
      const n = c.read32(fd, buf, BUF_SIZE_N);
      if (n > 0) {
        this.#received(conn, n);
        // --max-bytes: echo what the cap still allows of this read, then close.
        // The cap is reached with its last byte, not with the read after it: a peer that
        // sends exactly maxBytes gets them and then the FIN at once.
        const take = Math.max(0, Math.min(n, this.maxBytes - (conn.bytesIn - n)));
        if (conn.bytesIn >= this.maxBytes) conn.capped = true;
        let off = 0;
        while (off < take) {
          // The length bounds the write: a view only to start past a partial write (a
          // subarray per call costs as much as the call's own overhead).
          const from = off === 0 ? buf : buf.subarray(off);
          // sizeArg on the difference (`| 0` on take alone measured no better: a
          // difference of int32s can leave int32).
          const len = off === 0 && take === BUF_SIZE ? BUF_SIZE_N : sizeArg(take - off);
          const w = c.write32(fd, from, len);
          if (w >= 0) {
            off += w;
            this.#sent(conn, w);
            continue;
          }
          const e = this.err[0]!;
          if (e === ERRNO.EINTR) continue;
          if (e === ERRNO.EAGAIN) {
            conn.pending = buf.slice(off, take); // wait for EPOLLOUT
            return;
          }
          return this.#fail(conn, "send", e);
        }
        if (conn.capped) return this.#capped(conn);
        if (n === BUF_SIZE) {
          conn.readPath = false;
          if (conn.pipeR < 0 && !conn.noSplice) this.#openPipe(conn);
        } else if (!peerClosed && !conn.urgent) {
          return; // short read: the socket is empty, and new data raises a new edge
        }
        continue;
      }
      if (n === 0) return this.#eof(conn);
      const e = this.err[0]!;
      if (e === ERRNO.EAGAIN) return;
      if (e === ERRNO.EINTR) continue;
      return this.#fail(conn, "recv", e);
    }
  }

  #received(conn: Conn, n: number): void {
    conn.bytesIn += n;
    this.totals.bytes_in += n;
    if (this.idle) this.idle.touch(conn, performance.now());
    else if (this.draining || conn.lingerUntil > 0) conn.lastActive = performance.now();
    if (this.cfg.verbose) {
      this.out.push({ event: "read", proto: "tcp", peer: conn.peer, port: conn.port, bytes: n });
    }
  }

  /**
   * The urgent byte: read in-band data up to the mark first (read(2) stops there), then
   * take the byte with MSG_OOB. Returns false when the caller should stop reading for now.
   */
  #urgent(conn: Conn): boolean {
    const c = this.c;
    // Is there a byte at all? EINVAL: none (already taken); EAGAIN: announced, not arrived.
    const peek = c.recv32(conn.fd, this.oob, 1n, MSG_OOB | MSG_PEEK | MSG_DONTWAIT);
    if (peek !== 1) {
      if (peek < 0 && this.err[0]! === ERRNO.EAGAIN) return false; // its arrival raises an edge
      conn.urgent = false;
      return true;
    }
    if (!this.#atMark(conn)) {
      conn.readPath = true; // in-band bytes before the mark: read(2) stops at it
      return true;
    }
    c.recv32(conn.fd, this.oob, 1n, MSG_OOB | MSG_DONTWAIT);
    conn.urgent = false;
    conn.readPath = true; // step over the mark with read(2); splice(2) stops at it
    this.out.push({
      event: "urgent",
      proto: "tcp",
      peer: conn.peer,
      port: conn.port,
      byte: this.oob[0]!,
      offset: conn.bytesIn,
    });
    return true;
  }

  /** SIOCATMARK: whether the next in-band byte is the one after the urgent mark. */
  #atMark(conn: Conn): boolean {
    if (this.c.ioctl_ptr(conn.fd, BigInt(SIOCATMARK), this.intOut) < 0) return false;
    return this.intOut[0] !== 0;
  }

  #openPipe(conn: Conn): void {
    const c = this.c;
    if (c.pipe2(this.pipeFds, O_NONBLOCK | O_CLOEXEC) < 0) {
      conn.noSplice = true;
      return;
    }
    conn.pipeR = this.pipeFds[0]!;
    conn.pipeW = this.pipeFds[1]!;
    c.fcntl_int(conn.pipeW, F_SETPIPE_SZ, PIPE_SIZE); // best effort: 64 KiB otherwise
  }

  #closePipe(conn: Conn): void {
    if (conn.pipeR < 0) return;
    this.c.close(conn.pipeR);
    this.c.close(conn.pipeW);
    conn.pipeR = conn.pipeW = -1;
    conn.piped = 0;
  }

  /** Sends what waits (pipe or buffer); true when all of it went. */
  #drain(conn: Conn): boolean {
    if (conn.piped > 0) return this.#drainPipe(conn);
    const p = conn.pending!;
    let off = 0;
    while (off < p.length) {
      const w = this.c.write32(conn.fd, p.subarray(off), sizeArg(p.length - off));
      if (w >= 0) {
        off += w;
        this.#sent(conn, w);
        continue;
      }
      const e = this.err[0]!;
      if (e === ERRNO.EINTR) continue;
      if (e === ERRNO.EAGAIN) {
        conn.pending = p.subarray(off);
        return false;
      }
      this.#fail(conn, "send", e);
      return false;
    }
    conn.pending = null;
    return true;
  }

  #drainPipe(conn: Conn): boolean {
    while (conn.piped > 0) {
      const w = this.c.splice32(conn.pipeR, null, conn.fd, null, BigInt(conn.piped), SPLICE_FLAGS);
      if (w > 0) {
        conn.piped -= w;
        this.#sent(conn, w);
        continue;
      }
      const e = w < 0 ? this.err[0]! : ERRNO.EPIPE;
      if (e === ERRNO.EINTR) continue;
      if (e === ERRNO.EAGAIN) return false; // the pipe holds the rest until EPOLLOUT
      if (CONN_ERRORS.has(e)) {
        this.#fail(conn, "send", e);
        return false;
      }
      return this.#unpipe(conn);
    }
    return true;
  }

  /**
   * splice(2) out failed for a reason that is not the connection's: the bytes in the pipe
   * go out with write(2) instead, and the connection stays on read/write, so nothing it
   * accepted is lost to the failed splice.
   */
  #unpipe(conn: Conn): boolean {
    const rest = new Uint8Array(conn.piped);
    let got = 0;
    while (got < rest.length) {
      const n = this.c.read32(conn.pipeR, rest.subarray(got), sizeArg(rest.length - got));
      if (n > 0) {
        got += n;
        continue;
      }
      const e = n < 0 ? this.err[0]! : ERRNO.EIO; // the pipe holds `piped` bytes, ours only
      if (e === ERRNO.EINTR) continue;
      this.#fail(conn, "read", e);
      return false;
    }
    this.#closePipe(conn);
    conn.noSplice = true;
    conn.pending = rest;
    return this.#drain(conn);
  }

  #sent(conn: Conn, n: number): void {
    conn.bytesOut += n;
    this.totals.bytes_out += n;
  }

  /**
   * The cap is reached and the allowed echo is out: count it, half-close (the peer reads
   * the echo, then EOF) and linger (see the module doc).
   */
  #capped(conn: Conn): void {
    this.refusals.add("max-bytes");
    this.c.shutdown(conn.fd, SHUT_WR);
    const now = performance.now();
    conn.lingerUntil = now + LINGER_MS;
    conn.lastActive = now;
    this.lingering.add(conn);
    this.lingerCheck = Math.min(this.lingerCheck, now + DRAIN_QUIET_MS);
    this.#discard(conn);
  }

  /**
   * Lingering: reads and drops what the peer still sends (in `bytes_in`, so in
   * `bytes_dropped`) and closes at its EOF. After {@link LINGER_READS} reads the rest waits
   * for the next turn: EPOLL_CTL_MOD queues a ready fd again (fs/eventpoll.c, ep_modify),
   * behind the connections already ready.
   */
  #discard(conn: Conn): void {
    const { c, buf } = this;
    for (let i = 0; i < LINGER_READS; i++) {
      const n = c.read32(conn.fd, buf, BUF_SIZE_N);
      if (n > 0) {
        this.#received(conn, n);
        continue;
      }
      if (n === 0) return this.#finish(conn, "max-bytes");
      const e = this.err[0]!;
      if (e === ERRNO.EAGAIN) return;
      if (e === ERRNO.EINTR) continue;
      return this.#finish(conn, "max-bytes"); // reset by the peer once it had the echo
    }
    try {
      this.#ctl(EPOLL_CTL_MOD, conn.fd, CONN_EVENTS);
    } catch {
      this.#finish(conn, "max-bytes");
    }
  }

  /** Closes the lingering connections quiet for DRAIN_QUIET_MS or past LINGER_MS. */
  #checkLingering(): void {
    const now = performance.now();
    let next = Infinity;
    for (const conn of this.lingering) {
      const endAt = Math.min(conn.lastActive + DRAIN_QUIET_MS, conn.lingerUntil);
      if (endAt <= now) this.#finish(conn, "max-bytes");
      else next = Math.min(next, endAt);
    }
    this.lingerCheck = next;
  }

  #eof(conn: Conn): void {
    conn.eof = true;
    if (conn.pending === null && conn.piped === 0) this.#finish(conn, "eof");
  }

  #fail(conn: Conn, syscall: string, e: number): void {
    const error = sysError(syscall, e, { address: conn.peer, port: conn.port }).message;
    this.#finish(conn, "error", error);
  }

  /**
   * Closes `conn` (closing an fd also takes it out of the epoll set) and reports it. A
   * lingering connection closes as `max-bytes`, whatever ends the linger (its peer, the
   * quiet time, the idle timeout, the drain).
   */
  #finish(conn: Conn, reason: CloseReason, error?: string): void {
    const c = this.c;
    if (conn.lingerUntil > 0) {
      this.lingering.delete(conn);
      reason = "max-bytes";
    }
    this.conns[conn.fd] = undefined;
    this.open--;
    this.idle?.remove(conn);
    c.close(conn.fd);
    this.#closePipe(conn);
    releaseSlot(this.control);
    this.gate?.release(conn.peer, sharedNow());
    if (this.cfg.quiet) return;
    this.out.push({
      event: "close",
      proto: "tcp",
      peer: conn.peer,
      port: conn.port,
      bytes_in: conn.bytesIn,
      bytes_out: conn.bytesOut,
      ...(conn.bytesIn > conn.bytesOut ? { bytes_dropped: conn.bytesIn - conn.bytesOut } : {}),
      duration_ms: Math.round(performance.now() - conn.t0),
      reason,
      ...(error !== undefined ? { error } : {}),
    });
  }
}
