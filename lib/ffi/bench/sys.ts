/**
 * The libc calls the bench client makes, opened by name as the echo data plane's are
 * (lib/ffi/engine/sys.ts: a Worker starts with nothing, and binding the whole table costs
 * start-up time), errno read as plain memory, and the monotonic clock.
 *
 * @module
 */
import {
  CLOCK_MONOTONIC,
  F_GETFL,
  F_SETFL,
  O_NONBLOCK,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SOL_SOCKET,
} from "../constants.ts";
import { libcSubset } from "../libc.ts";
import { TIMEVAL } from "../structs.ts";

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
  "fcntl_int",
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

/** The two calls {@link blockWithTimeout} makes, as any libc subset binds them. */
interface BlockCalls {
  setsockopt(fd: number, level: number, name: number, val: BufferSource, len: number): number;
  fcntl_int(fd: number, cmd: number, arg: number): number;
}

/**
 * Makes a socket blocking, with SO_RCVTIMEO and SO_SNDTIMEO of `ms` (socket(7)), so that a
 * thread that waits for one echo at a time waits in recv(2) itself (one system call fewer
 * than epoll_wait(2) then recv(2), as sockperf's ping-pong client does) and still gets
 * control back at least every `ms` (recv then fails with EAGAIN). False, with the socket
 * maybe left non-blocking, when a call failed.
 */
export function blockWithTimeout(c: BlockCalls, fd: number, ms: number): boolean {
  // A zero timeval would mean "wait forever": at least 1 µs.
  const us = Math.max(1, Math.round(ms * 1000));
  const tv = new BigInt64Array(TIMEVAL.size / 8);
  tv[TIMEVAL.sec / 8] = BigInt(Math.floor(us / 1e6));
  tv[TIMEVAL.usec / 8] = BigInt(us % 1e6);
  const b = new Uint8Array(tv.buffer);
  if (
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, b, b.length) < 0 ||
    c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, b, b.length) < 0
  ) return false;
  const fl = c.fcntl_int(fd, F_GETFL, 0);
  return fl >= 0 && c.fcntl_int(fd, F_SETFL, fl & ~O_NONBLOCK) === 0;
}
