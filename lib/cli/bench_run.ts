/**
 * A saved bench run (`sockbox bench ... --save RUN.json`): the summary (with its latency
 * histogram), the intervals, and where and when it ran, as one JSON document that
 * `sockbox bench report A.json B.json --report out.html` reads back to draw several runs
 * on one page. Pure: the command reads and writes the files.
 *
 * @module
 */
import { Histogram } from "../base/histogram.ts";
import type { BenchIntervalEvent, BenchSummaryEvent } from "../net/bench/bench.ts";

/** The `format` field of a saved run. */
export const RUN_FORMAT = "sockbox-bench-run";
/** The version of the format this sockbox writes and reads. */
export const RUN_VERSION = 1;

/** A run, as saved and as the report draws it. */
export interface BenchRun {
  /** What the report calls it (the saved file's name, without `.json`). */
  label: string;
  /** The sockbox that measured it. */
  sockbox: string;
  /** When the measurement started (ISO 8601). */
  started: string;
  summary: BenchSummaryEvent;
  intervals: BenchIntervalEvent[];
  /** The summary's latency histogram, ns. */
  histogram: Histogram;
}

/** The JSON document of a run (`--save`). */
export function runDocument(run: BenchRun): string {
  const { label: _, histogram: __, ...rest } = run;
  return JSON.stringify({ format: RUN_FORMAT, version: RUN_VERSION, ...rest }) + "\n";
}

const SUMMARY_NUMBERS = [
  "port",
  "conns",
  "threads",
  "size_min",
  "size_max",
  "warmup_s",
  "timeout_ms",
  "duration_s",
  "round_trips",
  "round_trips_per_s",
  "sent",
  "bytes",
  "mib_per_s",
  "mismatches",
  "short",
  "resets",
  "timeouts",
  "lost",
  "late",
  "errors",
  "connected",
  "connect_failed",
] as const;

const INTERVAL_NUMBERS = [
  "index",
  "elapsed_s",
  "round_trips",
  "round_trips_per_s",
  "bytes",
  "mib_per_s",
] as const;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Reads a saved run from its JSON text; `label` names it. Throws a `TypeError` saying
 * what is wrong (`not a sockbox bench run`, `summary.round_trips must be a number`).
 */
export function parseRun(text: string, label: string): BenchRun {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`not JSON (${(e as Error).message.replaceAll("\n", "\\n")})`);
  }
  if (!isObject(doc) || doc.format !== RUN_FORMAT) {
    throw new TypeError(`not a sockbox bench run (no "format": "${RUN_FORMAT}")`);
  }
  if (doc.version !== RUN_VERSION) {
    throw new TypeError(
      `format version ${
        JSON.stringify(doc.version)
      } is not ${RUN_VERSION} (saved by a different sockbox)`,
    );
  }
  const s = doc.summary;
  if (!isObject(s)) throw new TypeError("summary must be an object");
  for (const k of SUMMARY_NUMBERS) {
    if (typeof s[k] !== "number" || !Number.isFinite(s[k])) {
      throw new TypeError(`summary.${k} must be a number`);
    }
  }
  for (const k of ["proto", "host", "address", "mode"] as const) {
    if (typeof s[k] !== "string") throw new TypeError(`summary.${k} must be a string`);
  }
  if (!["tcp", "udp", "sctp"].includes(s.proto as string)) {
    throw new TypeError(`summary.proto must be tcp, udp or sctp`);
  }
  if (!["pingpong", "rate", "stream"].includes(s.mode as string)) {
    throw new TypeError(`summary.mode must be pingpong, rate or stream`);
  }
  const lat = s.latency_us;
  if (!isObject(lat)) throw new TypeError("summary.latency_us must be an object");
  const h = s.histogram;
  if (!isObject(h) || h.unit !== "us" || !Array.isArray(h.buckets)) {
    throw new TypeError('summary.histogram must be {"unit": "us", "buckets": [...]}');
  }
  let histogram: Histogram;
  try {
    histogram = Histogram.fromBuckets(
      h.buckets as number[][],
      {
        min: Number(lat.min ?? 0),
        max: Number(lat.max ?? 0),
        mean: Number(lat.mean ?? 0),
      },
      1000,
    );
  } catch (e) {
    throw new TypeError(`summary.histogram: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc.intervals)) throw new TypeError("intervals must be an array");
  for (const [i, iv] of doc.intervals.entries()) {
    if (!isObject(iv)) throw new TypeError(`intervals[${i}] must be an object`);
    for (const k of INTERVAL_NUMBERS) {
      if (typeof iv[k] !== "number") throw new TypeError(`intervals[${i}].${k} must be a number`);
    }
  }
  return {
    label,
    sockbox: typeof doc.sockbox === "string" ? doc.sockbox : "?",
    started: typeof doc.started === "string" ? doc.started : "",
    summary: s as unknown as BenchSummaryEvent,
    intervals: doc.intervals as BenchIntervalEvent[],
    histogram,
  };
}

/** The label of a run saved as `path`: its file name without `.json`. */
export function runLabel(path: string): string {
  const base = path.split("/").pop() ?? path;
  return base.endsWith(".json") ? base.slice(0, -5) : base;
}
