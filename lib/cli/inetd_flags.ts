/**
 * The command-line side of inetd mode, the simple services and TLS, shared by
 * `serve tcp|udp|sctp`, `send tcp` and `ping tcp`: their flags, usage paragraphs, pure
 * parsers (exact `UsageError` messages, every conflict checked before any syscall) and
 * the runners that load the engines on demand and render their events.
 *
 * @module
 */
import { RuntimeError, UsageError } from "../base/errors.ts";
import { ipFamily } from "../base/ip.ts";
import { payloadText } from "../base/text.ts";
import { type ExecSpec, probePath, resolveProgram, specArgv } from "../net/exec/argv.ts";
import type { InetdEvent } from "../net/services/listener.ts";
import { isService, type Service, SERVICES } from "../net/services/names.ts";
import type { RecvEvent } from "../net/services/recv.ts";
import type { TlsServerFiles } from "../net/tls/server.ts";
import type { SctpTuning } from "../net/sctp/events.ts";
import { parseDuration, parseInteger } from "./args.ts";
import { interruptedCode, type Io, Reporter, writeAll } from "./output.ts";

// --- serve ---

/** `serve tcp|udp` flags for exec, the services and TLS. */
export const SERVE_INETD_FLAGS = {
  exec: { type: "string" },
  "sh-exec": { type: "string" },
  "exec-timeout": { type: "string" },
  service: { type: "string" },
  "quote-file": { type: "string" },
  tls: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  alpn: { type: "string" },
} as const;

/** `serve sctp` flags for exec. */
export const SCTP_EXEC_FLAGS = {
  exec: { type: "string" },
  "sh-exec": { type: "string" },
  "exec-timeout": { type: "string" },
  "max-conns": { type: "string" },
} as const;

/** The usage paragraph of `serve tcp|udp` for exec, the services and TLS. */
export const SERVE_INETD_USAGE = `
inetd mode, the simple services, TLS:
  --exec "PROG ARGS"  run PROG for each tcp connection or udp datagram (split on
                      whitespace, no shell; \\ quotes the next character), found on
                      PATH once at start: the socket's bytes on its stdin, its stdout
                      sent back, its stderr on ours prefixed with the peer. The peer's
                      half-close closes its stdin; its exit closes the connection once
                      its output is sent; a peer that resets or is gone when it writes
                      ends it (SIGTERM, then SIGKILL after 2s). udp: the datagram is its
                      whole stdin, each write of its stdout one datagram back (at most 64
                      children at once unless --max-conns says otherwise).
                      Environment: SOCKBOX_PROTO, SOCKBOX_REMOTE_ADDR, SOCKBOX_REMOTE_PORT,
                      SOCKBOX_LOCAL_ADDR, SOCKBOX_LOCAL_PORT (and SOCKBOX_TLS,
                      SOCKBOX_TLS_ALPN over TLS)
  --sh-exec "CMD"     as --exec, with /bin/sh -c CMD
  --exec-timeout DUR  end a child that runs longer than DUR (SIGTERM, then SIGKILL)
  --max-conns N       with --exec: children running at once (tcp: connections); more
                      are refused with a "reject" line and counted
  --service NAME      run a built-in service instead of echo: echo (RFC 862), discard
                      (RFC 863), chargen (RFC 864), daytime (RFC 867), time (RFC 868),
                      qotd (RFC 865). udp never answers with more bytes than arrived:
                      daytime, time and qotd need a datagram at least as long as the
                      answer; chargen answers at most 20 datagrams a second
  --quote-file FILE   qotd: quotes separated by lines holding only "%" (fortune(6)), or
                      one per line; each at most 512 bytes
  --tls               tcp: serve over TLS (Deno.listenTls); needs --cert and --key. With
                      no --exec or --service it is an echo server over TLS; a failed
                      handshake is a "close" line and the server keeps serving
  --cert FILE         PEM certificate chain (the server's certificate first)
  --key FILE          PEM private key (not encrypted)
  --alpn P1,P2        ALPN protocols to accept, in order of preference
--exec, --sh-exec and --service exclude each other; they and --tls run on the deno
engine, so --engine ffi and --workers cannot be used with them.
`;

/** The usage paragraph of `serve sctp` for exec. */
export const SCTP_EXEC_USAGE =
  `  --exec "PROG ARGS"  one child per association, started by its first message
                      (SOCKBOX_SCTP_STREAM and SOCKBOX_SCTP_PPID give its stream and
                      PPID); every message goes to its stdin, each write of its stdout
                      goes back as one message on that stream with that PPID. SCTP has
                      no half-close: run programs that hold output until end of input
                      unbuffered (stdbuf -o0 tr a-z A-Z)
  --sh-exec "CMD"     as --exec, with /bin/sh -c CMD
  --exec-timeout DUR  end a child that runs longer than DUR
  --max-conns N       with --exec: associations with a child at once; more are shut down`;

/** What `serve` runs instead of (or besides) plain echo. */
export interface InetdServeOptions {
  exec?: ExecSpec;
  execTimeoutMs?: number;
  service?: Service;
  quoteFile?: string;
  tls?: TlsServerFiles;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const str = (v: Values, k: string) => (typeof v[k] === "string" ? v[k] as string : undefined);

/** Parses an ALPN list (`h2,http/1.1`): RFC 7301 protocol names are 1-255 bytes. */
export function parseAlpn(value: string): string[] {
  const list = value.split(",");
  if (list.some((p) => p.length === 0 || new TextEncoder().encode(p).length > 255)) {
    throw new UsageError(
      `invalid --alpn "${value}": must be protocol names separated by commas (1-255 bytes each)`,
    );
  }
  return list;
}

function parseExec(v: Values): { exec?: ExecSpec; execTimeoutMs?: number } {
  const exec = str(v, "exec"), sh = str(v, "sh-exec"), timeout = str(v, "exec-timeout");
  if (exec !== undefined && sh !== undefined) {
    throw new UsageError("--exec cannot be used with --sh-exec");
  }
  const out: { exec?: ExecSpec; execTimeoutMs?: number } = {};
  const flag = exec !== undefined ? "--exec" : "--sh-exec";
  const given = exec ?? sh;
  if (given !== undefined) {
    const spec: ExecSpec = { kind: exec !== undefined ? "exec" : "sh", command: given };
    out.exec = spec;
    try {
      specArgv(spec);
    } catch {
      throw new UsageError(`invalid ${flag} "${given}": the command is empty`);
    }
  }
  if (timeout !== undefined) {
    if (given === undefined) throw new UsageError("--exec-timeout needs --exec or --sh-exec");
    out.execTimeoutMs = parseDuration("--exec-timeout", timeout, 1);
  }
  return out;
}

/**
 * Parses the inetd flags of `serve tcp|udp`; null when none is given (plain echo, and
 * `--service echo` without TLS, which is the same server). `echoOnly` lists the ffi echo
 * engine's flags that were given (`--engine ffi`, `--workers`), which none of these take.
 *
 * @example
 * ```ts
 * import { parseServeInetd } from "./inetd_flags.ts";
 * parseServeInetd("tcp", { service: "daytime" }, []); // { service: "daytime" }
 * ```
 */
export function parseServeInetd(
  proto: "tcp" | "udp",
  v: Values,
  echoOnly: string[],
): InetdServeOptions | null {
  const out: InetdServeOptions = { ...parseExec(v) };
  const service = str(v, "service");
  if (service !== undefined) {
    if (!isService(service)) {
      throw new UsageError(
        `invalid --service "${service}": must be ${SERVICES.slice(0, -1).join(", ")} or qotd`,
      );
    }
    if (out.exec) {
      throw new UsageError(
        `${out.exec.kind === "exec" ? "--exec" : "--sh-exec"} cannot be used with --service`,
      );
    }
    out.service = service;
  }
  const quote = str(v, "quote-file");
  if (quote !== undefined) {
    if (out.service !== "qotd") throw new UsageError("--quote-file needs --service qotd");
    out.quoteFile = quote;
  }
  const cert = str(v, "cert"), key = str(v, "key"), alpn = str(v, "alpn");
  if (v.tls) {
    if (proto !== "tcp") throw new UsageError(`--tls cannot be used with ${proto}`);
    if (cert === undefined || key === undefined) {
      throw new UsageError("--tls needs --cert FILE and --key FILE");
    }
    out.tls = { certFile: cert, keyFile: key };
    if (alpn !== undefined) out.tls.alpn = parseAlpn(alpn);
  } else {
    for (const [flag, value] of [["--cert", cert], ["--key", key], ["--alpn", alpn]]) {
      if (value !== undefined) throw new UsageError(`${flag} needs --tls`);
    }
  }
  const what = out.exec
    ? (out.exec.kind === "exec" ? "--exec" : "--sh-exec")
    : out.service && (out.service !== "echo" || out.tls)
    ? "--service"
    : out.tls
    ? "--tls"
    : null;
  if (what === null) return null;
  for (const flag of echoOnly) throw new UsageError(`${flag} cannot be used with ${what}`);
  return out;
}

/** Checks `--idle-timeout` against what `serve` runs (echo and discard read; others do not). */
export function checkIdleTimeout(o: InetdServeOptions): void {
  if (o.exec) {
    throw new UsageError(
      `--idle-timeout cannot be used with ${o.exec.kind === "exec" ? "--exec" : "--sh-exec"}`,
    );
  }
  if (o.service && o.service !== "echo" && o.service !== "discard") {
    throw new UsageError(`--idle-timeout cannot be used with --service ${o.service}`);
  }
}

/** Parses the exec flags of `serve sctp`; null when there are none. */
export function parseSctpExec(
  v: Values,
): { exec: ExecSpec; execTimeoutMs?: number; maxConns?: number } | null {
  const e = parseExec(v);
  const max = str(v, "max-conns");
  if (!e.exec) {
    if (max !== undefined) throw new UsageError("--max-conns needs --exec or --sh-exec with sctp");
    return null;
  }
  return {
    exec: e.exec,
    ...(e.execTimeoutMs !== undefined ? { execTimeoutMs: e.execTimeoutMs } : {}),
    ...(max !== undefined ? { maxConns: parseInteger("--max-conns", max, 1, 1_000_000) } : {}),
  };
}

/** The program of `spec`, found on PATH: the argv to run, or a one-line `RuntimeError`. */
export function execArgv(spec: ExecSpec): string[] {
  const argv = specArgv(spec);
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch { /* no env permission: only paths with a "/" work */ }
  try {
    return [resolveProgram(argv[0]!, path, probePath), ...argv.slice(1)];
  } catch (err) {
    throw new RuntimeError((err as Error).message);
  }
}

/** Shows events of a service or exec server: errors and child stderr as diagnostics. */
function inetdReporter(io: Io, json: boolean, text: (ev: InetdEvent) => string | null) {
  const out = new Reporter(io, { json });
  return (ev: InetdEvent) => {
    if (ev.event === "error" && !json) out.warn(ev.error);
    else if (ev.event === "stderr") out.warn(text(ev)!);
    else out.emit(ev, text);
  };
}

/** Where and how `serve tcp|udp` listens, as its parser gave it. */
export interface ServeCommon {
  proto: "tcp" | "udp";
  port: number;
  host?: string | undefined;
  family?: 4 | 6 | undefined;
  maxConns?: number | undefined;
  idleTimeoutMs?: number | undefined;
  json: boolean;
  verbose: boolean;
}

/**
 * Runs `serve tcp|udp` with exec, a service or TLS until `io.signal` aborts. The
 * program, the certificate and key and the quote file are checked first: a problem is
 * a one-line `RuntimeError` (exit 1) before anything listens.
 */
export async function runServeInetd(c: ServeCommon, o: InetdServeOptions, io: Io): Promise<number> {
  const argv = o.exec ? execArgv(o.exec) : undefined;
  const { loadTlsFiles } = await import("../net/tls/server.ts");
  const tls = o.tls ? await loadTlsFiles(o.tls) : undefined;
  const quotes = o.quoteFile !== undefined ? await loadQuotes(o.quoteFile) : undefined;
  const { inetdEventText } = await import("../net/services/listener.ts");
  const onEvent = inetdReporter(io, c.json, inetdEventText);
  const listen = {
    host: c.host,
    port: c.port,
    family: c.family,
    maxConns: c.maxConns,
    verbose: c.verbose,
    tls,
    signal: io.signal,
    onEvent,
  };
  let server;
  if (argv) {
    const { serveExec } = await import("../net/exec/exec.ts");
    server = await serveExec({
      ...listen,
      proto: c.proto,
      argv,
      command: specArgv(o.exec!),
      execTimeoutMs: o.execTimeoutMs,
    });
  } else {
    const { serveService } = await import("../net/services/services.ts");
    server = await serveService({
      ...listen,
      proto: c.proto,
      service: o.service ?? "echo",
      quotes,
      idleTimeoutMs: c.idleTimeoutMs,
    });
  }
  await server.finished;
  return 0;
}

async function loadQuotes(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    const e = err as Error;
    throw new RuntimeError(
      `cannot read quote file "${file}": ${
        e.name === "NotFound" ? "no such file" : e.message.replace(/\s*\(os error \d+\).*$/s, "")
      }`,
    );
  }
  const { parseQuotes } = await import("../net/services/qotd.ts");
  try {
    return parseQuotes(text);
  } catch (err) {
    const m = (err as Error).message;
    throw new RuntimeError(`quote file "${file}": ${m[0]!.toLowerCase()}${m.slice(1)}`);
  }
}

/** `serve sctp --exec`: what the SCTP parser hands over. */
export interface SctpExecCommand {
  port: number;
  addresses: string[];
  style: "one-to-one" | "one-to-many";
  streams: number;
  tuning: SctpTuning;
  verbose: boolean;
  json: boolean;
  exec: { exec: ExecSpec; execTimeoutMs?: number; maxConns?: number };
}

/** Runs `serve sctp --exec|--sh-exec` until `io.signal` aborts. */
export async function runSctpExec(o: SctpExecCommand, io: Io): Promise<number> {
  const argv = execArgv(o.exec.exec);
  const { inetdEventText } = await import("../net/services/listener.ts");
  const { serveExecSctp } = await import("../net/exec/sctp.ts");
  const server = serveExecSctp({
    port: o.port,
    addresses: o.addresses,
    style: o.style,
    streams: o.streams,
    tuning: o.tuning,
    argv,
    command: specArgv(o.exec.exec),
    maxConns: o.exec.maxConns,
    execTimeoutMs: o.exec.execTimeoutMs,
    verbose: o.verbose,
    signal: io.signal,
    onEvent: inetdReporter(io, o.json, inetdEventText),
  });
  await server.finished;
  return 0;
}

// --- send / ping ---

/** `send tcp` / `ping tcp` flags for TLS. */
export const TLS_CLIENT_FLAGS = {
  tls: { type: "boolean" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  servername: { type: "string" },
  alpn: { type: "string" },
} as const;

/** `send tcp` flags for talk-first services. */
export const RECV_FLAGS = {
  recv: { type: "boolean" },
  "max-bytes": { type: "string" },
} as const;

/** The usage paragraph of `send tcp` / `ping tcp` for TLS. */
export const TLS_CLIENT_USAGE = `
TLS (tcp only):
  --tls               connect over TLS; the server's certificate must be trusted and
                      match HOST (or --servername); if not, one line says why (exit 1)
  --ca FILE           trust the CA certificates in this PEM file instead of the system's
  --insecure          do not verify the certificate at all (not with --ca)
  --servername NAME   the name to send (SNI) and to verify, instead of HOST
  --alpn P1,P2        ALPN protocols to offer; --json's "tls" event has the one agreed
                      and the TLS version
`;

/** The usage paragraph of `send tcp` for talk-first services. */
export const RECV_USAGE = `
Talk-first services (tcp only):
  --recv              no echo expected: send the MSGs (if any), close the sending side,
                      then print everything the server sends until it closes: daytime's
                      line, qotd's quote, chargen's stream; a 4-byte reply that reads as
                      a date is an RFC 868 time and is printed as one ("time 2026-...Z")
  --max-bytes N       with --recv: stop after N bytes (for chargen)
`;

/** What `--tls` asks of the client. */
export interface TlsClientFlags {
  caFile?: string;
  insecure: boolean;
  servername?: string;
  alpn?: string[];
}

/** Parses the TLS flags of `send`/`ping`; null without `--tls`. */
export function parseTlsClient(proto: string, v: Values): TlsClientFlags | null {
  const ca = str(v, "ca"), servername = str(v, "servername"), alpn = str(v, "alpn");
  if (!v.tls) {
    for (
      const [flag, given] of [
        ["--ca", ca !== undefined],
        ["--insecure", v.insecure === true],
        ["--servername", servername !== undefined],
        ["--alpn", alpn !== undefined],
      ] as const
    ) {
      if (given) throw new UsageError(`${flag} needs --tls`);
    }
    return null;
  }
  if (proto !== "tcp") throw new UsageError(`--tls cannot be used with ${proto}`);
  if (v.insecure && ca !== undefined) throw new UsageError("--insecure cannot be used with --ca");
  const out: TlsClientFlags = { insecure: v.insecure === true };
  if (ca !== undefined) out.caFile = ca;
  if (servername !== undefined) {
    if (ipFamily(servername) !== 0 || !/^[A-Za-z0-9._-]{1,253}$/.test(servername)) {
      throw new UsageError(
        `invalid --servername "${servername}": must be a host name (RFC 6066 sends no addresses)`,
      );
    }
    out.servername = servername;
  }
  if (alpn !== undefined) out.alpn = parseAlpn(alpn);
  return out;
}

/** Parses `--recv`/`--max-bytes`; null without `--recv`. */
export function parseRecv(proto: string, v: Values): { maxBytes?: number } | null {
  const max = str(v, "max-bytes");
  if (!v.recv) {
    if (max !== undefined) throw new UsageError("--max-bytes needs --recv");
    return null;
  }
  if (proto !== "tcp") throw new UsageError(`--recv cannot be used with ${proto}`);
  return max === undefined ? {} : { maxBytes: parseInteger("--max-bytes", max, 1, 2 ** 53 - 1) };
}

/** A connection opener for the TCP engines, as their `connect` option takes it. */
export type Connector = () => Promise<{ conn: Deno.Conn; address: string; port: number }>;

/**
 * The TLS connector for `send`/`ping`: reads the CA file (a one-line `RuntimeError` if it
 * cannot), and on connect reports the `tls` event (version, ALPN, verified).
 */
export async function tlsConnector(
  target: {
    host: string;
    port: number;
    family?: 4 | 6 | undefined;
    timeoutMs: number;
    signal: AbortSignal;
  },
  flags: TlsClientFlags,
  out: Reporter,
  lines: boolean,
): Promise<Connector> {
  let ca: string | undefined;
  if (flags.caFile !== undefined) {
    try {
      ca = await Deno.readTextFile(flags.caFile);
    } catch (err) {
      const e = err as Error;
      throw new RuntimeError(
        `cannot read CA file "${flags.caFile}": ${
          e.name === "NotFound" ? "no such file" : e.message.replace(/\s*\(os error \d+\).*$/s, "")
        }`,
      );
    }
    const { pemProblem } = await import("../net/tls/pem.ts");
    const problem = pemProblem(ca, "certificate");
    if (problem) throw new RuntimeError(`CA file "${flags.caFile}": ${problem}`);
  }
  const { connectTls } = await import("../net/tls/client.ts");
  return async () => {
    const t = await connectTls(target.host, target.port, {
      ca,
      insecure: flags.insecure,
      servername: flags.servername,
      alpn: flags.alpn,
      family: target.family,
      timeoutMs: target.timeoutMs,
      signal: target.signal,
    });
    out.emit(
      {
        event: "tls",
        address: t.address,
        port: t.port,
        version: t.version,
        alpn: t.alpn,
        verified: t.verified,
      },
      lines ? tlsEventText : null,
    );
    return t;
  };
}

/** The human line of the client's `tls` event. */
export function tlsEventText(
  ev: { version: string | null; alpn: string | null; verified: boolean },
): string {
  return `TLS ${ev.version ?? "(version unknown)"}, alpn=${ev.alpn ?? "none"}` +
    (ev.verified ? "" : ", certificate NOT verified (--insecure)");
}

/** `send tcp HOST PORT --recv`: what the user asked for. */
export interface RecvCommand {
  host: string;
  port: number;
  family?: 4 | 6 | undefined;
  messages: Uint8Array[];
  maxBytes?: number | undefined;
  timeoutMs: number;
  json: boolean;
  tls?: TlsClientFlags | undefined;
}

/**
 * Runs `send tcp --recv`: the server's bytes go to stdout as they are (JSON: `data`
 * events with the text), a lone RFC 868 reply as one "time" line; exit 0 when the server
 * closes or --max-bytes is reached, 130 (SIGINT) or 143 (SIGTERM) when interrupted.
 */
export async function runRecv(o: RecvCommand, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const target = {
    host: o.host,
    port: o.port,
    family: o.family,
    timeoutMs: o.timeoutMs,
    signal: io.signal,
  };
  const connect: Connector = o.tls ? await tlsConnector(target, o.tls, out, false) : async () => {
    const { connectTcp } = await import("../net/echo/client.ts");
    return await connectTcp(o.host, o.port, target);
  };
  const t = await connect();
  out.emit({ event: "connect", proto: "tcp", address: t.address, port: t.port }, null);
  const close = () => {
    try {
      t.conn.close();
    } catch { /* closed */ }
  };
  io.signal.addEventListener("abort", close, { once: true });
  const { receiveStream, recvEventText } = await import("../net/services/recv.ts");
  let pending = Promise.resolve();
  try {
    await receiveStream(t.conn, {
      address: t.address,
      port: t.port,
      messages: o.messages,
      maxBytes: o.maxBytes,
      timeoutMs: o.timeoutMs,
      signal: io.signal,
      onEvent: (ev: RecvEvent) => {
        if (ev.event === "data" && !o.json) {
          const bytes = ev.data;
          pending = pending.then(() => writeAll(io.stdout, bytes));
        } else if (ev.event === "data") {
          out.emit({ event: "data", bytes: ev.bytes, data: payloadText(ev.data, 4096) }, null);
        } else {
          out.emit(ev, recvEventText);
        }
      },
    });
    await pending;
  } catch (err) {
    if (io.signal.aborted) return interruptedCode(io.signal);
    throw err;
  } finally {
    io.signal.removeEventListener("abort", close);
    close();
  }
  return io.signal.aborted ? interruptedCode(io.signal) : 0;
}
