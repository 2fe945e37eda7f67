/**
 * Address helpers: IP literal checks, IPv4-mapped IPv6 unmapping, and name resolution
 * through the system resolver (getaddrinfo, so /etc/hosts and nsswitch apply).
 *
 * @module
 */
import { SysError } from "./errors.ts";
import { parseIPv4, parseIPv6 } from "./ffi/structs.ts";

/**
 * 4 or 6 for an IP literal (brackets and `%zone` allowed for IPv6), 0 otherwise.
 *
 * @example
 * ```ts
 * import { ipFamily } from "./addr.ts";
 * ipFamily("[fe80::1%eth0]"); // 6
 * ```
 */
export function ipFamily(host: string): 0 | 4 | 6 {
  const h = stripBrackets(host).replace(/%.*$/, "");
  return parseIPv4(h) ? 4 : parseIPv6(h) ? 6 : 0;
}

/** `[::1]` → `::1`. */
export function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * `::ffff:10.0.0.1` → `10.0.0.1`; any other address is returned as is.
 *
 * @example
 * ```ts
 * import { unmapV4 } from "./addr.ts";
 * unmapV4("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function unmapV4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** A resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves `host` to every address the system resolver returns, IPv4 and IPv6, in its
 * order; an IP literal resolves to itself. `family` keeps only one family.
 *
 * @example
 * ```ts
 * import { resolveHost } from "./addr.ts";
 * const addrs = await resolveHost("localhost"); // [{ address: "127.0.0.1", family: 4 }, ...]
 * ```
 */
export async function resolveHost(host: string, family?: 4 | 6): Promise<ResolvedAddress[]> {
  const h = stripBrackets(host);
  const lit = ipFamily(h);
  if (lit !== 0) {
    if (family !== undefined && lit !== family) {
      throw new SysError(
        "getaddrinfo",
        "EAI_ADDRFAMILY",
        { address: h },
        `not an IPv${family} address`,
      );
    }
    return [{ address: h, family: lit }];
  }
  let res: { address: string; family: number }[];
  try {
    // Loaded only for real names: node:dns costs start-up time the literal path need not pay.
    const { lookup } = await import("node:dns/promises");
    res = await lookup(h, { all: true, family: family ?? 0, order: "verbatim" });
  } catch (err) {
    const code = (err as { code?: string }).code ?? "EAI_FAIL";
    const text = code === "ENOTFOUND" ? "Name or service not known" : (err as Error).message;
    throw new SysError(
      "getaddrinfo",
      code === "ENOTFOUND" ? "EAI_NONAME" : code,
      { address: h },
      text,
    );
  }
  const out: ResolvedAddress[] = [];
  for (const r of res) {
    if ((r.family === 4 || r.family === 6) && !out.some((o) => o.address === r.address)) {
      out.push({ address: r.address, family: r.family });
    }
  }
  if (out.length === 0) {
    throw new SysError(
      "getaddrinfo",
      "EAI_NODATA",
      { address: h },
      "no address of the requested family",
    );
  }
  return out;
}
