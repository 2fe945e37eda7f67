/**
 * Whether the echo data plane (./pool.ts) can run here, and how many CPUs it would use,
 * answered without loading it: `serve` picks its engine (`auto`) and its default worker
 * count from these, and loads the data plane only when it is the ffi engine that serves.
 *
 * @module
 */
import { engineLibc, errnoCell } from "./sys.ts";

/**
 * Why the data plane cannot run here, or null when it can: it needs Linux, the FFI
 * permission, libc, and Workers.
 */
export function dataPlaneUnavailable(): string | null {
  if (Deno.build.os !== "linux") return `it runs on Linux only, not ${Deno.build.os}`;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return "FFI is not permitted (--allow-ffi)";
    }
  } catch {
    return "FFI permission unknown";
  }
  try {
    errnoCell(); // binds a first symbol: libc opens
  } catch (err) {
    return (err as Error).message;
  }
  if (typeof Worker !== "function") return "Workers are not available";
  return null;
}

/** The number of CPUs this process may run on (sched_getaffinity(2)), at least 1. */
export function usableCpus(): number {
  const mask = new Uint8Array(128); // cpu_set_t: 1024 CPUs
  if (engineLibc().sched_getaffinity(0, BigInt(mask.length), mask) === 0) {
    let n = 0;
    for (const b of mask) for (let x = b; x; x &= x - 1) n++;
    if (n > 0) return n;
  }
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}
