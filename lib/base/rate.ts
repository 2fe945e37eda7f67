/**
 * Rate limiting per source address, pure: one token bucket per key (Tanenbaum,
 * "Computer Networks", the token bucket algorithm; RFC 2697 uses the same meter), in a
 * map of bounded size. Time is passed in, so tests need no clock.
 *
 * Memory stays bounded: a bucket that has refilled to full says nothing a new bucket
 * would not, so it is dropped on the next sweep; and when more than `maxKeys` sources
 * are live at once, the least recently seen one is evicted (it comes back with a full
 * bucket, which can only err towards letting a datagram through).
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** A rate: `perSecond` tokens a second, at most `burst` at once. */
export interface Rate {
  /** Tokens added each second. */
  perSecond: number;
  /** The bucket's size: how many may pass back to back after a quiet spell. */
  burst: number;
}

/**
 * Parses `--rate R[/s]` (`100`, `100/s`, `0.5/s`): R events a second per source, with a
 * burst of R (at least 1). The message names the flag, as every option parser does.
 *
 * @example
 * ```ts
 * import { parseRate } from "./rate.ts";
 * parseRate("--rate", "20/s"); // { perSecond: 20, burst: 20 }
 * ```
 */
export function parseRate(flag: string, value: string): Rate {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(?:\/s)?$/.exec(value);
  const r = m ? Number(m[1]) : NaN;
  if (!(r > 0) || r > 1e9) {
    throw new UsageError(
      `invalid ${flag} "${value}": must be a number of events a second, e.g. 100 or 100/s`,
    );
  }
  return { perSecond: r, burst: Math.max(1, Math.ceil(r)) };
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key (a source address), at most `maxKeys` of them.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate.ts";
 * const r = new RateLimiter({ perSecond: 1, burst: 2 });
 * [r.take("10.0.0.1", 0), r.take("10.0.0.1", 0), r.take("10.0.0.1", 0)]; // [true, true, false]
 * r.take("10.0.0.1", 1000); // true
 * ```
 */
export class RateLimiter {
  /** The rate each key gets. */
  readonly rate: Rate;
  /** The most keys held at once. */
  readonly maxKeys: number;
  #buckets = new Map<string, Bucket>();
  #lastSweep = -Infinity;

  /** A limiter giving each key `rate`; at most `maxKeys` (default 65536) buckets live. */
  constructor(rate: Rate, maxKeys = 65536) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
      throw new RangeError(`Invalid rate: ${rate.perSecond}/s, burst ${rate.burst}`);
    }
    if (!(maxKeys >= 1)) throw new RangeError(`Invalid maxKeys: ${maxKeys}`);
    this.rate = rate;
    this.maxKeys = maxKeys;
  }

  /** How many buckets are held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key` at time `nowMs`: true when it may pass. */
  take(key: string, nowMs: number): boolean {
    this.#sweep(nowMs);
    const b = this.#buckets.get(key);
    let tokens: number;
    if (b) {
      this.#buckets.delete(key); // re-inserted below: the Map's order is recency
      tokens = Math.min(this.rate.burst, b.tokens + this.#refill(nowMs - b.at));
    } else {
      tokens = this.rate.burst;
      if (this.#buckets.size >= this.maxKeys) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    const ok = tokens >= 1;
    this.#buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: nowMs });
    return ok;
  }

  #refill(ms: number): number {
    return ms > 0 ? (ms / 1000) * this.rate.perSecond : 0;
  }

  // Drops buckets full again, oldest first, at most once per refill period.
  #sweep(nowMs: number): void {
    const fullAfter = (this.rate.burst / this.rate.perSecond) * 1000;
    if (nowMs - this.#lastSweep < Math.min(fullAfter, 1000)) return;
    this.#lastSweep = nowMs;
    for (const [k, b] of this.#buckets) {
      if (nowMs - b.at < fullAfter) break; // newer ones follow
      this.#buckets.delete(k);
    }
  }
}
