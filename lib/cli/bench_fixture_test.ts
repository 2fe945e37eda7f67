/**
 * A saved bench run for the tests of the run file and the report (no tests of its own).
 *
 * @module
 */
import { Histogram } from "../base/histogram.ts";
import { intervalEvent, noCounters, summaryEvent } from "../net/bench/bench.ts";
import type { BenchRun } from "./bench_run.ts";

/** A small run, as `bench ... --save` writes it. */
export function sampleRun(label: string, scaleUs = 1): BenchRun {
  const h = new Histogram();
  for (let i = 1; i <= 2000; i++) h.record(Math.round(20_000 * scaleUs * (1 + (i % 97) / 50)));
  h.record(500_000_000); // one stall of 500 ms
  const intervals = [0, 1, 2].map((i) =>
    intervalEvent(i, { ...noCounters(), roundTrips: 600 + i * 50, bytes: 38_400 }, h, 1000)
  );
  const summary = summaryEvent(
    {
      proto: "tcp",
      host: "localhost",
      address: "127.0.0.1",
      port: 7,
      mode: "pingpong",
      rate: null,
      conns: 4,
      streams: null,
      threads: 1,
      size_min: 64,
      size_max: 64,
      warmup_s: 1,
      timeout_ms: 2000,
    },
    {
      connected: 4,
      failed: 0,
      threads: 1,
      counters: { ...noCounters(), roundTrips: h.count, bytes: h.count * 64 },
      hist: h,
      measuredNs: 3e9,
      aborted: false,
    },
  );
  return {
    label,
    sockbox: "0.1.0",
    started: "2026-11-29T10:00:00.000Z",
    summary,
    intervals,
    histogram: h,
  };
}
