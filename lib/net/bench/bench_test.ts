import assert from "node:assert/strict";
import { Histogram } from "../../base/histogram.ts";
import { noCounters } from "../../ffi/bench/protocol.ts";
import {
  benchEventText,
  benchFailed,
  type BenchParams,
  errorsText,
  intervalEvent,
  latencyUs,
  SUMMARY_FIELDS,
  summaryEvent,
} from "./bench.ts";

const PARAMS: BenchParams = {
  proto: "tcp",
  host: "localhost",
  address: "127.0.0.1",
  port: 7,
  mode: "pingpong",
  rate: null,
  conns: 64,
  streams: null,
  threads: 2,
  size_min: 64,
  size_max: 64,
  warmup_s: 1,
  timeout_ms: 2000,
};

function hist(...us: number[]): Histogram {
  const h = new Histogram();
  for (const v of us) h.record(v * 1000);
  return h;
}

Deno.test("latencyUs reports microseconds to 0.1, and nulls for an empty histogram", () => {
  assert.deepEqual(latencyUs(hist(10, 20, 30, 40)), {
    min: 10,
    p50: 20,
    p90: 40,
    p99: 40,
    p999: 40,
    max: 40,
    mean: 25,
  });
  assert.deepEqual(latencyUs(new Histogram()), {
    min: null,
    p50: null,
    p90: null,
    p99: null,
    p999: null,
    max: null,
    mean: null,
  });
});

Deno.test("an interval event carries rates per second and its own latencies", () => {
  const c = { ...noCounters(), roundTrips: 500, bytes: 1024 * 1024, timeouts: 1 };
  const ev = intervalEvent(2, c, hist(100, 200), 500);
  assert.deepEqual(ev, {
    event: "interval",
    index: 3,
    elapsed_s: 1.5,
    round_trips: 500,
    round_trips_per_s: 1000,
    bytes: 1048576,
    mib_per_s: 2,
    latency_us: { p50: 100.1, p99: 200, max: 200 },
    mismatches: 0,
    short: 0,
    resets: 0,
    timeouts: 1,
    lost: 0,
    late: 0,
    errors: 0,
  });
  assert.equal(
    benchEventText(ev),
    "1,000 rt/s, 2.00 MiB/s, p50 100.1us, p99 200.0us, errors: 1 timeout",
  );
});

Deno.test("the summary has the fields scripts read, and the histogram's buckets", () => {
  const h = hist(30, 31, 95);
  const s = summaryEvent(PARAMS, {
    connected: 64,
    failed: 0,
    threads: 2,
    counters: { ...noCounters(), roundTrips: 3, bytes: 192, sent: 4, mismatches: 1 },
    hist: h,
    measuredNs: 2e9,
    firstError: "an echo from 127.0.0.1:7 differs from what was sent",
    aborted: false,
  });
  for (const k of SUMMARY_FIELDS) assert.ok(k in s, k);
  assert.equal(s.round_trips_per_s, 1.5);
  assert.equal(s.duration_s, 2);
  assert.deepEqual(s.histogram, { unit: "us", buckets: h.buckets(1000) });
  assert.deepEqual(s.latency_us, latencyUs(h));
  assert.equal(
    benchFailed(s),
    "1 echo from 127.0.0.1:7 differed from what was sent",
  );
  assert.equal(
    benchEventText(s),
    [
      "--- tcp 127.0.0.1:7 bench: pingpong, 64 connections, 64 bytes, 2s ---",
      "round trips  3 (2/s), 0.0 MiB echoed (0.00 MiB/s)",
      "latency      min 30.0us  p50 31.0us  p90 95.0us  p99 95.0us  p99.9 95.0us  max 95.0us  mean 52.0us",
      "errors       1 mismatch (first: an echo from 127.0.0.1:7 differs from what was sent)",
    ].join("\n"),
  );
});

Deno.test("a run fails when nothing came back, unless it was interrupted", () => {
  const empty = {
    connected: 1,
    failed: 0,
    threads: 1,
    counters: { ...noCounters(), lost: 5 },
    hist: new Histogram(),
    measuredNs: 1e9,
    aborted: false,
  };
  const s = summaryEvent({ ...PARAMS, proto: "udp" }, empty);
  assert.equal(s.round_trips_per_s, 0);
  assert.equal(benchFailed(s), "no echo from 127.0.0.1:7");
  assert.equal(benchFailed(summaryEvent(PARAMS, { ...empty, aborted: true })), null);
  const ok = summaryEvent(PARAMS, { ...empty, counters: { ...noCounters(), roundTrips: 1 } });
  assert.equal(benchFailed(ok), null);
});

Deno.test("the start line names the mode, the connections and the schedule", () => {
  const start = {
    event: "start" as const,
    ...PARAMS,
    mode: "rate" as const,
    rate: 20000,
    proto: "udp" as const,
    conns: 8,
    size_min: 16,
    size_max: 1400,
    duration_s: 10,
    connected: 8,
    connect_failed: 0,
  };
  assert.equal(
    benchEventText(start),
    "BENCH udp localhost (127.0.0.1:7): rate 20,000/s, 8 sockets, 16-1400 bytes, 2 threads, 10s after 1s warm-up",
  );
  assert.match(
    benchEventText({ ...start, proto: "sctp", streams: 4, mode: "pingpong", conns: 1 }),
    /pingpong, 4 streams of one association,/,
  );
});

Deno.test("errorsText lists the non-zero counts in a fixed order", () => {
  const zero = { mismatches: 0, short: 0, resets: 0, timeouts: 0, lost: 0, late: 0, errors: 0 };
  assert.equal(errorsText(zero), "none");
  assert.equal(
    errorsText({ ...zero, lost: 3, late: 1, mismatches: 2, errors: 1 }),
    "2 mismatches, 3 lost, 1 late, 1 other error",
  );
});
