/**
 * IP address text, pure: literal checks, IPv4-mapped IPv6 unmapping, and the byte codecs
 * for IPv4 dotted quads and RFC 5952 IPv6 text (as inet_pton(3) / inet_ntop(3) do).
 *
 * @module
 */

/**
 * 4 or 6 for an IP literal (brackets and `%zone` allowed for IPv6), 0 otherwise.
 *
 * @example
 * ```ts
 * import { ipFamily } from "./ip.ts";
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
 * import { unmapV4 } from "./ip.ts";
 * unmapV4("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function unmapV4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Whether `address` (text, as the engines print peers) is a loopback address: 127.0.0.0/8,
 * also IPv4-mapped (RFC 1122 section 3.2.1.3), or ::1 (RFC 4291 section 2.5.3).
 *
 * @example
 * ```ts
 * import { isLoopback } from "./ip.ts";
 * isLoopback("127.1.2.3"); // true
 * isLoopback("::ffff:127.0.0.1"); // true
 * isLoopback("10.127.0.1"); // false
 * ```
 */
export function isLoopback(address: string): boolean {
  const a = unmapV4(address);
  return a === "::1" || a.startsWith("127.");
}

/** Parses an IPv4 dotted quad into 4 bytes, or returns null. */
export function parseIPv4(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return null;
  return new Uint8Array(b);
}

/** Parses IPv6 text (`::1`, `fe80::1`, `::ffff:1.2.3.4`; no zone) into 16 bytes, or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: number[] = [];
  let text = s;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = parseIPv4(v4[1]!);
    if (!b) return null;
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = s.slice(0, v4.index + 1) + "0"; // placeholder group, replaced below
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  let groups = [...head, ...rest].map((g) => parseInt(g, 16));
  if (v4) groups = groups.slice(0, -1);
  const total = groups.length + tail.length;
  let words: number[];
  if (halves.length === 2) {
    if (total > 7) return null;
    const headN = head.length;
    const restWords = [...groups.slice(headN), ...tail];
    words = [...groups.slice(0, headN), ...new Array(8 - total).fill(0), ...restWords];
  } else {
    if (total !== 8) return null;
    words = [...groups, ...tail];
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Formats 4 bytes as a dotted quad. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Formats 16 bytes as RFC 5952 IPv6 text (`::ffff:1.2.3.4` for v4-mapped). */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) {
    return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  }
  // IPv4-compatible (::a.b.c.d) as glibc's inet_ntop prints it; not :: or ::1.
  if (w.slice(0, 6).every((x) => x === 0) && w[6] !== 0) {
    return `::${formatIPv4(b.subarray(12, 16))}`;
  }
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
