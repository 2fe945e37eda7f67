/**
 * Multicast socket options on an FFI {@link Socket}: the outgoing interface
 * (IP_MULTICAST_IF with an ip_mreqn, IPV6_MULTICAST_IF), TTL / hop limit, loopback,
 * protocol-independent joins and leaves (MCAST_JOIN_GROUP, MCAST_JOIN_SOURCE_GROUP, RFC
 * 3678), and IP_PKTINFO / IPV6_RECVPKTINFO so each datagram says which group and interface
 * it arrived on.
 *
 * @module
 */
import { SysError } from "../base/errors.ts";
import {
  IP_MULTICAST_ALL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_PKTINFO,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVPKTINFO,
  IPV6_V6ONLY,
  MCAST_JOIN_GROUP,
  MCAST_JOIN_SOURCE_GROUP,
  MCAST_LEAVE_GROUP,
  MCAST_LEAVE_SOURCE_GROUP,
  SO_BROADCAST,
  SO_REUSEADDR,
  SOL_SOCKET,
} from "./constants.ts";
import type { Socket } from "./socket.ts";
import {
  CMSGHDR,
  encodeSockAddr,
  GROUP_REQ,
  GROUP_SOURCE_REQ,
  IN6_PKTINFO,
  IN_PKTINFO,
  IP_MREQN,
} from "./structs.ts";
import { formatIPv4, formatIPv6, parseIPv4 } from "../base/ip.ts";

function level(sock: Socket): number {
  return sock.family === 4 ? IPPROTO_IP : IPPROTO_IPV6;
}

/**
 * Prepares a socket to receive multicast: SO_REUSEADDR (several listeners share the port),
 * IPV6_V6ONLY on IPv6, IP_MULTICAST_ALL off on IPv4 (only groups this socket joined are
 * delivered), and pktinfo on so {@link parsePktInfo} can name the group and interface.
 */
export function prepareReceiver(sock: Socket): void {
  sock.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR");
  if (sock.family === 6) {
    sock.setOption(IPPROTO_IPV6, IPV6_V6ONLY, 1, "setsockopt IPV6_V6ONLY");
    sock.setOption(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "setsockopt IPV6_RECVPKTINFO");
  } else {
    sock.setOption(IPPROTO_IP, IP_MULTICAST_ALL, 0, "setsockopt IP_MULTICAST_ALL");
    sock.setOption(IPPROTO_IP, IP_PKTINFO, 1, "setsockopt IP_PKTINFO");
  }
}

/** SO_BROADCAST on or off. */
export function setBroadcast(sock: Socket, on: boolean): void {
  sock.setOption(SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "setsockopt SO_BROADCAST");
}

/**
 * Picks the outgoing interface for multicast: IP_MULTICAST_IF with an ip_mreqn (index,
 * and the local address when given) on IPv4, IPV6_MULTICAST_IF with the index on IPv6.
 * Index 0 with no address restores the kernel's choice.
 */
export function setMulticastInterface(sock: Socket, ifindex: number, address?: string): void {
  if (sock.family === 6) {
    sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, "setsockopt IPV6_MULTICAST_IF");
    return;
  }
  const m = new Uint8Array(IP_MREQN.size);
  const a = address ? parseIPv4(address) : null;
  if (a) m.set(a, IP_MREQN.address);
  new DataView(m.buffer).setInt32(IP_MREQN.ifindex, ifindex, true);
  sock.setOption(IPPROTO_IP, IP_MULTICAST_IF, m, "setsockopt IP_MULTICAST_IF");
}

/** IP_MULTICAST_TTL or IPV6_MULTICAST_HOPS (0-255). */
export function setMulticastHops(sock: Socket, hops: number): void {
  if (sock.family === 6) {
    sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops, "setsockopt IPV6_MULTICAST_HOPS");
  } else {
    sock.setOption(IPPROTO_IP, IP_MULTICAST_TTL, hops, "setsockopt IP_MULTICAST_TTL");
  }
}

/** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS as the kernel has it. */
export function getMulticastHops(sock: Socket): number {
  return sock.family === 6
    ? sock.getIntOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS)
    : sock.getIntOption(IPPROTO_IP, IP_MULTICAST_TTL);
}

/** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: whether our own sends are delivered locally. */
export function setMulticastLoop(sock: Socket, on: boolean): void {
  if (sock.family === 6) {
    sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0, "setsockopt IPV6_MULTICAST_LOOP");
  } else {
    sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0, "setsockopt IP_MULTICAST_LOOP");
  }
}

function groupReq(ifindex: number, group: string, source?: string): Uint8Array {
  const size = source === undefined ? GROUP_REQ.size : GROUP_SOURCE_REQ.size;
  const req = new Uint8Array(size);
  new DataView(req.buffer).setUint32(GROUP_REQ.interface, ifindex, true);
  req.set(encodeSockAddr(group, 0), GROUP_REQ.group);
  if (source !== undefined) req.set(encodeSockAddr(source, 0), GROUP_SOURCE_REQ.source);
  return req;
}

/**
 * Joins `group` on interface `ifindex` (0 = the kernel's choice by route) with
 * MCAST_JOIN_GROUP, or a source-specific join with MCAST_JOIN_SOURCE_GROUP when `source`
 * is given. Errors name the option and the group.
 */
export function joinGroup(sock: Socket, group: string, ifindex: number, source?: string): void {
  const what = source === undefined ? "MCAST_JOIN_GROUP" : "MCAST_JOIN_SOURCE_GROUP";
  try {
    sock.setOption(
      level(sock),
      source === undefined ? MCAST_JOIN_GROUP : MCAST_JOIN_SOURCE_GROUP,
      groupReq(ifindex, group, source),
      `setsockopt ${what}`,
    );
  } catch (e) {
    throw withAddress(e, group);
  }
}

/** Leaves what {@link joinGroup} joined (MCAST_LEAVE_GROUP / MCAST_LEAVE_SOURCE_GROUP). */
export function leaveGroup(sock: Socket, group: string, ifindex: number, source?: string): void {
  const what = source === undefined ? "MCAST_LEAVE_GROUP" : "MCAST_LEAVE_SOURCE_GROUP";
  try {
    sock.setOption(
      level(sock),
      source === undefined ? MCAST_LEAVE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
      groupReq(ifindex, group, source),
      `setsockopt ${what}`,
    );
  } catch (e) {
    throw withAddress(e, group);
  }
}

function withAddress(e: unknown, address: string): unknown {
  if (!(e instanceof SysError)) return e;
  const out = new SysError(e.syscall, e.code, { address });
  (out as { errno?: number | undefined }).errno = (e as { errno?: number }).errno;
  return out;
}

/** Where a datagram was addressed to and which interface it came in on. */
export interface PktInfo {
  /** The destination address (the group, for multicast). */
  destination: string;
  ifindex: number;
}

/** Finds IP_PKTINFO / IPV6_PKTINFO in control data from recvmsg; null when absent. */
export function parsePktInfo(control: Uint8Array): PktInfo | null {
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSGHDR.size <= control.length) {
    const len = Number(dv.getBigUint64(off + CMSGHDR.len, true));
    if (len < CMSGHDR.size || off + len > control.length) break;
    const lvl = dv.getInt32(off + CMSGHDR.level, true);
    const type = dv.getInt32(off + CMSGHDR.type, true);
    const data = off + CMSGHDR.data;
    if (lvl === IPPROTO_IP && type === IP_PKTINFO && len >= CMSGHDR.size + IN_PKTINFO.size) {
      return {
        ifindex: dv.getInt32(data + IN_PKTINFO.ifindex, true),
        destination: formatIPv4(
          control.subarray(data + IN_PKTINFO.addr, data + IN_PKTINFO.addr + 4),
        ),
      };
    }
    if (lvl === IPPROTO_IPV6 && type === IPV6_PKTINFO && len >= CMSGHDR.size + IN6_PKTINFO.size) {
      return {
        ifindex: dv.getInt32(data + IN6_PKTINFO.ifindex, true),
        destination: formatIPv6(
          control.subarray(data + IN6_PKTINFO.addr, data + IN6_PKTINFO.addr + 16),
        ),
      };
    }
    off += Math.ceil(len / CMSGHDR.align) * CMSGHDR.align;
  }
  return null;
}
