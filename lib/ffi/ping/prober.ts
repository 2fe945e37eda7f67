/**
 * The probe loop of `ping tcp|udp`, run synchronously in a Worker: one non-blocking
 * socket, connected (a connected UDP socket, so an ICMP port unreachable comes back as
 * ECONNREFUSED: udp(7)), each probe sent with send(2), the wait done in epoll_wait(2) with
 * the time left until the next deadline, and every echo read with recv(2). Back to back
 * (`-i 0`) the socket is made blocking with a receive timeout and recv(2) itself waits for
 * the echo: one system call fewer per probe, as sockperf's ping-pong client does. The monotonic
 * clock is read right before the send and right after the recv that completes an echo;
 * outcomes are posted to the main thread in batches, between probes, never between a send
 * and its echo. The bookkeeping (in flight, lost, late, duplicates) is lib/base/probe_book.ts,
 * the same the Deno-socket transport uses.
 *
 * @module
 */
import { fillProbe, ProbeBook } from "../../base/probe_book.ts";
import { SysError } from "../../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  ERRNO,
  IPPROTO_TCP,
  MSG_NOSIGNAL,
  POLLIN,
  POLLOUT,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "../constants.ts";
import { errnoName } from "../errno.ts";
import { libcSubset } from "../libc.ts";
import { applyToFds } from "../sockopt.ts";
import {
  decodeSockAddr,
  encodeSockAddr,
  EPOLL_EVENT,
  POLLFD,
  SOCKADDR_STORAGE,
} from "../structs.ts";
import { blockWithTimeout, errnoCell, monoNs } from "../bench/sys.ts";
import {
  type ProbeOutcome,
  type ProberConfig,
  type ProberError,
  type ProberMessage,
  STOP,
} from "./protocol.ts";

const CALLS = [
  "bind",
  "close",
  "connect",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "fcntl_int",
  "getsockname",
  "getsockopt",
  "poll",
  "recv32",
  "send32",
  "setsockopt",
  "socket",
] as const;

/** Longest single wait, ms: the stop word is checked at least this often. */
const MAX_WAIT_MS = 50;
/** Outcomes are posted at least this often while probes run back to back, ns. */
const FLUSH_NS = 100e6;
/** ... or once this many are waiting. */
const FLUSH_COUNT = 256;
/** The receive buffer: the largest datagram, so a long echo is seen whole. */
const RBUF_SIZE = 65536;
const RBUF_N = BigInt(RBUF_SIZE);

/** Turns a thrown error into the {@link ProberError} shape. */
function proberError(err: unknown): ProberError {
  if (err instanceof SysError) {
    const detail = /\(([^)]*)\)$/.exec(err.message)?.[1];
    return { syscall: err.syscall, code: err.code, address: err.address, port: err.port, detail };
  }
  return { syscall: "probe", code: "EIO", detail: (err as Error)?.message ?? String(err) };
}

/** One run of the probe loop (see the module doc). */
export class Prober {
  readonly c = libcSubset(CALLS);
  readonly err = errnoCell();
  readonly stop: Int32Array;
  readonly book: ProbeBook;
  readonly stream: boolean;
  fd = -1;
  address = "";
  /** The probe being sent (TCP: maybe in parts). */
  readonly probe: Uint8Array;
  /** TCP: part of {@link probe} is still to send, from `outOff`. */
  pending = false;
  outOff = 0;
  /** TCP: the echo being reassembled. */
  readonly frame: Uint8Array;
  got = 0;
  readonly rbuf = new Uint8Array(RBUF_SIZE);
  readonly pfd = new Uint8Array(POLLFD.size);
  readonly pfdView = new DataView(this.pfd.buffer);
  outcomes: ProbeOutcome[] = [];
  /** The probe size as the length argument of send(2) and recv(2). */
  readonly sizeN: bigint;
  lastFlush = 0;

  constructor(readonly cfg: ProberConfig, readonly post: (m: ProberMessage) => void) {
    this.stop = new Int32Array(cfg.control, 0, STOP.length);
    this.book = new ProbeBook(cfg.size, cfg.session);
    this.stream = cfg.proto === "tcp";
    this.probe = new Uint8Array(cfg.size);
    this.frame = new Uint8Array(cfg.size);
    this.sizeN = BigInt(cfg.size);
  }

  stopAsked(): boolean {
    return Atomics.load(this.stop, STOP.stop) !== 0;
  }

  #fail(syscall: string, ep?: { address: string; port: number }): ProberError {
    return { syscall, code: errnoName(this.err[0]!), address: ep?.address, port: ep?.port };
  }

  /**
   * Waits up to `ms` for `events` on the socket; the revents, 0 on timeout, -1 on error.
   * Before the socket is connected: poll(2); once probing: epoll_wait(2) on a set holding
   * the socket alone (EPOLLIN/EPOLLOUT are POLLIN/POLLOUT).
   */
  #poll(events: number, ms: number): number {
    if (this.ep < 0) {
      this.pfdView.setInt32(POLLFD.fd, this.fd, true);
      this.pfdView.setInt16(POLLFD.events, events, true);
      this.pfdView.setInt16(POLLFD.revents, 0, true);
      const r = this.c.poll(this.pfd, 1n, ms);
      if (r < 0) return this.err[0] === ERRNO.EINTR ? 0 : -1;
      return r === 0 ? 0 : this.pfdView.getInt16(POLLFD.revents, true);
    }
    if (events !== this.epEvents) {
      this.epEvents = events;
      this.ev32[EPOLL_EVENT.events / 4] = events;
      if (this.c.epoll_ctl(this.ep, EPOLL_CTL_MOD, this.fd, this.ev) < 0) return -1;
    }
    const r = this.c.epoll_wait(this.ep, this.ev, 1, ms);
    if (r < 0) return this.err[0] === ERRNO.EINTR ? 0 : -1;
    return r === 0 ? 0 : this.ev32[EPOLL_EVENT.events / 4]!;
  }

  /** The epoll set of the connected socket (see {@link #poll}). */
  ep = -1;
  epEvents = POLLIN;
  readonly ev = new Uint8Array(EPOLL_EVENT.size);
  readonly ev32 = new Int32Array(this.ev.buffer);

  #epoll(): ProberError | null {
    this.ep = this.c.epoll_create1(EPOLL_CLOEXEC);
    if (this.ep < 0) return this.#fail("epoll_create1");
    this.ev32[EPOLL_EVENT.events / 4] = POLLIN;
    if (this.c.epoll_ctl(this.ep, EPOLL_CTL_ADD, this.fd, this.ev) < 0) {
      return this.#fail("epoll_ctl");
    }
    return null;
  }

  /**
   * Opens the socket and connects it (each address in turn, for TCP); the `connected`
   * message, or `setup-failed` with the last error.
   */
  setup(): ProberMessage {
    const cfg = this.cfg;
    let last: ProberError = { syscall: "connect", code: "EHOSTUNREACH" };
    const addrs = cfg.proto === "udp" ? cfg.addresses.slice(0, 1) : cfg.addresses;
    for (const a of addrs) {
      if (this.stopAsked()) break;
      const ep = { address: a.address, port: cfg.port };
      const r = this.#open(a.family, encodeSockAddr(a.address, cfg.port, a.scopeId), ep);
      if (typeof r === "object") {
        last = r;
        if (this.fd >= 0) this.c.close(this.fd);
        this.fd = -1;
        continue;
      }
      this.address = a.address;
      try {
        if (this.stream && cfg.sockopts?.nodelay === undefined) {
          const one = new Int32Array([1]);
          this.c.setsockopt(this.fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(one.buffer), 4);
        }
        const options = applyToFds([this.fd], this.stream, {});
        const sa = new Uint8Array(SOCKADDR_STORAGE.size), len = new Uint32Array([sa.length]);
        this.c.getsockname(this.fd, sa, new Uint8Array(len.buffer));
        const me = decodeSockAddr(sa.subarray(0, len[0]));
        return {
          type: "connected",
          address: a.address,
          local: { address: me?.address ?? "", port: me?.port ?? 0 },
          options,
        };
      } catch (err) {
        return { type: "setup-failed", error: proberError(err) };
      }
    }
    return { type: "setup-failed", error: last };
  }

  /** Socket, options, bind, connect; the fd is in `this.fd`, or the error is returned. */
  #open(family: 4 | 6, sa: Uint8Array<ArrayBuffer>, ep: { address: string; port: number }) {
    const c = this.c, cfg = this.cfg;
    const type = (this.stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    this.fd = c.socket(family === 6 ? AF_INET6 : AF_INET, type, 0);
    if (this.fd < 0) return this.#fail("socket");
    if (cfg.sockopts) {
      try {
        applyToFds([this.fd], this.stream, cfg.sockopts);
      } catch (err) {
        return proberError(err);
      }
    }
    if (cfg.bind) {
      const b = encodeSockAddr(cfg.bind.address, cfg.bind.port);
      if (c.bind(this.fd, b, b.length) < 0) return this.#fail("bind", cfg.bind);
    }
    if (c.connect(this.fd, sa, sa.length) === 0) return 0;
    if (this.err[0] !== ERRNO.EINPROGRESS) return this.#fail("connect", ep);
    // TCP: wait for the handshake, checking the stop word.
    const deadline = monoNs() + cfg.timeoutMs * 1e6;
    for (;;) {
      const now = monoNs();
      if (this.stopAsked()) return { syscall: "connect", code: "ECANCELED", ...ep };
      if (now >= deadline) return { syscall: "connect", code: "ETIMEDOUT", ...ep };
      const ms = Math.min(MAX_WAIT_MS, Math.ceil((deadline - now) / 1e6));
      const rev = this.#poll(POLLOUT, ms);
      if (rev < 0) return this.#fail("poll", ep);
      if (rev === 0) continue;
      const v = new Int32Array(1), len = new Uint32Array([4]);
      c.getsockopt(
        this.fd,
        SOL_SOCKET,
        SO_ERROR,
        new Uint8Array(v.buffer),
        new Uint8Array(len.buffer),
      );
      if (v[0] === 0) return 0;
      return { syscall: "connect", code: errnoName(v[0]!), ...ep };
    }
  }

  #flush(now: number): void {
    this.lastFlush = now;
    if (this.outcomes.length === 0) return;
    this.post({ type: "outcomes", outcomes: this.outcomes });
    this.outcomes = [];
  }

  /** Runs the probes; the `done` message. */
  run(): ProberMessage {
    const cfg = this.cfg, book = this.book, c = this.c;
    const setupError = this.#epoll();
    if (setupError) return { type: "done", sent: 0, elapsedNs: 0, error: setupError };
    const timeoutNs = cfg.timeoutMs * 1e6, intervalNs = cfg.intervalMs * 1e6;
    // Back to back (-i 0): wait for each echo in recv(2) itself, as a blocking socket with a
    // receive timeout, which saves the epoll_wait(2) per probe (see `blocking`).
    this.blocking = intervalNs === 0 &&
      blockWithTimeout(c, this.fd, Math.min(cfg.timeoutMs, MAX_WAIT_MS));
    const started = monoNs();
    const where = { address: this.address, port: cfg.port };
    let seq = 0, sent = 0, nextSend = started;
    let error: ProberError | undefined;
    this.lastFlush = started;
    const probeN = this.sizeN;
    for (;;) {
      const now = monoNs();
      if (this.stopAsked()) break;
      // Probes whose time is up, oldest first (one timeout for all: send order).
      for (let o = book.oldest(); o && o[1] + timeoutNs <= now; o = book.oldest()) {
        book.timeout(o[0]);
        this.outcomes.push({ k: "timeout", seq: o[0] });
      }
      // The next probe, when due (-i 0: once nothing is in flight).
      const more = seq < cfg.count;
      const due = more && !this.pending && now >= nextSend &&
        (intervalNs > 0 || book.inFlight.size === 0);
      if (due) {
        if (this.outcomes.length > 0 && now - this.lastFlush >= FLUSH_NS) this.#flush(now);
        seq++;
        fillProbe(this.probe, cfg.session, seq);
        const t0 = monoNs();
        book.sent(seq, t0);
        sent++;
        const w = c.send32(this.fd, this.probe, probeN, MSG_NOSIGNAL);
        nextSend = t0 + intervalNs;
        if (w >= 0) {
          if (this.stream && w < cfg.size) [this.pending, this.outOff] = [true, w];
        } else {
          const e = this.err[0]!;
          if (e === ERRNO.ECONNREFUSED && !this.stream) {
            // The refusal of an earlier probe (or this one), reported here: count it, resend.
            const r = book.refuse();
            if (r !== null) this.outcomes.push({ k: "refused", seq: r });
            if (book.inFlight.has(seq)) c.send32(this.fd, this.probe, probeN, MSG_NOSIGNAL);
          } else if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) {
            // UDP: lost at its deadline; TCP: sent when the socket is writable.
            if (this.stream) [this.pending, this.outOff] = [true, 0];
          } else {
            error = this.#fail("send", where);
            break;
          }
        }
        continue;
      }
      if (!more && book.inFlight.size === 0 && !this.pending) break;
      // Wait until an echo, the oldest probe's deadline or the next send.
      let until = now + MAX_WAIT_MS * 1e6;
      const o = book.oldest();
      if (o && o[1] + timeoutNs < until) until = o[1] + timeoutNs;
      if (
        more && !this.pending && nextSend < until && (intervalNs > 0 || book.inFlight.size === 0)
      ) {
        until = nextSend;
      }
      if (
        book.inFlight.size === 0 || this.outcomes.length >= FLUSH_COUNT ||
        now - this.lastFlush >= FLUSH_NS
      ) this.#flush(now);
      // Blocking: the recv(2) below is the wait (SO_RCVTIMEO bounds it), so no clock read
      // and no poll here.
      const rev = this.blocking && !this.pending ? POLLIN : this.#poll(
        POLLIN | (this.pending ? POLLOUT : 0),
        Math.max(0, Math.ceil((until - monoNs()) / 1e6)),
      );
      if (rev < 0) {
        error = this.#fail("poll", where);
        break;
      }
      if (rev === 0) continue;
      if (this.pending && (rev & POLLOUT) !== 0) {
        const r = this.#sendRest();
        if (r !== null) {
          error = r;
          break;
        }
      }
      const r = this.stream ? this.#readTcp() : this.#readUdp();
      if (r === "eof") {
        error = {
          ...where,
          syscall: "recv",
          code: "EOF",
          detail: "the server closed the connection",
        };
        break;
      }
      if (r !== null) {
        error = r;
        break;
      }
    }
    this.#flush(monoNs());
    return { type: "done", sent, elapsedNs: monoNs() - started, error };
  }

  /**
   * Back-to-back probes on a blocking socket: recv(2) waits for the echo itself and gives up
   * after SO_RCVTIMEO (send(2) after SO_SNDTIMEO), so the loop still sees deadlines and the
   * stop word at least every MAX_WAIT_MS.
   */
  blocking = false;

  /** TCP: sends the rest of the probe. */
  #sendRest(): ProberError | null {
    const from = this.outOff;
    const rest = this.probe.subarray(from);
    const w = this.c.send32(this.fd, rest, BigInt(rest.length), MSG_NOSIGNAL);
    if (w < 0) {
      const e = this.err[0]!;
      if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return null;
      return this.#fail("send", { address: this.address, port: this.cfg.port });
    }
    this.outOff = from + w;
    if (this.outOff >= this.probe.length) [this.pending, this.outOff] = [false, 0];
    return null;
  }

  /** UDP: reads every queued datagram. */
  #readUdp(): ProberError | null {
    const c = this.c, rbuf = this.rbuf;
    for (;;) {
      const n = c.recv32(this.fd, rbuf, RBUF_N, 0);
      const now = monoNs();
      if (n < 0) {
        const e = this.err[0]!;
        if (e === ERRNO.EAGAIN) return null;
        if (e === ERRNO.EINTR) continue;
        if (e === ERRNO.ECONNREFUSED) {
          const r = this.book.refuse();
          if (r !== null) this.outcomes.push({ k: "refused", seq: r });
          continue;
        }
        return this.#fail("recv", { address: this.address, port: this.cfg.port });
      }
      this.#classify(rbuf.subarray(0, n), now);
      return null; // anything else queued makes the next poll(2) return at once
    }
  }

  /**
   * TCP: reads what is there (into the large buffer, as much as there is), cut into echo
   * frames of the probe size.
   */
  #readTcp(): ProberError | "eof" | null {
    const c = this.c, frame = this.frame, rbuf = this.rbuf;
    for (;;) {
      const n = c.recv32(this.fd, rbuf, RBUF_N, 0);
      const now = monoNs();
      if (n < 0) {
        const e = this.err[0]!;
        if (e === ERRNO.EAGAIN) return null;
        if (e === ERRNO.EINTR) continue;
        return this.#fail("recv", { address: this.address, port: this.cfg.port });
      }
      if (n === 0) return "eof";
      for (let off = 0; off < n;) {
        const take = Math.min(n - off, frame.length - this.got);
        frame.set(rbuf.subarray(off, off + take), this.got);
        off += take;
        this.got += take;
        if (this.got < frame.length) break;
        this.got = 0;
        this.#classify(frame, now);
      }
      // Level-triggered: anything still queued makes the next poll(2) return at once, so
      // no second recv(2) just to hear EAGAIN (nor one that would block).
      if (n < RBUF_SIZE || this.blocking) return null;
    }
  }

  #classify(f: Uint8Array, now: number): void {
    const v = this.book.frame(f, now);
    switch (v.kind) {
      case "reply":
        this.outcomes.push({ k: "reply", seq: v.seq, bytes: f.length, rttNs: v.rtt });
        return;
      case "late":
        this.outcomes.push({ k: "late", seq: v.seq, rttNs: v.rtt });
        return;
      case "duplicate":
        this.outcomes.push({ k: "duplicate", seq: v.seq });
        return;
      case "corrupt":
        this.outcomes.push({ k: "corrupt", seq: v.seq, bytes: f.length, reason: v.reason });
        return;
    }
  }

  close(): void {
    if (this.ep >= 0) this.c.close(this.ep);
    this.ep = -1;
    if (this.fd >= 0) this.c.close(this.fd);
    this.fd = -1;
  }
}
