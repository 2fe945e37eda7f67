/**
 * The `sctp` entries of the `serve`, `send` and `ping` protocol tables
 * ({@link serveSctpModule}, {@link sendSctpModule}, {@link pingSctpModule}): `parseX` gets
 * the arguments around the word `sctp` and is pure (it throws `UsageError`); `runX` starts
 * the engine and renders its events, resolving to the exit code.
 *
 * @module
 */
import { ipFamily, stripBrackets } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  parseDestPort,
  parseDuration,
  parseFamily,
  parseFlags,
  parseHost,
  parseInteger,
  parsePort,
} from "../args.ts";
import { formatEndpoint, UsageError } from "../../base/errors.ts";
import { interruptedCode, type Io, Reporter } from "../output.ts";
import { parseSctpExec, runSctpExec } from "../inetd_flags.ts";
import { parseSockopts, SOCKOPT_FLAGS } from "../sockopt_flags.ts";
import { limitFlagsGiven, parseLimits } from "../limit_flags.ts";
import type { AdmissionOptions } from "../../base/gate.ts";
import { type SockoptRequest, sockoptsText } from "../../net/sockopt/sockopt.ts";
import type { CommandModule } from "../command.ts";
import { MIN_PROBE, type ProbeSchedule } from "../../net/ping/ping.ts";
import { parseSchedule, pingAndReport, SCHEDULE_FLAGS } from "../ping_report.ts";
import type { sendSctp } from "../../net/sctp/client.ts";
import { readLines } from "../../base/lines.ts";
import {
  sctpClientEventText,
  sctpEventText,
  sctpStatusText,
  type SctpStyle,
  type SctpTuning,
} from "../../net/sctp/events.ts";
import { SERVE_FLAGS, SERVE_SCTP, SERVE_USAGE, TUNING_FLAGS, TUNING_USAGE } from "./sctp_spec.ts";

export { SERVE_USAGE };

/** Usage lines for `send sctp`. */
export const SEND_USAGE = `
Usage: sockbox send sctp HOST[,HOST...] PORT [MSG...] [--bind ADDR]... [--stream N|--spread]
                         [--streams N] [--ppid N] [--unordered] [--ttl MS] [--status]
                         [--timeout DUR] [--rto-min DUR] [--rto-max DUR] [--heartbeat DUR]
                         [--max-retrans N] [-4|-6] [--json]

Opens one SCTP association (several HOSTs: one multi-homed peer, through sctp_connectx),
sends each MSG (with no MSG: each non-empty line of stdin, without its newline) as one
message, waits for its echo and checks that it comes back with the same bytes, stream and
PPID; a missing, different or unexpected echo is an error (exit 1). Each echo is printed as
"[ Receive echo (N bytes): stream = S, ssn = X, flags = F, ppid = P ]" (F in hex) and each
notification as "[ Receive notification type T ]" (T: the kernel's sn_type number).

  --bind ADDR         local address (repeatable; first bound, the rest added with bindx)
  --spread            send message i on stream i mod N, N = --streams or fewer if the peer
                      grants fewer (the default; cannot be used with --stream)
  --stream N          send every message on stream N (0-65535, below --streams and below
                      the number of streams the association negotiated)
  --streams N         streams to ask for in each direction, 1-65535 (default 64)
  --ppid N            payload protocol identifier, 0-4294967295 (default 1)
  --unordered         send unordered (SCTP_UNORDERED)
  --ttl MS            PR-SCTP time to live in milliseconds, 0-4294967295 (0 = reliable)
  --status            print SCTP_STATUS and every peer path (state, cwnd, srtt, rto, mtu)
                      at the end
  --timeout DUR       limit for the association to come up and for each echo
                      (default 5s)
${TUNING_USAGE}
  -4, -6              resolve HOST to IPv4 or IPv6 only
  --json              one JSON object per line
`;

/** Usage lines for `ping sctp`. */
export const PING_USAGE = `
Usage: sockbox ping sctp HOST PORT [-c COUNT] [-i INTERVAL] [-s SIZE] [--timeout DUR]
                         [--stream N] [--ppid N] [--bind ADDR]... [-4|-6] [--json]

As for tcp/udp, over one SCTP association: each probe is one message on stream N
(default 0) with PPID N (default 1). SIZE is ${MIN_PROBE}-1048576.
`;

interface Common {
  json: boolean;
  tuning: SctpTuning;
}

/** Options for `serve sctp`. */
export interface ServeSctpOptions extends Common {
  readonly sctp: "serve";
  port: number;
  addresses: string[];
  style: SctpStyle;
  streams: number;
  verbose: boolean;
  /** --drain: ms associations may go on after the stop signal (default 5000). */
  drainMs?: number;
  /** Socket options (lib/cli/sockopt_flags.ts). */
  sockopts?: SockoptRequest;
  /** Access control and limits (lib/cli/limit_flags.ts). */
  admission?: AdmissionOptions;
  /** --exec/--sh-exec: one child per association (lib/cli/inetd_flags.ts). */
  exec?: NonNullable<ReturnType<typeof parseSctpExec>>;
}

/** Options for `send sctp`. */
export interface SendSctpOptions extends Common {
  readonly sctp: "send";
  hosts: string[];
  port: number;
  messages: string[];
  binds: string[];
  stream?: number;
  streams: number;
  ppid: number;
  unordered: boolean;
  ttlMs: number;
  status: boolean;
  timeoutMs: number;
  family?: 4 | 6;
}

/** Options for `ping sctp`. */
export interface PingSctpOptions extends Common, ProbeSchedule {
  readonly sctp: "ping";
  host: string;
  port: number;
  stream: number;
  ppid: number;
  binds: string[];
  family?: 4 | 6;
}

const MAX_U32 = 4294967295;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parseTuning(
  v: Record<string, string | boolean | (string | boolean)[] | undefined>,
): SctpTuning {
  const t: SctpTuning = {};
  const dur = (name: string, min: number) => {
    const s = v[name];
    return typeof s === "string"
      ? Math.round(parseDuration(`--${name}`, s, min, MAX_U32))
      : undefined;
  };
  const rtoMin = dur("rto-min", 1);
  const rtoMax = dur("rto-max", 1);
  const hb = dur("heartbeat", 0);
  if (rtoMin !== undefined) t.rtoMinMs = rtoMin;
  if (rtoMax !== undefined) t.rtoMaxMs = rtoMax;
  if (rtoMin !== undefined && rtoMax !== undefined && rtoMin > rtoMax) {
    throw new UsageError(`--rto-min ${v["rto-min"]} cannot be more than --rto-max ${v["rto-max"]}`);
  }
  if (hb !== undefined) t.heartbeatMs = hb;
  const mr = v["max-retrans"];
  if (typeof mr === "string") t.maxRetrans = parseInteger("--max-retrans", mr, 1, 65535);
  return t;
}

/** Checks local addresses: IP literals, and no IPv6 address on an IPv4 socket. */
function checkLocalAddresses(addrs: { flag: string; value: string }[], family?: 4 | 6): string[] {
  const out: string[] = [];
  for (const { flag, value } of addrs) {
    const a = stripBrackets(value);
    const f = ipFamily(a);
    if (f === 0) throw new UsageError(`invalid ${flag} "${value}": must be an IP address`);
    if (family === 4 && f === 6) throw new UsageError(`-4 cannot be used with ${flag} "${value}"`);
    if (family === 6 && f === 4) throw new UsageError(`-6 cannot be used with ${flag} "${value}"`);
    out.push(a);
  }
  const first = out[0];
  if (first !== undefined && ipFamily(first) === 4) {
    const i = out.findIndex((a) => ipFamily(a) === 6);
    if (i >= 0) {
      throw new UsageError(
        `${addrs[i]!.flag} "${addrs[i]!.value}" is IPv6 but the socket is IPv4 (first address ` +
          `${first}); give an IPv6 address first`,
      );
    }
  }
  return out;
}

function bindList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Parses `serve sctp` arguments (those around the word `sctp`). */
export function parseServe(args: string[]): ServeSctpOptions {
  const { values: v, positionals } = parseFlags(args, SERVE_FLAGS);
  const port = parsePort("PORT", positionals[0]);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const family = parseFamily(v["4"], v["6"]);
  const style = v.style ?? "one-to-one";
  if (style !== "one-to-one" && style !== "one-to-many") {
    throw new UsageError(`invalid --style "${style}": must be one-to-one or one-to-many`);
  }
  const addrs = [
    ...(v.host !== undefined ? [{ flag: "--host", value: v.host }] : []),
    ...bindList(v.bind).map((value) => ({ flag: "--bind", value })),
  ];
  let addresses = checkLocalAddresses(addrs, family);
  if (addresses.length === 0 && family !== undefined) addresses = [family === 4 ? "0.0.0.0" : "::"];
  const exec = parseSctpExec(v);
  const opts: ServeSctpOptions = {
    sctp: "serve",
    port,
    addresses,
    style,
    streams: v.streams === undefined ? 64 : parseInteger("--streams", v.streams, 1, 65535),
    verbose: v.verbose ?? false,
    json: v.json ?? false,
    tuning: parseTuning(v),
    ...(exec ? { exec } : {}),
  };
  const execFlag = v.exec !== undefined ? "--exec" : v["sh-exec"] !== undefined ? "--sh-exec" : "";
  if (v.drain !== undefined) {
    if (execFlag) throw new UsageError(`--drain cannot be used with ${execFlag}`);
    opts.drainMs = parseDuration("--drain", v.drain, 0, 3_600_000);
  }
  const sockopts = parseSockopts("sctp", "server", v);
  if (sockopts) {
    const first = `--${Object.keys(SOCKOPT_FLAGS).find((k) => (v as Values)[k] !== undefined)}`;
    if (execFlag) throw new UsageError(`${first} cannot be used with ${execFlag}`);
    if (sockopts.v6only) {
      if (family === 4) throw new UsageError("--v6only cannot be used with -4");
      if (addresses[0] !== undefined && ipFamily(addresses[0]) === 4) {
        throw new UsageError("--v6only cannot be used with an IPv4 --host");
      }
    }
    opts.sockopts = sockopts;
  }
  const limits = parseLimits("sctp", v);
  const limitFlag = limitFlagsGiven(v)[0];
  if (limitFlag && execFlag) throw new UsageError(`${limitFlag} cannot be used with ${execFlag}`);
  if (Object.keys(limits).length) opts.admission = limits;
  return opts;
}

/** Runs `serve sctp`. */
export async function runServe(o: ServeSctpOptions, io: Io): Promise<number> {
  if (o.exec) return await runSctpExec({ ...o, exec: o.exec }, io);
  const out = new Reporter(io, { json: o.json });
  // The SCTP engine loads only when SCTP is used, so tcp/udp start-up does not pay for it.
  const { serveSctp } = await import("../../net/sctp/server.ts");
  const server = serveSctp({
    ...o.tuning,
    port: o.port,
    addresses: o.addresses,
    style: o.style,
    streams: o.streams,
    verbose: o.verbose,
    ...(o.drainMs !== undefined ? { drainMs: o.drainMs } : {}),
    socketOptions: o.sockopts,
    admission: o.admission,
    signal: io.signal,
    onEvent: (ev) => out.emit(ev, sctpEventText),
    onWarning: (m) => out.warn(m),
  });
  const [first, ...rest] = server.addresses;
  out.emit(
    {
      event: "listening",
      proto: "sctp",
      address: first!,
      port: server.port,
      addresses: server.addresses,
      style: o.style,
      streams: o.streams,
      ...(server.options ? { options: server.options } : {}),
    },
    (e) =>
      `listening sctp ${formatEndpoint(e.address, e.port)}` +
      (rest.length ? ` (also ${rest.join(", ")})` : "") + ` ${e.style}, ${e.streams} streams`,
  );
  if (server.options && o.verbose && !out.json) out.line(`options ${sockoptsText(server.options)}`);
  // SIGHUP: the summary so far ("running: ..."), and the server keeps serving.
  const off = io.onHangup?.(() => {
    void server.snapshot().then((s) => out.emit({ ...s }, sctpEventText)).catch(() => {});
  });
  try {
    const summary = await server.finished;
    out.emit({ ...summary }, sctpEventText);
  } finally {
    off?.();
  }
  return 0;
}

const SEND_FLAGS = {
  bind: { type: "string", multiple: true },
  stream: { type: "string" },
  spread: { type: "boolean" },
  streams: { type: "string" },
  ppid: { type: "string" },
  unordered: { type: "boolean" },
  ttl: { type: "string" },
  status: { type: "boolean" },
  timeout: { type: "string" },
  ...TUNING_FLAGS,
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
} as const;

/** Parses `send sctp` arguments (those around the word `sctp`). */
export function parseSend(args: string[]): SendSctpOptions {
  const { values: v, positionals } = parseFlags(args, SEND_FLAGS);
  const hostArg = parseHost("HOST", positionals[0]);
  const hosts = hostArg.split(",");
  if (hosts.some((h) => h === "")) throw new UsageError(`invalid HOST "${hostArg}": empty name`);
  const port = parseDestPort("PORT", positionals[1]);
  const messages = positionals.slice(2);
  if (messages.some((m) => m === "")) {
    throw new UsageError("empty MSG: SCTP cannot send an empty message");
  }
  if (v.stream !== undefined && v.spread) {
    throw new UsageError("--stream cannot be used with --spread");
  }
  const family = parseFamily(v["4"], v["6"]);
  const opts: SendSctpOptions = {
    sctp: "send",
    hosts,
    port,
    messages,
    binds: checkLocalAddresses(
      bindList(v.bind).map((value) => ({ flag: "--bind", value })),
      family,
    ),
    streams: v.streams === undefined ? 64 : parseInteger("--streams", v.streams, 1, 65535),
    ppid: v.ppid === undefined ? 1 : parseInteger("--ppid", v.ppid, 0, MAX_U32),
    unordered: v.unordered ?? false,
    ttlMs: v.ttl === undefined ? 0 : parseInteger("--ttl", v.ttl, 0, MAX_U32),
    status: v.status ?? false,
    timeoutMs: v.timeout === undefined ? 5000 : parseDuration("--timeout", v.timeout, 1, 3_600_000),
    json: v.json ?? false,
    tuning: parseTuning(v),
  };
  if (v.stream !== undefined) opts.stream = parseInteger("--stream", v.stream, 0, 65535);
  if (opts.stream !== undefined && opts.stream >= opts.streams) {
    throw new UsageError(
      `--stream ${opts.stream} is beyond --streams ${opts.streams} (streams are 0-${
        opts.streams - 1
      })`,
    );
  }
  if (family !== undefined) opts.family = family;
  return opts;
}

async function resolveAll(hosts: string[], family?: 4 | 6): Promise<string[]> {
  const out: string[] = [];
  for (const h of hosts) out.push((await resolveHost(h, family))[0]!.address);
  return out;
}

const enc = new TextEncoder();

/** Runs `send sctp`. */
export async function runSend(o: SendSctpOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const addresses = await resolveAll(o.hosts, o.family);
  const messages = o.messages.length > 0
    ? o.messages.map((m) => enc.encode(m))
    : readLines(io.stdin);
  const sendOpts: Parameters<typeof sendSctp>[0] = {
    ...o.tuning,
    addresses,
    port: o.port,
    binds: o.binds,
    streams: o.streams,
    ppid: o.ppid,
    unordered: o.unordered,
    ttlMs: o.ttlMs,
    status: o.status,
    timeoutMs: o.timeoutMs,
    messages,
    signal: io.signal,
    onEvent: (ev) => out.emit(ev, sctpClientEventText),
    onWarning: (m) => out.warn(m),
  };
  if (o.stream !== undefined) sendOpts.stream = o.stream;
  const { sendSctp } = await import("../../net/sctp/client.ts");
  const r = await sendSctp(sendOpts);
  if (r.status && r.paths) {
    const status = r.status, paths = r.paths;
    out.emit({ event: "status", ...status, paths }, () => sctpStatusText(status, paths));
  }
  out.emit({ event: "done", sent: r.sent, received: r.received }, null);
  return io.signal.aborted ? interruptedCode(io.signal) : 0;
}

const PING_FLAGS = {
  ...SCHEDULE_FLAGS,
  stream: { type: "string" },
  ppid: { type: "string" },
  bind: { type: "string", multiple: true },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
} as const;

/** Parses `ping sctp` arguments (those around the word `sctp`). */
export function parsePing(args: string[]): PingSctpOptions {
  const { values: v, positionals } = parseFlags(args, PING_FLAGS);
  const host = parseHost("HOST", positionals[0]);
  const port = parseDestPort("PORT", positionals[1]);
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const family = parseFamily(v["4"], v["6"]);
  const opts: PingSctpOptions = {
    sctp: "ping",
    host,
    port,
    ...parseSchedule(v, 1 << 20),
    stream: v.stream === undefined ? 0 : parseInteger("--stream", v.stream, 0, 65535),
    ppid: v.ppid === undefined ? 1 : parseInteger("--ppid", v.ppid, 0, MAX_U32),
    binds: checkLocalAddresses(
      bindList(v.bind).map((value) => ({ flag: "--bind", value })),
      family,
    ),
    json: v.json ?? false,
    tuning: {},
  };
  if (family !== undefined) opts.family = family;
  return opts;
}

/** Runs `ping sctp`. */
export async function runPing(o: PingSctpOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  // The SCTP engine loads only when SCTP is used.
  const { openSctpTransport } = await import("../../net/ping/sctp.ts");
  const { transport, address } = await openSctpTransport({
    host: o.host,
    port: o.port,
    family: o.family,
    binds: o.binds,
    stream: o.stream,
    ppid: o.ppid,
    timeoutMs: o.timeoutMs,
    signal: io.signal,
  });
  const { count, intervalMs, size, timeoutMs } = o;
  return await pingAndReport(transport, out, o.host, {
    proto: "sctp",
    address,
    port: o.port,
    count,
    intervalMs,
    size,
    timeoutMs,
    signal: io.signal,
  });
}

/** `serve sctp`. */
export const serveSctpModule = {
  ...SERVE_SCTP,
  parse: parseServe,
  run: runServe,
} satisfies CommandModule<ServeSctpOptions>;

/** `send sctp`. */
export const sendSctpModule = {
  summary: "send messages over one SCTP association and check the echoes",
  usage: SEND_USAGE.slice(1),
  flags: SEND_FLAGS,
  parse: parseSend,
  run: runSend,
} satisfies CommandModule<SendSctpOptions>;

/** `ping sctp`. */
export const pingSctpModule = {
  summary: "measure round trips over one SCTP association",
  usage: PING_USAGE.slice(1),
  flags: PING_FLAGS,
  parse: parsePing,
  run: runPing,
} satisfies CommandModule<PingSctpOptions>;
