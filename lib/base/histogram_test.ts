import assert from "node:assert/strict";
import { bucketLow, bucketOf, BUCKETS, bucketWidth, Histogram } from "./histogram.ts";
import { percentile } from "./stats.ts";

/** A seeded xorshift generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** Log-normal latencies in ns around `median`, with a tail. */
function latencies(n: number, median: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    out.push(Math.round(median * Math.exp(0.6 * z)));
  }
  return out;
}

Deno.test("histogram buckets tile the integers and are at most 1/128 of their low wide", () => {
  let expect = 0;
  for (let i = 0; i < BUCKETS; i++) {
    assert.equal(bucketLow(i), expect, `bucket ${i}`);
    assert.ok(bucketWidth(i) <= Math.max(1, bucketLow(i) / 128));
    assert.equal(bucketOf(bucketLow(i)), i);
    assert.equal(bucketOf(bucketLow(i) + bucketWidth(i) - 1), i);
    expect += bucketWidth(i);
  }
  assert.equal(bucketOf(2 ** 45), BUCKETS - 1);
  assert.equal(bucketOf(-5), 0);
  assert.equal(bucketOf(3_000_000_000), bucketOf(2_999_999_999.5));
});

Deno.test("histogram percentiles are within 1% of exact ones on random data", () => {
  for (const [seed, median] of [[1, 30_000], [7, 900], [42, 5_000_000], [99, 70]]) {
    const data = latencies(50_000, median!, seed!);
    const h = new Histogram();
    for (const v of data) h.record(v);
    const sorted = [...data].sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9, 99.99]) {
      const exact = percentile(sorted, p);
      const got = h.percentile(p);
      assert.ok(
        Math.abs(got - exact) <= exact * 0.01,
        `seed ${seed} p${p}: histogram ${got}, exact ${exact}`,
      );
    }
    assert.equal(h.count, data.length);
    assert.equal(h.min, sorted[0]);
    assert.equal(h.max, sorted.at(-1));
    assert.equal(h.percentile(100), sorted.at(-1));
    assert.equal(h.percentile(0), sorted[0]);
    assert.ok(Math.abs(h.mean() - data.reduce((a, b) => a + b, 0) / data.length) < 1e-6);
  }
});

Deno.test("histograms merge into exactly the histogram of all values", () => {
  const a = latencies(20_000, 40_000, 3), b = latencies(30_000, 80_000, 4);
  const ha = new Histogram(), hb = new Histogram(), all = new Histogram();
  for (const v of a) ha.record(v), all.record(v);
  for (const v of b) hb.record(v), all.record(v);
  const merged = new Histogram().merge(ha).merge(hb);
  assert.deepEqual(merged.counts, all.counts);
  assert.deepEqual([merged.count, merged.min, merged.max], [all.count, all.min, all.max]);
  const viaSparse = new Histogram().mergeSparse(ha.toSparse()).mergeSparse(hb.toSparse());
  assert.deepEqual(viaSparse.counts, all.counts);
  assert.equal(viaSparse.percentile(99), all.percentile(99));
  assert.equal(viaSparse.sum, all.sum);
  // Empty histograms change nothing.
  assert.deepEqual(new Histogram().merge(new Histogram()).toSparse().index, []);
  assert.equal(new Histogram().mergeSparse(new Histogram().toSparse()).min, Infinity);
});

Deno.test("histogram buckets export as rows and import back exactly", () => {
  const h = new Histogram();
  for (const v of latencies(10_000, 25_000, 11)) h.record(v);
  h.record(3_000_000_000); // beyond 2^31 ns
  const rows = h.buckets(1000);
  assert.ok(rows.every(([lo, hi, n]) => lo < hi && n > 0));
  const back = Histogram.fromBuckets(rows, {
    min: h.min / 1000,
    max: h.max / 1000,
    mean: h.mean() / 1000,
  }, 1000);
  assert.deepEqual(back.counts, h.counts);
  assert.equal(back.percentile(99.9), h.percentile(99.9));
  assert.ok(Math.abs(back.mean() - h.mean()) < 1e-6);
  assert.throws(
    () => Histogram.fromBuckets([[1.5, 2, 3]], { min: 0, max: 0, mean: 0 }, 1),
    { name: "RangeError", message: "Invalid bucket [1.5,2,3]: not a bucket's bounds" },
  );
  assert.throws(
    () => Histogram.fromBuckets([[1, 2]], { min: 0, max: 0, mean: 0 }),
    { name: "RangeError", message: "Invalid bucket [1,2]: must be [low, high, count]" },
  );
});

Deno.test("an empty histogram reports NaN percentiles and a mean of NaN", () => {
  const h = new Histogram();
  assert.ok(Number.isNaN(h.percentile(50)));
  assert.ok(Number.isNaN(h.mean()));
  h.record(5);
  h.reset();
  assert.equal(h.count, 0);
  assert.deepEqual(h.buckets(), []);
});
