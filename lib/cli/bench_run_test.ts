import assert from "node:assert/strict";
import { parseRun, runDocument, runLabel } from "./bench_run.ts";
import { sampleRun } from "./bench_fixture_test.ts";

Deno.test("a saved run reads back with the same histogram and intervals", () => {
  const run = sampleRun("a");
  const back = parseRun(runDocument(run), "copy");
  assert.equal(back.label, "copy");
  assert.deepEqual(back.summary, run.summary);
  assert.deepEqual(back.intervals, run.intervals);
  assert.deepEqual(back.histogram.counts, run.histogram.counts);
  assert.equal(back.histogram.percentile(99.9), run.histogram.percentile(99.9));
  assert.equal(back.histogram.max, run.histogram.max);
});

Deno.test("a file that is not a saved run is refused with the reason", () => {
  const doc = JSON.parse(runDocument(sampleRun("a")));
  const cases: [string, string][] = [
    ["hello\n", "not JSON (Unexpected token 'h', \"hello\\n\" is not valid JSON)"],
    ["[]", 'not a sockbox bench run (no "format": "sockbox-bench-run")'],
    [
      JSON.stringify({ ...doc, version: 2 }),
      "format version 2 is not 1 (saved by a different sockbox)",
    ],
    [JSON.stringify({ ...doc, summary: null }), "summary must be an object"],
    [
      JSON.stringify({ ...doc, summary: { ...doc.summary, round_trips: "many" } }),
      "summary.round_trips must be a number",
    ],
    [
      JSON.stringify({ ...doc, summary: { ...doc.summary, proto: "icmp" } }),
      "summary.proto must be tcp, udp or sctp",
    ],
    [
      JSON.stringify({
        ...doc,
        summary: { ...doc.summary, histogram: { unit: "us", buckets: [[1.5, 2, 1]] } },
      }),
      "summary.histogram: Invalid bucket [1.5,2,1]: not a bucket's bounds",
    ],
    [
      JSON.stringify({ ...doc, intervals: [{ index: 1 }] }),
      "intervals[0].elapsed_s must be a number",
    ],
  ];
  for (const [text, msg] of cases) {
    assert.throws(() => parseRun(text, "x"), { name: "TypeError", message: msg }, msg);
  }
});

Deno.test("a run is labelled by its file name", () => {
  assert.equal(runLabel("/tmp/runs/epoll-64.json"), "epoll-64");
  assert.equal(runLabel("plain"), "plain");
});
