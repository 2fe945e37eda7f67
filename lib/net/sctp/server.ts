/**
 * The SCTP echo server (the Solaris Socket Interfaces guide's, grown up): one-to-one (an accepted
 * socket per association) or one-to-many (one SOCK_SEQPACKET socket for every
 * association). Every message is echoed on the stream it came in on, with the same PPID
 * and the same unordered flag; notifications become events. Many associations are served
 * at once: every socket is non-blocking and waits in the shared epoll reactor.
 *
 * @module
 */
import { DEFAULT_DRAIN_MS, DRAIN_QUIET_MS } from "../../base/drain.ts";
import { formatEndpoint, SysError } from "../../base/errors.ts";
import { SCTP_UNORDERED } from "../../ffi/constants.ts";
import { WOULD_BLOCK } from "../../ffi/errno.ts";
import { doIo } from "../../ffi/reactor.ts";
import { ALL_EVENTS, type SctpMessage, SctpSocket, type SctpStyle } from "../../ffi/sctp.ts";
import type { RecvInfo, SctpNotification } from "../../ffi/sctp_codec.ts";
import type { SockAddr } from "../../ffi/structs.ts";
import { unmapV4 } from "../../base/ip.ts";
import { type AdmissionOptions, Gate } from "../../base/gate.ts";
import type { SockoptRequest, SockoptState } from "../../ffi/sockopt.ts";
import {
  applyTuning,
  notificationEvent,
  type SctpServerEvent,
  type SctpServerSummary,
  type SctpTuning,
} from "./events.ts";

export type { SctpServerSummary } from "./events.ts";

/** Options of {@link serveSctp}. */
export interface SctpServerOptions extends SctpTuning {
  /** Port (0 = any free port). */
  port: number;
  /**
   * Local addresses: the first is bound, the rest added with sctp_bindx. Empty: `::`
   * (dual stack), or `0.0.0.0` where IPv6 is unavailable.
   */
  addresses?: string[];
  /** Socket style (default one-to-one). */
  style?: SctpStyle;
  /** Streams offered in each direction (SCTP_INITMSG; default 64). */
  streams?: number;
  /** Report every message as a `message` event. */
  verbose?: boolean;
  /**
   * Stops the server: it stops taking new associations at once (one-to-one: the listening
   * socket closes; one-to-many: listen(2) with a backlog of 0), keeps echoing for up to
   * {@link drainMs}, then closes what is left and resolves.
   */
  signal: AbortSignal;
  /**
   * After `signal` aborts: how long (ms) associations may go on being echoed. An
   * association (one-to-many: the socket) that sends nothing for {@link DRAIN_QUIET_MS}
   * has been echoed all it sent and is shut down (SHUTDOWN, RFC 9260 section 9.2) at
   * once. Default 5000; 0 closes everything at once.
   */
  drainMs?: number;
  /**
   * socket(7)/ip(7) options, set before bind(2) (SO_RCVBUF, SO_SNDBUF, IP_TOS or
   * IPV6_TCLASS, SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY); read back in
   * {@link SctpServer.options}.
   */
  socketOptions?: SockoptRequest | undefined;
  /**
   * Who is served (`--allow`, `--deny`, `--max-per-ip`, `--rate`), decided for each
   * association as it comes up: one-to-one closes the accepted socket, one-to-many aborts
   * the association; each refusal is a `reject` event, counted in the summary.
   */
  admission?: AdmissionOptions | undefined;
  /** Receives every event. */
  onEvent: (ev: SctpServerEvent) => void;
  /** Receives diagnostics that are not events (a peer that misbehaved). */
  onWarning?: (msg: string) => void;
}

/** A running server. */
export interface SctpServer {
  /** The bound port. */
  port: number;
  /** The bound addresses. */
  addresses: string[];
  /** With socket options asked for: every option as getsockopt(2) reads it back. */
  options?: SockoptState;
  /** Resolves with the summary once the signal aborted and everything closed. */
  finished: Promise<SctpServerSummary>;
  /** The summary so far (`running: true`), without stopping the server (SIGHUP). */
  snapshot(): Promise<SctpServerSummary>;
}

/** Messages handled in a row before yielding to timers and signals. */
const BATCH = 256;

function peerOf(sa: SockAddr | null): { address: string; port: number } | undefined {
  return sa ? { address: unmapV4(sa.address), port: sa.port } : undefined;
}

/**
 * Starts an SCTP echo server. Throws (before anything is served) if the socket cannot
 * be opened or bound; a kernel without SCTP gives `SCTP is not available in this kernel`.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const server = serveSctp({
 *   port: 0,
 *   addresses: ["127.0.0.1", "127.0.0.2"], // multi-homed: bind, then bindx
 *   style: "one-to-many",
 *   signal: ac.signal,
 *   onEvent: (ev) => console.log(ev), // {event: "assoc_change", state: "COMM_UP", ...}
 * });
 * console.log(server.port);
 * ac.abort();
 * console.log(await server.finished); // {event: "summary", associations, messages, bytes}
 * ```
 */
export function serveSctp(o: SctpServerOptions): SctpServer {
  const style = o.style ?? "one-to-one";
  const streams = o.streams ?? 64;
  let addrs = o.addresses?.length ? o.addresses : ["::"];
  const family = (a: string) => (a.includes(":") ? 6 : 4);
  let sock: SctpSocket;
  try {
    sock = SctpSocket.open(family(addrs[0]!), style);
  } catch (e) {
    if (o.addresses?.length || !(e instanceof SysError) || e.code !== "EAFNOSUPPORT") throw e;
    addrs = ["0.0.0.0"];
    sock = SctpSocket.open(4, style);
  }
  try {
    const options = o.socketOptions ? sock.applyOptions(o.socketOptions) : undefined;
    sock.setInitMsg({ outstreams: streams, instreams: streams });
    sock.subscribe(ALL_EVENTS);
    sock.setNoDelay(true); // an echo goes out at once, never held back by Nagle
    applyTuning(sock, o);
    sock.bind(addrs[0]!, o.port);
    const port = sock.localAddress().port;
    if (addrs.length > 1) {
      for (const a of addrs.slice(1)) sock.bindx([{ address: a, port }], "add");
    }
    sock.listen();
    const server = new Server(sock, style, o);
    return {
      port,
      addresses: addrs,
      ...(options ? { options } : {}),
      finished: server.run(),
      snapshot: () => Promise.resolve(server.summary(true)),
    };
  } catch (e) {
    sock.close();
    throw e;
  }
}

class Server {
  #sock: SctpSocket;
  #style: SctpStyle;
  #o: SctpServerOptions;
  #assocs = 0;
  #messages = 0;
  #bytes = 0;
  #conns = new Set<SctpSocket>();
  #gate: Gate;
  /** one-to-many: the peer each admitted association was counted for (to release it). */
  #admitted = new Map<number, string>();
  /** one-to-many: associations refused and aborted (their messages are not echoed). */
  #refused = new Set<number>();
  /** Aborted at the end of the drain (or at once with drainMs 0): every wait ends. */
  #hard = new AbortController();
  #draining = false;

  constructor(sock: SctpSocket, style: SctpStyle, o: SctpServerOptions) {
    this.#sock = sock;
    this.#style = style;
    this.#o = o;
    this.#gate = new Gate(o.admission);
  }

  summary(running: boolean): SctpServerSummary {
    return {
      event: "summary",
      proto: "sctp",
      associations: this.#assocs,
      messages: this.#messages,
      bytes: this.#bytes,
      ...(this.#gate.refusals.total ? { refused: this.#gate.refusals.toJSON() } : {}),
      ...(running ? { running: true as const } : {}),
    };
  }

  async run(): Promise<SctpServerSummary> {
    const drainMs = this.#o.drainMs ?? DEFAULT_DRAIN_MS;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const cut = () => {
      this.#hard.abort();
      this.#sock.close();
      for (const c of this.#conns) c.close();
    };
    const onStop = () => {
      this.#draining = true;
      if (drainMs === 0) return cut();
      // No new associations from now on; those up go on until quiet or the deadline.
      if (this.#style === "one-to-one") this.#sock.close();
      else {
        try {
          this.#sock.listen(0); // listen(2) backlog 0: the endpoint stops taking INITs
        } catch { /* closed */ }
      }
      deadline = setTimeout(cut, drainMs);
    };
    this.#o.signal.addEventListener("abort", onStop, { once: true });
    try {
      if (this.#o.signal.aborted) onStop();
      if (!this.#hard.signal.aborted) {
        if (this.#style === "one-to-many") await this.#serveMany();
        else await this.#acceptLoop();
      }
    } finally {
      this.#o.signal.removeEventListener("abort", onStop);
      clearTimeout(deadline);
      cut();
    }
    return this.summary(false);
  }

  /**
   * Waits until `s` is readable. Draining, it waits at most {@link DRAIN_QUIET_MS}: a
   * peer quiet that long has been echoed all it sent, so the wait fails and its
   * association (one-to-many: the socket) is closed.
   */
  async #wait(s: SctpSocket): Promise<void> {
    if (!this.#draining) {
      try {
        return await s.readable(this.#o.signal);
      } catch (e) {
        if (!this.#draining || this.#hard.signal.aborted) throw e;
      }
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    const timer = setTimeout(stop, DRAIN_QUIET_MS);
    this.#hard.signal.addEventListener("abort", stop, { once: true });
    try {
      await s.readable(ac.signal);
    } finally {
      clearTimeout(timer);
      this.#hard.signal.removeEventListener("abort", stop);
    }
  }

  /** The admission decision for an association from `peer`; a refusal is reported. */
  #refuse(peer: { address: string; port: number } | undefined): boolean {
    if (!peer) return false;
    const why = this.#gate.admit(peer.address, performance.now());
    if (why === null) return false;
    this.#o.onEvent({
      event: "reject",
      proto: "sctp",
      peer: peer.address,
      port: peer.port,
      reason: why,
    });
    return true;
  }

  #warn(msg: string): void {
    this.#o.onWarning?.(msg);
  }

  #notify(sock: SctpSocket, n: SctpNotification, from: SockAddr | null): void {
    const many = this.#style === "one-to-many";
    if (many && this.#refused.has(n.assocId)) {
      // A refused association's own notifications (its ABORT's COMM_LOST) are not shown.
      if (n.type === "assoc_change" && n.state !== "COMM_UP" && n.state !== "RESTART") {
        this.#refused.delete(n.assocId);
      }
      return;
    }
    let peers: SockAddr[] | undefined;
    if (n.type === "assoc_change" && (n.state === "COMM_UP" || n.state === "RESTART")) {
      try {
        peers = sock.peerAddresses(many ? n.assocId : 0);
      } catch {
        // the association may already be gone
      }
    }
    if (many && n.type === "assoc_change") {
      if (n.state === "COMM_UP") {
        // one-to-one decided at accept(2); one-to-many decides here, once the peer is known.
        const peer = peerOf(from) ?? peerOf(peers?.[0] ?? null);
        if (this.#refuse(peer)) {
          this.#refused.add(n.assocId);
          try {
            sock.abort(n.assocId);
          } catch { /* gone already */ }
          return;
        }
        if (peer && this.#o.admission?.maxPerIp !== undefined) {
          this.#admitted.set(n.assocId, peer.address);
        }
      } else if (n.state !== "RESTART") {
        const peer = this.#admitted.get(n.assocId);
        if (peer !== undefined) {
          this.#gate.release(peer);
          this.#admitted.delete(n.assocId);
        }
      }
    }
    if (n.type === "assoc_change" && n.state === "COMM_UP") this.#assocs++;
    this.#o.onEvent(
      notificationEvent(n, peerOf(from), peers?.map((a) => unmapV4(a.address))),
    );
  }

  #message(
    m: { data: Uint8Array; info: RecvInfo | null; readonly from: SockAddr | null },
    peer: SockAddr | null = null,
  ): void {
    const { data, info } = m;
    this.#messages++;
    this.#bytes += data.length;
    if (!this.#o.verbose) return;
    const from = peerOf(m.from ?? peer);
    this.#o.onEvent({
      event: "message",
      bytes: data.length,
      stream: info?.stream ?? 0,
      ppid: info?.ppid ?? 0,
      ssn: info?.ssn ?? 0,
      flags: info?.flags ?? 0,
      assoc: info?.assocId ?? 0,
      ...(from ? { from } : {}),
    });
  }

  /**
   * The next message or notification on `s`, waiting for readiness when none is queued.
   * Every BATCH messages in a row it yields once, so timers and signals run while
   * messages keep coming.
   */
  async #next(s: SctpSocket, pace: { n: number }): Promise<SctpMessage | { kind: "eof" }> {
    const m = await doIo(() => {
      const m = s.tryReceive();
      if (m === WOULD_BLOCK) pace.n = 0; // waiting for readiness yields anyway
      return m;
    }, () => this.#wait(s));
    if (++pace.n >= BATCH) {
      pace.n = 0;
      await new Promise((r) => setTimeout(r, 0));
    }
    return m;
  }

  /** One-to-many: every association's messages arrive on the one socket. */
  async #serveMany(): Promise<void> {
    const sock = this.#sock;
    const signal = this.#o.signal;
    const pace = { n: 0 };
    while (!this.#hard.signal.aborted) {
      let m;
      try {
        m = await this.#next(sock, pace);
      } catch (e) {
        if (signal.aborted || sock.closed) return;
        // A bad association must not stop the server.
        this.#warn(`recvmsg: ${(e as Error).message}`);
        continue;
      }
      if (m.kind === "eof") continue;
      if (m.kind === "notification") {
        this.#notify(sock, m.notification, m.from);
        continue;
      }
      if (m.info && this.#refused.has(m.info.assocId)) continue;
      this.#message(m);
      const info = m.info;
      if (!info) continue;
      try {
        const echo = {
          stream: info.stream,
          ppid: info.ppid,
          flags: info.flags & SCTP_UNORDERED,
          assocId: info.assocId,
        };
        if (sock.trySend(m.data, echo) === WOULD_BLOCK) {
          await sock.send(m.data, echo, this.#hard.signal);
        }
      } catch (e) {
        if (signal.aborted || sock.closed) return;
        const where = m.from ? ` to ${formatEndpoint(unmapV4(m.from.address), m.from.port)}` : "";
        this.#warn(`echo${where} failed: ${(e as Error).message}`);
      }
    }
  }

  /** One-to-one: accept associations, one task each. */
  async #acceptLoop(): Promise<void> {
    const signal = this.#o.signal;
    const tasks = new Set<Promise<void>>();
    while (!signal.aborted) {
      let c: SctpSocket, peer: SockAddr | null;
      try {
        ({ socket: c, peer } = await this.#sock.accept(signal));
      } catch (e) {
        if (signal.aborted || this.#sock.closed) break;
        this.#warn(`accept: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const from = peerOf(peer);
      if (this.#refuse(from)) {
        c.close();
        continue;
      }
      this.#conns.add(c);
      const t = this.#serveOne(c, peer).finally(() => {
        c.close();
        this.#conns.delete(c);
        if (from) this.#gate.release(from.address);
        tasks.delete(t);
      });
      tasks.add(t);
    }
    // Stopped accepting: the associations drain (see run()).
    await Promise.allSettled([...tasks]);
  }

  async #serveOne(c: SctpSocket, peer: SockAddr | null): Promise<void> {
    const signal = this.#o.signal;
    try {
      c.subscribe(ALL_EVENTS);
      c.setNoDelay(true);
    } catch {
      // inherited from the listener anyway
    }
    const pace = { n: 0 };
    for (;;) {
      let m;
      try {
        m = await this.#next(c, pace);
      } catch (e) {
        if (signal.aborted || c.closed) return;
        const code = e instanceof SysError ? e.code : "";
        if (code !== "ECONNRESET" && code !== "ENOTCONN" && code !== "EPIPE") {
          this.#warn(`recvmsg from ${peerText(peer)}: ${(e as Error).message}`);
        }
        return;
      }
      if (m.kind === "eof") return;
      if (m.kind === "notification") {
        this.#notify(c, m.notification, m.from ?? peer);
        const n = m.notification;
        if (n.type === "assoc_change" && n.state !== "COMM_UP" && n.state !== "RESTART") return;
        continue;
      }
      this.#message(m, peer);
      try {
        const echo = {
          stream: m.info?.stream ?? 0,
          ppid: m.info?.ppid ?? 0,
          flags: (m.info?.flags ?? 0) & SCTP_UNORDERED,
        };
        if (c.trySend(m.data, echo) === WOULD_BLOCK) await c.send(m.data, echo, this.#hard.signal);
      } catch (e) {
        if (signal.aborted || c.closed) return;
        this.#warn(`echo to ${peerText(peer)} failed: ${(e as Error).message}`);
        return;
      }
    }
  }
}

function peerText(peer: SockAddr | null): string {
  return peer ? formatEndpoint(unmapV4(peer.address), peer.port) : "peer";
}
