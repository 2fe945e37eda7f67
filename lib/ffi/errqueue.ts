/**
 * The socket error queue (ip(7) and ipv6(7), IP_RECVERR / IPV6_RECVERR): with the option
 * set, every ICMP error for a socket's traffic, and some local errors, are queued as a
 * `struct sock_extended_err` (<linux/errqueue.h>) followed by the address of the host that
 * sent the ICMP message (SO_EE_OFFENDER), and read with `recvmsg(MSG_ERRQUEUE)` as a
 * control message. This module holds the layout and the pure decoders; `ProbeSocket`
 * in probe.ts reads the queue.
 *
 * @module
 */
import { CMSGHDR, decodeSockAddr, type SockAddr, SOCKADDR_IN6 } from "./structs.ts";
import {
  IP_RECVERR,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_RECVERR,
  SO_EE_ORIGIN_ICMP,
  SO_EE_ORIGIN_ICMP6,
  SO_EE_ORIGIN_LOCAL,
  SO_EE_ORIGIN_NONE,
} from "./constants.ts";
import { errnoName } from "./errno.ts";

/** struct sock_extended_err, <linux/errqueue.h>: 16 bytes; the offender sockaddr follows. */
export const SOCK_EXTENDED_ERR = {
  size: 16,
  errno: 0,
  origin: 4,
  type: 5,
  code: 6,
  pad: 7,
  info: 8,
  data: 12,
} as const;

/** Where a queued error came from (ee_origin). */
export type ErrorOrigin = "none" | "local" | "icmp" | "icmp6" | "other";

const ORIGINS: Record<number, ErrorOrigin> = {
  [SO_EE_ORIGIN_NONE]: "none",
  [SO_EE_ORIGIN_LOCAL]: "local",
  [SO_EE_ORIGIN_ICMP]: "icmp",
  [SO_EE_ORIGIN_ICMP6]: "icmp6",
};

/** One decoded entry of the error queue. */
export interface ExtendedError {
  /** The errno the error stands for (`EHOSTUNREACH`, `EMSGSIZE`, ...). */
  errno: string;
  origin: ErrorOrigin;
  /** ICMP/ICMPv6 type and code (0 for local errors). */
  type: number;
  code: number;
  /** ee_info: the MTU for "fragmentation needed" / "packet too big" and local EMSGSIZE. */
  info: number;
  /** Who sent the ICMP message (SO_EE_OFFENDER), when the kernel tells. */
  offender: string | null;
}

/**
 * Decodes a `sock_extended_err` and the offender address after it (the data of an
 * IP_RECVERR or IPV6_RECVERR control message); null when `data` is too short.
 *
 * @example
 * ```ts
 * import { decodeExtendedError } from "./errqueue.ts";
 * const e = decodeExtendedError(new Uint8Array(16 + 16)); // errno 0, origin "none", ...
 * ```
 */
export function decodeExtendedError(data: Uint8Array): ExtendedError | null {
  const E = SOCK_EXTENDED_ERR;
  if (data.length < E.size) return null;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offender: SockAddr | null = null;
  if (data.length > E.size) {
    // A v4 offender is a sockaddr_in; decodeSockAddr checks the family and the length.
    offender = decodeSockAddr(data.subarray(E.size, E.size + SOCKADDR_IN6.size));
  }
  return {
    errno: errnoName(dv.getUint32(E.errno, true)),
    origin: ORIGINS[data[E.origin]!] ?? "other",
    type: data[E.type]!,
    code: data[E.code]!,
    info: dv.getUint32(E.info, true),
    offender: offender?.address ?? null,
  };
}

/**
 * Every queued error in the control data `recvmsg(MSG_ERRQUEUE)` returned (cmsgs of level
 * IPPROTO_IP type IP_RECVERR, or IPPROTO_IPV6 type IPV6_RECVERR).
 */
export function errorsInControl(control: Uint8Array): ExtendedError[] {
  const out: ExtendedError[] = [];
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSGHDR.size <= control.length) {
    const len = Number(dv.getBigUint64(off + CMSGHDR.len, true));
    if (len < CMSGHDR.size || off + len > control.length) break;
    const level = dv.getInt32(off + CMSGHDR.level, true);
    const type = dv.getInt32(off + CMSGHDR.type, true);
    if (
      (level === IPPROTO_IP && type === IP_RECVERR) ||
      (level === IPPROTO_IPV6 && type === IPV6_RECVERR)
    ) {
      const e = decodeExtendedError(control.subarray(off + CMSGHDR.data, off + len));
      if (e) out.push(e);
    }
    off += Math.ceil(len / CMSGHDR.align) * CMSGHDR.align;
  }
  return out;
}
