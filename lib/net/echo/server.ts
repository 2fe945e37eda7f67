/**
 * TCP and UDP echo servers (RFC 862 behaviour): TCP echoes every byte on each
 * connection and honours half-close; UDP echoes each datagram whole to its sender.
 * Both report what happens as events and stop cleanly when their signal aborts.
 *
 * @module
 */
import { unmapV4 } from "../../base/ip.ts";
import { formatEndpoint, toSysError } from "../../base/errors.ts";

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
  /** Aborting stops the server: it stops accepting, closes connections and resolves. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: EchoEvent) => void) | undefined;
}

/** Events an echo server reports. */
export type EchoEvent =
  | { event: "listening"; proto: "tcp" | "udp"; address: string; port: number; family: 4 | 6 }
  | { event: "accept"; proto: "tcp"; peer: string; port: number; open: number }
  | {
    event: "reject";
    proto: "tcp" | "udp";
    peer: string;
    port: number;
    reason: "max-conns" | "ipv4-peer";
  }
  | { event: "read"; proto: "tcp" | "udp"; peer: string; port: number; bytes: number }
  | {
    event: "close";
    proto: "tcp";
    peer: string;
    port: number;
    bytes_in: number;
    bytes_out: number;
    duration_ms: number;
    reason: "eof" | "idle-timeout" | "error" | "shutdown";
    error?: string;
  }
  | { event: "error"; proto: "tcp" | "udp"; peer?: string; port?: number; error: string }
  | {
    event: "summary";
    proto: "tcp" | "udp";
    connections: number;
    datagrams: number;
    bytes_in: number;
    bytes_out: number;
    duration_ms: number;
  };

/** A running echo server. */
export interface EchoServer {
  /** Bound address (`::` or `0.0.0.0` or the `host` given). */
  address: string;
  /** Bound port (the real one when 0 was asked). */
  port: number;
  /** Resolves with the summary event once the server has stopped. */
  finished: Promise<Extract<EchoEvent, { event: "summary" }>>;
}

function isMapped(address: string): boolean {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address);
}

function bindCandidates(opts: EchoServerOptions): string[] {
  if (opts.host !== undefined) return [opts.host];
  if (opts.family === 4) return ["0.0.0.0"];
  if (opts.family === 6) return ["::"];
  return ["::", "0.0.0.0"];
}

function listenWithFallback<T>(
  candidates: string[],
  port: number,
  open: (host: string) => T,
): { value: T; host: string } {
  let last: unknown;
  for (const [i, host] of candidates.entries()) {
    try {
      return { value: open(host), host };
    } catch (err) {
      last = err;
      const name = (err as Error).name;
      const fallback = i < candidates.length - 1 &&
        (name === "AddrNotAvailable" || /EAFNOSUPPORT|family/i.test((err as Error).message));
      if (!fallback) break;
    }
  }
  throw toSysError(last, "listen", { address: candidates.at(-1), port });
}

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
  const emit = opts.onEvent ?? (() => {});
  const { value: listener, host } = listenWithFallback(
    bindCandidates(opts),
    opts.port,
    (hostname) => Deno.listen({ hostname, port: opts.port, transport: "tcp" }),
  );
  const port = (listener.addr as Deno.NetAddr).port;
  emit({
    event: "listening",
    proto: "tcp",
    address: host,
    port,
    family: host.includes(":") ? 6 : 4,
  });

  const started = performance.now();
  const open = new Set<Deno.TcpConn>();
  const handlers = new Set<Promise<void>>();
  const totals = { connections: 0, bytes_in: 0, bytes_out: 0 };
  let stopping = false;

  const stop = () => {
    stopping = true;
    try {
      listener.close();
    } catch { /* closed */ }
    for (const c of open) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });

  const handle = async (conn: Deno.TcpConn, peer: string, peerPort: number) => {
    const t0 = performance.now();
    let bytesIn = 0, bytesOut = 0;
    let reason = "eof" as "eof" | "idle-timeout" | "error" | "shutdown";
    let error: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (opts.idleTimeoutMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        reason = "idle-timeout";
        try {
          conn.close();
        } catch { /* closed */ }
      }, opts.idleTimeoutMs);
    };
    try {
      conn.setNoDelay(true);
      // Small to start (1000 idle connections stay cheap), growing for bulk senders.
      let buf = new Uint8Array(4 * 1024);
      arm();
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        arm();
        bytesIn += n;
        if (opts.verbose) emit({ event: "read", proto: "tcp", peer, port: peerPort, bytes: n });
        let off = 0;
        while (off < n) off += await conn.write(buf.subarray(off, n));
        bytesOut += n;
        // A full buffer means a bulk sender: read bigger chunks from now on.
        if (n === buf.length && buf.length < 256 * 1024) buf = new Uint8Array(buf.length * 4);
      }
      clearTimeout(timer);
      await conn.closeWrite().catch(() => {});
    } catch (err) {
      if (stopping && reason === "eof") reason = "shutdown";
      else if (reason !== "idle-timeout") {
        reason = "error";
        error = toSysError(err, "recv", { address: peer, port: peerPort }).message;
      }
    } finally {
      clearTimeout(timer);
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
      totals.bytes_in += bytesIn;
      totals.bytes_out += bytesOut;
      emit({
        event: "close",
        proto: "tcp",
        peer,
        port: peerPort,
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        duration_ms: Math.round(performance.now() - t0),
        reason,
        ...(error !== undefined ? { error } : {}),
      });
    }
  };

  const acceptLoop = async () => {
    while (!stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (stopping) break;
        // Report and keep serving; out of fds or memory (EMFILE and friends): back off first.
        const e = toSysError(err, "accept");
        emit({ event: "error", proto: "tcp", error: e.message });
        if (/^accept E(MFILE|NFILE|NOBUFS|NOMEM)/.test(e.message)) {
          await new Promise((r) => setTimeout(r, 100));
        }
        continue;
      }
      const ra = conn.remoteAddr as Deno.NetAddr;
      const peer = unmapV4(ra.hostname);
      if (opts.family === 6 && opts.host === undefined && isMapped(ra.hostname)) {
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: "ipv4-peer" });
        conn.close();
        continue;
      }
      if (opts.maxConns !== undefined && open.size >= opts.maxConns) {
        emit({ event: "reject", proto: "tcp", peer, port: ra.port, reason: "max-conns" });
        conn.close();
        continue;
      }
      open.add(conn);
      totals.connections++;
      emit({ event: "accept", proto: "tcp", peer, port: ra.port, open: open.size });
      const h = handle(conn, peer, ra.port);
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  };

  const finished = acceptLoop().then(async () => {
    while (handlers.size) await Promise.all(handlers);
    opts.signal.removeEventListener("abort", stop);
    const summary = {
      event: "summary" as const,
      proto: "tcp" as const,
      connections: totals.connections,
      datagrams: 0,
      bytes_in: totals.bytes_in,
      bytes_out: totals.bytes_out,
      duration_ms: Math.round(performance.now() - started),
    };
    emit(summary);
    return summary;
  });
  return Promise.resolve({ address: host, port, finished });
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
  const emit = opts.onEvent ?? (() => {});
  const { value: sock, host } = listenWithFallback(
    bindCandidates(opts),
    opts.port,
    (hostname) => Deno.listenDatagram({ hostname, port: opts.port, transport: "udp" }),
  );
  const port = (sock.addr as Deno.NetAddr).port;
  emit({
    event: "listening",
    proto: "udp",
    address: host,
    port,
    family: host.includes(":") ? 6 : 4,
  });
  const started = performance.now();
  const totals = { datagrams: 0, bytes_in: 0, bytes_out: 0 };
  let stopping = false;
  const stop = () => {
    stopping = true;
    try {
      sock.close();
    } catch { /* closed */ }
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });

  const loop = async () => {
    // 65536 bytes holds the largest UDP payload over IPv4 and IPv6, so nothing truncates.
    const buf = new Uint8Array(65536);
    while (!stopping) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
      } catch (err) {
        if (stopping) break;
        emit({ event: "error", proto: "udp", error: toSysError(err, "recvfrom").message });
        continue;
      }
      const ra = from as Deno.NetAddr;
      const peer = unmapV4(ra.hostname);
      if (opts.family === 6 && opts.host === undefined && isMapped(ra.hostname)) {
        emit({ event: "reject", proto: "udp", peer, port: ra.port, reason: "ipv4-peer" });
        continue;
      }
      totals.datagrams++;
      totals.bytes_in += data.length;
      if (opts.verbose) {
        emit({ event: "read", proto: "udp", peer, port: ra.port, bytes: data.length });
      }
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
      }
    }
  };
  const finished = loop().then(() => {
    opts.signal.removeEventListener("abort", stop);
    const summary = {
      event: "summary" as const,
      proto: "udp" as const,
      connections: 0,
      datagrams: totals.datagrams,
      bytes_in: totals.bytes_in,
      bytes_out: totals.bytes_out,
      duration_ms: Math.round(performance.now() - started),
    };
    emit(summary);
    return summary;
  });
  return Promise.resolve({ address: host, port, finished });
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
    case "read":
      return `Received ${ev.bytes} bytes from ${formatEndpoint(ev.peer, ev.port)}`;
    case "close":
      return `close ${formatEndpoint(ev.peer, ev.port)} in=${ev.bytes_in} out=${ev.bytes_out} ` +
        `time=${ev.duration_ms}ms (${ev.reason}${ev.error ? `: ${ev.error}` : ""})`;
    case "error":
      return null; // diagnostics go to stderr (see serve.ts)
    case "summary":
      return ev.proto === "tcp"
        ? `summary tcp: ${ev.connections} connections, in=${ev.bytes_in} out=${ev.bytes_out} bytes, ${
          (ev.duration_ms / 1000).toFixed(1)
        }s`
        : `summary udp: ${ev.datagrams} datagrams, in=${ev.bytes_in} out=${ev.bytes_out} bytes, ${
          (ev.duration_ms / 1000).toFixed(1)
        }s`;
  }
}
