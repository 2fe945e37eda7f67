/**
 * `bench`: a load and latency generator for any echo server (RFC 862). Connections (UDP:
 * sockets; SCTP: associations or the streams of one) send messages, every echoed byte is
 * compared with what was sent, and latencies go into a log-linear histogram (<= 1 %
 * relative error, lib/base/histogram.ts) merged over the threads.
 *
 * TCP and UDP run on the FFI client of lib/ffi/bench/ (Workers blocking in epoll(7), the
 * design of the echo data plane in lib/ffi/engine/), so the client is not what limits the
 * server it measures; SCTP runs on the main thread (./sctp.ts).
 *
 * The engine never prints: options + `onEvent` + an `AbortSignal` in, a {@link BenchResult}
 * out. Events: `start`, one `interval` per interval (default 1 s) of the measurement, and
 * `summary`; {@link benchEventText} renders each as text.
 *
 * @module
 */
import { formatEndpoint, RuntimeError } from "../../base/errors.ts";
import { Histogram } from "../../base/histogram.ts";
import { plural } from "../../base/text.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  type BenchMode,
  type BenchPoolResult,
  benchUnavailable,
  type Counters,
  runBenchPool,
  usableCpus,
} from "../../ffi/bench/pool.ts";
import { runSctpBench } from "./sctp.ts";

export type { BenchMode, Counters };
export { noCounters } from "../../ffi/bench/protocol.ts";

/** What to measure and how. */
export interface BenchOptions {
  proto: "tcp" | "udp" | "sctp";
  host: string;
  port: number;
  /** Use only IPv4 or only IPv6 addresses of `host`. */
  family?: 4 | 6 | undefined;
  mode: BenchMode;
  /** `rate`: messages per second in all. */
  rate?: number | undefined;
  /** Connections (UDP: sockets; SCTP: associations). */
  conns: number;
  /** SCTP: lanes on the streams of ONE association instead of `conns` associations. */
  streams?: number | undefined;
  /** Message size, bytes: fixed when equal, else uniform in the range. */
  sizeMin: number;
  sizeMax: number;
  warmupMs: number;
  durationMs: number;
  /** TCP/UDP: Workers (default: the CPUs this process may run on). */
  threads?: number | undefined;
  /** A message not echoed within this long is a timeout (UDP: lost), ms. */
  timeoutMs: number;
  /** How often `interval` events come, ms (default 1000). */
  intervalMs?: number | undefined;
  onEvent?: ((ev: BenchEvent) => void) | undefined;
  signal: AbortSignal;
}

/** Latency statistics, microseconds (null when nothing was measured). */
export interface LatencyUs {
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
}

/** The error counts of an interval or a run; none of them are round trips. */
export interface ErrorCounts {
  /** Echoes that differ from what was sent (or are longer). */
  mismatches: number;
  /** Connections the server closed with an echo incomplete. */
  short: number;
  /** Connections reset by the peer. */
  resets: number;
  /** TCP/SCTP: messages not echoed within --timeout. */
  timeouts: number;
  /** UDP: datagrams not echoed within --timeout. */
  lost: number;
  /** UDP/SCTP: echoes that came after their message was given up. */
  late: number;
  /** Anything else (failed reconnects, other errno values). */
  errors: number;
}

/** The run's parameters, as `start` and `summary` carry them. */
export interface BenchParams {
  proto: "tcp" | "udp" | "sctp";
  host: string;
  address: string;
  port: number;
  mode: BenchMode;
  /** `rate`: messages per second asked for, in all; null otherwise. */
  rate: number | null;
  conns: number;
  /** SCTP --streams, or null. */
  streams: number | null;
  threads: number;
  size_min: number;
  size_max: number;
  warmup_s: number;
  timeout_ms: number;
}

/** `start`: connected, measuring begins after the warm-up. */
export interface BenchStartEvent extends BenchParams {
  event: "start";
  /** Seconds asked for. */
  duration_s: number;
  /** Connections made, and those that failed. */
  connected: number;
  connect_failed: number;
}

/** One interval of the measurement. */
export interface BenchIntervalEvent extends ErrorCounts {
  event: "interval";
  /** 1-based. */
  index: number;
  /** Seconds since the measurement began, at the interval's end. */
  elapsed_s: number;
  round_trips: number;
  round_trips_per_s: number;
  bytes: number;
  mib_per_s: number;
  latency_us: { p50: number | null; p99: number | null; max: number | null };
}

/** The whole run. */
export interface BenchSummaryEvent extends BenchParams, ErrorCounts {
  event: "summary";
  /** The measured window, seconds (shorter than asked when interrupted). */
  duration_s: number;
  round_trips: number;
  round_trips_per_s: number;
  /** Messages sent during the measurement (stream: writes). */
  sent: number;
  /** Echoed bytes verified. */
  bytes: number;
  mib_per_s: number;
  latency_us: LatencyUs;
  connected: number;
  connect_failed: number;
  /** Stopped by a signal before the end. */
  interrupted: boolean;
  /** The first error seen while measuring, if any. */
  first_error: string | null;
  /** The latency histogram: non-empty buckets as [low, high, count], low <= us < high. */
  histogram: { unit: "us"; buckets: [number, number, number][] };
}

/**
 * The summary fields that saved runs are read by (`bench report`, lib/cli/bench_run.ts;
 * scripts/bench_agree.ts): every summary has them.
 */
export const SUMMARY_FIELDS = [
  "round_trips",
  "round_trips_per_s",
  "bytes",
  "mib_per_s",
  "latency_us",
  "errors",
  "mismatches",
  "timeouts",
  "lost",
  "conns",
  "duration_s",
  "histogram",
] as const satisfies readonly (keyof BenchSummaryEvent)[];

/** Every event of a bench run. */
export type BenchEvent = BenchStartEvent | BenchIntervalEvent | BenchSummaryEvent;

/** What {@link runBench} resolves to. */
export interface BenchResult {
  summary: BenchSummaryEvent;
  /** The merged latency histogram, ns. */
  histogram: Histogram;
}

const MIB = 1024 * 1024;

/** Rounds to 0.1 us (from ns), keeping null for NaN. */
function us(ns: number): number | null {
  return Number.isFinite(ns) ? Math.round(ns / 100) / 10 : null;
}

/** Rounds a rate to 0.1. */
function r1(x: number): number {
  return Math.round(x * 10) / 10;
}

function errorCounts(c: Counters): ErrorCounts {
  return {
    mismatches: c.mismatches,
    short: c.short,
    resets: c.resets,
    timeouts: c.timeouts,
    lost: c.lost,
    late: c.late,
    errors: c.errors,
  };
}

/** The latency statistics of `h` (ns), in microseconds. */
export function latencyUs(h: Histogram): LatencyUs {
  return {
    min: us(h.count ? h.min : NaN),
    p50: us(h.percentile(50)),
    p90: us(h.percentile(90)),
    p99: us(h.percentile(99)),
    p999: us(h.percentile(99.9)),
    max: us(h.count ? h.max : NaN),
    mean: us(h.mean()),
  };
}

/** The `interval` event of interval `index` (0-based) from its counters and histogram. */
export function intervalEvent(
  index: number,
  c: Counters,
  h: Histogram,
  intervalMs: number,
): BenchIntervalEvent {
  const s = intervalMs / 1000;
  return {
    event: "interval",
    index: index + 1,
    elapsed_s: Math.round((index + 1) * intervalMs) / 1000,
    round_trips: c.roundTrips,
    round_trips_per_s: r1(c.roundTrips / s),
    bytes: c.bytes,
    mib_per_s: Math.round((c.bytes / MIB / s) * 1000) / 1000,
    latency_us: {
      p50: us(h.percentile(50)),
      p99: us(h.percentile(99)),
      max: us(h.count ? h.max : NaN),
    },
    ...errorCounts(c),
  };
}

/** The `summary` event of a run. */
export function summaryEvent(params: BenchParams, r: BenchPoolResult): BenchSummaryEvent {
  const secs = r.measuredNs / 1e9;
  const c = r.counters;
  return {
    event: "summary",
    ...params,
    duration_s: Math.round(secs * 1000) / 1000,
    round_trips: c.roundTrips,
    round_trips_per_s: secs > 0 ? r1(c.roundTrips / secs) : 0,
    sent: c.sent,
    bytes: c.bytes,
    mib_per_s: secs > 0 ? Math.round((c.bytes / MIB / secs) * 1000) / 1000 : 0,
    latency_us: latencyUs(r.hist),
    ...errorCounts(c),
    connected: r.connected,
    connect_failed: r.failed,
    interrupted: r.aborted,
    first_error: r.firstError ?? null,
    histogram: { unit: "us", buckets: r.hist.buckets(1000) },
  };
}

/** Whether a run failed: anything mismatched, or nothing came back. */
export function benchFailed(s: BenchSummaryEvent): string | null {
  const where = formatEndpoint(s.address, s.port);
  if (s.mismatches > 0) {
    return `${plural(s.mismatches, "echo", "echoes")} from ${where} differed from what was sent`;
  }
  if (s.round_trips === 0 && !s.interrupted) {
    return `no echo from ${where}` + (s.first_error ? `: ${s.first_error}` : "");
  }
  return null;
}

/** A count with thousands separators. */
function n(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function fmtUs(x: number | null): string {
  if (x === null) return "-";
  if (x >= 10_000) return `${(x / 1000).toFixed(1)}ms`;
  return `${x.toFixed(1)}us`;
}

function modeText(p: BenchParams): string {
  return p.mode === "rate" ? `rate ${n(p.rate ?? 0)}/s` : p.mode;
}

function sizeText(p: BenchParams): string {
  return p.size_min === p.size_max
    ? plural(p.size_min, "byte")
    : `${p.size_min}-${p.size_max} bytes`;
}

function connText(p: BenchParams): string {
  if (p.streams !== null) return `${plural(p.streams, "stream")} of one association`;
  return plural(
    p.conns,
    p.proto === "udp" ? "socket" : p.proto === "sctp" ? "association" : "connection",
  );
}

/** The error counts that are not zero, as `3 mismatches, 1 timeout`, or "none". */
export function errorsText(e: ErrorCounts): string {
  const parts: string[] = [];
  const add = (k: number, one: string, many?: string) => {
    if (k > 0) parts.push(plural(k, one, many));
  };
  add(e.mismatches, "mismatch", "mismatches");
  add(e.short, "short echo", "short echoes");
  add(e.resets, "reset");
  add(e.timeouts, "timeout");
  add(e.lost, "lost", "lost");
  add(e.late, "late", "late");
  add(e.errors, "other error");
  return parts.length ? parts.join(", ") : "none";
}

/** The text of a bench event (a line, or the summary's lines). */
export function benchEventText(ev: BenchEvent): string {
  switch (ev.event) {
    case "start":
      return `BENCH ${ev.proto} ${ev.host} (${formatEndpoint(ev.address, ev.port)}): ${
        modeText(ev)
      }, ${connText(ev)}, ${sizeText(ev)}, ${
        plural(ev.threads, "thread")
      }, ${ev.duration_s}s after ${ev.warmup_s}s warm-up`;
    case "interval":
      return `${n(ev.round_trips_per_s)} rt/s, ${ev.mib_per_s.toFixed(2)} MiB/s, p50 ${
        fmtUs(ev.latency_us.p50)
      }, p99 ${fmtUs(ev.latency_us.p99)}, errors: ${errorsText(ev)}`;
    case "summary": {
      const l = ev.latency_us;
      return [
        `--- ${ev.proto} ${formatEndpoint(ev.address, ev.port)} bench: ${modeText(ev)}, ${
          connText(ev)
        }, ${sizeText(ev)}, ${ev.duration_s}s${ev.interrupted ? " (interrupted)" : ""} ---`,
        `round trips  ${n(ev.round_trips)} (${n(ev.round_trips_per_s)}/s), ${
          (ev.bytes / MIB).toFixed(1)
        } MiB echoed (${ev.mib_per_s.toFixed(2)} MiB/s)`,
        `latency      min ${fmtUs(l.min)}  p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${
          fmtUs(l.p99)
        }  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}  mean ${fmtUs(l.mean)}`,
        `errors       ${errorsText(ev)}${ev.first_error ? ` (first: ${ev.first_error})` : ""}`,
      ].join("\n");
    }
  }
}

/**
 * Runs a benchmark (see the module doc). Rejects when the host does not resolve, or
 * nothing could connect (a `SysError`: `connect ECONNREFUSED 127.0.0.1:9`).
 */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const emit = o.onEvent ?? (() => {});
  const address = (await resolveHost(o.host, o.family))[0]!.address;
  const intervalMs = o.intervalMs ?? 1000;
  if (o.proto !== "sctp") {
    const why = benchUnavailable();
    if (why !== null) throw new RuntimeError(`bench cannot run here: ${why}`);
  }
  const threads = o.proto === "sctp"
    ? 1
    : Math.max(1, Math.min(o.threads ?? usableCpus(), o.conns));
  const params: BenchParams = {
    proto: o.proto,
    host: o.host,
    address,
    port: o.port,
    mode: o.mode,
    rate: o.mode === "rate" ? o.rate ?? 0 : null,
    conns: o.streams !== undefined ? 1 : o.conns,
    streams: o.streams ?? null,
    threads,
    size_min: o.sizeMin,
    size_max: o.sizeMax,
    warmup_s: o.warmupMs / 1000,
    timeout_ms: o.timeoutMs,
  };
  const common = {
    address,
    port: o.port,
    sizeMin: o.sizeMin,
    sizeMax: o.sizeMax,
    rate: o.rate ?? 0,
    timeoutMs: o.timeoutMs,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    intervalMs,
    signal: o.signal,
    onReady: (i: { connected: number; failed: number; threads: number }) =>
      i.connected > 0 && emit({
        event: "start",
        ...params,
        threads: i.threads,
        duration_s: o.durationMs / 1000,
        connected: i.connected,
        connect_failed: i.failed,
      }),
    onTick: (index: number, c: Counters, h: Histogram) =>
      emit(intervalEvent(index, c, h, intervalMs)),
  };
  const r = o.proto === "sctp"
    ? await runSctpBench({
      ...common,
      conns: o.conns,
      streams: o.streams,
      mode: o.mode === "stream" ? "pingpong" : o.mode,
    })
    : await runBenchPool({ ...common, proto: o.proto, mode: o.mode, conns: o.conns, threads });
  const summary = summaryEvent({ ...params, threads: r.threads }, r);
  emit(summary);
  return { summary, histogram: r.hist };
}
