/**
 * SCTP through libc alone: {@link SctpSocket} wraps a non-blocking {@link Socket} and adds
 * what libsctp would (INITMSG, event subscription, SCTP_SNDRCV send/receive info,
 * notifications, bindx, connectx, peel-off, address lists, status and the
 * sctp_opt_info options). libsctp's functions are thin wrappers over socket options, so
 * every call here is a plain setsockopt/getsockopt/sendmsg/recvmsg.
 *
 * Layouts and numbers are Linux's, from <linux/sctp.h> (uapi), checked against the kernel
 * in tests/sctp/cases.ts.
 *
 * @module
 */
import { RuntimeError, SysError } from "../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_SCTP,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_NOSIGNAL,
  SO_ERROR,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./constants.ts";
import { Errno, errno, errnoName, errnoOf, lastError } from "./errno.ts";
import { libc } from "./libc.ts";
import { Socket } from "./socket.ts";
import {
  addressOf,
  CMSGHDR,
  decodeSockAddr,
  encodeSockAddr,
  IOVEC,
  MSGHDR,
  type SockAddr,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCKADDR_STORAGE,
} from "./structs.ts";

// --- <linux/sctp.h>: socket options (level IPPROTO_SCTP) ---
/** struct sctp_rtoinfo */
export const SCTP_RTOINFO = 0;
/** struct sctp_assocparams */
export const SCTP_ASSOCINFO = 1;
/** struct sctp_initmsg */
export const SCTP_INITMSG = 2;
/** int */
export const SCTP_NODELAY = 3;
/** struct sctp_paddrparams */
export const SCTP_PEER_ADDR_PARAMS = 9;
/** struct sctp_sndrcvinfo */
export const SCTP_DEFAULT_SEND_PARAM = 10;
/** struct sctp_event_subscribe */
export const SCTP_EVENTS = 11;
/** struct sctp_status */
export const SCTP_STATUS = 14;
/** struct sctp_paddrinfo */
export const SCTP_GET_PEER_ADDR_INFO = 15;
/** struct sockaddr[] (setsockopt) */
export const SCTP_SOCKOPT_BINDX_ADD = 100;
/** struct sockaddr[] (setsockopt) */
export const SCTP_SOCKOPT_BINDX_REM = 101;
/** sctp_peeloff_arg_t (getsockopt) */
export const SCTP_SOCKOPT_PEELOFF = 102;
/** struct sctp_getaddrs (getsockopt) */
export const SCTP_GET_PEER_ADDRS = 108;
/** struct sctp_getaddrs (getsockopt) */
export const SCTP_GET_LOCAL_ADDRS = 109;
/** struct sockaddr[] (setsockopt; returns the assoc id) */
export const SCTP_SOCKOPT_CONNECTX = 110;

// --- cmsg types (level IPPROTO_SCTP) ---
/** struct sctp_sndrcvinfo */
export const SCTP_SNDRCV = 1;

// --- sinfo_flags ---
export const SCTP_UNORDERED = 0x1;
export const SCTP_ADDR_OVER = 0x2;
export const SCTP_ABORT = 0x4;
export const SCTP_SACK_IMMEDIATELY = 0x8;
/** PR-SCTP policy "time to live" (SCTP_PR_SCTP_TTL, in the policy bits of sinfo_flags). */
export const SCTP_PR_SCTP_TTL = 0x10;
/** SCTP_EOF = MSG_FIN: graceful shutdown of the association (one-to-many). */
export const SCTP_EOF = 0x200;
/** msg_flags bit on a received notification (MSG_NOTIFICATION). */
export const MSG_NOTIFICATION = 0x8000;

/** Association states (enum sctp_sstat_state). */
export const SCTP_STATES: Record<number, string> = {
  0: "EMPTY",
  1: "CLOSED",
  2: "COOKIE_WAIT",
  3: "COOKIE_ECHOED",
  4: "ESTABLISHED",
  5: "SHUTDOWN_PENDING",
  6: "SHUTDOWN_SENT",
  7: "SHUTDOWN_RECEIVED",
  8: "SHUTDOWN_ACK_SENT",
};
/** Peer address states (enum sctp_spinfo_state). */
export const PATH_STATES: Record<number, string> = {
  0: "INACTIVE",
  1: "PF",
  2: "ACTIVE",
  3: "UNCONFIRMED",
  0xffff: "UNKNOWN",
};
/** sac_state of an assoc_change notification (enum sctp_sac_state). */
export const ASSOC_CHANGE_STATES: Record<number, string> = {
  0: "COMM_UP",
  1: "COMM_LOST",
  2: "RESTART",
  3: "SHUTDOWN_COMP",
  4: "CANT_STR_ASSOC",
};
/** spc_state of a peer_addr_change notification (enum sctp_spc_state). */
export const PADDR_CHANGE_STATES: Record<number, string> = {
  0: "ADDR_AVAILABLE",
  1: "ADDR_UNREACHABLE",
  2: "ADDR_REMOVED",
  3: "ADDR_ADDED",
  4: "ADDR_MADE_PRIM",
  5: "ADDR_CONFIRMED",
  6: "ADDR_POTENTIALLY_FAILED",
};
/** Notification types (enum sctp_sn_type, base 1 << 15). */
export const SCTP_NOTIFICATIONS: Record<number, string> = {
  0x8001: "assoc_change",
  0x8002: "paddr_change",
  0x8003: "send_failed",
  0x8004: "remote_error",
  0x8005: "shutdown_event",
  0x8006: "partial_delivery",
  0x8007: "adaptation_indication",
  0x8008: "authentication",
  0x8009: "sender_dry",
  0x800a: "stream_reset",
  0x800b: "assoc_reset",
  0x800c: "stream_change",
  0x800d: "send_failed_event",
};

// --- struct layouts (x86_64/aarch64 Linux) ---
/** struct sctp_initmsg: 4 x u16. */
export const SCTP_INITMSG_S = {
  size: 8,
  numOstreams: 0,
  maxInstreams: 2,
  maxAttempts: 4,
  maxInitTimeo: 6,
} as const;
/** struct sctp_sndrcvinfo: 32 bytes. */
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
 * struct sctp_event_subscribe: one u8 per event class. Linux 6.1 has 14; shorter option
 * lengths are accepted, so older kernels take the first 10.
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
/** struct sctp_paddrinfo: packed, aligned(4); 152 bytes. */
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
/** struct sctp_status: 176 bytes with the primary path's sctp_paddrinfo at 24. */
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
/** struct sctp_rtoinfo: 16 bytes. */
export const SCTP_RTOINFO_S = { size: 16, assocId: 0, initial: 4, max: 8, min: 12 } as const;
/** struct sctp_assocparams: 20 bytes. */
export const SCTP_ASSOCPARAMS = {
  size: 20,
  assocId: 0,
  maxRetrans: 4,
  peerDestinations: 6,
  peerRwnd: 8,
  localRwnd: 12,
  cookieLife: 16,
} as const;
/** struct sctp_paddrparams: packed, aligned(4); 156 bytes. */
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
/** spp_flags bits. */
export const SPP_HB_ENABLE = 1;
export const SPP_HB_DISABLE = 2;
/** struct sctp_getaddrs: assoc id, count, then packed sockaddrs. */
export const SCTP_GETADDRS = { assocId: 0, addrNum: 4, addrs: 8 } as const;
/** sctp_peeloff_arg_t: assoc id, returned fd. */
export const SCTP_PEELOFF_ARG = { size: 8, assocId: 0, sd: 4 } as const;

/** The socket styles. */
export type SctpStyle = "one-to-one" | "one-to-many";

/** Per-message send parameters (sctp_sndrcvinfo on send). */
export interface SendInfo {
  /** Stream number (0-65535; must be below the negotiated outbound count). */
  stream?: number;
  /** Payload protocol identifier (host order; sent in network order as sctp_sendmsg does). */
  ppid?: number;
  /** SCTP_UNORDERED, SCTP_EOF, SCTP_ABORT, SCTP_ADDR_OVER, SCTP_SACK_IMMEDIATELY. */
  flags?: number;
  /** PR-SCTP time to live in ms (0 = reliable). */
  ttl?: number;
  /** Opaque value returned in a send_failed notification. */
  context?: number;
  /** Association (one-to-many). */
  assocId?: number;
}

/** Receive info of one data message (sctp_sndrcvinfo on receive). */
export interface RecvInfo {
  stream: number;
  ssn: number;
  flags: number;
  ppid: number;
  context: number;
  tsn: number;
  cumtsn: number;
  assocId: number;
}

/** A decoded notification. `type` is the name, `typeCode` the kernel number. */
export type SctpNotification =
  & { typeCode: number; assocId: number }
  & (
    | {
      type: "assoc_change";
      state: string;
      error: number;
      outstreams: number;
      instreams: number;
    }
    | { type: "paddr_change"; address: string; state: string; error: number }
    | {
      type: "send_failed";
      error: number;
      length: number;
      stream: number;
      ppid: number;
      context: number;
    }
    | { type: "remote_error"; error: number; length: number }
    | { type: "shutdown_event" }
    | { type: string }
  );

/** One message read by {@link SctpSocket.receive}. */
export type SctpMessage =
  | { kind: "data"; data: Uint8Array; info: RecvInfo | null; from: SockAddr | null; flags: number }
  | { kind: "notification"; notification: SctpNotification; from: SockAddr | null };

/** One peer path, from SCTP_GET_PEER_ADDR_INFO or the primary in SCTP_STATUS. */
export interface PathInfo {
  address: string;
  port: number;
  state: string;
  cwnd: number;
  /** Smoothed RTT, ms. */
  srtt: number;
  /** Retransmission timeout, ms. */
  rto: number;
  mtu: number;
}

/** SCTP_STATUS. */
export interface SctpStatus {
  assocId: number;
  state: string;
  rwnd: number;
  unackdata: number;
  penddata: number;
  instreams: number;
  outstreams: number;
  fragmentationPoint: number;
  primary: PathInfo;
}

/** Which notifications to subscribe to (SCTP_EVENTS). */
export interface EventSubscription {
  dataIo?: boolean;
  association?: boolean;
  address?: boolean;
  sendFailure?: boolean;
  peerError?: boolean;
  shutdown?: boolean;
}

/** All the notifications the seed's server prints, plus per-message info. */
export const ALL_EVENTS: EventSubscription = {
  dataIo: true,
  association: true,
  address: true,
  sendFailure: true,
  peerError: true,
  shutdown: true,
};

const NOT_AVAILABLE = new Set<number>([
  Errno.EPROTONOSUPPORT,
  Errno.ESOCKTNOSUPPORT,
  96, /* EPFNOSUPPORT */
]);

/** The error sockbox prints when the kernel has no SCTP. */
export class SctpUnavailableError extends RuntimeError {
  override name = "SctpUnavailableError";
  constructor(code: string) {
    super(`SCTP is not available in this kernel (socket: ${code}); try 'modprobe sctp'`);
  }
}

function sockaddrLen(family: number): number {
  return family === AF_INET ? SOCKADDR_IN.size : family === AF_INET6 ? SOCKADDR_IN6.size : 0;
}

/** Decodes a packed array of sockaddrs (bindx/getaddrs layout). */
function decodePacked(buf: Uint8Array, count: number): SockAddr[] {
  const out: SockAddr[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  for (let i = 0; i < count && off + 2 <= buf.length; i++) {
    const len = sockaddrLen(dv.getUint16(off, true));
    if (len === 0) break;
    const sa = decodeSockAddr(buf.subarray(off, off + len));
    if (sa) out.push(sa);
    off += len;
  }
  return out;
}

function decodePath(buf: Uint8Array, base: number): PathInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const sa = decodeSockAddr(
    buf.subarray(base + SCTP_PADDRINFO.address, base + SCTP_PADDRINFO.address + 128),
  );
  const st = dv.getInt32(base + SCTP_PADDRINFO.state, true);
  return {
    address: sa?.address ?? "?",
    port: sa?.port ?? 0,
    state: PATH_STATES[st] ?? `state ${st}`,
    cwnd: dv.getUint32(base + SCTP_PADDRINFO.cwnd, true),
    srtt: dv.getUint32(base + SCTP_PADDRINFO.srtt, true),
    rto: dv.getUint32(base + SCTP_PADDRINFO.rto, true),
    mtu: dv.getUint32(base + SCTP_PADDRINFO.mtu, true),
  };
}

/** Decodes a notification (the payload of a message flagged MSG_NOTIFICATION). */
export function decodeNotification(b: Uint8Array): SctpNotification {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const code = b.length >= 2 ? dv.getUint16(0, true) : 0;
  const name = SCTP_NOTIFICATIONS[code] ?? `type ${code}`;
  const u16 = (o: number) => (o + 2 <= b.length ? dv.getUint16(o, true) : 0);
  const u32 = (o: number) => (o + 4 <= b.length ? dv.getUint32(o, true) : 0);
  const i32 = (o: number) => (o + 4 <= b.length ? dv.getInt32(o, true) : 0);
  switch (code) {
    case 0x8001: {
      const st = u16(8);
      return {
        type: "assoc_change",
        typeCode: code,
        state: ASSOC_CHANGE_STATES[st] ?? `state ${st}`,
        error: u16(10),
        outstreams: u16(12),
        instreams: u16(14),
        assocId: i32(16),
      };
    }
    case 0x8002: {
      const sa = b.length >= 136 ? decodeSockAddr(b.subarray(8, 136)) : null;
      const st = i32(136);
      return {
        type: "paddr_change",
        typeCode: code,
        address: sa?.address ?? "?",
        state: PADDR_CHANGE_STATES[st] ?? `state ${st}`,
        error: i32(140),
        assocId: i32(144),
      };
    }
    case 0x8003:
      return {
        type: "send_failed",
        typeCode: code,
        error: u32(8),
        length: Math.max(0, u32(4) - 48),
        stream: u16(12 + SCTP_SNDRCVINFO.stream),
        ppid: ntohl(u32(12 + SCTP_SNDRCVINFO.ppid)),
        context: u32(12 + SCTP_SNDRCVINFO.context),
        assocId: i32(44),
      };
    case 0x8004:
      return {
        type: "remote_error",
        typeCode: code,
        error: b.length >= 10 ? dv.getUint16(8, false) : 0,
        length: u32(4),
        assocId: i32(12),
      };
    case 0x8005:
      return { type: "shutdown_event", typeCode: code, assocId: i32(8) };
    default:
      return { type: name, typeCode: code, assocId: 0 };
  }
}

function ntohl(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** Builds the SCTP_SNDRCV cmsg for `info`. */
export function sndrcvCmsg(info: SendInfo): Uint8Array {
  const cm = new Uint8Array(CMSGHDR.size + SCTP_SNDRCVINFO.size);
  fillSndrcvCmsg(cm, info);
  return cm;
}

function fillSndrcvCmsg(cm: Uint8Array, info: SendInfo): void {
  const dv = new DataView(cm.buffer, cm.byteOffset, cm.byteLength);
  dv.setBigUint64(CMSGHDR.len, BigInt(cm.length), true);
  dv.setInt32(CMSGHDR.level, IPPROTO_SCTP, true);
  dv.setInt32(CMSGHDR.type, SCTP_SNDRCV, true);
  const d = CMSGHDR.data;
  let flags = info.flags ?? 0;
  if (info.ttl) flags |= SCTP_PR_SCTP_TTL;
  dv.setUint16(d + SCTP_SNDRCVINFO.stream, info.stream ?? 0, true);
  dv.setUint16(d + SCTP_SNDRCVINFO.ssn, 0, true);
  dv.setUint16(d + SCTP_SNDRCVINFO.flags, flags, true);
  dv.setUint16(d + SCTP_SNDRCVINFO.flags + 2, 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.ppid, ntohl((info.ppid ?? 0) >>> 0), true);
  dv.setUint32(d + SCTP_SNDRCVINFO.context, (info.context ?? 0) >>> 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.timetolive, info.ttl ?? 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.tsn, 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.cumtsn, 0, true);
  dv.setInt32(d + SCTP_SNDRCVINFO.assocId, info.assocId ?? 0, true);
}

/** Finds the SCTP_SNDRCV cmsg in `control` and decodes it. */
export function parseSndrcv(control: Uint8Array): RecvInfo | null {
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSGHDR.size <= control.length) {
    const len = Number(dv.getBigUint64(off + CMSGHDR.len, true));
    if (len < CMSGHDR.size) break;
    if (
      dv.getInt32(off + CMSGHDR.level, true) === IPPROTO_SCTP &&
      dv.getInt32(off + CMSGHDR.type, true) === SCTP_SNDRCV &&
      len >= CMSGHDR.size + SCTP_SNDRCVINFO.size
    ) {
      const d = off + CMSGHDR.data;
      return {
        stream: dv.getUint16(d + SCTP_SNDRCVINFO.stream, true),
        ssn: dv.getUint16(d + SCTP_SNDRCVINFO.ssn, true),
        flags: dv.getUint16(d + SCTP_SNDRCVINFO.flags, true),
        ppid: ntohl(dv.getUint32(d + SCTP_SNDRCVINFO.ppid, true)),
        context: dv.getUint32(d + SCTP_SNDRCVINFO.context, true),
        tsn: dv.getUint32(d + SCTP_SNDRCVINFO.tsn, true),
        cumtsn: dv.getUint32(d + SCTP_SNDRCVINFO.cumtsn, true),
        assocId: dv.getInt32(d + SCTP_SNDRCVINFO.assocId, true),
      };
    }
    off += (len + CMSGHDR.align - 1) & ~(CMSGHDR.align - 1);
  }
  return null;
}

function packAddrs(family: 4 | 6, addrs: { address: string; port: number }[]): Uint8Array {
  const parts = addrs.map((a) => encodeSockAddr(a.address, a.port));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const [i, p] of parts.entries()) {
    if (family === 4 && p.length !== SOCKADDR_IN.size) {
      throw new SysError("bindx", "EINVAL", addrs[i], "an IPv6 address on an IPv4 socket");
    }
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const MIN_BUF = 64 * 1024;

/** Preallocated msghdr/iovec/sockaddr for the data path (one per socket). */
interface IoState {
  name: Uint8Array;
  recvIovBuf: Uint8Array;
  recvIov: DataView;
  recvMsg: Uint8Array<ArrayBuffer>;
  recvHdr: DataView;
  sendIovBuf: Uint8Array;
  sendIov: DataView;
  sendMsg: Uint8Array<ArrayBuffer>;
  ctl: Uint8Array;
  sendCtl: Uint8Array;
}

function makeIoState(ctl: Uint8Array, sendCtl: Uint8Array): IoState {
  const name = new Uint8Array(SOCKADDR_STORAGE.size);
  const recvIovBuf = new Uint8Array(IOVEC.size);
  const recvMsg = new Uint8Array(MSGHDR.size);
  const recvHdr = new DataView(recvMsg.buffer);
  recvHdr.setBigUint64(MSGHDR.name, addressOf(name), true);
  recvHdr.setBigUint64(MSGHDR.iov, addressOf(recvIovBuf), true);
  recvHdr.setBigUint64(MSGHDR.iovlen, 1n, true);
  recvHdr.setBigUint64(MSGHDR.control, addressOf(ctl), true);
  const sendIovBuf = new Uint8Array(IOVEC.size);
  const sendMsg = new Uint8Array(MSGHDR.size);
  const sendHdr = new DataView(sendMsg.buffer);
  sendHdr.setBigUint64(MSGHDR.iov, addressOf(sendIovBuf), true);
  sendHdr.setBigUint64(MSGHDR.iovlen, 1n, true);
  sendHdr.setBigUint64(MSGHDR.control, addressOf(sendCtl), true);
  sendHdr.setBigUint64(MSGHDR.controllen, BigInt(sendCtl.length), true);
  return {
    name,
    recvIovBuf,
    recvIov: new DataView(recvIovBuf.buffer),
    recvMsg,
    recvHdr,
    sendIovBuf,
    sendIov: new DataView(sendIovBuf.buffer),
    sendMsg,
    ctl,
    sendCtl,
  };
}

/** An SCTP socket, one-to-one (SOCK_STREAM) or one-to-many (SOCK_SEQPACKET). */
export class SctpSocket implements Disposable {
  readonly #sock: Socket;
  /** The socket style. */
  readonly style: SctpStyle;
  #buf = new Uint8Array(MIN_BUF);
  #len = 0;
  #info: RecvInfo | null = null;
  #ctl = new Uint8Array(CMSGHDR.size + SCTP_SNDRCVINFO.size + 64);
  #sendCtl = new Uint8Array(CMSGHDR.size + SCTP_SNDRCVINFO.size);
  #ioState: IoState | null = null;

  get #io(): IoState {
    return (this.#ioState ??= makeIoState(this.#ctl, this.#sendCtl));
  }

  private constructor(sock: Socket, style: SctpStyle) {
    this.#sock = sock;
    this.style = style;
  }

  /**
   * Opens an SCTP socket. A kernel without SCTP gives {@link SctpUnavailableError}
   * (`SCTP is not available in this kernel (socket: EPROTONOSUPPORT); try 'modprobe sctp'`).
   */
  static open(family: 4 | 6, style: SctpStyle): SctpSocket {
    try {
      const type = style === "one-to-one" ? SOCK_STREAM : SOCK_SEQPACKET;
      return new SctpSocket(Socket.open(family, type, IPPROTO_SCTP), style);
    } catch (e) {
      const n = errnoOf(e);
      if (n !== undefined && NOT_AVAILABLE.has(n)) throw new SctpUnavailableError(errnoName(n));
      throw e;
    }
  }

  /** Whether the kernel supports SCTP (tries the syscall). */
  static available(): boolean {
    try {
      SctpSocket.open(4, "one-to-one").close();
      return true;
    } catch (e) {
      if (e instanceof SctpUnavailableError) return false;
      throw e;
    }
  }

  /** 4 or 6. */
  get family(): 4 | 6 {
    return this.#sock.family;
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#sock.closed;
  }

  // --- options ---

  /** SCTP_INITMSG: streams to ask for and INIT retransmission limits. */
  setInitMsg(
    o: { outstreams: number; instreams: number; maxAttempts?: number; maxInitTimeoMs?: number },
  ): void {
    const b = new Uint8Array(SCTP_INITMSG_S.size);
    const dv = new DataView(b.buffer);
    dv.setUint16(SCTP_INITMSG_S.numOstreams, o.outstreams, true);
    dv.setUint16(SCTP_INITMSG_S.maxInstreams, o.instreams, true);
    dv.setUint16(SCTP_INITMSG_S.maxAttempts, o.maxAttempts ?? 0, true);
    dv.setUint16(SCTP_INITMSG_S.maxInitTimeo, o.maxInitTimeoMs ?? 0, true);
    this.#sock.setOption(IPPROTO_SCTP, SCTP_INITMSG, b, "setsockopt SCTP_INITMSG");
  }

  /** SCTP_EVENTS: which notifications (and per-message info) to receive. */
  subscribe(ev: EventSubscription): void {
    const b = new Uint8Array(SCTP_EVENT_SUBSCRIBE.size);
    const S = SCTP_EVENT_SUBSCRIBE;
    b[S.dataIo] = ev.dataIo ? 1 : 0;
    b[S.association] = ev.association ? 1 : 0;
    b[S.address] = ev.address ? 1 : 0;
    b[S.sendFailure] = ev.sendFailure ? 1 : 0;
    b[S.peerError] = ev.peerError ? 1 : 0;
    b[S.shutdown] = ev.shutdown ? 1 : 0;
    this.#sock.setOption(IPPROTO_SCTP, SCTP_EVENTS, b, "setsockopt SCTP_EVENTS");
  }

  /** SCTP_NODELAY (on: no bundling delay). */
  setNoDelay(on: boolean): void {
    this.#sock.setOption(IPPROTO_SCTP, SCTP_NODELAY, on ? 1 : 0, "setsockopt SCTP_NODELAY");
  }

  /** SO_SNDBUF / SO_RCVBUF. */
  setBuffers(bytes: number): void {
    this.#sock.setOption(SOL_SOCKET, 7, bytes, "setsockopt SO_SNDBUF");
    this.#sock.setOption(SOL_SOCKET, 8, bytes, "setsockopt SO_RCVBUF");
  }

  /** SCTP_RTOINFO (ms; 0 leaves a value unchanged). */
  getRtoInfo(assocId = 0): { initial: number; max: number; min: number } {
    const b = new Uint8Array(SCTP_RTOINFO_S.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_RTOINFO_S.assocId, assocId, true);
    this.#sock.getOptionInto(IPPROTO_SCTP, SCTP_RTOINFO, b, "getsockopt SCTP_RTOINFO");
    return {
      initial: dv.getUint32(SCTP_RTOINFO_S.initial, true),
      max: dv.getUint32(SCTP_RTOINFO_S.max, true),
      min: dv.getUint32(SCTP_RTOINFO_S.min, true),
    };
  }

  /** Sets SCTP_RTOINFO; 0 leaves a value unchanged. */
  setRtoInfo(o: { initial?: number; max?: number; min?: number }, assocId = 0): void {
    const b = new Uint8Array(SCTP_RTOINFO_S.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_RTOINFO_S.assocId, assocId, true);
    dv.setUint32(SCTP_RTOINFO_S.initial, o.initial ?? 0, true);
    dv.setUint32(SCTP_RTOINFO_S.max, o.max ?? 0, true);
    dv.setUint32(SCTP_RTOINFO_S.min, o.min ?? 0, true);
    this.#sock.setOption(IPPROTO_SCTP, SCTP_RTOINFO, b, "setsockopt SCTP_RTOINFO");
  }

  /** SCTP_ASSOCINFO. */
  getAssocInfo(assocId = 0): {
    maxRetrans: number;
    peerDestinations: number;
    peerRwnd: number;
    localRwnd: number;
    cookieLife: number;
  } {
    const b = new Uint8Array(SCTP_ASSOCPARAMS.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_ASSOCPARAMS.assocId, assocId, true);
    this.#sock.getOptionInto(IPPROTO_SCTP, SCTP_ASSOCINFO, b, "getsockopt SCTP_ASSOCINFO");
    return {
      maxRetrans: dv.getUint16(SCTP_ASSOCPARAMS.maxRetrans, true),
      peerDestinations: dv.getUint16(SCTP_ASSOCPARAMS.peerDestinations, true),
      peerRwnd: dv.getUint32(SCTP_ASSOCPARAMS.peerRwnd, true),
      localRwnd: dv.getUint32(SCTP_ASSOCPARAMS.localRwnd, true),
      cookieLife: dv.getUint32(SCTP_ASSOCPARAMS.cookieLife, true),
    };
  }

  /** Sets SCTP_ASSOCINFO's association-wide retransmission limit (0 = unchanged). */
  setAssocMaxRetrans(maxRetrans: number, assocId = 0): void {
    const b = new Uint8Array(SCTP_ASSOCPARAMS.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_ASSOCPARAMS.assocId, assocId, true);
    dv.setUint16(SCTP_ASSOCPARAMS.maxRetrans, maxRetrans, true);
    this.#sock.setOption(IPPROTO_SCTP, SCTP_ASSOCINFO, b, "setsockopt SCTP_ASSOCINFO");
  }

  /** SCTP_DEFAULT_SEND_PARAM: send info used when a message carries none. */
  setDefaultSend(info: SendInfo): void {
    const cm = sndrcvCmsg(info);
    this.#sock.setOption(
      IPPROTO_SCTP,
      SCTP_DEFAULT_SEND_PARAM,
      cm.subarray(CMSGHDR.data),
      "setsockopt SCTP_DEFAULT_SEND_PARAM",
    );
  }

  /** Reads SCTP_DEFAULT_SEND_PARAM. */
  getDefaultSend(assocId = 0): { stream: number; ppid: number; flags: number; ttl: number } {
    const b = new Uint8Array(SCTP_SNDRCVINFO.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_SNDRCVINFO.assocId, assocId, true);
    this.#sock.getOptionInto(
      IPPROTO_SCTP,
      SCTP_DEFAULT_SEND_PARAM,
      b,
      "getsockopt SCTP_DEFAULT_SEND_PARAM",
    );
    return {
      stream: dv.getUint16(SCTP_SNDRCVINFO.stream, true),
      ppid: ntohl(dv.getUint32(SCTP_SNDRCVINFO.ppid, true)),
      flags: dv.getUint16(SCTP_SNDRCVINFO.flags, true),
      ttl: dv.getUint32(SCTP_SNDRCVINFO.timetolive, true),
    };
  }

  /**
   * SCTP_PEER_ADDR_PARAMS for every path of `assocId` (no address): heartbeat interval
   * (ms; 0 disables heartbeats) and per-path retransmission limit.
   */
  setPeerAddrParams(o: { heartbeatMs?: number; pathMaxRxt?: number }, assocId = 0): void {
    const b = new Uint8Array(SCTP_PADDRPARAMS.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_PADDRPARAMS.assocId, assocId, true);
    let flags = 0;
    if (o.heartbeatMs !== undefined) {
      if (o.heartbeatMs === 0) flags |= SPP_HB_DISABLE;
      else {
        flags |= SPP_HB_ENABLE;
        dv.setUint32(SCTP_PADDRPARAMS.hbInterval, o.heartbeatMs, true);
      }
    }
    if (o.pathMaxRxt !== undefined) dv.setUint16(SCTP_PADDRPARAMS.pathMaxRxt, o.pathMaxRxt, true);
    dv.setUint32(SCTP_PADDRPARAMS.flags, flags, true);
    this.#sock.setOption(
      IPPROTO_SCTP,
      SCTP_PEER_ADDR_PARAMS,
      b,
      "setsockopt SCTP_PEER_ADDR_PARAMS",
    );
  }

  /** Reads SCTP_PEER_ADDR_PARAMS (socket or association defaults). */
  getPeerAddrParams(assocId = 0): { heartbeatMs: number; pathMaxRxt: number; heartbeat: boolean } {
    const b = new Uint8Array(SCTP_PADDRPARAMS.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_PADDRPARAMS.assocId, assocId, true);
    this.#sock.getOptionInto(
      IPPROTO_SCTP,
      SCTP_PEER_ADDR_PARAMS,
      b,
      "getsockopt SCTP_PEER_ADDR_PARAMS",
    );
    return {
      heartbeatMs: dv.getUint32(SCTP_PADDRPARAMS.hbInterval, true),
      pathMaxRxt: dv.getUint16(SCTP_PADDRPARAMS.pathMaxRxt, true),
      heartbeat: (dv.getUint32(SCTP_PADDRPARAMS.flags, true) & SPP_HB_ENABLE) !== 0,
    };
  }

  /** SCTP_STATUS of the association (one-to-one: the only one). */
  status(assocId = 0): SctpStatus {
    const b = new Uint8Array(SCTP_STATUS_S.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_STATUS_S.assocId, assocId, true);
    this.#sock.getOptionInto(IPPROTO_SCTP, SCTP_STATUS, b, "getsockopt SCTP_STATUS");
    const st = dv.getInt32(SCTP_STATUS_S.state, true);
    return {
      assocId: dv.getInt32(SCTP_STATUS_S.assocId, true),
      state: SCTP_STATES[st] ?? `state ${st}`,
      rwnd: dv.getUint32(SCTP_STATUS_S.rwnd, true),
      unackdata: dv.getUint16(SCTP_STATUS_S.unackdata, true),
      penddata: dv.getUint16(SCTP_STATUS_S.penddata, true),
      instreams: dv.getUint16(SCTP_STATUS_S.instrms, true),
      outstreams: dv.getUint16(SCTP_STATUS_S.outstrms, true),
      fragmentationPoint: dv.getUint32(SCTP_STATUS_S.fragmentationPoint, true),
      primary: decodePath(b, SCTP_STATUS_S.primary),
    };
  }

  /** SCTP_GET_PEER_ADDR_INFO for one peer address. */
  pathInfo(address: string, port: number, assocId = 0): PathInfo {
    const b = new Uint8Array(SCTP_PADDRINFO.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_PADDRINFO.assocId, assocId, true);
    b.set(encodeSockAddr(address, port), SCTP_PADDRINFO.address);
    this.#sock.getOptionInto(
      IPPROTO_SCTP,
      SCTP_GET_PEER_ADDR_INFO,
      b,
      "getsockopt SCTP_GET_PEER_ADDR_INFO",
    );
    return decodePath(b, 0);
  }

  #getAddrs(opt: number, assocId: number, what: string): SockAddr[] {
    const b = new Uint8Array(SCTP_GETADDRS.addrs + 64 * SOCKADDR_IN6.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_GETADDRS.assocId, assocId, true);
    this.#sock.getOptionInto(IPPROTO_SCTP, opt, b, what);
    return decodePacked(b.subarray(SCTP_GETADDRS.addrs), dv.getUint32(SCTP_GETADDRS.addrNum, true));
  }

  /** The peer's addresses (sctp_getpaddrs). */
  peerAddresses(assocId = 0): SockAddr[] {
    return this.#getAddrs(SCTP_GET_PEER_ADDRS, assocId, "sctp_getpaddrs");
  }

  /** The local addresses (sctp_getladdrs; assoc 0 = the socket's bound set). */
  localAddresses(assocId = 0): SockAddr[] {
    return this.#getAddrs(SCTP_GET_LOCAL_ADDRS, assocId, "sctp_getladdrs");
  }

  // --- addresses and associations ---

  /** bind(2). */
  bind(address: string, port: number): void {
    this.#sock.bind(address, port);
  }

  /**
   * sctp_bindx: adds (or removes) addresses. Port 0 means the already bound port. An
   * IPv6 address on an IPv4 socket is refused here with EINVAL, like the kernel does.
   */
  bindx(addrs: { address: string; port: number }[], op: "add" | "remove"): void {
    const packed = packAddrs(this.family, addrs);
    try {
      this.#sock.setOption(
        IPPROTO_SCTP,
        op === "add" ? SCTP_SOCKOPT_BINDX_ADD : SCTP_SOCKOPT_BINDX_REM,
        packed,
        "bindx",
      );
    } catch (e) {
      if (e instanceof SysError && addrs.length === 1) {
        throw new SysError("bindx", e.code, addrs[0], undefined, { cause: e });
      }
      throw e;
    }
  }

  /** listen(2). */
  listen(backlog = 511): void {
    this.#sock.listen(backlog);
  }

  /** Accepts one association (one-to-one style). */
  async accept(signal?: AbortSignal): Promise<{ socket: SctpSocket; peer: SockAddr | null }> {
    const { socket, peer } = await this.#sock.accept(signal);
    return { socket: new SctpSocket(socket, "one-to-one"), peer };
  }

  /** connect(2), waiting for the association to come up. */
  connect(address: string, port: number, signal?: AbortSignal): Promise<void> {
    return this.#sock.connect(address, port, signal);
  }

  /**
   * sctp_connectx: one association to a multi-homed peer. Returns the association id
   * (0 on kernels that do not report it) once the association is up.
   */
  async connectx(
    addrs: { address: string; port: number }[],
    signal?: AbortSignal,
  ): Promise<number> {
    const packed = packAddrs(this.family, addrs);
    let id = 0;
    const first = addrs[0] ?? { address: "?", port: 0 };
    try {
      // The kernel writes the assoc id back as the return value of setsockopt; through
      // setsockopt it returns only 0/-1, so read the id from SCTP_STATUS below.
      this.#sock.setOption(IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX, packed, "connect");
    } catch (e) {
      const n = errnoOf(e);
      if (n !== Errno.EINPROGRESS) {
        if (e instanceof SysError) {
          throw new SysError("connect", e.code, first, undefined, { cause: e });
        }
        throw e;
      }
    }
    await this.#sock.writable(signal);
    const soerr = this.#sock.getIntOption(SOL_SOCKET, SO_ERROR, "connect");
    if (soerr !== 0) throw new SysError("connect", errnoName(soerr), first);
    try {
      id = this.status().assocId;
    } catch {
      // not fatal
    }
    return id;
  }

  /** sctp_peeloff: moves association `assocId` of a one-to-many socket to its own socket. */
  peeloff(assocId: number): SctpSocket {
    const b = new Uint8Array(SCTP_PEELOFF_ARG.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(SCTP_PEELOFF_ARG.assocId, assocId, true);
    this.#sock.getOptionInto(IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF, b, "sctp_peeloff");
    const fd = dv.getInt32(SCTP_PEELOFF_ARG.sd, true);
    // The kernel returns a blocking fd; make it non-blocking like every Socket.
    const sock = Socket.adopt(fd, this.family, SOCK_STREAM, IPPROTO_SCTP);
    setNonBlocking(sock);
    return new SctpSocket(sock, "one-to-one");
  }

  /** getsockname(2). */
  localAddress(): SockAddr {
    return this.#sock.localAddress();
  }

  // --- data ---

  /**
   * One sendmsg with an SCTP_SNDRCV cmsg, without waiting: bytes sent, or -1 when the
   * send buffer is full. The msghdr, iovec and cmsg are allocated once per socket.
   */
  trySend(data: Uint8Array, info: SendInfo = {}, to?: { address: string; port: number }): number {
    fillSndrcvCmsg(this.#sendCtl, info);
    if (to) return this.#sock.trySendMsg(data, this.#sendCtl, to);
    const io = this.#io;
    io.sendIov.setBigUint64(IOVEC.base, addressOf(data), true);
    io.sendIov.setBigUint64(IOVEC.len, BigInt(data.length), true);
    const n = this.#sock.withFd(
      "sendmsg",
      (fd) => Number(libc().sendmsg(fd, io.sendMsg, MSG_DONTWAIT | MSG_NOSIGNAL)),
    );
    if (n >= 0) return n;
    const e = errno();
    if (e === Errno.EAGAIN || e === Errno.EINTR) return -1;
    throw new SysError("sendmsg", errnoName(e), this.#peerEndpoint());
  }

  #peerEndpoint(): { address?: string; port?: number } {
    try {
      const a = this.#sock.peerAddress();
      return { address: a.address, port: a.port };
    } catch {
      return {};
    }
  }

  /** sendmsg with send info, waiting for buffer space. */
  async send(
    data: Uint8Array,
    info: SendInfo = {},
    signal?: AbortSignal,
    to?: { address: string; port: number },
  ): Promise<number> {
    for (;;) {
      const n = this.trySend(data, info, to);
      if (n >= 0) return n;
      await this.#sock.writable(signal);
    }
  }

  /**
   * One whole message without waiting: null when no complete message is queued yet
   * (the pieces of a partially delivered message are kept and joined, as the seed's
   * getmsg does, until MSG_EOR), `{kind: "eof"}` when a one-to-one association has ended.
   * Data views point into an internal buffer that the next call reuses; `from` is decoded
   * when read.
   */
  tryReceive(): SctpMessage | { kind: "eof" } | null {
    const io = this.#io;
    for (;;) {
      if (this.#len === this.#buf.length) {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      io.recvIov.setBigUint64(IOVEC.base, addressOf(this.#buf) + BigInt(this.#len), true);
      io.recvIov.setBigUint64(IOVEC.len, BigInt(this.#buf.length - this.#len), true);
      io.recvHdr.setUint32(MSGHDR.namelen, io.name.length, true);
      io.recvHdr.setBigUint64(MSGHDR.controllen, BigInt(this.#ctl.length), true);
      io.recvHdr.setInt32(MSGHDR.flags, 0, true);
      const n = this.#sock.withFd(
        "recvmsg",
        (fd) => Number(libc().recvmsg(fd, io.recvMsg, MSG_DONTWAIT)),
      );
      if (n < 0) {
        const e = errno();
        if (e === Errno.EAGAIN || e === Errno.EINTR) return null;
        throw new SysError("recvmsg", errnoName(e), this.#peerEndpoint());
      }
      const flags = io.recvHdr.getInt32(MSGHDR.flags, true);
      if (n === 0 && this.#len === 0 && (flags & MSG_NOTIFICATION) === 0) return { kind: "eof" };
      if (this.#len === 0 || this.#info === null) {
        const ctlLen = Number(io.recvHdr.getBigUint64(MSGHDR.controllen, true));
        this.#info = ctlLen > 0 ? parseSndrcv(this.#ctl.subarray(0, ctlLen)) : null;
      }
      this.#len += n;
      if ((flags & MSG_EOR) === 0 && n > 0) continue;
      const data = this.#buf.subarray(0, this.#len);
      const info = this.#info;
      this.#len = 0;
      this.#info = null;
      const nameLen = io.recvHdr.getUint32(MSGHDR.namelen, true);
      const name = nameLen > 0 ? io.name.slice(0, nameLen) : null;
      let from: SockAddr | null | undefined;
      const lazyFrom = () => (from ??= name ? decodeSockAddr(name) : null);
      if (flags & MSG_NOTIFICATION) {
        return {
          kind: "notification",
          notification: decodeNotification(data),
          get from() {
            return lazyFrom();
          },
        };
      }
      return {
        kind: "data",
        data,
        info,
        flags,
        get from() {
          return lazyFrom();
        },
      };
    }
  }

  /** One whole message, waiting for it. */
  async receive(signal?: AbortSignal): Promise<SctpMessage | { kind: "eof" }> {
    for (;;) {
      const m = this.tryReceive();
      if (m) return m;
      await this.#sock.readable(signal);
    }
  }

  /** Resolves when readable. */
  readable(signal?: AbortSignal): Promise<void> {
    return this.#sock.readable(signal);
  }

  /** shutdown(2) (SHUT_WR starts the SCTP SHUTDOWN). */
  shutdown(how: number): void {
    this.#sock.shutdown(how);
  }

  /** Sends ABORT for an association (one-to-many: by id; one-to-one: SO_LINGER 0 + close). */
  abort(assocId = 0): void {
    if (this.style === "one-to-many") {
      this.trySend(new Uint8Array(0), { flags: SCTP_ABORT, assocId });
      return;
    }
    const linger = new Uint8Array(8);
    new DataView(linger.buffer).setInt32(0, 1, true); // l_onoff 1, l_linger 0
    this.#sock.setOption(SOL_SOCKET, 13, /* SO_LINGER */ linger, "setsockopt SO_LINGER");
    this.close();
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** fcntl(F_SETFL, O_NONBLOCK) on an fd the kernel handed out blocking (peel-off). */
function setNonBlocking(sock: Socket): void {
  const F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0o4000;
  sock.withFd("fcntl", (fd) => {
    const fl = libc().fcntl_int(fd, F_GETFL, 0);
    if (fl < 0 || libc().fcntl_int(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw lastError("fcntl");
  });
}
