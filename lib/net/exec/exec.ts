/**
 * inetd mode: every TCP (or TLS) connection, or every UDP datagram, is handed to a new
 * child program (inetd's `nowait`), with the connection's details in its environment
 * (see ./env.ts).
 *
 * TCP: the socket's bytes go to the child's stdin and its stdout comes back. When the
 * peer half-closes, the child's stdin closes; when the child exits, the connection closes
 * once its output is flushed. A peer that resets, or that is gone when the child writes
 * (TCP cannot tell a half-close from a close until data flows), ends the child: SIGTERM
 * to its process group, then SIGKILL after a grace period. `execTimeoutMs` ends a child
 * that runs too long the same way.
 *
 * UDP: the datagram is the child's whole stdin; each write of its stdout (as one read of
 * the pipe returns it, cut at 65507 bytes) goes back to the sender as one datagram.
 *
 * @module
 */
import { toSysError } from "../../base/errors.ts";
import { unmapV4 } from "../../base/ip.ts";
import {
  closeQuietly,
  type CloseReason,
  type InetdEvent,
  type InetdServer,
  type ListenOptions,
  newTotals,
  serveDatagrams,
  serveStream,
  type Session,
  type SessionEnd,
  type Totals,
  writeFully,
} from "../services/listener.ts";
import { type ChildExit, type ExecChild, spawnChild } from "./child.ts";
import { type ExecContext, execEnv } from "./env.ts";

/** Options of {@link serveExec}. */
export interface ExecOptions extends ListenOptions {
  proto: "tcp" | "udp";
  /** The program (resolved path first) and its arguments. */
  argv: string[];
  /** The command as the user gave it, for events (default: `argv`). */
  command?: string[] | undefined;
  /** End a child that has run this long (ms). */
  execTimeoutMs?: number | undefined;
  /** Between SIGTERM and SIGKILL when a child is ended (ms; default 2000). */
  killGraceMs?: number | undefined;
}

/** UDP: children running at once when `maxConns` is not given. */
export const DEFAULT_UDP_CHILDREN = 64;
/** Largest UDP payload over IPv4 (RFC 768 length field, minus the IPv4 header). */
const MAX_DATAGRAM = 65507;

/**
 * Starts an exec server; resolves once it is listening. The program must already be
 * resolved (see ./argv.ts): a child that cannot be started is reported on its `close`.
 *
 * @example
 * ```ts ignore
 * import { serveExec } from "./exec.ts";
 * const ac = new AbortController();
 * const srv = await serveExec({
 *   proto: "tcp", port: 0, argv: ["/usr/bin/tr", "a-z", "A-Z"], signal: ac.signal,
 *   onEvent: console.log, // listening, accept, spawn, close {exit_code: 0, ...}, summary
 * });
 * ```
 */
export function serveExec(o: ExecOptions): Promise<InetdServer> {
  return Promise.resolve(o.proto === "tcp" ? serveExecStream(o) : serveExecDatagrams(o));
}

/** How a child's session ended, for its `close` event. */
export function exitFields(pid: number, exit: ChildExit | null) {
  return {
    pid,
    exit_code: exit ? exit.code : null,
    exit_signal: exit ? exit.signal : null,
  };
}

/**
 * Runs one child for one conversation, however its bytes travel: `feed` pumps the
 * peer's bytes into the child's stdin (resolving at the peer's end of data, rejecting
 * if the peer is gone), `deliver` sends one stdout chunk to the peer (rejecting if the
 * peer is gone). Resolves once the child has exited and its output is delivered.
 */
export async function converse(
  child: ExecChild,
  o: { execTimeoutMs?: number | undefined; killGraceMs?: number | undefined },
  signal: AbortSignal,
  feed: (stdin: WritableStreamDefaultWriter<Uint8Array>) => Promise<void>,
  deliver: (chunk: Uint8Array) => Promise<void>,
): Promise<Conversation> {
  const grace = o.killGraceMs ?? 2000;
  let cause: CloseReason | null = null;
  const end = (why: CloseReason) => {
    cause ??= why;
    void child.terminate(grace);
  };
  const onAbort = () => end("shutdown");
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) onAbort();
  const timer = o.execTimeoutMs === undefined
    ? undefined
    : setTimeout(() => end("exec-timeout"), o.execTimeoutMs);

  const writer = child.stdin.getWriter();
  const inbound = feed(writer).then(
    () => writer.close().catch(() => {}),
    () => {
      writer.close().catch(() => {});
      if (!child.done) end("peer-reset");
    },
  );
  const outbound = (async () => {
    const reader = child.stdout.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        try {
          await deliver(r.value);
        } catch {
          end("peer-reset");
          await reader.cancel().catch(() => {});
          return;
        }
      }
    } catch { /* the pipe broke */ }
  })();
  const exit = await child.exited;
  await outbound;
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort);
  return { reason: cause ?? "exit", exit, inbound };
}

/** How a conversation ended. */
export interface Conversation {
  reason: CloseReason;
  exit: ChildExit;
  /** Settles once the peer-to-child pump has stopped (the caller may still be reading). */
  inbound: Promise<void>;
}

function serveExecStream(o: ExecOptions): InetdServer {
  const totals = newTotals();
  const handler = async (s: Session): Promise<SessionEnd> => {
    const ctx: ExecContext = {
      proto: "tcp",
      remote: { address: s.peer, port: s.port },
      local: { address: s.localAddress, port: s.localPort },
      ...(s.alpn !== undefined ? { tls: { alpn: s.alpn } } : {}),
    };
    const at = { proto: "tcp", peer: s.peer, port: s.port } as const;
    const { child, error } = startChild(o, execEnv(ctx), at, s.emit, totals);
    if (!child) return { bytes_in: 0, bytes_out: 0, reason: "error", error };
    let bytesIn = 0, bytesOut = 0;
    let finishing = false;
    const feed = async (stdin: WritableStreamDefaultWriter<Uint8Array>) => {
      const buf = new Uint8Array(64 * 1024);
      let open = true;
      for (;;) {
        let n: number | null;
        try {
          n = await s.conn.read(buf);
        } catch (err) {
          if (finishing) return;
          throw err;
        }
        if (n === null) return; // half-close: the child's stdin closes
        bytesIn += n;
        if (o.verbose) {
          s.emit({ event: "read", proto: "tcp", peer: s.peer, port: s.port, bytes: n });
        }
        if (open) {
          // A child that no longer reads: keep reading (and dropping) to see the peer go.
          await stdin.write(buf.slice(0, n)).catch(() => (open = false));
        }
      }
    };
    const deliver = async (chunk: Uint8Array) => {
      bytesOut += await writeFully(s.conn, chunk);
    };
    const { reason, exit, inbound } = await converse(child, o, s.signal, feed, deliver);
    // The child is gone and its output is sent: close (TLS: with close_notify).
    finishing = true;
    if (reason === "exit") await s.conn.closeWrite().catch(() => {});
    closeQuietly(s.conn);
    await inbound;
    return { bytes_in: bytesIn, bytes_out: bytesOut, reason, ...exitFields(child.pid, exit) };
  };
  return serveStream(o, "exec", { command: o.command ?? o.argv, totals }, handler);
}

/**
 * Starts `o.argv` for the peer `at` with `env`: reports `spawn` (counted in
 * `totals.children`) and each line the child writes to stderr as a `stderr` event. A
 * child that cannot be started comes back as the one-line reason (see {@link spawnError}).
 */
export function startChild(
  o: { argv: string[]; killGraceMs?: number | undefined },
  env: Record<string, string>,
  at: { proto: "tcp" | "udp" | "sctp"; peer: string; port: number },
  emit: (ev: InetdEvent) => void,
  totals: Totals,
): { child: ExecChild; error?: undefined } | { child?: undefined; error: string } {
  let child: ExecChild;
  try {
    child = spawnChild(
      o.argv,
      env,
      (line) => emit({ event: "stderr", ...at, pid: child.pid, line }),
      o.killGraceMs ?? 2000,
    );
  } catch (err) {
    return { error: spawnError(o.argv, err) };
  }
  totals.children++;
  emit({ event: "spawn", ...at, pid: child.pid });
  return { child };
}

/** The one-line reason a child could not be started. */
export function spawnError(argv: string[], err: unknown): string {
  return toSysError(err, "spawn", { address: argv[0] }).message;
}

function serveExecDatagrams(o: ExecOptions): InetdServer {
  const emit = o.onEvent ?? (() => {});
  const extra = { command: o.command ?? o.argv, maxRunning: o.maxConns ?? DEFAULT_UDP_CHILDREN };
  return serveDatagrams(o, "exec", extra, async ({ data, from: to, peer }, srv) => {
    const t0 = performance.now();
    const where = { address: peer, port: to.port };
    const ctx: ExecContext = {
      proto: "udp",
      remote: { address: peer, port: to.port },
      local: { address: unmapV4(srv.address), port: srv.port },
    };
    const at = { proto: "udp", peer, port: to.port } as const;
    const { child, error: failed } = startChild(o, execEnv(ctx), at, emit, srv.totals);
    if (!child) {
      emit({
        event: "close",
        ...at,
        bytes_in: data.length,
        bytes_out: 0,
        duration_ms: Math.round(performance.now() - t0),
        reason: "error",
        error: failed,
      });
      return;
    }
    let bytesOut = 0;
    let error: string | undefined;
    const feed = async (stdin: WritableStreamDefaultWriter<Uint8Array>) => {
      await stdin.write(data).catch(() => {});
    };
    const deliver = async (chunk: Uint8Array) => {
      for (let off = 0; off < chunk.length; off += MAX_DATAGRAM) {
        try {
          bytesOut += await srv.sock.send(chunk.subarray(off, off + MAX_DATAGRAM), to);
        } catch (err) {
          if (srv.signal.aborted) throw err;
          error ??= toSysError(err, "sendto", where).message;
        }
      }
    };
    const { reason, exit } = await converse(child, o, srv.signal, feed, deliver);
    srv.totals.bytes_out += bytesOut;
    emit({
      event: "close",
      proto: "udp",
      peer,
      port: to.port,
      bytes_in: data.length,
      bytes_out: bytesOut,
      duration_ms: Math.round(performance.now() - t0),
      reason,
      ...(error !== undefined ? { error } : {}),
      ...exitFields(child.pid, exit),
    });
  });
}
