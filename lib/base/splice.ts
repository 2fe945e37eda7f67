/**
 * When the ffi engine of `serve tcp` moves a streaming peer's bytes with splice(2) through
 * a pipe instead of read(2)/write(2) through its buffer. Splice saves the copy into the
 * process, which pays when the echo leaves through a NIC; over loopback nothing is saved
 * (the peer on the same host copies every byte anyway), and splice measured slower there
 * than copying, in C as in sockbox (README, "Echo engines"). So by default a loopback peer
 * (127.0.0.0/8, ::1) is served with read/write, every other peer with splice.
 *
 * @module
 */
import { isLoopback } from "./ip.ts";

/** `auto`: splice except for loopback peers; `always`: loopback too; `never`: read/write. */
export type SpliceMode = "auto" | "always" | "never";

/**
 * The mode the SOCKBOX_SPLICE environment variable asks for: `0` never, `1` always,
 * anything else (or unset) auto.
 *
 * @example
 * ```ts
 * import { spliceModeFromEnv } from "./splice.ts";
 * spliceModeFromEnv("0"); // "never"
 * spliceModeFromEnv(undefined); // "auto"
 * ```
 */
export function spliceModeFromEnv(value: string | undefined): SpliceMode {
  return value === "0" ? "never" : value === "1" ? "always" : "auto";
}

/** Whether a peer at `address` (text as the engines print it) is served with splice(2). */
export function splicesFor(mode: SpliceMode, address: string): boolean {
  if (mode !== "auto") return mode === "always";
  return !isLoopback(address);
}
