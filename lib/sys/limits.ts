/**
 * Process limits a long-running server wants raised before it starts: the open-file limit
 * (RLIMIT_NOFILE; one fd per connection), as far as the process may without privileges.
 *
 * @module
 */
import { raiseOpenFileLimit } from "../ffi/sysinfo.ts";

/** The open-file limit before and after raising it. */
export interface FileLimit {
  /** The soft limit before. */
  from: number;
  /** The soft limit now (the hard limit, when raising worked). */
  to: number;
  /** The hard limit. */
  hard: number;
}

/**
 * Raises the soft open-file limit to the hard one. Never throws: null when the limit
 * cannot be read or set here (no FFI permission, not Linux).
 */
export function raiseFileLimit(): FileLimit | null {
  try {
    const { before, after } = raiseOpenFileLimit();
    return { from: before.soft, to: after.soft, hard: after.hard };
  } catch {
    return null;
  }
}

/** The `-v` line: `open files: soft limit raised from 1024 to 524288 (RLIMIT_NOFILE)`. */
export function fileLimitText(l: FileLimit): string {
  return l.to > l.from
    ? `open files: soft limit raised from ${l.from} to ${l.to} (RLIMIT_NOFILE)`
    : `open files: soft limit ${l.to} (RLIMIT_NOFILE; the hard limit is ${l.hard})`;
}
