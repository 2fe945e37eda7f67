/**
 * Struct layouts described once as offset tables (Linux LP64: x86_64 and aarch64), plus
 * the sockaddr codec every FFI socket uses. Each table names the header it came from;
 * `tests/ffi_structs_test.ts` pins them against the kernel by round trips.
 *
 * @module
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../base/ip.ts";
import { AF_INET, AF_INET6 } from "./constants.ts";

/** struct sockaddr_in, <netinet/in.h>: 16 bytes. Port is big-endian. */
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;
/** struct sockaddr_in6, <netinet/in.h>: 28 bytes. */
export const SOCKADDR_IN6 = {
  size: 28,
  family: 0,
  port: 2,
  flowinfo: 4,
  addr: 8,
  scopeId: 24,
} as const;
/**
 * struct sockaddr_ll, <linux/if_packet.h>: 20 bytes (8-byte address; glibc's getifaddrs
 * stores longer link addresses past the end). halen is the address length.
 */
export const SOCKADDR_LL = {
  size: 20,
  family: 0,
  protocol: 2,
  ifindex: 4,
  hatype: 8,
  pkttype: 10,
  halen: 11,
  addr: 12,
} as const;
/** struct sockaddr_storage, <bits/socket.h>: 128 bytes. */
export const SOCKADDR_STORAGE = { size: 128, family: 0 } as const;
/** struct ifreq, <net/if.h>: 40 bytes; name[IFNAMSIZ] then a union at 16. */
export const IFREQ = { size: 40, name: 0, union: 16 } as const;
/** struct ifconf, <net/if.h>: 16 bytes; int len, then a pointer at 8. */
export const IFCONF = { size: 16, len: 0, buf: 8 } as const;
/** struct ifaddrs, <ifaddrs.h>. */
export const IFADDRS = {
  next: 0,
  name: 8,
  flags: 16,
  addr: 24,
  netmask: 32,
  broadaddr: 40, // ifa_ifu: broadcast or point-to-point destination
  data: 48,
} as const;
/** struct if_nameindex, <net/if.h>: 16 bytes. */
export const IF_NAMEINDEX = { size: 16, index: 0, name: 8 } as const;
/** struct addrinfo, <netdb.h>: 48 bytes. */
export const ADDRINFO = {
  size: 48,
  flags: 0,
  family: 4,
  socktype: 8,
  protocol: 12,
  addrlen: 16,
  addr: 24,
  canonname: 32,
  next: 40,
} as const;
/** struct msghdr, <bits/socket.h>: 56 bytes. */
export const MSGHDR = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;
/** struct iovec, <bits/types/struct_iovec.h>: 16 bytes. */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;
/** struct cmsghdr, <bits/socket.h>: 16-byte header, data at 16, 8-byte alignment. */
export const CMSGHDR = { size: 16, len: 0, level: 8, type: 12, data: 16, align: 8 } as const;
/** struct pollfd, <poll.h>: 8 bytes. */
export const POLLFD = { size: 8, fd: 0, events: 4, revents: 6 } as const;
/**
 * struct epoll_event, <sys/epoll.h>: packed on x86_64 (12 bytes), naturally aligned on
 * aarch64 (16 bytes).
 */
export const EPOLL_EVENT = Deno.build.arch === "x86_64"
  ? { size: 12, events: 0, data: 4 } as const
  : { size: 16, events: 0, data: 8 } as const;
/** struct in_pktinfo, <netinet/in.h>: 12 bytes. */
export const IN_PKTINFO = { size: 12, ifindex: 0, specDst: 4, addr: 8 } as const;
/** struct in6_pktinfo, <netinet/in.h>: 20 bytes. */
export const IN6_PKTINFO = { size: 20, addr: 0, ifindex: 16 } as const;
/** struct ip_mreqn, <netinet/in.h>: 12 bytes. */
export const IP_MREQN = { size: 12, multiaddr: 0, address: 4, ifindex: 8 } as const;
/** struct ipv6_mreq, <netinet/in.h>: 20 bytes. */
export const IPV6_MREQ = { size: 20, multiaddr: 0, ifindex: 16 } as const;
/** struct group_req / group_source_req, <netinet/in.h> (RFC 3678). */
export const GROUP_REQ = { size: 136, interface: 0, group: 8 } as const;
export const GROUP_SOURCE_REQ = { size: 264, interface: 0, group: 8, source: 136 } as const;
/** struct servent, <netdb.h>. Port is in network byte order. */
export const SERVENT = { name: 0, aliases: 8, port: 16, proto: 24 } as const;
/** struct protoent, <netdb.h>. */
export const PROTOENT = { name: 0, aliases: 8, proto: 16 } as const;
/** struct sysinfo, <sys/sysinfo.h> (first field: long uptime). */
export const SYSINFO = { size: 112, uptime: 0 } as const;
/** struct utmpx, <bits/utmpx.h>: 384 bytes; short ut_type at 0. */
export const UTMPX = { size: 384, type: 0, user: 44 } as const;
/** struct rlimit, <bits/resource.h>: two rlim_t (u64). */
export const RLIMIT = { size: 16, cur: 0, max: 8 } as const;
/** struct linger, <bits/socket.h> (SO_LINGER): two ints. */
export const LINGER = { size: 8, onoff: 0, linger: 4 } as const;

// --- SCTP: <linux/sctp.h> (uapi), the structures of RFC 6458 ---

/** struct sctp_initmsg (RFC 6458 5.3.1, 8.1.3): 4 x u16. */
export const SCTP_INITMSG_S = {
  size: 8,
  numOstreams: 0,
  maxInstreams: 2,
  maxAttempts: 4,
  maxInitTimeo: 6,
} as const;
/** struct sctp_sndrcvinfo (RFC 6458 5.3.2): 32 bytes; sinfo_ppid is in network order. */
export const SCTP_SNDRCVINFO = {
  size: 32,
  stream: 0,
  ssn: 2,
  flags: 4,
  ppid: 8,
  context: 12,
  timetolive: 16,
  tsn: 20,
  cumtsn: 24,
  assocId: 28,
} as const;
/**
 * struct sctp_event_subscribe (RFC 6458 6.2.1): one u8 per event class. Linux 6.1 has 14;
 * shorter option lengths are accepted, so older kernels take the first 10.
 */
export const SCTP_EVENT_SUBSCRIBE = {
  size: 10,
  dataIo: 0,
  association: 1,
  address: 2,
  sendFailure: 3,
  peerError: 4,
  shutdown: 5,
  partialDelivery: 6,
  adaptationLayer: 7,
  authentication: 8,
  senderDry: 9,
} as const;
/** struct sctp_paddrinfo (RFC 6458 8.2.2): packed, aligned(4); 152 bytes. */
export const SCTP_PADDRINFO = {
  size: 152,
  assocId: 0,
  address: 4,
  state: 132,
  cwnd: 136,
  srtt: 140,
  rto: 144,
  mtu: 148,
} as const;
/** struct sctp_status (RFC 6458 8.2.1): 176 bytes with the primary path's sctp_paddrinfo at 24. */
export const SCTP_STATUS_S = {
  size: 176,
  assocId: 0,
  state: 4,
  rwnd: 8,
  unackdata: 12,
  penddata: 14,
  instrms: 16,
  outstrms: 18,
  fragmentationPoint: 20,
  primary: 24,
} as const;
/** struct sctp_rtoinfo (RFC 6458 8.1.1): 16 bytes. */
export const SCTP_RTOINFO_S = { size: 16, assocId: 0, initial: 4, max: 8, min: 12 } as const;
/** struct sctp_assocparams (RFC 6458 8.1.2): 20 bytes. */
export const SCTP_ASSOCPARAMS = {
  size: 20,
  assocId: 0,
  maxRetrans: 4,
  peerDestinations: 6,
  peerRwnd: 8,
  localRwnd: 12,
  cookieLife: 16,
} as const;
/** struct sctp_paddrparams (RFC 6458 8.1.12): packed, aligned(4); 156 bytes. */
export const SCTP_PADDRPARAMS = {
  size: 156,
  assocId: 0,
  address: 4,
  hbInterval: 132,
  pathMaxRxt: 136,
  pathMtu: 138,
  sackDelay: 142,
  flags: 146,
} as const;
/** struct sctp_getaddrs: assoc id, count, then packed sockaddrs. */
export const SCTP_GETADDRS = { assocId: 0, addrNum: 4, addrs: 8 } as const;
/** sctp_peeloff_arg_t: assoc id, returned fd. */
export const SCTP_PEELOFF_ARG = { size: 8, assocId: 0, sd: 4 } as const;
/**
 * union sctp_notification (RFC 6458 6.1): the common header (type, flags, length), then
 * one struct per notification type. `size` is the fixed part; some carry data after it.
 */
export const SCTP_NOTIFICATION = {
  header: { size: 8, type: 0, flags: 2, length: 4 },
  /** struct sctp_assoc_change: sac_info[] follows. */
  assocChange: {
    size: 20,
    state: 8,
    error: 10,
    outboundStreams: 12,
    inboundStreams: 14,
    assocId: 16,
  },
  /** struct sctp_paddr_change: packed, aligned(4); a sockaddr_storage at 8. */
  paddrChange: { size: 148, address: 8, state: 136, error: 140, assocId: 144 },
  /** struct sctp_remote_error: sre_error is big-endian; the error cause TLV follows. */
  remoteError: { size: 16, error: 8, assocId: 12 },
  /** struct sctp_send_failed: an sctp_sndrcvinfo at 12; the undelivered message follows. */
  sendFailed: { size: 48, error: 8, info: 12, assocId: 44 },
  /** struct sctp_shutdown_event. */
  shutdownEvent: { size: 12, assocId: 8 },
  /** struct sctp_pdapi_event. */
  pdapiEvent: { size: 24, indication: 8, assocId: 12, stream: 16, seq: 20 },
  /** struct sctp_adaptation_event. */
  adaptationEvent: { size: 16, adaptationInd: 8, assocId: 12 },
  /** struct sctp_sender_dry_event. */
  senderDryEvent: { size: 12, assocId: 8 },
} as const;

/** The address of a typed array's memory, for storing in a struct. Keep `buf` alive. */
export function addressOf(buf: ArrayBufferView): bigint {
  return Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>));
}

/** A decoded socket address. */
export interface SockAddr {
  family: 4 | 6;
  address: string;
  port: number;
  /** IPv6 scope (interface index) for link-local addresses. */
  scopeId?: number;
}

/** Encodes `address`/`port` as a sockaddr_in or sockaddr_in6 (`%N` or scopeId sets scope). */
export function encodeSockAddr(
  address: string,
  port: number,
  scopeId = 0,
): Uint8Array<ArrayBuffer> {
  const v4 = parseIPv4(address);
  if (v4) {
    const buf = new Uint8Array(SOCKADDR_IN.size);
    const dv = new DataView(buf.buffer);
    dv.setUint16(SOCKADDR_IN.family, AF_INET, true);
    dv.setUint16(SOCKADDR_IN.port, port, false);
    buf.set(v4, SOCKADDR_IN.addr);
    return buf;
  }
  const [text, zone] = address.split("%");
  const v6 = parseIPv6(text!);
  if (!v6) throw new TypeError(`Invalid IP address "${address}"`);
  const buf = new Uint8Array(SOCKADDR_IN6.size);
  const dv = new DataView(buf.buffer);
  dv.setUint16(SOCKADDR_IN6.family, AF_INET6, true);
  dv.setUint16(SOCKADDR_IN6.port, port, false);
  buf.set(v6, SOCKADDR_IN6.addr);
  const scope = zone !== undefined && /^\d+$/.test(zone) ? Number(zone) : scopeId;
  dv.setUint32(SOCKADDR_IN6.scopeId, scope, true);
  return buf;
}

/** Decodes a sockaddr_in/sockaddr_in6 from `buf`; returns null for other families. */
export function decodeSockAddr(buf: Uint8Array): SockAddr | null {
  if (buf.length < 2) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const family = dv.getUint16(0, true);
  if (family === AF_INET && buf.length >= SOCKADDR_IN.size) {
    return {
      family: 4,
      address: formatIPv4(buf.subarray(SOCKADDR_IN.addr, SOCKADDR_IN.addr + 4)),
      port: dv.getUint16(SOCKADDR_IN.port, false),
    };
  }
  if (family === AF_INET6 && buf.length >= SOCKADDR_IN6.size) {
    const scopeId = dv.getUint32(SOCKADDR_IN6.scopeId, true);
    const sa: SockAddr = {
      family: 6,
      address: formatIPv6(buf.subarray(SOCKADDR_IN6.addr, SOCKADDR_IN6.addr + 16)),
      port: dv.getUint16(SOCKADDR_IN6.port, false),
    };
    if (scopeId !== 0) sa.scopeId = scopeId;
    return sa;
  }
  return null;
}

/** Decodes the sockaddr a C pointer points at (e.g. `ifa_addr`), or null. */
export function decodeSockAddrAt(ptr: Deno.PointerValue): SockAddr | null {
  if (ptr === null) return null;
  const view = new Deno.UnsafePointerView(ptr);
  const family = view.getUint16(0);
  const size = family === AF_INET ? SOCKADDR_IN.size : family === AF_INET6 ? SOCKADDR_IN6.size : 0;
  if (size === 0) return null;
  const buf = new Uint8Array(size);
  view.copyInto(buf);
  return decodeSockAddr(buf);
}

/** Reads a NUL-terminated string from `buf` at `off` (at most `max` bytes). */
export function cString(buf: Uint8Array, off = 0, max = buf.length - off): string {
  const end = buf.subarray(off, off + max).indexOf(0);
  return new TextDecoder().decode(buf.subarray(off, end < 0 ? off + max : off + end));
}

/** Encodes `s` as a NUL-terminated C string. */
export function toCString(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** struct mmsghdr, <sys/socket.h> (recvmmsg(2)/sendmmsg(2)): a msghdr, then msg_len; 64 bytes. */
export const MMSGHDR = { size: 64, hdr: 0, len: 56 } as const;
/** struct timeval, <bits/types/struct_timeval.h> (LP64): 16 bytes. */
export const TIMEVAL = { size: 16, sec: 0, usec: 8 } as const;
/** struct timespec, <bits/types/struct_timespec.h> (LP64): 16 bytes. */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;
