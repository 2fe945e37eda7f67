/**
 * Latency statistics: min/avg/max/mdev as ping(8) prints them, and percentiles.
 *
 * @module
 */

/** Summary of a set of round-trip times, in milliseconds. */
export interface RttSummary {
  /** How many round-trip times were summarised. */
  count: number;
  /** The smallest. */
  min: number;
  /** The arithmetic mean. */
  avg: number;
  /** The largest. */
  max: number;
  /** Standard deviation, as ping(8)'s mdev. */
  mdev: number;
  /** The median (nearest-rank 50th percentile). */
  p50: number;
  /** The nearest-rank 90th percentile. */
  p90: number;
  /** The nearest-rank 99th percentile. */
  p99: number;
}

/** The `p`-th percentile (0-100) of `sorted` (ascending), by the nearest-rank method. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/**
 * Summarises round-trip times (ms); null when there are none.
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * summarize([1, 2, 3])!.p50; // 2
 * ```
 */
export function summarize(rtts: readonly number[]): RttSummary | null {
  if (rtts.length === 0) return null;
  const s = [...rtts].sort((a, b) => a - b);
  const avg = s.reduce((a, b) => a + b, 0) / s.length;
  const mdev = Math.sqrt(s.reduce((a, b) => a + (b - avg) ** 2, 0) / s.length);
  return {
    count: s.length,
    min: s[0]!,
    avg,
    max: s[s.length - 1]!,
    mdev,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
  };
}

/** Rounds to microsecond precision for output. */
export function ms3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
