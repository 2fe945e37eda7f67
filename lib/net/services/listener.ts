/**
 * What the built-in services and the exec engine share, as inetd(8) shares it between
 * its services: the TCP (or TLS) accept loop with its limits, the UDP socket and its
 * receive loop, one event union for everything they report, and its human text.
 *
 * A stream server accepts, refuses what is over `maxConns` (or an IPv4 peer under `-6`),
 * runs the TLS handshake when there is one (a failed handshake is a `close` event and the
 * server keeps serving), then hands the connection to a handler and reports its `close`.
 *
 * @module
 */
import { type RejectEvent, rejectEventText } from "../../base/echo_events.ts";
import { formatEndpoint, toSysError } from "../../base/errors.ts";
import {
  DEFAULT_REFLECT_GUARD,
  guardWithPort,
  type ReflectDrop,
  reflectDrop,
} from "../../base/reflect.ts";
import { unmapV4 } from "../../base/ip.ts";
import {
  bindCandidates,
  type Datagram,
  isMapped,
  listenWithFallback,
  receiveDatagrams,
} from "../echo/server.ts";
import { listenTls, type TlsServerConfig } from "../tls/server.ts";
import type { Service } from "./names.ts";

/** Where and how a service or exec server listens. */
export interface ListenOptions {
  /** Address to bind; default `::` (dual stack), falling back to `0.0.0.0`. */
  host?: string | undefined;
  /** Port; 0 asks the kernel for a free one. */
  port: number;
  /** With no `host`: 4 binds `0.0.0.0`; 6 binds `::` and refuses IPv4-mapped peers. */
  family?: 4 | 6 | undefined;
  /** TCP: serve over TLS with this certificate and key. */
  tls?: TlsServerConfig | undefined;
  /** TCP: connections (or, with exec, running children) beyond this many are refused. */
  maxConns?: number | undefined;
  /** TCP with TLS: a handshake not done within this many ms fails (default 10000). */
  handshakeTimeoutMs?: number | undefined;
  /** Report every read or datagram (`read` events) and every dropped datagram. */
  verbose?: boolean | undefined;
  /** Aborting stops the server: it stops accepting, ends its connections and resolves. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: InetdEvent) => void) | undefined;
}

/** What a server runs: a built-in service, or a program (exec). */
export type ServiceName = Service | "exec";

/** Why a connection (or a UDP child) ended. */
export type CloseReason =
  | "eof" // the peer closed its side and everything owed was sent
  | "done" // the service said what it had to say (daytime, time, qotd)
  | "peer-closed" // chargen: the peer went away while data was flowing
  | "exit" // exec: the program exited and its output was flushed
  | "peer-reset" // exec: the peer went away; the program was ended
  | "exec-timeout" // exec: the program ran longer than allowed and was ended
  | "idle-timeout"
  | "tls-handshake"
  | "shutdown"
  | "error";

/** Events the service and exec servers report. */
export type InetdEvent =
  | {
    event: "listening";
    proto: "tcp" | "udp" | "sctp";
    address: string;
    port: number;
    family: 4 | 6;
    service: ServiceName;
    /** exec: the program and its arguments. */
    command?: string[];
    tls?: boolean;
    /** TLS: the ALPN protocols offered. */
    alpn?: string[];
  }
  | { event: "accept"; proto: "tcp" | "sctp"; peer: string; port: number; open: number }
  | {
    event: "handshake";
    proto: "tcp";
    peer: string;
    port: number;
    /** The ALPN protocol agreed, or null (Deno's TLS server reports no TLS version). */
    alpn: string | null;
  }
  | RejectEvent<"tcp" | "udp" | "sctp", "max-conns" | "ipv4-peer">
  | { event: "read"; proto: "tcp" | "udp" | "sctp"; peer: string; port: number; bytes: number }
  | {
    event: "drop";
    proto: "udp";
    peer: string;
    port: number;
    bytes: number;
    /**
     * amplification: the reply would be larger than the request; rate: over the limit;
     * the rest: the reflection guard (lib/base/reflect.ts).
     */
    reason: "amplification" | "rate-limit" | ReflectDrop;
  }
  | { event: "spawn"; proto: "tcp" | "udp" | "sctp"; peer: string; port: number; pid: number }
  | {
    event: "stderr";
    proto: "tcp" | "udp" | "sctp";
    peer: string;
    port: number;
    pid: number;
    line: string;
  }
  | CloseEvent
  | { event: "error"; proto: "tcp" | "udp" | "sctp"; peer?: string; port?: number; error: string }
  | InetdSummary;

/** A connection (TCP, SCTP association) or a UDP child ended. */
export interface CloseEvent {
  event: "close";
  proto: "tcp" | "udp" | "sctp";
  peer: string;
  port: number;
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
  reason: CloseReason;
  error?: string;
  /** exec: the child's pid. */
  pid?: number;
  /** exec: its exit status, or null when a signal ended it. */
  exit_code?: number | null;
  /** exec: the signal that ended it, or null. */
  exit_signal?: string | null;
}

/** What a service or exec server did, once stopped. */
export interface InetdSummary {
  event: "summary";
  proto: "tcp" | "udp" | "sctp";
  service: ServiceName;
  connections: number;
  datagrams: number;
  bytes_in: number;
  bytes_out: number;
  /** Refused: over --max-conns, or IPv4 peers under -6. */
  rejected: number;
  /** UDP datagrams not answered (amplification, rate limit). */
  dropped: number;
  /** exec: children started. */
  children?: number;
  duration_ms: number;
}

/** A running server. */
export interface InetdServer {
  /** Bound address. */
  address: string;
  /** Bound port. */
  port: number;
  /** Resolves with the summary once the server has stopped. */
  finished: Promise<InetdSummary>;
}

/** One accepted connection, as a handler sees it. */
export interface Session {
  conn: Deno.Conn;
  /** The peer, IPv4 peers as plain IPv4. */
  peer: string;
  port: number;
  /** The local end of the connection. */
  localAddress: string;
  localPort: number;
  /** TLS: the ALPN protocol agreed (null for none); undefined without TLS. */
  alpn?: string | null | undefined;
  /** Aborted when the server stops. */
  signal: AbortSignal;
  /** Reports an event. */
  emit(ev: InetdEvent): void;
}

/** How a handler's connection ended (the listener adds peer, duration and the event). */
export type SessionEnd = Omit<CloseEvent, "event" | "proto" | "peer" | "port" | "duration_ms">;

/** Counters a handler may add to (the summary reports them). */
export interface Totals {
  connections: number;
  datagrams: number;
  bytes_in: number;
  bytes_out: number;
  rejected: number;
  dropped: number;
  children: number;
}

/** The summary event from the totals. */
export function summaryOf(
  proto: "tcp" | "udp" | "sctp",
  service: ServiceName,
  t: Totals,
  started: number,
): InetdSummary {
  return {
    event: "summary",
    proto,
    service,
    connections: t.connections,
    datagrams: t.datagrams,
    bytes_in: t.bytes_in,
    bytes_out: t.bytes_out,
    rejected: t.rejected,
    dropped: t.dropped,
    ...(service === "exec" ? { children: t.children } : {}),
    duration_ms: Math.round(performance.now() - started),
  };
}

/** Zeroed counters. */
export function newTotals(): Totals {
  return {
    connections: 0,
    datagrams: 0,
    bytes_in: 0,
    bytes_out: 0,
    rejected: 0,
    dropped: 0,
    children: 0,
  };
}

/** Closes `c`, ignoring "already closed". */
export function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch { /* closed */ }
}

/**
 * The one-line text of a failure on a session: a `SysError` message, or for TLS the
 * stack's own reason (rustls names the problem better than an errno; its pointers to
 * documentation are left out).
 */
export function sessionError(s: Session, err: unknown, syscall = "recv"): string {
  return failureText(err, s.alpn !== undefined, { address: s.peer, port: s.port }, syscall);
}

function failureText(
  err: unknown,
  tls: boolean,
  ep: { address: string; port: number },
  syscall: string,
): string {
  const e = err as Error;
  if (tls && (e?.name === "InvalidData" || e?.name === "UnexpectedEof")) {
    return `TLS: ${e.message.replace(/:?\s*https?:\/\/\S+$/, "")}`;
  }
  return toSysError(err, syscall, ep).message;
}

/** Writes all of `data`; resolves to its length. */
export async function writeFully(conn: Deno.Conn, data: Uint8Array): Promise<number> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
  return data.length;
}

/**
 * Listens on TCP (or TLS) and runs `handler` for each connection that is accepted and,
 * with TLS, has finished its handshake.
 *
 * @example
 * ```ts ignore
 * import { serveStream, writeFully } from "./listener.ts";
 * const ac = new AbortController();
 * const srv = serveStream({ port: 0, signal: ac.signal }, "daytime", { command: undefined },
 *   async (s) => ({ bytes_in: 0, bytes_out: await writeFully(s.conn, reply), reason: "done" }));
 * ```
 */
export function serveStream(
  opts: ListenOptions,
  service: ServiceName,
  extra: { command?: string[] | undefined; totals?: Totals | undefined },
  handler: (s: Session) => Promise<SessionEnd>,
): InetdServer {
  const emit = opts.onEvent ?? (() => {});
  const tls = opts.tls;
  const { value: listener, host } = listenWithFallback<Deno.Listener>(
    candidates(opts),
    opts.port,
    (hostname) =>
      tls
        ? listenTls(tls, hostname, opts.port)
        : Deno.listen({ hostname, port: opts.port, transport: "tcp" }),
  );
  const port = (listener.addr as Deno.NetAddr).port;
  emit({
    event: "listening",
    proto: "tcp",
    address: host,
    port,
    family: host.includes(":") ? 6 : 4,
    service,
    ...(extra.command ? { command: extra.command } : {}),
    ...(tls ? { tls: true } : {}),
    ...(tls?.alpn?.length ? { alpn: tls.alpn } : {}),
  });

  const started = performance.now();
  const stopAll = new AbortController();
  const open = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  const totals = extra.totals ?? newTotals();
  let stopping = false;
  const stop = () => {
    stopping = true;
    closeQuietly(listener);
    stopAll.abort();
    for (const c of open) closeQuietly(c);
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });

  const handshake = async (conn: Deno.TlsConn): Promise<string | null> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ms = opts.handshakeTimeoutMs ?? 10_000;
    try {
      const info = await Promise.race([
        conn.handshake(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no TLS handshake within ${ms}ms`)),
            ms,
          );
        }),
      ]);
      return info.alpnProtocol;
    } finally {
      clearTimeout(timer);
    }
  };

  const run = async (conn: Deno.Conn, peer: string, peerPort: number) => {
    const t0 = performance.now();
    const local = conn.localAddr as Deno.NetAddr;
    let end: SessionEnd;
    try {
      let alpn: string | null | undefined;
      if (tls) {
        try {
          alpn = await handshake(conn as Deno.TlsConn);
        } catch (err) {
          end = {
            bytes_in: 0,
            bytes_out: 0,
            reason: stopping ? "shutdown" : "tls-handshake",
            error: failureText(err, true, { address: peer, port: peerPort }, "handshake")
              .replace(/^TLS: /, ""),
          };
          return;
        }
        emit({ event: "handshake", proto: "tcp", peer, port: peerPort, alpn });
      } else {
        (conn as Deno.TcpConn).setNoDelay(true);
      }
      try {
        end = await handler({
          conn,
          peer,
          port: peerPort,
          localAddress: unmapV4(local.hostname),
          localPort: local.port,
          ...(tls ? { alpn } : {}),
          signal: stopAll.signal,
          emit,
        });
      } catch (err) {
        end = {
          bytes_in: 0,
          bytes_out: 0,
          reason: stopping ? "shutdown" : "error",
          error: failureText(err, tls !== undefined, { address: peer, port: peerPort }, "recv"),
        };
      }
    } finally {
      open.delete(conn);
      closeQuietly(conn);
      end ??= { bytes_in: 0, bytes_out: 0, reason: "error" };
      totals.bytes_in += end.bytes_in;
      totals.bytes_out += end.bytes_out;
      emit({
        event: "close",
        proto: "tcp",
        peer,
        port: peerPort,
        ...end,
        duration_ms: Math.round(performance.now() - t0),
      });
    }
  };

  const acceptLoop = async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (stopping) break;
        const e = toSysError(err, "accept");
        emit({ event: "error", proto: "tcp", error: e.message });
        if (/^accept E(MFILE|NFILE|NOBUFS|NOMEM)/.test(e.message)) {
          await new Promise((r) => setTimeout(r, 100));
        }
        continue;
      }
      const ra = conn.remoteAddr as Deno.NetAddr;
      const peer = unmapV4(ra.hostname);
      if (refusesMapped(opts) && isMapped(ra.hostname)) {
        totals.rejected++;
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: "ipv4-peer" });
        closeQuietly(conn);
        continue;
      }
      if (opts.maxConns !== undefined && open.size >= opts.maxConns) {
        totals.rejected++;
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: "max-conns" });
        closeQuietly(conn);
        continue;
      }
      open.add(conn);
      totals.connections++;
      emit({ event: "accept", proto: "tcp", peer, port: ra.port, open: open.size });
      const h = run(conn, peer, ra.port);
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  };

  const finished = acceptLoop().then(async () => {
    while (handlers.size) await Promise.all(handlers);
    opts.signal.removeEventListener("abort", stop);
    const summary = summaryOf("tcp", service, totals, started);
    emit(summary);
    return summary;
  });
  return { address: host, port, finished };
}

function candidates(o: ListenOptions): string[] {
  return bindCandidates({ port: o.port, host: o.host, family: o.family, signal: o.signal });
}

/** A bound UDP socket and where it is. */
export interface DatagramSocket {
  sock: Deno.DatagramConn;
  address: string;
  port: number;
}

/** Binds the UDP socket of a service or exec server and reports `listening`. */
export function bindDatagram(
  opts: ListenOptions,
  service: ServiceName,
  command?: string[],
): DatagramSocket {
  const { value: sock, host } = listenWithFallback(
    candidates(opts),
    opts.port,
    (hostname) => Deno.listenDatagram({ hostname, port: opts.port, transport: "udp" }),
  );
  const port = (sock.addr as Deno.NetAddr).port;
  opts.onEvent?.({
    event: "listening",
    proto: "udp",
    address: host,
    port,
    family: host.includes(":") ? 6 : 4,
    service,
    ...(command ? { command } : {}),
  });
  return { sock, address: host, port };
}

/** A UDP service or exec server, as its datagram handler sees it. */
export interface DatagramServer {
  sock: Deno.DatagramConn;
  /** The bound address and port. */
  address: string;
  port: number;
  /** Counters the summary reports; the receive loop counts datagrams and bytes in. */
  totals: Totals;
  /** Aborted when the server stops (its socket is closed by then). */
  signal: AbortSignal;
  /** Reports an event. */
  emit(ev: InetdEvent): void;
}

/**
 * Binds the UDP socket of a service or exec server (see {@link bindDatagram}) and runs
 * its receive loop until `opts.signal` aborts: a datagram from an IPv4-mapped peer under
 * `-6` is refused (`reject`), one from a reflector's or amplifier's port, port 0, a
 * broadcast or multicast source is dropped (lib/base/reflect.ts), and each other one goes
 * to `handle`. By default `handle` is awaited before the next datagram is read (`data` is
 * a view of the receive buffer); with `maxRunning`, up to that many run at once, each on
 * its own copy of the data, and a datagram beyond them is refused (`reject`, `max-conns`).
 * A handler that throws is reported as an `error` event naming its peer. The summary comes
 * once the loop has ended and every handler has settled.
 *
 * @example
 * ```ts ignore
 * import { serveDatagrams } from "./listener.ts";
 * const ac = new AbortController();
 * const srv = serveDatagrams({ port: 0, signal: ac.signal }, "echo", {}, async (d, s) => {
 *   s.totals.bytes_out += await s.sock.send(d.data, d.from);
 * });
 * ```
 */
export function serveDatagrams(
  opts: ListenOptions,
  service: ServiceName,
  extra: { command?: string[] | undefined; maxRunning?: number | undefined },
  handle: (d: Datagram, srv: DatagramServer) => Promise<void>,
): InetdServer {
  const emit = opts.onEvent ?? (() => {});
  const { sock, address, port } = bindDatagram(opts, service, extra.command);
  // Never answer a reflector's or amplifier's port, port 0, a broadcast or multicast source.
  const guard = guardWithPort(DEFAULT_REFLECT_GUARD, port);
  const started = performance.now();
  const totals = newTotals();
  const stopAll = new AbortController();
  const running = new Set<Promise<void>>();
  const max = extra.maxRunning;
  let stopping = false;
  const stop = () => {
    stopping = true;
    closeQuietly(sock);
    stopAll.abort();
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });
  const srv: DatagramServer = { sock, address, port, totals, signal: stopAll.signal, emit };

  const run = (d: Datagram) =>
    handle(d, srv).catch((err) =>
      emit({
        event: "error",
        proto: "udp",
        peer: d.peer,
        port: d.from.port,
        error: `${formatEndpoint(d.peer, d.from.port)}: ${(err as Error).message}`,
      })
    );

  const loop = async () => {
    const datagrams = receiveDatagrams<ReflectDrop>({
      sock,
      refuseMapped: refusesMapped(opts),
      verbose: opts.verbose,
      stopping: () => stopping,
      drop: (peer, peerPort) => reflectDrop(guard, peer, peerPort),
      ...(max !== undefined ? { full: () => running.size >= max } : {}),
      refused: (count) => totals[count]++,
      totals,
      emit,
    });
    for await (const d of datagrams) {
      if (max === undefined) {
        await run(d);
        continue;
      }
      const p = run({ ...d, data: d.data.slice() });
      running.add(p);
      p.finally(() => running.delete(p));
    }
  };
  const finished = loop().then(async () => {
    while (running.size) await Promise.all(running);
    opts.signal.removeEventListener("abort", stop);
    const summary = summaryOf("udp", service, totals, started);
    emit(summary);
    return summary;
  });
  return { address, port, finished };
}

/** Whether IPv4-mapped peers are refused: under `-6` with no host to bind. */
export function refusesMapped(opts: ListenOptions): boolean {
  return opts.family === 6 && opts.host === undefined;
}

function exitText(ev: CloseEvent): string {
  if (ev.pid === undefined) return "";
  if (ev.exit_signal) return `, signal ${ev.exit_signal}`;
  if (ev.exit_code !== undefined && ev.exit_code !== null) return `, exit ${ev.exit_code}`;
  return "";
}

/**
 * The human line for a service or exec server event (null: the event has none; the
 * caller prints `error` events as diagnostics and `stderr` lines on stderr).
 */
export function inetdEventText(ev: InetdEvent): string | null {
  switch (ev.event) {
    case "listening": {
      const what = ev.service === "exec" ? `exec: ${(ev.command ?? []).join(" ")}` : ev.service;
      const tls = ev.tls ? `, tls${ev.alpn?.length ? ` alpn=${ev.alpn.join(",")}` : ""}` : "";
      return `listening ${ev.proto} ${formatEndpoint(ev.address, ev.port)} (${what}${tls})`;
    }
    case "accept":
      return `accept ${formatEndpoint(ev.peer, ev.port)}`;
    case "handshake":
      return `tls ${formatEndpoint(ev.peer, ev.port)} alpn=${ev.alpn ?? "none"}`;
    case "reject":
      return rejectEventText(ev);
    case "read":
      return `Received ${ev.bytes} bytes from ${formatEndpoint(ev.peer, ev.port)}`;
    case "drop":
      return `drop ${ev.bytes} bytes from ${formatEndpoint(ev.peer, ev.port)} (${ev.reason})`;
    case "spawn":
      return `spawn ${formatEndpoint(ev.peer, ev.port)} pid=${ev.pid}`;
    case "stderr":
      return `${formatEndpoint(ev.peer, ev.port)}: ${ev.line}`;
    case "close":
      return `close ${formatEndpoint(ev.peer, ev.port)} in=${ev.bytes_in} out=${ev.bytes_out} ` +
        `time=${ev.duration_ms}ms (${ev.reason}${exitText(ev)}${ev.error ? `: ${ev.error}` : ""})`;
    case "error":
      return null;
    case "summary": {
      const unit = ev.proto === "udp"
        ? `${ev.datagrams} datagrams`
        : `${ev.connections} ${ev.proto === "sctp" ? "associations" : "connections"}`;
      const extra = (ev.children !== undefined ? `, ${ev.children} children` : "") +
        (ev.rejected ? `, ${ev.rejected} rejected` : "") +
        (ev.dropped ? `, ${ev.dropped} dropped` : "");
      return `summary ${ev.proto} (${ev.service}): ${unit}, in=${ev.bytes_in} out=${ev.bytes_out} bytes${extra}, ${
        (ev.duration_ms / 1000).toFixed(1)
      }s`;
    }
  }
}
