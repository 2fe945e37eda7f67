/**
 * `sockbox serve tcp|udp|sctp PORT`: an echo server. The protocol word picks an entry of
 * {@link cmd}'s table (it may follow flags); the SCTP entry lives in ./sctp.ts.
 *
 * @module
 */
import {
  noExtra,
  parseBindHost,
  parseDuration,
  parseFamily,
  parseFlags,
  parseInteger,
  parsePort,
} from "../args.ts";
import { echoDiagnosticText, type EchoEvent, echoEventText } from "../../net/echo/server.ts";
import { serveEcho } from "../../net/echo/ffi_server.ts";
import { RuntimeError, UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import {
  command,
  lazyCommand,
  protocolModule,
  protocolTable,
  type SharedModule,
} from "../command.ts";
// serve sctp: its texts and flags now, its code (./sctp.ts) when it runs.
import { SERVE_SCTP, SERVE_USAGE } from "./sctp_spec.ts";
import { SERVE_ALL_USAGE, serveAllModule } from "./serve_all.ts";
import { parseServeSockopts, SOCKOPT_FLAGS, SOCKOPT_USAGE } from "../sockopt_flags.ts";
import {
  inetdFlagGiven,
  LIMIT_FLAGS,
  LIMIT_USAGE,
  limitFlagsGiven,
  parseLimits,
} from "../limit_flags.ts";
import type { AdmissionOptions } from "../../base/gate.ts";
import { type SpliceMode, spliceModeFromEnv } from "../../base/splice.ts";
import { fileLimitText, raiseFileLimit } from "../../sys/limits.ts";
import { type SockoptRequest, sockoptsText } from "../../net/sockopt/sockopt.ts";
import { defaultEngine } from "../../net/echo/ffi_server.ts";
import {
  checkIdleTimeout,
  type InetdServeOptions,
  parseServeInetd,
  runServeInetd,
  SERVE_INETD_FLAGS,
  SERVE_INETD_USAGE,
} from "../inetd_flags.ts";

/** One line for `sockbox help`. */
export const summary = "run a TCP, UDP or SCTP echo server";

/** The help text of `serve tcp|udp`. */
export const TCP_UDP_USAGE =
  `Usage: sockbox serve tcp|udp PORT [--host ADDR] [-4|-6] [--max-conns N]
                     [--idle-timeout DUR] [--drain DUR] [--engine ffi|deno] [--workers N]
                     [--json] [-q|-v]

Echo server. PORT 0 asks the kernel for a free port; the first line printed is the bound
address: "listening tcp [::]:40123" (with --json: {"event":"listening",...}).

With no --host it listens dual-stack on :: (IPv4 peers are shown as plain IPv4), falling
back to 0.0.0.0 where IPv6 is unavailable. TCP echoes every byte on each connection and
honours half-close (when the peer stops sending, the rest is echoed, then the connection
closes); it logs accept and close (bytes in/out, duration) unless -q. UDP serves any number of peers
on one socket and echoes each datagram whole to its sender (up to 65507 bytes over IPv4,
65527 over IPv6).

Options:
  --host ADDR         address to bind (IPv4 or IPv6 literal)
  -4                  IPv4 only (binds 0.0.0.0); not with --host
  -6                  IPv6 only (binds ::, refuses IPv4-mapped peers); not with --host
  --max-conns N       tcp: serve at most N connections at once (1-1000000); more are
                      accepted and closed at once, with a "reject" line
  --idle-timeout DUR  tcp: close a connection after DUR without data (e.g. 30s, 500ms)
  --drain DUR         after SIGINT/SIGTERM, how long open connections may finish their
                      echoes (default 5s; 0: close them at once); see below
  --json              one JSON object per line on stdout
  -v, --verbose       one line per read or datagram: "Received N bytes from HOST:PORT";
                      tcp: at most one line a second counting the connections their peers
                      reset before accept took them (retried at once; "aborted" in the
                      summary)
  -q, --quiet         no line per connection: accept, close and reject (udp: reject);
                      the summary still counts them. Not with -v or the inetd modes below
  --engine ffi|deno   which engine serves (default: ffi where it runs, else deno; the
                      JSON "listening" event names it):
                      ffi: Linux with --allow-ffi; worker threads call libc directly
                      (epoll, splice(2) for bulk TCP, recvmmsg(2) batches for UDP); sees
                      TCP urgent data (MSG_OOB) and reports it as an "urgent" line,
                      without echoing it; -6 sets IPV6_V6ONLY, so the kernel refuses
                      IPv4 peers itself.
                      deno: Deno.listen, portable; cannot see urgent data (it is dropped)
  --workers N         ffi: worker threads, each with its own SO_REUSEPORT socket on PORT
                      (1-1024; default: the CPUs this process may run on); 1: the main
                      thread serves; more: each is a Worker, a runtime of its own (about
                      8-13 MB of memory and 25-45 ms of start-up apiece)

Environment: the ffi engine moves a streaming TCP peer's bytes with splice(2), except for
loopback peers (127.0.0.0/8, ::1), where copying with read(2)/write(2) measured faster.
SOCKBOX_SPLICE=1 splices for loopback peers too, SOCKBOX_SPLICE=0 never (the echo is the
same either way).

Out of file descriptors (EMFILE and friends), accepts wait: one stderr line when that
starts, one when accept works again, with the number deferred. A port in use fails with
"bind EADDRINUSE [::]:PORT" (the address that failed; 0.0.0.0 is tried only where IPv6
itself is missing).

SIGINT or SIGTERM stops accepting at once (new connections are refused) and drains: each
open connection keeps being echoed until its peer has sent nothing more for 100ms
(everything it sent has then been echoed), then closes; connections still open after
--drain DUR are closed (reason "shutdown", their unechoed bytes in "dropped="/
"bytes_dropped"; one in its --max-bytes lingering close keeps reason "max-bytes").
udp stops reading at once and sends the reply in hand. Then the summary
is printed and sockbox exits 0. A second SIGINT/SIGTERM (not the same keypress) exits at
once (130/143). SIGHUP prints the summary so far and keeps serving: "summary tcp
(running): ..." (with --json: the "summary" event with "running":true). --drain and
SIGHUP apply to the echo server only, not to --exec, --sh-exec, --service or --tls
(there SIGINT/SIGTERM stop as before and SIGHUP keeps its default).
--max-conns and --idle-timeout cannot be used with udp; --workers cannot be used with
--engine deno.
`;

/** The full help text of `serve`. */
export const usage = TCP_UDP_USAGE + SERVE_INETD_USAGE + SOCKOPT_USAGE + LIMIT_USAGE +
  SERVE_USAGE + SERVE_ALL_USAGE;

/** Options for `serve tcp|udp`. */
export interface ServeOptions {
  proto: "tcp" | "udp";
  port: number;
  host?: string;
  family?: 4 | 6;
  maxConns?: number;
  idleTimeoutMs?: number;
  /** --drain: ms open connections may finish in after the stop signal (default 5000). */
  drainMs?: number;
  json: boolean;
  verbose: boolean;
  /** -q: no event per connection (lib/net/echo/server.ts `quiet`). */
  quiet?: boolean;
  /** The engine asked for; absent: ffi where it runs, else deno. */
  engine?: "ffi" | "deno";
  /** ffi: worker threads; absent: one per usable CPU. */
  workers?: number;
  /** --exec, --sh-exec, --service or --tls: served by lib/cli/inetd_flags.ts. */
  inetd?: InetdServeOptions;
  /** Socket options (lib/cli/sockopt_flags.ts). */
  sockopts?: SockoptRequest;
  /** Access control and limits (lib/cli/limit_flags.ts); udp: always the reflection guard. */
  admission?: AdmissionOptions;
}

/** The flags of `serve tcp|udp` (the same for both, so each names the other's misuse). */
const FLAGS = {
  host: { type: "string" },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  "max-conns": { type: "string" },
  "idle-timeout": { type: "string" },
  drain: { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  engine: { type: "string" },
  workers: { type: "string" },
  ...SERVE_INETD_FLAGS,
  ...SOCKOPT_FLAGS,
  ...LIMIT_FLAGS,
} as const;

/** Parses the arguments of `serve tcp|udp` (those around the protocol word). */
export function parseServe(proto: "tcp" | "udp", args: string[]): ServeOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const port = parsePort("PORT", positionals[0]);
  noExtra(positionals, 1);
  const family = parseFamily(v["4"], v["6"]);
  const opts: ServeOptions = { proto, port, json: v.json ?? false, verbose: v.verbose ?? false };
  // --engine deno is the engine these run on anyway; the ffi engine's flags are its own.
  const echoOnly = [
    ...(v.engine === "ffi" ? ["--engine ffi"] : []),
    ...(v.workers !== undefined ? ["--workers"] : []),
  ];
  const inetd = parseServeInetd(proto, v, echoOnly);
  const host = parseBindHost(v.host, family);
  if (host !== undefined) opts.host = host;
  if (family !== undefined) opts.family = family;
  if (v["max-conns"] !== undefined) {
    if (proto === "udp" && !inetd?.exec) {
      throw new UsageError("--max-conns cannot be used with udp");
    }
    opts.maxConns = parseInteger("--max-conns", v["max-conns"], 1, 1_000_000);
  }
  if (v["idle-timeout"] !== undefined) {
    if (proto === "udp") throw new UsageError("--idle-timeout cannot be used with udp");
    opts.idleTimeoutMs = parseDuration("--idle-timeout", v["idle-timeout"], 1);
    if (inetd) checkIdleTimeout(inetd);
  }
  if (v.drain !== undefined) {
    const inetdFlag = inetd ? inetdFlagGiven(v) : undefined;
    if (inetdFlag) throw new UsageError(`--drain cannot be used with ${inetdFlag}`);
    opts.drainMs = parseDuration("--drain", v.drain, 0, 3_600_000);
  }
  if (v.engine !== undefined) {
    if (v.engine !== "ffi" && v.engine !== "deno") {
      throw new UsageError(`invalid --engine "${v.engine}": must be ffi or deno`);
    }
    opts.engine = v.engine;
  }
  if (v.workers !== undefined) {
    if (opts.engine === "deno") throw new UsageError("--workers cannot be used with --engine deno");
    opts.workers = parseInteger("--workers", v.workers, 1, 1024);
  }
  if (v.quiet) {
    if (opts.verbose) throw new UsageError("-q cannot be used with -v");
    const inetdFlag = inetd ? inetdFlagGiven(v) : undefined;
    if (inetdFlag) throw new UsageError(`-q cannot be used with ${inetdFlag}`);
    opts.quiet = true;
  }
  if (inetd) opts.inetd = inetd;
  const sockopts = parseServeSockopts(proto, v);
  if (sockopts) opts.sockopts = sockopts;
  const limits = parseLimits(proto, v);
  const limitFlag = limitFlagsGiven(v)[0];
  const inetdFlag = inetd ? inetdFlagGiven(v) : undefined;
  if (limitFlag && inetdFlag) throw new UsageError(`${limitFlag} cannot be used with ${inetdFlag}`);
  if (Object.keys(limits).length) opts.admission = limits;
  return opts;
}

/** The splice(2) mode SOCKBOX_SPLICE asks for (lib/base/splice.ts; auto without env access). */
function spliceWanted(): SpliceMode {
  try {
    return spliceModeFromEnv(Deno.env.get("SOCKBOX_SPLICE"));
  } catch {
    return "auto";
  }
}

/** Runs the echo server until `io.signal` aborts. */
export async function runServe(opts: ServeOptions, io: Io): Promise<number> {
  // One fd per connection: take every one the process may have (-v says so, before the
  // "listening" line). Otherwise the limit is raised just after that line, which then comes
  // a few milliseconds sooner (libc is opened for it), and still before the first accept:
  // the limit is the process's, the main thread serves only after this handler returns,
  // and Workers are still starting.
  const early = (opts.verbose && !opts.json) || opts.inetd !== undefined;
  if (early) {
    const fdLimit = raiseFileLimit();
    if (opts.verbose && fdLimit && !opts.json) new Reporter(io).warn(fileLimitText(fdLimit));
  }
  if (opts.inetd) return await runServeInetd(opts, opts.inetd, io);
  const out = new Reporter(io, { json: opts.json });
  const onEvent = (ev: EchoEvent) => {
    const diagnostic = out.json ? null : echoDiagnosticText(ev);
    if (diagnostic !== null) out.warn(diagnostic);
    else out.emit(ev, echoEventText);
    if (ev.event === "listening" && ev.options && opts.verbose && !out.json) {
      out.line(`options ${sockoptsText(ev.options)}`);
    }
    if (ev.event === "listening" && !early) raiseFileLimit();
  };
  if (opts.sockopts?.v6only && (opts.engine ?? defaultEngine()) === "deno") {
    throw new RuntimeError("--v6only needs the ffi engine, which cannot run here");
  }
  const server = await serveEcho(opts.proto, {
    engine: opts.engine,
    workers: opts.workers,
    splice: spliceWanted(),
    host: opts.host,
    port: opts.port,
    family: opts.family,
    maxConns: opts.maxConns,
    idleTimeoutMs: opts.idleTimeoutMs,
    drainMs: opts.drainMs,
    verbose: opts.verbose,
    quiet: opts.quiet,
    signal: io.signal,
    onEvent,
    // A batch of the ffi engine's events (accept, close, read lines) is one write(2).
    onEvents: (evs) =>
      out.batch(() => {
        for (const ev of evs) onEvent(ev);
      }),
    socketOptions: opts.sockopts,
    admission: opts.admission,
  });
  // SIGHUP: the summary so far, and the server keeps serving.
  const off = io.onHangup?.(() => {
    void server.snapshot().then((s) => out.emit(s, echoEventText)).catch(() => {});
  });
  try {
    await server.finished;
  } finally {
    off?.();
  }
  return 0;
}

/** What `serve tcp` and `serve udp` share: usage, flags, runner. */
const TCP_UDP = {
  usage: TCP_UDP_USAGE + SERVE_INETD_USAGE + SOCKOPT_USAGE + LIMIT_USAGE,
  flags: FLAGS,
  parse: parseServe,
  run: runServe,
} satisfies SharedModule<"tcp" | "udp", ServeOptions>;

/** `serve tcp`. */
export const serveTcpModule = protocolModule("tcp", "run a TCP echo server", TCP_UDP);

/** `serve udp`. */
export const serveUdpModule = protocolModule("udp", "run a UDP echo server", TCP_UDP);

/** `serve`: the protocol table. */
export const cmd = protocolTable({
  summary,
  usage,
  entries: {
    tcp: command(serveTcpModule),
    udp: command(serveUdpModule),
    sctp: lazyCommand(SERVE_SCTP, async () => command((await import("./sctp.ts")).serveSctpModule)),
    all: command(serveAllModule),
  },
});
