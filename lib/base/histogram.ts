/**
 * A log-linear latency histogram in the style of HdrHistogram (Gil Tene's High Dynamic
 * Range Histogram): values are non-negative integers (sockbox records nanoseconds); below
 * 128 every value has its own bucket, and each power of two above that is split into 128
 * equal buckets. A bucket is then at most 1/128 of its lower bound wide, and a percentile
 * reported as the middle of its bucket is within 1/256 (0.4 %) of the recorded value it
 * stands for. Counting is one array increment; histograms of several threads merge by
 * adding counts; the non-empty buckets export as `[low, high, count]` rows and import back
 * exactly.
 *
 * @module
 */

/** Sub-bucket bits: 2^7 = 128 buckets per power of two. */
export const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Values at or above 2^MAX_EXP (about 18 minutes in ns) are counted as the largest bucket. */
const MAX_EXP = 40;
/** Number of buckets. */
export const BUCKETS: number = (MAX_EXP - SUB_BITS + 1) * SUB;
const MAX_VALUE = 2 ** MAX_EXP - 1;

/**
 * The bucket of `v` (a non-negative integer; fractions are truncated, larger values than
 * the histogram covers land in the last bucket).
 */
export function bucketOf(v: number): number {
  if (v < SUB) return v < 0 ? 0 : v | 0;
  if (v < 0x80000000) {
    const e = 31 - Math.clz32(v);
    return ((e - SUB_BITS + 1) << SUB_BITS) + ((v >>> (e - SUB_BITS)) & (SUB - 1));
  }
  if (v > MAX_VALUE) v = MAX_VALUE;
  v = Math.floor(v);
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--; // log2 rounding near a power of two
  else if (2 ** (e + 1) <= v) e++;
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) - SUB;
  return (e - SUB_BITS + 1) * SUB + sub;
}

/** The smallest value of bucket `i`. */
export function bucketLow(i: number): number {
  if (i < SUB) return i;
  const e = Math.floor(i / SUB) + SUB_BITS - 1;
  return (SUB + (i % SUB)) * 2 ** (e - SUB_BITS);
}

/** The width of bucket `i` (it holds `bucketLow(i)` up to `bucketLow(i) + width - 1`). */
export function bucketWidth(i: number): number {
  if (i < SUB) return 1;
  return 2 ** (Math.floor(i / SUB) - 1);
}

/** A histogram's non-empty buckets, as {@link Histogram.toSparse} gives them. */
export interface SparseHistogram {
  /** Bucket numbers, ascending. */
  index: number[];
  /** The count of each bucket in `index`. */
  count: number[];
  /** Smallest and largest value recorded, and their sum (exact). */
  min: number;
  max: number;
  sum: number;
}

/**
 * A mergeable log-linear histogram (see the module doc).
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram();
 * for (const ns of [30_000, 31_000, 95_000]) h.record(ns);
 * h.percentile(50); // 31_000 (within 0.4 %)
 * ```
 */
export class Histogram {
  /** Counts by bucket. */
  readonly counts: Float64Array = new Float64Array(BUCKETS);
  /** Values recorded. */
  count = 0;
  /** Smallest value recorded (Infinity when empty). */
  min = Infinity;
  /** Largest value recorded (-Infinity when empty). */
  max = -Infinity;
  /** Sum of the values recorded. */
  sum = 0;

  /** Records one value. */
  record(v: number): void {
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds every count of `other` into this one; returns this. */
  merge(other: Histogram): this {
    if (other.count === 0) return this;
    const a = this.counts, b = other.counts;
    for (let i = 0; i < BUCKETS; i++) a[i]! += b[i]!;
    this.#mergeStats(other.count, other.min, other.max, other.sum);
    return this;
  }

  /** Adds a {@link SparseHistogram} (a delta another thread sent); returns this. */
  mergeSparse(s: SparseHistogram): this {
    let n = 0;
    for (let k = 0; k < s.index.length; k++) {
      this.counts[s.index[k]!]! += s.count[k]!;
      n += s.count[k]!;
    }
    if (n > 0) this.#mergeStats(n, s.min, s.max, s.sum);
    return this;
  }

  #mergeStats(count: number, min: number, max: number, sum: number): void {
    this.count += count;
    this.sum += sum;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  /** Empties the histogram. */
  reset(): void {
    this.counts.fill(0);
    this.count = this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** The non-empty buckets and the exact statistics, for posting to another thread. */
  toSparse(): SparseHistogram {
    const index: number[] = [], count: number[] = [];
    if (this.count > 0) {
      const c = this.counts;
      for (let i = 0; i < BUCKETS; i++) {
        if (c[i] !== 0) {
          index.push(i);
          count.push(c[i]!);
        }
      }
    }
    return { index, count, min: this.min, max: this.max, sum: this.sum };
  }

  /** The mean, or NaN when empty. */
  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * The `p`-th percentile (0-100) by nearest rank: the middle of the bucket that holds
   * the value of rank ceil(p/100 * count), kept within [min, max]. NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p <= 0) return this.min;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count - 1e-9));
    const c = this.counts;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += c[i]!;
      if (seen >= rank) {
        const mid = bucketLow(i) + (bucketWidth(i) - 1) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  /**
   * The non-empty buckets as `[low, high, count]` rows, values divided by `scale` (1000
   * turns nanoseconds into microseconds); a bucket holds low <= v < high.
   */
  buckets(scale = 1): [number, number, number][] {
    const rows: [number, number, number][] = [];
    const c = this.counts;
    for (let i = 0; i < BUCKETS; i++) {
      if (c[i] !== 0) {
        const low = bucketLow(i);
        rows.push([low / scale, (low + bucketWidth(i)) / scale, c[i]!]);
      }
    }
    return rows;
  }

  /**
   * A histogram from {@link buckets} rows (with the same `scale`) and the exact
   * statistics; a row whose bounds are not a bucket's throws a `RangeError`.
   */
  static fromBuckets(
    rows: readonly (readonly number[])[],
    stats: { min: number; max: number; mean: number },
    scale = 1,
  ): Histogram {
    const h = new Histogram();
    for (const row of rows) {
      const [low, high, n] = row;
      if (
        row.length !== 3 || !Number.isFinite(low) || !Number.isFinite(high) ||
        !Number.isInteger(n) || n! < 0
      ) {
        throw new RangeError(`Invalid bucket ${JSON.stringify(row)}: must be [low, high, count]`);
      }
      const lo = Math.round(low! * scale);
      const i = bucketOf(lo);
      if (bucketLow(i) !== lo || Math.round(high! * scale) !== lo + bucketWidth(i)) {
        throw new RangeError(`Invalid bucket ${JSON.stringify(row)}: not a bucket's bounds`);
      }
      h.counts[i]! += n!;
      h.count += n!;
    }
    if (h.count > 0) {
      h.min = stats.min * scale;
      h.max = stats.max * scale;
      h.sum = stats.mean * scale * h.count;
    }
    return h;
  }
}
