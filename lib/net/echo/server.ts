/**
 * TCP and UDP echo servers (RFC 862 behaviour): TCP echoes every byte on each
 * connection and honours half-close; UDP echoes each datagram whole to its sender.
 * Both report what happens as events and stop cleanly when their signal aborts.
 *
 * @module
 */
import { DEFAULT_DRAIN_MS, DRAIN_QUIET_MS, LINGER_MS } from "../../base/drain.ts";
import { unmapV4 } from "../../base/ip.ts";
import { formatEndpoint, SysError, toSysError } from "../../base/errors.ts";
import { plural } from "../../base/text.ts";
import { listenerOptions, type SockoptRequest, type SockoptState } from "../sockopt/sockopt.ts";
import { type AdmissionOptions, Gate } from "../../base/gate.ts";
import { DEFAULT_REFLECT_GUARD, guardWithPort } from "../../base/reflect.ts";
import { type RefusalCounts, type RefusalReason, refusalsText } from "../../base/refusals.ts";
import type { EchoConnectionEvent } from "../../base/echo_events.ts";

/** Where and how to listen. */
export interface EchoServerOptions {
  /** Address to bind; default `::` (dual stack), falling back to `0.0.0.0`. */
  host?: string | undefined;
  /** Port; 0 asks the kernel for a free one. */
  port: number;
  /** With no `host`: 4 binds `0.0.0.0`; 6 binds `::` and refuses IPv4-mapped peers. */
  family?: 4 | 6 | undefined;
  /** TCP: connections beyond this many at once are accepted and closed at once. */
  maxConns?: number | undefined;
  /** TCP: close a connection after this long without data (ms). */
  idleTimeoutMs?: number | undefined;
  /** Report every read/datagram (`read` events). */
  verbose?: boolean | undefined;
  /**
   * No event per connection: TCP's `accept`, `close` and `reject`, UDP's `reject` (the
   * summary still counts them). The ffi engine then does not even build them.
   */
  quiet?: boolean | undefined;
  /**
   * Aborting stops the server: it stops accepting at once, keeps echoing what open
   * connections already sent for up to {@link drainMs}, closes them and resolves.
   */
  signal: AbortSignal;
  /**
   * After `signal` aborts: how long (ms) open connections may take to finish their
   * in-flight echoes. A connection closes once it has echoed everything it read and its
   * peer has sent nothing for {@link DRAIN_QUIET_MS} (closing with unread bytes would reset
   * it); at the deadline the rest close (reason `shutdown`, unechoed bytes in
   * `bytes_dropped`; a connection in its `maxBytes` lingering close, see {@link LINGER_MS},
   * keeps reason `max-bytes`).
   * Default 5000; 0 closes every connection at once.
   */
  drainMs?: number | undefined;
  /** Receives every event (those that come in batches too, when {@link onEvents} is absent). */
  onEvent?: ((ev: EchoEvent) => void) | undefined;
  /**
   * Receives, in order, events that happened together: the ffi engine reports the events
   * of a loop step (accepts, closes, reads) at once, so a caller that writes lines can
   * write them in one go. When absent, each goes to {@link onEvent}; `listening` and
   * `summary` always go to `onEvent`, and the deno engine reports everything there.
   */
  onEvents?: ((evs: EchoEvent[]) => void) | undefined;
  /** Socket options set once bound (accepted sockets inherit them); read back in `listening`. */
  socketOptions?: SockoptRequest | undefined;
  /**
   * Who is served: allow/deny lists, limits per source, the UDP reflection guard (default
   * {@link DEFAULT_REFLECT_GUARD}; its list gains the server's own port). Checked before
   * a byte is read or echoed.
   */
  admission?: AdmissionOptions | undefined;
}

/** Events an echo server reports. */
export type EchoEvent =
  | {
    event: "listening";
    proto: "tcp" | "udp";
    address: string;
    port: number;
    family: 4 | 6;
    /** Which engine serves: `ffi` (lib/ffi/engine/, in Workers) or `deno` (this module). */
    engine?: "ffi" | "deno";
    /** ffi: the number of worker threads. */
    workers?: number;
    /** tcp: whether urgent data (MSG_OOB) is seen and reported; the deno engine cannot see it. */
    urgent?: boolean;
    /** With socket options asked for: every option as getsockopt(2) reads it back. */
    options?: SockoptState;
  }
  | EchoConnectionEvent
  | {
    event: "summary";
    proto: "tcp" | "udp";
    connections: number;
    datagrams: number;
    bytes_in: number;
    bytes_out: number;
    duration_ms: number;
    /** tcp: connections their peers aborted before accept (see the `aborted` event). */
    aborted?: number;
    /** Connections refused and datagrams dropped, by reason; absent when none. */
    refused?: RefusalCounts;
    /** Only in a {@link EchoServer.snapshot}: the server is still running. */
    running?: true;
  };

/** A running echo server. */
export interface EchoServer {
  /** Bound address (`::` or `0.0.0.0` or the `host` given). */
  address: string;
  /** Bound port (the real one when 0 was asked). */
  port: number;
  /** Resolves with the summary event once the server has stopped. */
  finished: Promise<Extract<EchoEvent, { event: "summary" }>>;
  /** The summary so far (`running: true`), without stopping the server (SIGHUP). */
  snapshot(): Promise<Extract<EchoEvent, { event: "summary" }>>;
}

/** Whether {@link EchoServerOptions.quiet} leaves `ev` out: an event per connection. */
export function isConnectionEvent(ev: EchoEvent): boolean {
  return ev.event === "accept" || ev.event === "close" || ev.event === "reject";
}

/** Where a server's events go: `onEvent`, less the connection events when `quiet`. */
function emitter(opts: EchoServerOptions): (ev: EchoEvent) => void {
  const emit = opts.onEvent ?? (() => {});
  return opts.quiet ? (ev) => isConnectionEvent(ev) || emit(ev) : emit;
}

/** Whether `address` is an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`). */
export function isMapped(address: string): boolean {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address);
}

/** The addresses a server tries to bind, in order (see {@link EchoServerOptions}). */
export function bindCandidates(opts: EchoServerOptions): string[] {
  if (opts.host !== undefined) return [opts.host];
  if (opts.family === 4) return ["0.0.0.0"];
  if (opts.family === 6) return ["::"];
  return ["::", "0.0.0.0"];
}

/**
 * Opens with the first candidate that works. It falls back to the next only when the
 * address family itself is missing (EAFNOSUPPORT, EADDRNOTAVAIL: no IPv6 here), never
 * when the port is taken or forbidden (EADDRINUSE, EACCES), and the error names the
 * address that failed: `bind EADDRINUSE [::]:7007`.
 */
export function listenWithFallback<T>(
  candidates: string[],
  port: number,
  open: (host: string) => T,
): { value: T; host: string } {
  for (const [i, host] of candidates.entries()) {
    try {
      return { value: open(host), host };
    } catch (err) {
      // Deno.listen and Deno.listenDatagram fail in bind(2) (listen(2) itself does not
      // fail on an address that bind accepted).
      const e = toSysError(err, "bind", { address: host, port });
      const missingFamily = e instanceof SysError &&
        (e.code === "EAFNOSUPPORT" || e.code === "EADDRNOTAVAIL");
      if (i === candidates.length - 1 || !missingFamily) throw e;
    }
  }
  throw new SysError("bind", "EINVAL", { port }, "no address to bind");
}

/**
 * Binds the first address that works (see {@link listenWithFallback}), sets the socket
 * options asked for and reports `listening` with what getsockopt(2) reads back.
 */
function bindEcho<T extends Deno.Listener | Deno.DatagramConn>(
  opts: EchoServerOptions,
  proto: "tcp" | "udp",
  open: (hostname: string) => T,
): { sock: T; host: string; port: number } {
  const { value: sock, host } = listenWithFallback(bindCandidates(opts), opts.port, open);
  const port = (sock.addr as Deno.NetAddr).port;
  // TCP: what the listener reports is what its connections get (Nagle off by default, as
  // each accepted connection sets; the ffi engine sets it on the listener itself).
  const req = opts.socketOptions && proto === "tcp"
    ? { nodelay: true, ...opts.socketOptions }
    : opts.socketOptions;
  const sockopts = listenerOptions(sock, proto, req);
  opts.onEvent?.({
    event: "listening",
    proto,
    address: host,
    port,
    family: host.includes(":") ? 6 : 4,
    ...sockopts,
  });
  return { sock, host, port };
}

/** A datagram a UDP server took in: its bytes, its sender, and the sender as plain IPv4. */
export interface Datagram {
  data: Uint8Array;
  from: Deno.NetAddr;
  peer: string;
}

/** The events {@link receiveDatagrams} reports (an echo server's and an inetd server's alike). */
export type IntakeEvent<R extends string> =
  | { event: "error"; proto: "udp"; error: string }
  | { event: "reject"; proto: "udp"; peer: string; port: number; reason: "ipv4-peer" | "max-conns" }
  | { event: "drop"; proto: "udp"; peer: string; port: number; bytes: number; reason: R }
  | { event: "read"; proto: "udp"; peer: string; port: number; bytes: number };

/** What {@link receiveDatagrams} reads from and how it decides about each datagram. */
export interface Intake<R extends string> {
  sock: Deno.DatagramConn;
  /** Refuse IPv4-mapped peers (`-6` with no host to bind: see {@link isMapped}). */
  refuseMapped: boolean;
  /** Report every datagram taken (`read`) and every one dropped (`drop`). */
  verbose: boolean | undefined;
  /** Whether the server is stopping: a failed receive then ends the loop quietly. */
  stopping(): boolean;
  /** Why a datagram from this sender goes unanswered, or null to take it. */
  drop(peer: string, port: number): R | null;
  /** Whether the server is at capacity: a datagram is then refused as `max-conns`. */
  full?(): boolean;
  /** Counts a datagram refused (`reject` event) or dropped (`drop` event). */
  refused?(count: "rejected" | "dropped"): void;
  /** Counts each datagram taken. */
  totals: { datagrams: number; bytes_in: number };
  emit(ev: IntakeEvent<R>): void;
}

/**
 * The receive loop of a UDP server: receives until the server stops, refuses IPv4-mapped
 * senders under `-6`, drops what `drop` says, refuses beyond capacity, counts and yields
 * the rest. The data is a view of one buffer: it is good until the loop is resumed.
 */
export async function* receiveDatagrams<R extends string>(
  o: Intake<R>,
): AsyncGenerator<Datagram, void, void> {
  // 65536 bytes holds the largest UDP payload over IPv4 and IPv6, so nothing truncates.
  const buf = new Uint8Array(65536);
  while (!o.stopping()) {
    let data: Uint8Array, addr: Deno.Addr;
    try {
      [data, addr] = await o.sock.receive(buf);
    } catch (err) {
      if (o.stopping()) break;
      o.emit({ event: "error", proto: "udp", error: toSysError(err, "recvfrom").message });
      continue;
    }
    const from = addr as Deno.NetAddr;
    const peer = unmapV4(from.hostname);
    const port = from.port;
    if (o.refuseMapped && isMapped(from.hostname)) {
      o.refused?.("rejected");
      o.emit({ event: "reject", proto: "udp", peer, port, reason: "ipv4-peer" });
      continue;
    }
    const dropped = o.drop(peer, port);
    if (dropped) {
      o.refused?.("dropped");
      if (o.verbose) {
        o.emit({ event: "drop", proto: "udp", peer, port, bytes: data.length, reason: dropped });
      }
      continue;
    }
    if (o.full?.()) {
      o.refused?.("rejected");
      o.emit({ event: "reject", proto: "udp", peer, port, reason: "max-conns" });
      continue;
    }
    o.totals.datagrams++;
    o.totals.bytes_in += data.length;
    if (o.verbose) o.emit({ event: "read", proto: "udp", peer, port, bytes: data.length });
    yield { data, from, peer };
  }
}

/** One TCP connection's byte counts and its part in a drain (see {@link DRAIN_QUIET_MS}). */
class Draining {
  bytesIn = 0;
  bytesOut = 0;
  /** Waiting for the peer in read(2) (not echoing). */
  reading = false;
  /** The server has stopped: close the connection once it is quiet. */
  draining = false;
  #quiet: ReturnType<typeof setTimeout> | undefined;

  /** The drain begins: a connection waiting for its peer starts its quiet timer. */
  drain(conn: Deno.TcpConn): void {
    this.draining = true;
    if (this.reading) this.quiet(conn);
  }

  /** Closes `conn` unless a read returns within {@link DRAIN_QUIET_MS}. */
  quiet(conn: Deno.TcpConn): void {
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => this.cut(conn), DRAIN_QUIET_MS);
  }

  /** A read returned (or the connection ended): no quiet timer. */
  settle(): void {
    clearTimer(this.#quiet);
    this.#quiet = undefined;
  }

  /** Closes `conn` now (quiet, or the drain's deadline). */
  cut(conn: Deno.TcpConn): void {
    this.settle();
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * clearTimeout for a timer that may not exist, without touching the timer functions when it
 * does not: Deno's first use of the global setTimeout or clearTimeout loads its Node.js
 * timers (measured: 10-13 ms), which the first echo paid when every read cleared a quiet
 * timer that a server not draining never sets.
 */
function clearTimer(t: ReturnType<typeof setTimeout> | undefined): void {
  if (t !== undefined) clearTimeout(t);
}

/** accept(2) errors that are the peer's doing (tcp(7), accept(2) "Error handling"). */
const PEER_ABORTS = new Set(["ECONNABORTED", "ENOTCONN", "EPROTO"]);
/** accept(2) errors of a server out of a resource: wait for it to come back. */
const OUT_OF = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Starts a TCP echo server.
 *
 * @example
 * ```ts
 * import { serveTcp } from "./server.ts";
 * const ac = new AbortController();
 * const srv = await serveTcp({ port: 0, signal: ac.signal });
 * // ... connect to srv.port ...
 * ac.abort();
 * console.log(await srv.finished); // { event: "summary", connections: ..., ... }
 * ```
 */
export function serveTcp(opts: EchoServerOptions): Promise<EchoServer> {
  const emit = emitter(opts);
  const { sock: listener, host, port } = bindEcho(
    opts,
    "tcp",
    (hostname) => Deno.listen({ hostname, port: opts.port, transport: "tcp" }),
  );

  const started = performance.now();
  const open = new Map<Deno.TcpConn, Draining>();
  const handlers = new Set<Promise<void>>();
  const totals = { connections: 0, bytes_in: 0, bytes_out: 0, aborted: 0 };
  const gate = new Gate(opts.admission);
  const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
  let stopping = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;

  // Stop accepting at once; connections finish their in-flight echoes (each closes once
  // it has echoed all it read), and whatever is still open at the deadline is closed.
  const closeAll = () => {
    for (const [c, d] of open) d.cut(c);
  };
  const stop = () => {
    stopping = true;
    try {
      listener.close();
    } catch { /* closed */ }
    if (drainMs === 0) closeAll();
    else {
      for (const [c, d] of open) d.drain(c);
      deadline = setTimeout(closeAll, drainMs);
    }
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });

  const handle = async (conn: Deno.TcpConn, peer: string, peerPort: number, d: Draining) => {
    const t0 = performance.now();
    let reason = "eof" as "eof" | "idle-timeout" | "error" | "shutdown" | "max-bytes";
    let error: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (opts.idleTimeoutMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (reason !== "max-bytes") reason = "idle-timeout";
        try {
          conn.close();
        } catch { /* closed */ }
      }, opts.idleTimeoutMs);
    };
    /**
     * The lingering close of a capped connection (see {@link LINGER_MS}): FIN, then read
     * and drop (counted in `bytes_in`, so in `bytes_dropped`) until the peer closes, has
     * been quiet for DRAIN_QUIET_MS, or LINGER_MS have passed; the idle timeout and the
     * drain end it too, by closing `conn`. The connection keeps its place in `maxConns`.
     */
    const linger = async (buf: Uint8Array) => {
      const until = performance.now() + LINGER_MS;
      try {
        await conn.closeWrite();
        while (performance.now() < until) {
          d.reading = true;
          d.quiet(conn);
          const n = await conn.read(buf);
          d.reading = false;
          d.settle();
          if (n === null) return;
          arm();
          d.bytesIn += n;
          if (opts.verbose) emit({ event: "read", proto: "tcp", peer, port: peerPort, bytes: n });
          if (n === buf.length && buf.length < 256 * 1024) buf = new Uint8Array(buf.length * 4);
        }
      } catch { /* closed (quiet, idle, drained), or reset by the peer after the echo */ }
    };
    try {
      // Nagle off, so an echo leaves at once, unless `--no-nodelay` asked for it on (the
      // listener has it off then, and the connection inherited that).
      if (opts.socketOptions?.nodelay !== false) conn.setNoDelay(true);
      // Small to start (1000 idle connections stay cheap), growing for bulk senders.
      let buf = new Uint8Array(4 * 1024);
      arm();
      for (;;) {
        d.reading = true;
        if (d.draining) d.quiet(conn);
        const n = await conn.read(buf);
        d.reading = false;
        d.settle();
        if (n === null) break;
        arm();
        d.bytesIn += n;
        if (opts.verbose) emit({ event: "read", proto: "tcp", peer, port: peerPort, bytes: n });
        const take = gate.allowance(d.bytesOut, n);
        let off = 0;
        while (off < take) {
          const w = await conn.write(buf.subarray(off, take));
          off += w;
          d.bytesOut += w;
        }
        // The cap is reached with its last byte echoed, not with the next read: a peer
        // that sends exactly maxBytes gets them and then the FIN at once.
        if (take < n || gate.allowance(d.bytesOut, 1) === 0) {
          reason = "max-bytes";
          gate.refusals.add("max-bytes");
          await linger(buf);
          break;
        }
        // A full buffer means a bulk sender: read bigger chunks from now on.
        if (n === buf.length && buf.length < 256 * 1024) buf = new Uint8Array(buf.length * 4);
      }
      clearTimer(timer);
      if (reason === "eof") await conn.closeWrite().catch(() => {});
    } catch (err) {
      if (stopping && reason === "eof") reason = "shutdown";
      else if (reason !== "idle-timeout") {
        reason = "error";
        error = toSysError(err, "recv", { address: peer, port: peerPort }).message;
      }
    } finally {
      clearTimer(timer);
      d.settle();
      open.delete(conn);
      gate.release(peer);
      try {
        conn.close();
      } catch { /* closed */ }
      const { bytesIn, bytesOut } = d;
      totals.bytes_in += bytesIn;
      totals.bytes_out += bytesOut;
      emit({
        event: "close",
        proto: "tcp",
        peer,
        port: peerPort,
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        ...(bytesIn > bytesOut ? { bytes_dropped: bytesIn - bytesOut } : {}),
        duration_ms: Math.round(performance.now() - t0),
        reason,
        ...(error !== undefined ? { error } : {}),
      });
    }
  };

  // Peers that abort before accept: counted, and under -v told at most once a second.
  let abortedSince = 0, abortedToldAt = -Infinity;
  const tellAborted = (now: number) => {
    if (!opts.verbose || abortedSince === 0 || now - abortedToldAt < 1000) return;
    emit({ event: "aborted", proto: "tcp", count: abortedSince, total: totals.aborted });
    abortedSince = 0;
    abortedToldAt = now;
  };
  // Out of fds or memory: one event when it starts, one when accept has worked for a
  // second without failing again (freed fds come back one by one: no flapping lines).
  let paused: {
    since: number;
    deferred: number;
    lastFail: number;
    timer?: ReturnType<typeof setTimeout> | undefined;
  } | null = null;
  const endEpisode = () => {
    if (paused === null) return;
    clearTimeout(paused.timer);
    emit({
      event: "accept-resumed",
      proto: "tcp",
      deferred: paused.deferred,
      duration_ms: Math.round(paused.lastFail - paused.since),
    });
    paused = null;
  };

  const acceptLoop = async () => {
    while (!stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (stopping) break;
        const e = toSysError(err, "accept");
        const code = e instanceof SysError ? e.code : "";
        if (PEER_ABORTS.has(code)) {
          totals.aborted++;
          abortedSince++;
          tellAborted(performance.now());
          continue;
        }
        if (OUT_OF.has(code)) {
          const now = performance.now();
          if (paused === null) {
            paused = { since: now, deferred: 0, lastFail: now };
            emit({ event: "accept-paused", proto: "tcp", error: e.message });
          }
          paused.deferred++;
          paused.lastFail = now;
          clearTimeout(paused.timer);
          paused.timer = undefined;
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        emit({ event: "error", proto: "tcp", error: e.message });
        continue;
      }
      if (paused !== null) paused.timer ??= setTimeout(endEpisode, 1000);
      tellAborted(performance.now());
      const ra = conn.remoteAddr as Deno.NetAddr;
      const peer = unmapV4(ra.hostname);
      if (opts.family === 6 && opts.host === undefined && isMapped(ra.hostname)) {
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: "ipv4-peer" });
        conn.close();
        continue;
      }
      const refused = opts.maxConns !== undefined && open.size >= opts.maxConns
        ? "max-conns"
        : gate.admit(peer, performance.now());
      if (refused) {
        if (refused === "max-conns") gate.refusals.add("max-conns");
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: refused });
        conn.close();
        continue;
      }
      const d = new Draining();
      open.set(conn, d);
      totals.connections++;
      emit({ event: "accept", proto: "tcp", peer, port: ra.port, open: open.size });
      const h = handle(conn, peer, ra.port, d);
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  };

  const summary = (running: boolean) => {
    let bytesIn = totals.bytes_in, bytesOut = totals.bytes_out;
    for (const d of open.values()) {
      bytesIn += d.bytesIn;
      bytesOut += d.bytesOut;
    }
    return {
      event: "summary" as const,
      proto: "tcp" as const,
      connections: totals.connections,
      datagrams: 0,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      duration_ms: Math.round(performance.now() - started),
      aborted: totals.aborted,
      ...(gate.refusals.total ? { refused: gate.refusals.toJSON() } : {}),
      ...(running ? { running: true as const } : {}),
    };
  };
  const stopped = acceptLoop().then(async () => {
    endEpisode();
    while (handlers.size) await Promise.all(handlers);
    clearTimeout(deadline);
    opts.signal.removeEventListener("abort", stop);
    if (abortedSince > 0 && opts.verbose) {
      emit({ event: "aborted", proto: "tcp", count: abortedSince, total: totals.aborted });
    }
  });
  return serverHandle(host, port, stopped, summary, emit);
}

/**
 * Starts a UDP echo server: one socket serves any number of peers; each datagram (up to
 * 65507 bytes over IPv4, 65527 over IPv6) is echoed whole to its sender.
 *
 * @example
 * ```ts
 * import { serveUdp } from "./server.ts";
 * const ac = new AbortController();
 * const srv = await serveUdp({ host: "127.0.0.1", port: 0, verbose: true, signal: ac.signal, onEvent: console.log });
 * ac.abort();
 * await srv.finished; // { event: "summary", proto: "udp", datagrams: ..., ... }
 * ```
 */
export function serveUdp(opts: EchoServerOptions): Promise<EchoServer> {
  const emit = emitter(opts);
  const { sock, host, port } = bindEcho(
    opts,
    "udp",
    (hostname) => Deno.listenDatagram({ hostname, port: opts.port, transport: "udp" }),
  );
  const started = performance.now();
  const totals = { datagrams: 0, bytes_in: 0, bytes_out: 0 };
  const gate = new Gate({
    ...opts.admission,
    reflect: guardWithPort(opts.admission?.reflect ?? DEFAULT_REFLECT_GUARD, port),
  });
  let stopping = false, sending = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    try {
      sock.close();
    } catch { /* closed */ }
  };
  // Stop reading at once; a reply being sent is sent (up to drainMs), then the socket closes.
  const stop = () => {
    stopping = true;
    const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
    if (!sending || drainMs === 0) close();
    else deadline = setTimeout(close, drainMs);
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });

  const loop = async () => {
    const datagrams = receiveDatagrams<RefusalReason>({
      sock,
      refuseMapped: opts.family === 6 && opts.host === undefined,
      verbose: opts.verbose,
      stopping: () => stopping,
      drop: (peer, peerPort) => gate.admitDatagram(peer, peerPort, performance.now()),
      totals,
      emit,
    });
    for await (const { data, from: ra, peer } of datagrams) {
      sending = true;
      try {
        totals.bytes_out += await sock.send(data, ra);
      } catch (err) {
        if (stopping) break;
        emit({
          event: "error",
          proto: "udp",
          peer,
          port: ra.port,
          error: toSysError(err, "sendto", { address: peer, port: ra.port }).message,
        });
      } finally {
        sending = false;
      }
      if (stopping) break;
    }
  };
  const summary = (running: boolean) => ({
    event: "summary" as const,
    proto: "udp" as const,
    connections: 0,
    datagrams: totals.datagrams,
    bytes_in: totals.bytes_in,
    bytes_out: totals.bytes_out,
    duration_ms: Math.round(performance.now() - started),
    ...(gate.refusals.total ? { refused: gate.refusals.toJSON() } : {}),
    ...(running ? { running: true as const } : {}),
  });
  const stopped = loop().then(() => {
    clearTimeout(deadline);
    close();
    opts.signal.removeEventListener("abort", stop);
  });
  return serverHandle(host, port, stopped, summary, emit);
}

/**
 * The {@link EchoServer} of a started server: once `stopped` settles, its last summary is
 * emitted and `finished` resolves to it; `snapshot` reads one marked `running` meanwhile.
 */
function serverHandle(
  address: string,
  port: number,
  stopped: Promise<void>,
  summary: (running: boolean) => Extract<EchoEvent, { event: "summary" }>,
  emit: (ev: EchoEvent) => void,
): Promise<EchoServer> {
  const finished = stopped.then(() => {
    const last = summary(false);
    emit(last);
    return last;
  });
  return Promise.resolve({
    address,
    port,
    finished,
    snapshot: () => Promise.resolve(summary(true)),
  });
}

/** The human line for an echo server event. */
export function echoEventText(ev: EchoEvent): string | null {
  switch (ev.event) {
    case "listening":
      return `listening ${ev.proto} ${formatEndpoint(ev.address, ev.port)}`;
    case "accept":
      return `accept ${formatEndpoint(ev.peer, ev.port)}`;
    case "reject":
      return `reject ${formatEndpoint(ev.peer, ev.port)} (${ev.reason})`;
    case "drop":
      return `drop ${ev.bytes} bytes from ${formatEndpoint(ev.peer, ev.port)} (${ev.reason})`;
    case "urgent":
      return `urgent ${formatEndpoint(ev.peer, ev.port)} byte=${ev.byte} offset=${ev.offset}`;
    case "read":
      return `Received ${ev.bytes} bytes from ${formatEndpoint(ev.peer, ev.port)}`;
    case "close":
      return `close ${formatEndpoint(ev.peer, ev.port)} in=${ev.bytes_in} out=${ev.bytes_out} ` +
        (ev.bytes_dropped ? `dropped=${ev.bytes_dropped} ` : "") +
        `time=${ev.duration_ms}ms (${ev.reason}${ev.error ? `: ${ev.error}` : ""})`;
    case "error":
    case "accept-paused":
    case "accept-resumed":
      return null; // diagnostics: see echoDiagnosticText
    case "aborted":
      return `accept: ${plural(ev.count, "connection")} aborted by the peer before accept ` +
        `(${ev.total} in all)`;
    case "summary": {
      const secs = `${(ev.duration_ms / 1000).toFixed(1)}s`;
      const bytes = `in=${ev.bytes_in} out=${ev.bytes_out} bytes`;
      const refused = ev.refused ? `, refused: ${refusalsText(ev.refused)}` : "";
      const head = `summary ${ev.proto}${ev.running ? " (running)" : ""}:`;
      return (ev.proto === "tcp"
        ? `${head} ${plural(ev.connections, "connection")}, ${bytes}, ${secs}` +
          (ev.aborted ? `, ${ev.aborted} aborted before accept` : "")
        : `${head} ${plural(ev.datagrams, "datagram")}, ${bytes}, ${secs}`) + refused;
    }
  }
}

/**
 * The stderr line of an echo server diagnostic (`error`, `accept-paused`,
 * `accept-resumed`), or null for an event that is data (see {@link echoEventText}).
 */
export function echoDiagnosticText(ev: EchoEvent): string | null {
  switch (ev.event) {
    case "error":
      return ev.error;
    case "accept-paused":
      return `${ev.error}: out of resources, deferring accepts (connections wait in the backlog)`;
    case "accept-resumed":
      return `accept works again after ${ev.duration_ms}ms; ` +
        `${plural(ev.deferred, "accept")} deferred`;
    default:
      return null;
  }
}
