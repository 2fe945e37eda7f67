/**
 * Access control by source address, pure: CIDR prefixes (RFC 4632 for IPv4, RFC 4291
 * section 2.3 for IPv6) in an allow list and a deny list. An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, RFC 4291 section 2.5.5.2) is matched as the IPv4 address it carries,
 * so one `--deny 10.0.0.0/8` covers a dual-stack listener too. Deny wins over allow.
 *
 * @module
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, stripBrackets } from "./ip.ts";

/** A parsed CIDR prefix. */
export interface Cidr {
  /** 4 or 6 (an IPv4-mapped prefix of 96 bits or more is stored as IPv4). */
  family: 4 | 6;
  /** The network address, host bits cleared: 4 or 16 bytes. */
  bytes: Uint8Array;
  /** The prefix length: 0-32 or 0-128. */
  prefix: number;
}

/** Why an address was refused, as {@link AccessList.check} says it. */
export type AccessRefusal = "denied" | "not-allowed";

/**
 * Parses `ADDR[/LEN]` (`10.0.0.0/8`, `2001:db8::/32`, `[::1]`, `::ffff:10.0.0.0/104`);
 * without `/LEN` the prefix is the whole address. Returns null when it is not one.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./acl.ts";
 * parseCidr("10.1.2.3/8")!.prefix; // 8
 * ```
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.lastIndexOf("/");
  const addr = stripBrackets(slash < 0 ? text : text.slice(0, slash));
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return null;
  const v4 = parseIPv4(addr);
  const raw = v4 ?? parseIPv6(addr);
  if (!raw) return null;
  let prefix = lenText === undefined ? raw.length * 8 : Number(lenText);
  if (prefix > raw.length * 8) return null;
  let bytes = raw;
  if (!v4 && isMapped(raw) && prefix >= 96) {
    bytes = raw.slice(12);
    prefix -= 96;
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes: mask(bytes, prefix), prefix };
}

/** The canonical text of a prefix: `10.0.0.0/8`, `2001:db8::/32`. */
export function formatCidr(c: Cidr): string {
  return `${c.family === 4 ? formatIPv4(c.bytes) : formatIPv6(c.bytes)}/${c.prefix}`;
}

/**
 * The bytes of an address as the lists match it (4 for IPv4 and IPv4-mapped IPv6, 16
 * for other IPv6), or null when `address` is not an IP literal. A `%zone` is ignored.
 */
export function addressBytes(address: string): Uint8Array | null {
  const a = stripBrackets(address).replace(/%.*$/, "");
  const v4 = parseIPv4(a);
  if (v4) return v4;
  const v6 = parseIPv6(a);
  if (!v6) return null;
  return isMapped(v6) ? v6.slice(12) : v6;
}

/**
 * The 4 bytes of an IPv4 address at `at` in `b` (from {@link addressBytes}, or inside a
 * sockaddr) as one unsigned 32-bit number.
 */
export function ipv4Number(b: Uint8Array, at = 0): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** True when `cidr` holds the address whose bytes are `b` (from {@link addressBytes}). */
export function cidrContains(cidr: Cidr, b: Uint8Array): boolean {
  if (b.length !== cidr.bytes.length) return false;
  const m = mask(b, cidr.prefix);
  for (let i = 0; i < m.length; i++) if (m[i] !== cidr.bytes[i]) return false;
  return true;
}

/**
 * An allow list and a deny list. An address in any deny prefix is `"denied"`; with a
 * non-empty allow list, an address in none of its prefixes is `"not-allowed"`; anything
 * else (and every address when both lists are empty) passes.
 *
 * @example
 * ```ts
 * import { AccessList, parseCidr } from "./acl.ts";
 * const acl = new AccessList([parseCidr("10.0.0.0/8")!], [parseCidr("10.9.0.0/16")!]);
 * acl.check("::ffff:10.1.2.3"); // null (allowed)
 * acl.check("10.9.1.1"); // "denied"
 * acl.check("192.0.2.1"); // "not-allowed"
 * ```
 */
export class AccessList {
  /** The allow prefixes, as given. */
  readonly allow: readonly Cidr[];
  /** The deny prefixes, as given. */
  readonly deny: readonly Cidr[];

  /** Builds the lists; both empty means every address passes. */
  constructor(allow: readonly Cidr[] = [], deny: readonly Cidr[] = []) {
    this.allow = allow;
    this.deny = deny;
  }

  /** True when neither list has a prefix (nothing is ever refused). */
  get empty(): boolean {
    return this.allow.length === 0 && this.deny.length === 0;
  }

  /** Null when `address` may connect, else why not. A non-IP address is `"not-allowed"`. */
  check(address: string): AccessRefusal | null {
    if (this.empty) return null;
    const b = addressBytes(address);
    if (!b) return "not-allowed";
    if (this.deny.some((c) => cidrContains(c, b))) return "denied";
    if (this.allow.length > 0 && !this.allow.some((c) => cidrContains(c, b))) {
      return "not-allowed";
    }
    return null;
  }
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function mask(b: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = b[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}
