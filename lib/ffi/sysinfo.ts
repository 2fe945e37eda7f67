/**
 * Host queries through libc: the host name (gethostname(2)), load averages
 * (getloadavg(3)), uptime (sysinfo(2)), logged-in users (getutxent(3), as who(1) counts
 * them), the open-file limit (getrlimit(2)), and reading a small file with open(2)/read(2),
 * so a /proc entry or `--key FILE` needs no Deno read permission beyond the FFI one
 * sockbox already has.
 *
 * @module
 */
import {
  ERRNO,
  O_CLOEXEC,
  O_RDONLY,
  RLIM_INFINITY,
  RLIMIT_NOFILE,
  USER_PROCESS,
} from "./constants.ts";
import { errno, lastError, sysError } from "./errno.ts";
import { libc, libcSubset } from "./libc.ts";
import { RLIMIT, SYSINFO, toCString, UTMPX } from "./structs.ts";

/** gethostname(2). */
export function hostName(): string {
  const buf = new Uint8Array(256);
  if (libc().gethostname(buf, BigInt(buf.length)) < 0) throw lastError("gethostname");
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

/** getloadavg(3): the 1, 5 and 15-minute load averages. */
export function loadAverages(): [number, number, number] {
  const a = new Float64Array(3);
  if (libc().getloadavg(new Uint8Array(a.buffer), 3) < 3) throw lastError("getloadavg");
  return [a[0]!, a[1]!, a[2]!];
}

/** sysinfo(2) uptime in seconds. */
export function uptimeSeconds(): number {
  const b = new Uint8Array(SYSINFO.size);
  if (libc().sysinfo(b) < 0) throw lastError("sysinfo");
  return Number(new DataView(b.buffer).getBigInt64(SYSINFO.uptime, true));
}

/** Counts USER_PROCESS entries in utmp (setutxent/getutxent/endutxent), as who(1) does. */
export function loggedInUsers(): number {
  const c = libc();
  let n = 0;
  c.setutxent();
  try {
    for (;;) {
      const p = c.getutxent();
      if (p === null) break;
      const type = new Deno.UnsafePointerView(p).getInt16(UTMPX.type);
      if (type === USER_PROCESS) n++;
    }
  } finally {
    c.endutxent();
  }
  return n;
}

/**
 * Reads a whole small file (at most `max` bytes) with open/read/close through libc.
 * Failures throw `SysError` naming the path: `open ENOENT /etc/key` for a missing file,
 * `read EFBIG` (larger than `max` bytes) for a big one. Works for /proc and /sys entries,
 * whose size stat(2) reports as 0.
 */
export function readSmallFile(path: string, max = 65536): Uint8Array {
  const c = startup;
  const fd = c.open_ro(toCString(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw lastError("open", { address: path });
  try {
    const out = new Uint8Array(max + 1);
    let off = 0;
    for (;;) {
      const n = Number(
        c.read(fd, out.subarray(off) as Uint8Array<ArrayBuffer>, BigInt(out.length - off)),
      );
      if (n < 0) {
        const e = errno();
        if (e === ERRNO.EINTR) continue;
        throw sysError("read", e, { address: path });
      }
      if (n === 0) break;
      off += n;
      if (off > max) {
        throw sysError("read", ERRNO.EFBIG, { address: path }, `larger than ${max} bytes`);
      }
    }
    return out.slice(0, off);
  } finally {
    c.close(fd);
  }
}

/** A resource limit; `Infinity` stands for RLIM_INFINITY. */
export interface Limit {
  soft: number;
  hard: number;
}

/**
 * The calls a server makes at start-up (raising its open-file limit), bound one by one:
 * opening the whole table would bind every symbol, tens of milliseconds before listening.
 */
const startup = libcSubset(["getrlimit", "setrlimit", "open_ro", "read", "close"]);

/** getrlimit(RLIMIT_NOFILE): the open-file limit. */
export function openFileLimit(): Limit {
  const buf = new BigUint64Array(RLIMIT.size / 8);
  if (startup.getrlimit(RLIMIT_NOFILE, buf) < 0) throw lastError("getrlimit");
  const conv = (v: bigint) => (v === RLIM_INFINITY ? Infinity : Number(v));
  return { soft: conv(buf[RLIMIT.cur / 8]!), hard: conv(buf[RLIMIT.max / 8]!) };
}

/**
 * Raises the open-file limit as far as the process may: a privileged process
 * (CAP_SYS_RESOURCE) both limits up to /proc/sys/fs/nr_open, any other the soft limit up
 * to the hard one (setrlimit(2) RLIMIT_NOFILE). Returns the limit before and after.
 */
export function raiseOpenFileLimit(): { before: Limit; after: Limit } {
  const before = openFileLimit();
  const set = (n: bigint) => {
    const buf = new BigUint64Array(RLIMIT.size / 8);
    buf[RLIMIT.cur / 8] = n;
    buf[RLIMIT.max / 8] = n;
    return startup.setrlimit(RLIMIT_NOFILE, buf) === 0;
  };
  let nrOpen = 0;
  try {
    nrOpen = Number(new TextDecoder().decode(readSmallFile("/proc/sys/fs/nr_open", 64)).trim());
  } catch { /* not readable: only the soft limit moves */ }
  if (!(nrOpen > before.hard && set(BigInt(nrOpen))) && before.soft < before.hard) {
    if (!set(before.hard === Infinity ? RLIM_INFINITY : BigInt(before.hard))) {
      throw lastError("setrlimit");
    }
  }
  return { before, after: openFileLimit() };
}
