/**
 * `sockbox serve tcp|udp|sctp PORT`: an echo server.
 *
 * @module
 */
import { ipFamily, stripBrackets } from "../../base/ip.ts";
import {
  afterProtoWord,
  noExtra,
  parseDuration,
  parseFamily,
  parseFlags,
  parseInteger,
  parsePort,
  parseProto,
} from "../args.ts";
import { type EchoEvent, echoEventText, serveTcp, serveUdp } from "../../net/echo/server.ts";
import { UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import * as sctp from "./sctp.ts";

export const summary = "run a TCP, UDP or SCTP echo server";

export const usage = `Usage: sockbox serve tcp|udp PORT [--host ADDR] [-4|-6] [--max-conns N]
                     [--idle-timeout DUR] [--json] [-v]

Echo server. PORT 0 asks the kernel for a free port; the first line printed is the bound
address: "listening tcp [::]:40123" (with --json: {"event":"listening",...}).

With no --host it listens dual-stack on :: (IPv4 peers are shown as plain IPv4), falling
back to 0.0.0.0 where IPv6 is unavailable. TCP echoes every byte on each connection and
honours half-close (when the peer stops sending, the rest is echoed, then the connection
closes); it logs accept and close (bytes in/out, duration). UDP serves any number of peers
on one socket and echoes each datagram whole to its sender (up to 65507 bytes over IPv4).

Options:
  --host ADDR         address to bind (IPv4 or IPv6 literal)
  -4                  IPv4 only (binds 0.0.0.0); not with --host
  -6                  IPv6 only (binds ::, refuses IPv4-mapped peers); not with --host
  --max-conns N       tcp: serve at most N connections at once (1-1000000); more are
                      accepted and closed at once, with a "reject" line
  --idle-timeout DUR  tcp: close a connection after DUR without data (e.g. 30s, 500ms)
  --json              one JSON object per line on stdout
  -v, --verbose       one line per read or datagram: "Received N bytes from HOST:PORT"

SIGINT or SIGTERM stops accepting, closes connections, prints a summary and exits 0.
--max-conns and --idle-timeout cannot be used with udp.
${sctp.SERVE_USAGE}`;

/** Options for `serve tcp|udp`. */
export interface ServeOptions {
  proto: "tcp" | "udp";
  port: number;
  host?: string;
  family?: 4 | 6;
  maxConns?: number;
  idleTimeoutMs?: number;
  json: boolean;
  verbose: boolean;
}

export type Options = ServeOptions | { proto: "sctp"; sctp: sctp.ServeSctpOptions };

/** Parses `serve` arguments. */
export function parseServeArgs(args: string[]): Options {
  const sctpArgs = afterProtoWord(args, "sctp");
  if (sctpArgs) return { proto: "sctp", sctp: sctp.parseServe(sctpArgs) };
  const { values: v, positionals } = parseFlags(args, {
    host: { type: "string" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    "max-conns": { type: "string" },
    "idle-timeout": { type: "string" },
    json: { type: "boolean" },
    verbose: { type: "boolean", short: "v" },
  });
  const proto = parseProto(positionals[0], ["tcp", "udp", "sctp"] as const);
  if (proto === "sctp") {
    const i = args.indexOf("sctp");
    return { proto, sctp: sctp.parseServe(args.filter((_, j) => j !== i)) };
  }
  const port = parsePort("PORT", positionals[1]);
  noExtra(positionals, 2);
  const family = parseFamily(v["4"], v["6"]);
  const opts: ServeOptions = { proto, port, json: v.json ?? false, verbose: v.verbose ?? false };
  if (v.host !== undefined) {
    const host = stripBrackets(v.host);
    if (ipFamily(host) === 0) {
      throw new UsageError(`invalid --host "${v.host}": must be an IPv4 or IPv6 address`);
    }
    if (family !== undefined) throw new UsageError(`--host cannot be used with -${family}`);
    opts.host = host;
  }
  if (family !== undefined) opts.family = family;
  if (v["max-conns"] !== undefined) {
    if (proto === "udp") throw new UsageError("--max-conns cannot be used with udp");
    opts.maxConns = parseInteger("--max-conns", v["max-conns"], 1, 1_000_000);
  }
  if (v["idle-timeout"] !== undefined) {
    if (proto === "udp") throw new UsageError("--idle-timeout cannot be used with udp");
    opts.idleTimeoutMs = parseDuration("--idle-timeout", v["idle-timeout"], 1);
  }
  return opts;
}

export const parse = parseServeArgs;

/** Runs the echo server until `io.signal` aborts. */
export async function run(opts: Options, io: Io): Promise<number> {
  if (opts.proto === "sctp") return await sctp.runServe(opts.sctp, io);
  const out = new Reporter(io, { json: opts.json });
  const onEvent = (ev: EchoEvent) => {
    if (ev.event === "error" && !out.json) out.warn(ev.error);
    else out.emit(ev, echoEventText);
  };
  const start = opts.proto === "tcp" ? serveTcp : serveUdp;
  const server = await start({
    host: opts.host,
    port: opts.port,
    family: opts.family,
    maxConns: opts.maxConns,
    idleTimeoutMs: opts.idleTimeoutMs,
    verbose: opts.verbose,
    signal: io.signal,
    onEvent,
  });
  await server.finished;
  return 0;
}
