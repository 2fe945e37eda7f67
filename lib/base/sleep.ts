/**
 * Waiting that an engine's `AbortSignal` can cut short, and telling a cancelled operation
 * from a failed one.
 *
 * @module
 */

/**
 * Sleeps `ms`; resolves to true when the time passed, or early to false when `signal`
 * aborts (at once if it already has).
 *
 * @example
 * ```ts
 * import { sleep } from "./sleep.ts";
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 10);
 * await sleep(60_000, ac.signal); // false, after about 10ms
 * ```
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whether `err` only means that `signal` stopped the operation (so it is not a failure). */
export function isAbort(err: unknown, signal: AbortSignal): boolean {
  const name = (err as Error | undefined)?.name;
  return signal.aborted || name === "AbortError" || name === "Interrupted";
}
