/**
 * Counters kept as plain objects of numbers, which the threads of the bench client and of
 * the echo data plane post to the main thread (structured clone keeps them plain), summed
 * there field by field. Pure.
 *
 * @module
 */

/**
 * Adds every number field of `b` into the same field of `a` (a field `a` lacks counts from
 * 0) and returns `a`; fields that are not numbers are left alone.
 *
 * @example
 * ```ts
 * import { addCounts } from "./counts.ts";
 * addCounts({ sent: 1, lost: 0 }, { sent: 2, lost: 1 }); // { sent: 3, lost: 1 }
 * ```
 */
export function addCounts<T extends object>(a: T, b: T): T {
  const sum = a as Record<string, unknown>, more = b as Record<string, unknown>;
  for (const k in more) {
    const n = more[k];
    if (typeof n !== "number") continue;
    const have = sum[k];
    sum[k] = (typeof have === "number" ? have : 0) + n;
  }
  return a;
}
