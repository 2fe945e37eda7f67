import assert from "node:assert/strict";
import { ms3, percentile, summarize } from "./stats.ts";

Deno.test("percentile is nearest-rank over sorted values", () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const cases: [readonly number[], number, number][] = [
    [ten, 0, 1],
    [ten, 10, 1],
    [ten, 11, 2],
    [ten, 50, 5],
    [ten, 51, 6],
    [ten, 90, 9],
    [ten, 99, 10],
    [ten, 100, 10],
    [[7], 0, 7],
    [[7], 50, 7],
    [[7], 100, 7],
    [[1, 2], 50, 1],
    [[1, 2], 50.1, 2],
  ];
  for (const [xs, p, want] of cases) assert.equal(percentile(xs, p), want, `p${p} of ${xs}`);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("percentile clamps p outside 0-100 to the ends", () => {
  assert.equal(percentile([1, 2, 3], -5), 1);
  assert.equal(percentile([1, 2, 3], 150), 3);
});

Deno.test("summarize gives ping(8)'s min/avg/max/mdev and percentiles", () => {
  // The README's ping example: rtt min/avg/max/mdev = 0.122/0.156/0.215/0.042 ms,
  // p50/p90/p99 = 0.130/0.215/0.215 ms.
  const s = summarize([0.215, 0.130, 0.122])!;
  assert.equal(s.count, 3);
  assert.deepEqual(
    [s.min, s.avg, s.max, s.mdev, s.p50, s.p90, s.p99].map(ms3),
    [0.122, 0.156, 0.215, 0.042, 0.13, 0.215, 0.215],
  );
});

Deno.test("summarize: mdev is the population standard deviation", () => {
  const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])!;
  assert.equal(s.avg, 5);
  assert.equal(s.mdev, 2);
  assert.equal(summarize([3])!.mdev, 0);
  assert.equal(summarize([3, 3, 3])!.mdev, 0);
});

Deno.test("summarize sorts a copy and leaves its input alone", () => {
  const rtts = [5, 1, 4, 2, 3];
  const s = summarize(rtts)!;
  assert.deepEqual(rtts, [5, 1, 4, 2, 3]);
  assert.deepEqual([s.min, s.p50, s.max], [1, 3, 5]);
});

Deno.test("summarize sorts numerically, not as text", () => {
  const s = summarize([10, 9, 100])!;
  assert.deepEqual([s.min, s.p50, s.max], [9, 10, 100]);
});

Deno.test("summarize of nothing is null", () => {
  assert.equal(summarize([]), null);
});

Deno.test("summarize over 1..100 puts p50/p90/p99 on 50/90/99", () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i))!;
  assert.deepEqual([s.count, s.min, s.max, s.avg], [100, 1, 100, 50.5]);
  assert.deepEqual([s.p50, s.p90, s.p99], [50, 90, 99]);
});

Deno.test("ms3 rounds to three decimals (microseconds)", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 1],
    [0.1234, 0.123],
    [0.1236, 0.124],
    [12.3456789, 12.346],
    [0.0004, 0],
    [1234.5, 1234.5],
  ];
  for (const [x, want] of cases) assert.equal(ms3(x), want, String(x));
});
