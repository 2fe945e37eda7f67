/**
 * Small system queries through libc for `doctor`: reading /proc files with open(2)/read(2)
 * (sockbox is not granted Deno's read permission) and the open-file limit (getrlimit(2)).
 *
 * @module
 */
import { O_CLOEXEC, O_RDONLY, RLIMIT_NOFILE } from "./constants.ts";
import { errno, errnoName } from "./errno.ts";
import { libc } from "./libc.ts";
import { RLIMIT, toCString } from "./structs.ts";
import { SysError } from "../base/errors.ts";

/**
 * Reads a small file (a /proc or /sys entry) as text, or returns null when it does not
 * exist (ENOENT). Other failures throw `SysError` naming the path.
 */
export function readSmallFile(path: string, max = 4096): string | null {
  const fd = libc().open_ro(toCString(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    const code = errnoName(errno());
    if (code === "ENOENT") return null;
    throw new SysError("open", code, { address: path });
  }
  try {
    const buf = new Uint8Array(max);
    let len = 0;
    while (len < max) {
      const n = Number(libc().read(fd, buf.subarray(len), BigInt(max - len)));
      if (n < 0) {
        const code = errnoName(errno());
        if (code === "EINTR") continue;
        throw new SysError("read", code, { address: path });
      }
      if (n === 0) break;
      len += n;
    }
    return new TextDecoder().decode(buf.subarray(0, len));
  } finally {
    libc().close(fd);
  }
}

/** A resource limit; `Infinity` stands for RLIM_INFINITY. */
export interface Limit {
  soft: number;
  hard: number;
}

/** getrlimit(RLIMIT_NOFILE): the open-file limit. */
export function openFileLimit(): Limit {
  const buf = new BigUint64Array(RLIMIT.size / 8);
  if (libc().getrlimit(RLIMIT_NOFILE, buf) < 0) throw new SysError("getrlimit", errnoName(errno()));
  const conv = (v: bigint) => (v === 0xffff_ffff_ffff_ffffn ? Infinity : Number(v));
  return { soft: conv(buf[RLIMIT.cur / 8]!), hard: conv(buf[RLIMIT.max / 8]!) };
}
