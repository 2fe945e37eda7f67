/**
 * `sockbox bench tcp|udp|sctp HOST PORT`: a load and latency generator for any echo server
 * (the engine is lib/net/bench/), and `sockbox bench report RUN.json...`, which draws saved
 * runs on one HTML page. The word (a protocol, or `report`) picks an entry of
 * {@link cmd}'s table and may follow flags.
 *
 * @module
 */
import { formatEndpoint, RuntimeError, UsageError } from "../../base/errors.ts";
import { ipFamily } from "../../base/ip.ts";
import { VERSION } from "../../base/version.ts";
import {
  type BenchEvent,
  benchEventText,
  benchFailed,
  type BenchIntervalEvent,
  type BenchMode,
  runBench,
} from "../../net/bench/bench.ts";
import {
  parseDestPort,
  parseDuration,
  parseFamily,
  parseFlags,
  parseHost,
  parseInteger,
} from "../args.ts";
import {
  command,
  type CommandModule,
  protocolModule,
  type SharedModule,
  wordTable,
} from "../command.ts";
import { interruptedCode, type Io, monotonicNow, Reporter, writeAllSync } from "../output.ts";
import { type BenchRun, parseRun, runDocument, runLabel } from "../bench_run.ts";
import { renderReport } from "../bench_report.ts";

/** One line for `sockbox help`. */
export const summary = "load an echo server and measure round trips/s, MiB/s and latency";

const MAX_SIZE = { tcp: 1 << 20, sctp: 65536 } as const;
/** The smallest message: UDP and SCTP messages start with an 8-byte sequence header. */
const MIN_SIZE = { tcp: 1, udp: 8, sctp: 8 } as const;

/** The help text of `bench`. */
export const usage = `Usage: sockbox bench tcp|udp|sctp HOST PORT [--conns N] [--size S|MIN-MAX]
                     [--mode pingpong|stream] [--rate R] [--duration DUR] [--warmup DUR]
                     [--threads N] [--timeout DUR] [-4|-6] [--json]
                     [--report FILE.html] [--save RUN.json]
       sockbox bench sctp HOST PORT --streams N [...]
       sockbox bench report RUN.json... --report FILE.html

Loads an echo server (RFC 862: sockbox serve, socat, inetd's echo, ...) over N
connections for DUR after a warm-up, compares every echoed byte with what was sent, and
prints round trips/s, echoed MiB/s and the latency distribution (min, p50, p90, p99,
p99.9, max, mean, from a log-linear histogram within 1%). Mismatched echoes, short echoes
(the server closed mid-echo), resets, timeouts and lost datagrams are counted apart and
never as round trips. On a terminal, stderr shows one progress line, rewritten about once
a second.

Modes:
  pingpong (default)  each connection keeps one message in flight (closed loop)
  --rate R            open loop: R messages/s in all, spread over the connections; each
                      message's latency runs from its SCHEDULED send time, so a server
                      that stalls is charged for every message it held up (coordinated
                      omission corrected as wrk2 does)
  --mode stream       tcp only: write as fast as the server takes it and read the echo
                      back; each write's latency runs to the return of its last byte

Options:
  --conns N           connections (udp: sockets; sctp: associations), 1-100000
                      (default 10)
  --streams N         sctp: N streams of ONE association instead, each with a message
                      in flight, 1-65535
  --size S|MIN-MAX    message size in bytes, or a uniform random size per message
                      (default 64; stream: 65536 per write): tcp 1-1048576, udp 8-65507
                      (IPv6: 8-65527), sctp 8-65536 (udp and sctp messages carry an
                      8-byte sequence header)
  --duration DUR      measure for DUR (default 10s; 100ms-24h)
  --warmup DUR        run this long first without measuring (default 1s; 0-1h)
  --threads N         tcp/udp: worker threads (default: the CPUs this process may run on)
  --timeout DUR       a message not echoed within DUR is a timeout and its connection is
                      reopened (udp: the datagram is lost; default 2s)
  -4, -6              use only IPv4 or only IPv6 addresses of HOST
  --json              NDJSON on stdout: "start", one "interval" a second, "summary"
                      (with the latency histogram's buckets)
  --report FILE.html  write one self-contained HTML page with the latency percentile
                      curve, round trips/s and MiB/s over time, and the parameters
  --save RUN.json     save the run, for "bench report"

"bench report A.json B.json --report out.html" draws saved runs on one page, so two
servers or two settings can be compared.

Exit status: 0 when echoes came back and none differed; 1 when an echo differed, nothing
came back, or the server could not be reached; 2 for usage errors; 130 (SIGINT) or 143
(SIGTERM) after the summary of an interrupted run.
`;

/** Options of a `bench tcp|udp|sctp` run. */
export interface BenchCommandOptions {
  proto: "tcp" | "udp" | "sctp";
  host: string;
  port: number;
  family?: 4 | 6;
  mode: BenchMode;
  rate?: number;
  conns: number;
  streams?: number;
  sizeMin: number;
  sizeMax: number;
  durationMs: number;
  warmupMs: number;
  threads?: number;
  timeoutMs: number;
  json: boolean;
  report?: string;
  save?: string;
}

const FLAGS = {
  conns: { type: "string" },
  streams: { type: "string" },
  size: { type: "string" },
  mode: { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  warmup: { type: "string" },
  threads: { type: "string" },
  timeout: { type: "string" },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
  report: { type: "string" },
  save: { type: "string" },
} as const;

/** Parses `--size S` or `--size MIN-MAX` within [min, max]. */
export function parseSize(value: string, min: number, max: number): [number, number] {
  const m = /^([0-9]+)-([0-9]+)$/.exec(value);
  if (!m) {
    const s = parseInteger("--size", value, min, max);
    return [s, s];
  }
  const lo = Number(m[1]), hi = Number(m[2]);
  for (const v of [lo, hi]) {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new UsageError(`invalid --size "${value}": sizes must be ${min}-${max}`);
    }
  }
  if (lo > hi) throw new UsageError(`invalid --size "${value}": MIN is more than MAX`);
  return [lo, hi];
}

/** Parses a message rate: a positive number of messages per second, at most 10 million. */
export function parseRate(value: string): number {
  const r = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!(r > 0) || r > 10_000_000) {
    throw new UsageError(
      `invalid --rate "${value}": must be messages per second, more than 0 and at most 10000000`,
    );
  }
  return r;
}

/** Parses the arguments of `bench tcp|udp|sctp` (those around the protocol word). */
export function parseBench(proto: "tcp" | "udp" | "sctp", args: string[]): BenchCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const host = parseHost("HOST", positionals[0]);
  const port = parseDestPort("PORT", positionals[1]);
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const family = parseFamily(v["4"], v["6"]);
  let mode: BenchMode = "pingpong";
  if (v.mode !== undefined) {
    if (v.mode !== "pingpong" && v.mode !== "stream") {
      throw new UsageError(`invalid --mode "${v.mode}": must be pingpong or stream`);
    }
    mode = v.mode;
  }
  if (mode === "stream" && proto !== "tcp") {
    throw new UsageError(`--mode stream cannot be used with ${proto} (tcp only)`);
  }
  if (v.rate !== undefined && mode === "stream") {
    throw new UsageError("--rate cannot be used with --mode stream");
  }
  if (v.streams !== undefined && proto !== "sctp") {
    throw new UsageError(`--streams cannot be used with ${proto} (sctp only)`);
  }
  if (v.streams !== undefined && v.conns !== undefined) {
    throw new UsageError("--streams cannot be used with --conns");
  }
  if (v.threads !== undefined && proto === "sctp") {
    throw new UsageError("--threads cannot be used with sctp (it runs on one thread)");
  }
  const known = family ?? (ipFamily(host) || undefined);
  const maxSize = proto === "udp" ? (known === 4 ? 65507 : 65527) : MAX_SIZE[proto];
  const [sizeMin, sizeMax] = v.size === undefined
    ? (mode === "stream" ? [65536, 65536] : [64, 64])
    : parseSize(v.size, MIN_SIZE[proto], maxSize);
  const opts: BenchCommandOptions = {
    proto,
    host,
    port,
    mode,
    conns: v.conns === undefined ? 10 : parseInteger("--conns", v.conns, 1, 100_000),
    sizeMin,
    sizeMax,
    durationMs: v.duration === undefined
      ? 10_000
      : parseDuration("--duration", v.duration, 100, 24 * 3_600_000),
    warmupMs: v.warmup === undefined ? 1000 : parseDuration("--warmup", v.warmup, 0, 3_600_000),
    timeoutMs: v.timeout === undefined ? 2000 : parseDuration("--timeout", v.timeout, 1, 3_600_000),
    json: v.json ?? false,
  };
  if (family !== undefined) opts.family = family;
  if (v.rate !== undefined) {
    opts.mode = "rate";
    opts.rate = parseRate(v.rate);
  }
  if (v.streams !== undefined) opts.streams = parseInteger("--streams", v.streams, 1, 65535);
  if (v.threads !== undefined) opts.threads = parseInteger("--threads", v.threads, 1, 1024);
  if (v.report !== undefined) opts.report = parseReportPath(v.report);
  if (v.save !== undefined) {
    if (v.save === "") throw new UsageError('invalid --save "": must be a file name');
    opts.save = v.save;
  }
  return opts;
}

function parseReportPath(p: string): string {
  if (p === "") throw new UsageError('invalid --report "": must be a file name');
  return p;
}

/** Whether `sink` is a terminal (Deno.stderr is; in-process test sinks are not). */
function sinkIsTerminal(sink: unknown): boolean {
  const s = sink as { isTerminal?: () => boolean };
  try {
    return typeof s.isTerminal === "function" && s.isTerminal();
  } catch {
    return false;
  }
}

const enc = new TextEncoder();

/** Writes `text` to `path`; a failure is a `RuntimeError` naming the file. */
async function writeFile(path: string, text: string, what: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (e) {
    throw new RuntimeError(`cannot write ${what} "${path}": ${(e as Error).message}`);
  }
}

/** Runs a benchmark and shows it. */
export async function runBenchCommand(o: BenchCommandOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  // The live progress line: stderr on a terminal only, rewritten in place.
  const live = sinkIsTerminal(io.stderr);
  let shown = false;
  const progress = (s: string | null) => {
    if (!live) return;
    const line = s === null ? (shown ? "\r\x1b[K" : "") : `\r\x1b[K${s}`;
    writeAllSync(io.stderr, enc.encode(line), "stderr");
    shown = s !== null;
  };
  const intervals: BenchIntervalEvent[] = [];
  let started = "";
  const onEvent = (ev: BenchEvent) => {
    switch (ev.event) {
      case "start":
        started = new Date(monotonicNow()).toISOString();
        out.emit(ev, benchEventText);
        if (live && ev.warmup_s > 0) {
          progress(`warming up for ${ev.warmup_s}s...`);
        }
        return;
      case "interval":
        intervals.push(ev);
        out.emit(ev, null);
        progress(`bench ${ev.elapsed_s}/${o.durationMs / 1000}s: ${benchEventText(ev)}`);
        return;
      case "summary":
        progress(null);
        out.emit(ev, benchEventText);
        return;
    }
  };
  let result;
  try {
    result = await runBench({
      proto: o.proto,
      host: o.host,
      port: o.port,
      family: o.family,
      mode: o.mode,
      rate: o.rate,
      conns: o.conns,
      streams: o.streams,
      sizeMin: o.sizeMin,
      sizeMax: o.sizeMax,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      threads: o.threads,
      timeoutMs: o.timeoutMs,
      onEvent,
      signal: io.signal,
    });
  } finally {
    progress(null);
  }
  const run: BenchRun = {
    label: o.save ? runLabel(o.save) : `${o.proto} ${formatEndpoint(o.host, o.port)}`,
    sockbox: VERSION,
    started,
    summary: result.summary,
    intervals,
    histogram: result.histogram,
  };
  if (o.save) await writeFile(o.save, runDocument(run), "run file");
  if (o.report) {
    await writeFile(o.report, renderReport([run], new Date().toISOString()), "report");
  }
  if (result.summary.interrupted) return interruptedCode(io.signal);
  const failed = benchFailed(result.summary);
  if (failed !== null) throw new RuntimeError(failed);
  return 0;
}

const BENCH = {
  usage,
  flags: FLAGS,
  parse: parseBench,
  run: runBenchCommand,
} satisfies SharedModule<"tcp" | "udp" | "sctp", BenchCommandOptions>;

const benchModule = (proto: "tcp" | "udp" | "sctp") =>
  protocolModule(proto, `load a ${proto} echo server and measure it`, BENCH);

/** `bench tcp`. */
export const benchTcpModule = benchModule("tcp");
/** `bench udp`. */
export const benchUdpModule = benchModule("udp");
/** `bench sctp`. */
export const benchSctpModule = benchModule("sctp");

/** Options of `bench report`. */
export interface BenchReportOptions {
  files: string[];
  report: string;
  json: boolean;
}

const REPORT_FLAGS = {
  report: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Parses the arguments of `bench report` (those around the word). */
export function parseBenchReport(args: string[]): BenchReportOptions {
  const { values: v, positionals } = parseFlags(args, REPORT_FLAGS);
  if (positionals.length === 0) throw new UsageError("missing RUN.json (runs saved with --save)");
  if (v.report === undefined) throw new UsageError("bench report needs --report FILE.html");
  return { files: positionals, report: parseReportPath(v.report), json: v.json ?? false };
}

/** Draws saved runs on one page. */
export async function runBenchReport(o: BenchReportOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const runs: BenchRun[] = [];
  for (const f of o.files) {
    let text;
    try {
      text = await Deno.readTextFile(f);
    } catch (e) {
      throw new RuntimeError(`cannot read run file "${f}": ${(e as Error).message}`);
    }
    try {
      runs.push(parseRun(text, runLabel(f)));
    } catch (e) {
      throw new RuntimeError(`invalid run file "${f}": ${(e as Error).message}`);
    }
  }
  await writeFile(o.report, renderReport(runs, new Date().toISOString()), "report");
  for (const r of runs) {
    const s = r.summary;
    out.emit(
      {
        event: "run",
        label: r.label,
        proto: s.proto,
        address: s.address,
        port: s.port,
        round_trips_per_s: s.round_trips_per_s,
        mib_per_s: s.mib_per_s,
        latency_us: s.latency_us,
      },
      (e) =>
        `${e.label}: ${e.proto} ${formatEndpoint(e.address, e.port)}: ${
          Math.round(e.round_trips_per_s).toLocaleString("en-US")
        } rt/s, ${e.mib_per_s.toFixed(2)} MiB/s, p50 ${e.latency_us.p50 ?? "-"}us, p99 ${
          e.latency_us.p99 ?? "-"
        }us`,
    );
  }
  out.emit(
    { event: "report", file: o.report, runs: runs.length },
    (e) => `wrote ${e.file} (${e.runs === 1 ? "1 run" : `${e.runs} runs`})`,
  );
  return 0;
}

/** `bench report`. */
export const benchReportModule = {
  summary: "draw saved bench runs on one HTML page",
  usage,
  flags: REPORT_FLAGS,
  parse: parseBenchReport,
  run: runBenchReport,
} satisfies CommandModule<BenchReportOptions>;

/** `bench`: the protocols, and `report`. */
export const cmd = wordTable({
  summary,
  usage,
  kind: "protocol",
  missing: "missing protocol (tcp, udp, sctp) or report",
  unknown: (w) => `unknown protocol "${w}": must be tcp, udp or sctp (or report)`,
  entries: {
    tcp: command(benchTcpModule),
    udp: command(benchUdpModule),
    sctp: command(benchSctpModule),
    report: command(benchReportModule),
  },
});
