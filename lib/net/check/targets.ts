/**
 * What `check` probes: `host[:port]` targets from the command line or a hosts file (one a
 * line, `#` starts a comment), IPv6 literals bare or in brackets (`[2001:db8::1]:7`).
 *
 * @module
 */
import { ipFamily } from "../../base/ip.ts";
import { SysError, UsageError } from "../../base/errors.ts";
import { readSmallFile } from "../../ffi/sysinfo.ts";

/** One host to check, and the port its echo service listens on. */
export interface CheckTarget {
  host: string;
  port: number;
}

/** The largest hosts file read (1 MiB: some 30 000 lines). */
export const MAX_HOSTS_FILE = 1 << 20;

/**
 * Splits `host[:port]` (`[v6]:port`; a bare IPv6 literal has no port); `defaultPort` fills
 * a missing port. Returns an error message instead of throwing, so callers can say where
 * the text came from.
 *
 * @example
 * ```ts
 * import { parseTarget } from "./targets.ts";
 * parseTarget("[2001:db8::1]:7007", 7); // { host: "2001:db8::1", port: 7007 }
 * parseTarget("2001:db8::1", 7); // { host: "2001:db8::1", port: 7 }
 * ```
 */
export function parseTarget(text: string, defaultPort: number): CheckTarget | string {
  let host = text, portText: string | undefined;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (ipFamily(host) !== 6) return "brackets hold an IPv6 address";
  } else if (ipFamily(text) !== 6) {
    const i = text.lastIndexOf(":");
    if (i >= 0) {
      host = text.slice(0, i);
      portText = text.slice(i + 1);
    }
  }
  if (host === "") return "empty host";
  if (/[\s/]/.test(host)) return "not a host name or address";
  if (portText === undefined) return { host, port: defaultPort };
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return "port must be 1-65535";
  return { host, port };
}

/**
 * Parses a hosts file: one `host[:port]` a line; blank lines and `#` comments are
 * skipped. Throws `UsageError` naming `name` and the line: `invalid --hosts line 3
 * "db:99999": port must be 1-65535`.
 *
 * @example
 * ```ts
 * import { parseHostsFile } from "./targets.ts";
 * parseHostsFile("web1\n# spare\n[2001:db8::7]:7007\n", 7, "--hosts");
 * // [{ host: "web1", port: 7 }, { host: "2001:db8::7", port: 7007 }]
 * ```
 */
export function parseHostsFile(text: string, defaultPort: number, name: string): CheckTarget[] {
  const out: CheckTarget[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const t = parseTarget(line, defaultPort);
    if (typeof t === "string") {
      throw new UsageError(`invalid ${name} line ${i + 1} "${line}": ${t}`);
    }
    out.push(t);
  });
  return out;
}

/**
 * Reads a hosts file as text (through libc, so no file-system permission is needed, like
 * the /proc readers in sysinfo.ts). A missing or unreadable file is a `UsageError`:
 * `cannot read --hosts "x": open ENOENT x`.
 */
export function readHostsFile(path: string, name = "--hosts"): string {
  try {
    return new TextDecoder().decode(readSmallFile(path, MAX_HOSTS_FILE));
  } catch (e) {
    if (e instanceof SysError) throw new UsageError(`cannot read ${name} "${path}": ${e.message}`);
    throw e;
  }
}
