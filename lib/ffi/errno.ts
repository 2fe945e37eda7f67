/**
 * errno: reading it right after a synchronous libc call, its Linux names (the
 * {@link ERRNO} table in constants.ts), turning a failed call into a {@link SysError}, and
 * the one "would block" result every non-blocking `try*` call returns.
 *
 * @module
 */
import { type Endpoint, SysError } from "../base/errors.ts";
import { ERRNO } from "./constants.ts";
import { libc } from "./libc.ts";

/** errno names by number (the inverse of {@link ERRNO}). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
);

/** The calling thread's errno. Call it immediately after the failing synchronous call. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
}

/** The name of errno `n` (`ECONNREFUSED`), or `errno N` when unknown. */
export function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** A {@link SysError} for errno `n`, naming `syscall`; {@link errnoOf} reads `n` back. */
export function sysError(
  syscall: string,
  n: number,
  endpoint?: Endpoint,
  detail?: string,
): SysError {
  const err = new SysError(syscall, errnoName(n), endpoint, detail);
  (err as { errno?: number }).errno = n;
  return err;
}

/** A {@link SysError} for the errno the last synchronous call left, naming `syscall`. */
export function lastError(syscall: string, endpoint?: Endpoint, detail?: string): SysError {
  return sysError(syscall, errno(), endpoint, detail);
}

/** The errno number behind a {@link SysError} from {@link lastError}, if any. */
export function errnoOf(err: unknown): number | undefined {
  return (err as { errno?: number })?.errno;
}

/**
 * What a non-blocking `try*` call returns when the kernel said EAGAIN (EWOULDBLOCK) or
 * EINTR: nothing happened; wait for readiness and call again. `doIo` in reactor.ts is the
 * loop that does so.
 */
export const WOULD_BLOCK: unique symbol = Symbol("WOULD_BLOCK");
/** The type of {@link WOULD_BLOCK}. */
export type WouldBlock = typeof WOULD_BLOCK;

/**
 * Classifies the return value `n` of a non-blocking syscall: `n` when it succeeded (>= 0),
 * {@link WOULD_BLOCK} on EAGAIN/EWOULDBLOCK or EINTR, otherwise a thrown {@link SysError}
 * naming `syscall` and the endpoint `where` gives (called only then, after errno is read).
 * Pass the syscall's result straight in, so errno is still the one it left.
 */
export function orWouldBlock(
  n: number,
  syscall: string,
  where?: () => Endpoint,
): number | WouldBlock {
  if (n >= 0) return n;
  const e = errno();
  if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return WOULD_BLOCK;
  throw sysError(syscall, e, where?.());
}
