/**
 * The libc calls the bench client makes, opened by name as the echo data plane's are
 * (lib/ffi/engine/sys.ts: a Worker starts with nothing, and binding the whole table costs
 * start-up time), errno read as plain memory, and the monotonic clock.
 *
 * @module
 */
import { CLOCK_MONOTONIC } from "../constants.ts";
import { libcSubset } from "../libc.ts";

/** Every call the bench client makes, on the main thread or in a Worker. */
const CALLS = [
  "__errno_location",
  "clock_gettime",
  "close",
  "connect",
  "epoll_create1",
  "epoll_ctl",
  "epoll_pwait2",
  "epoll_wait",
  "getsockopt",
  "memcmp",
  "recv",
  "send",
  "setsockopt",
  "socket",
] as const;

/** The bench client's libc calls (bound once per thread). */
export function benchLibc(): ReturnType<typeof libcSubset<typeof CALLS[number]>> {
  return libcSubset(CALLS);
}

let cell: Int32Array | undefined;

/** This thread's errno, readable as `errnoCell()[0]` right after a failed synchronous call. */
export function errnoCell(): Int32Array {
  if (cell) return cell;
  const p = benchLibc().__errno_location();
  if (p === null) throw new Error("__errno_location returned NULL");
  cell = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4));
  return cell;
}

const ts = new Int32Array(4);
let clock: ReturnType<typeof benchLibc>["clock_gettime"] | undefined;

/**
 * CLOCK_MONOTONIC in nanoseconds (clock_gettime(2), through the vDSO: about 60 ns here,
 * where `performance.now()` costs 150-350 ns). The same clock on every thread.
 */
export function monoNs(): number {
  (clock ??= benchLibc().clock_gettime)(CLOCK_MONOTONIC, ts);
  // struct timespec (LP64): tv_sec and tv_nsec are 64-bit; both fit their low words.
  return ts[0]! * 1e9 + ts[2]!;
}
