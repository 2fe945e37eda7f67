/**
 * The libc calls the echo data plane makes, each bound on first use (a thread starts with
 * nothing, and binding the whole table costs tens of milliseconds of start-up), and errno read as
 * plain memory: errno is thread-local and its address is fixed for a thread's life, so
 * one __errno_location(3) call per thread gives a view that costs nothing to read.
 *
 * @module
 */
import { libcSubset } from "../libc.ts";

/** Every call the data plane makes, on the main thread or in a Worker. */
const CALLS = [
  "__errno_location",
  "accept4",
  "bind",
  "close",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "eventfd",
  "fcntl_int",
  "getsockname",
  "ioctl_ptr",
  "listen",
  "memcmp",
  "pipe2",
  "poll",
  "poll_nb",
  "read32",
  "recv32",
  "recvmmsg",
  "sched_getaffinity",
  "send32",
  "sendmmsg",
  "setsockopt",
  "shutdown",
  "socket",
  "splice32",
  "write32",
] as const;

type EngineLibc = ReturnType<typeof libcSubset<typeof CALLS[number]>>;
let calls: EngineLibc | undefined;

/** The data plane's libc calls (each bound on first use, once per thread). */
export function engineLibc(): EngineLibc {
  return calls ??= libcSubset(CALLS);
}

let cell: Int32Array | undefined;

/**
 * This thread's errno, readable as `errnoCell()[0]` right after a failed synchronous call
 * (no call of its own, so nothing can change it in between).
 */
export function errnoCell(): Int32Array {
  if (cell) return cell;
  const p = engineLibc().__errno_location();
  if (p === null) throw new Error("__errno_location returned NULL");
  cell = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4));
  return cell;
}
