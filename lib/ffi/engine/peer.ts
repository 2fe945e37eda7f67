/**
 * A peer's address as the echo servers print it, decoded from the sockaddr that accept(2)
 * or recvmmsg(2) filled in, cheaply: IPv4 and IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`,
 * shown as plain IPv4) come from a small cache keyed by the 32-bit address, so a server
 * taking thousands of connections from a few hosts does not build the same string each
 * time. Other IPv6 peers go through the general codec. Pure.
 *
 * @module
 */
import { ipv4Number } from "../../base/acl.ts";
import { AF_INET, AF_INET6 } from "../constants.ts";
import { decodeSockAddr, SOCKADDR_IN, SOCKADDR_IN6 } from "../structs.ts";

/** A decoded peer. */
export interface Peer {
  /** IPv4 dotted quad for IPv4 and IPv4-mapped peers, RFC 5952 text otherwise. */
  address: string;
  port: number;
  /** The peer reached an IPv6 socket as an IPv4-mapped address. */
  mapped: boolean;
}

const v4Names = new Map<number, string>();
const CACHE_MAX = 4096;

function v4(sa: Uint8Array, at: number): string {
  const key = ipv4Number(sa, at);
  let s = v4Names.get(key);
  if (s === undefined) {
    s = `${sa[at]}.${sa[at + 1]}.${sa[at + 2]}.${sa[at + 3]}`;
    if (v4Names.size >= CACHE_MAX) v4Names.clear();
    v4Names.set(key, s);
  }
  return s;
}

/** Whether the IPv6 address at `a` in `sa` is IPv4-mapped (`::ffff:a.b.c.d`). */
function isMapped(sa: Uint8Array, a: number): boolean {
  if (sa[a + 10] !== 0xff || sa[a + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (sa[a + i] !== 0) return false;
  return true;
}

/** Decodes the first `len` bytes of `sa` (a sockaddr_in or sockaddr_in6). */
export function decodePeer(sa: Uint8Array, len: number): Peer {
  const family = sa[0]! | (sa[1]! << 8);
  const port = (sa[2]! << 8) | sa[3]!;
  if (family === AF_INET && len >= SOCKADDR_IN.size) {
    return { address: v4(sa, SOCKADDR_IN.addr), port, mapped: false };
  }
  if (family === AF_INET6 && len >= SOCKADDR_IN6.size && isMapped(sa, SOCKADDR_IN6.addr)) {
    return { address: v4(sa, SOCKADDR_IN6.addr + 12), port, mapped: true };
  }
  const d = decodeSockAddr(sa.subarray(0, len));
  return { address: d?.address ?? "", port: d?.port ?? 0, mapped: false };
}

/** A source in binary form (see {@link sourceOf}). */
export interface BinarySource {
  /** The IPv4 (or IPv4-mapped) address as a 32-bit number; -1 for other IPv6 sources. */
  v4: number;
  /** An IPv6 source's first byte (0 for IPv4). */
  v6First: number;
  port: number;
}

/**
 * The source of the sockaddr at `off` in `sa` in binary form, written into `out` (no
 * text, no allocation): what the reflection guard needs for each datagram. An IPv4-mapped
 * IPv6 source counts as IPv4, as {@link decodePeer} shows it.
 */
export function sourceOf(sa: Uint8Array, off: number, out: BinarySource): BinarySource {
  const family = sa[off]! | (sa[off + 1]! << 8);
  out.port = (sa[off + 2]! << 8) | sa[off + 3]!;
  let at = off + SOCKADDR_IN.addr;
  out.v6First = 0;
  if (family === AF_INET6) {
    const a = off + SOCKADDR_IN6.addr;
    if (!isMapped(sa, a)) {
      out.v4 = -1;
      out.v6First = sa[a]!;
      return out;
    }
    at = a + 12;
  }
  out.v4 = ipv4Number(sa, at);
  return out;
}
