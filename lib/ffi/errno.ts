/**
 * errno: reading it right after a synchronous libc call, its Linux names (the
 * asm-generic numbering shared by x86_64 and aarch64), and turning a failed call into a
 * {@link SysError}.
 *
 * @module
 */
import { type Endpoint, SysError } from "../base/errors.ts";
import { libc } from "./libc.ts";

/** errno names by number, from <asm-generic/errno-base.h> and <asm-generic/errno.h>. */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  32: "EPIPE",
  38: "ENOSYS",
  61: "ENODATA",
  71: "EPROTO",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  94: "ESOCKTNOSUPPORT",
  95: "EOPNOTSUPP",
  96: "EPFNOSUPPORT",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  102: "ENETRESET",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  107: "ENOTCONN",
  108: "ESHUTDOWN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  112: "EHOSTDOWN",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
};

/** Numbers for the errno values sockbox branches on. */
export const Errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINPROGRESS: 115,
  EPROTONOSUPPORT: 93,
  ENOPROTOOPT: 92,
  ESOCKTNOSUPPORT: 94,
  EAFNOSUPPORT: 97,
} as const;

/** The calling thread's errno. Call it immediately after the failing synchronous call. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
}

/** The name of errno `n` (`ECONNREFUSED`), or `errno N` when unknown. */
export function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** A {@link SysError} for the errno the last synchronous call left, naming `syscall`. */
export function lastError(syscall: string, endpoint?: Endpoint, detail?: string): SysError {
  const n = errno();
  const err = new SysError(syscall, errnoName(n), endpoint, detail);
  (err as { errno?: number }).errno = n;
  return err;
}

/** The errno number behind a {@link SysError} from {@link lastError}, if any. */
export function errnoOf(err: unknown): number | undefined {
  return (err as { errno?: number })?.errno;
}
