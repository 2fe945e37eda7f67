/**
 * The SCTP byte codecs, free of syscalls: notifications (union sctp_notification, RFC 6458
 * section 6.1), the SCTP_SNDRCV control message (struct sctp_sndrcvinfo, RFC 6458 5.3.2)
 * in both directions, packed sockaddr lists (sctp_bindx(3), sctp_getpaddrs(3)) and the
 * SCTP_STATUS / SCTP_GET_PEER_ADDR_INFO results. Layouts are Linux's <linux/sctp.h>, as
 * described in structs.ts; `sctp_codec_test.ts` builds the bytes by hand and decodes them.
 *
 * @module
 */
import { SysError } from "../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  ASSOC_CHANGE_STATES,
  IPPROTO_SCTP,
  PADDR_CHANGE_STATES,
  PATH_STATES,
  SCTP_ADAPTATION_INDICATION,
  SCTP_ASSOC_CHANGE,
  SCTP_ASSOC_RESET_EVENT,
  SCTP_AUTHENTICATION_EVENT,
  SCTP_PARTIAL_DELIVERY_EVENT,
  SCTP_PEER_ADDR_CHANGE,
  SCTP_PR_SCTP_TTL,
  SCTP_REMOTE_ERROR,
  SCTP_SEND_FAILED,
  SCTP_SEND_FAILED_EVENT,
  SCTP_SENDER_DRY_EVENT,
  SCTP_SHUTDOWN_EVENT,
  SCTP_SNDRCV,
  SCTP_STATES,
  SCTP_STREAM_CHANGE_EVENT,
  SCTP_STREAM_RESET_EVENT,
} from "./constants.ts";
import {
  CMSGHDR,
  decodeSockAddr,
  encodeSockAddr,
  SCTP_NOTIFICATION,
  SCTP_PADDRINFO,
  SCTP_SNDRCVINFO,
  SCTP_STATUS_S,
  type SockAddr,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCKADDR_STORAGE,
} from "./structs.ts";

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
  /** The stream it came in on. */
  stream: number;
  /** Stream sequence number. */
  ssn: number;
  /** sinfo_flags (SCTP_UNORDERED for an unordered message). */
  flags: number;
  /** Payload protocol identifier, host order. */
  ppid: number;
  /** The sender's opaque context (sinfo_context). */
  context: number;
  /** Transmission sequence number of the (first) data chunk. */
  tsn: number;
  /** Cumulative TSN the receiver has acknowledged. */
  cumtsn: number;
  /** The association (one-to-many). */
  assocId: number;
}

/** SCTP_ASSOC_CHANGE: an association came up, was lost, restarted or shut down. */
export type AssocChangeNotification = {
  type: "assoc_change";
  typeCode: number;
  /** sac_state: COMM_UP, COMM_LOST, RESTART, SHUTDOWN_COMP, CANT_STR_ASSOC. */
  state: string;
  error: number;
  outstreams: number;
  instreams: number;
  assocId: number;
};

/** SCTP_PEER_ADDR_CHANGE: a peer address changed state. */
export type PaddrChangeNotification = {
  type: "paddr_change";
  typeCode: number;
  /** The peer address ("?" when it could not be decoded). */
  address: string;
  /** spc_state: ADDR_AVAILABLE, ADDR_UNREACHABLE, ADDR_REMOVED, ... */
  state: string;
  error: number;
  assocId: number;
};

/** SCTP_SEND_FAILED: a message could not be delivered. */
export type SendFailedNotification = {
  type: "send_failed";
  typeCode: number;
  error: number;
  /** Bytes of the undelivered message that follow the notification. */
  length: number;
  stream: number;
  ppid: number;
  context: number;
  assocId: number;
};

/** SCTP_REMOTE_ERROR: the peer sent an Operation Error chunk. */
export type RemoteErrorNotification = {
  type: "remote_error";
  typeCode: number;
  /** The error cause code (RFC 9260 section 3.3.10). */
  error: number;
  /** sre_length: the whole notification, error cause included. */
  length: number;
  assocId: number;
};

/** SCTP_SHUTDOWN_EVENT: the peer sent SHUTDOWN. */
export type ShutdownNotification = { type: "shutdown_event"; typeCode: number; assocId: number };

/** SCTP_PARTIAL_DELIVERY_EVENT: a partially delivered message was aborted. */
export type PartialDeliveryNotification = {
  type: "partial_delivery";
  typeCode: number;
  /** pdapi_indication (0 = SCTP_PARTIAL_DELIVERY_ABORTED). */
  indication: number;
  stream: number;
  seq: number;
  assocId: number;
};

/** SCTP_ADAPTATION_INDICATION: the peer's adaptation layer indication (RFC 5061). */
export type AdaptationNotification = {
  type: "adaptation_indication";
  typeCode: number;
  adaptation: number;
  assocId: number;
};

/** SCTP_SENDER_DRY_EVENT: nothing is left to send or retransmit. */
export type SenderDryNotification = { type: "sender_dry"; typeCode: number; assocId: number };

/** The name of a notification without a decoder here, or `type N` for an unknown number. */
export type SctpOtherNotificationName =
  | "authentication"
  | "stream_reset"
  | "assoc_reset"
  | "stream_change"
  | "send_failed_event"
  | `type ${number}`;

/**
 * A notification sockbox does not take apart: a known type without a decoder here, or an
 * unknown number (`type 32800`). `assocId` is 0.
 */
export type OtherNotification = {
  type: SctpOtherNotificationName;
  typeCode: number;
  assocId: number;
};

/** A decoded notification: `type` names it, `typeCode` is the kernel's number. */
export type SctpNotification =
  | AssocChangeNotification
  | PaddrChangeNotification
  | SendFailedNotification
  | RemoteErrorNotification
  | ShutdownNotification
  | PartialDeliveryNotification
  | AdaptationNotification
  | SenderDryNotification
  | OtherNotification;

const OTHER_NAMES: Record<number, SctpOtherNotificationName> = {
  [SCTP_AUTHENTICATION_EVENT]: "authentication",
  [SCTP_STREAM_RESET_EVENT]: "stream_reset",
  [SCTP_ASSOC_RESET_EVENT]: "assoc_reset",
  [SCTP_STREAM_CHANGE_EVENT]: "stream_change",
  [SCTP_SEND_FAILED_EVENT]: "send_failed_event",
};

/**
 * Decodes a notification (the payload of a message flagged MSG_NOTIFICATION). Never
 * throws: fields past the end of a truncated notification read as 0 (an address as "?").
 */
export function decodeNotification(b: Uint8Array): SctpNotification {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => (o + 2 <= b.length ? dv.getUint16(o, true) : 0);
  const u32 = (o: number) => (o + 4 <= b.length ? dv.getUint32(o, true) : 0);
  const i32 = (o: number) => (o + 4 <= b.length ? dv.getInt32(o, true) : 0);
  const typeCode = u16(SCTP_NOTIFICATION.header.type);
  const length = u32(SCTP_NOTIFICATION.header.length);
  switch (typeCode) {
    case SCTP_ASSOC_CHANGE: {
      const L = SCTP_NOTIFICATION.assocChange;
      const st = u16(L.state);
      return {
        type: "assoc_change",
        typeCode,
        state: ASSOC_CHANGE_STATES[st] ?? `state ${st}`,
        error: u16(L.error),
        outstreams: u16(L.outboundStreams),
        instreams: u16(L.inboundStreams),
        assocId: i32(L.assocId),
      };
    }
    case SCTP_PEER_ADDR_CHANGE: {
      const L = SCTP_NOTIFICATION.paddrChange;
      const end = L.address + SOCKADDR_STORAGE.size;
      const sa = b.length >= end ? decodeSockAddr(b.subarray(L.address, end)) : null;
      const st = i32(L.state);
      return {
        type: "paddr_change",
        typeCode,
        address: sa?.address ?? "?",
        state: PADDR_CHANGE_STATES[st] ?? `state ${st}`,
        error: i32(L.error),
        assocId: i32(L.assocId),
      };
    }
    case SCTP_SEND_FAILED: {
      const L = SCTP_NOTIFICATION.sendFailed;
      return {
        type: "send_failed",
        typeCode,
        error: u32(L.error),
        length: Math.max(0, length - L.size),
        stream: u16(L.info + SCTP_SNDRCVINFO.stream),
        ppid: L.info + SCTP_SNDRCVINFO.ppid + 4 <= b.length
          ? dv.getUint32(L.info + SCTP_SNDRCVINFO.ppid, false)
          : 0,
        context: u32(L.info + SCTP_SNDRCVINFO.context),
        assocId: i32(L.assocId),
      };
    }
    case SCTP_REMOTE_ERROR: {
      const L = SCTP_NOTIFICATION.remoteError;
      return {
        type: "remote_error",
        typeCode,
        error: L.error + 2 <= b.length ? dv.getUint16(L.error, false) : 0,
        length,
        assocId: i32(L.assocId),
      };
    }
    case SCTP_SHUTDOWN_EVENT:
      return {
        type: "shutdown_event",
        typeCode,
        assocId: i32(SCTP_NOTIFICATION.shutdownEvent.assocId),
      };
    case SCTP_PARTIAL_DELIVERY_EVENT: {
      const L = SCTP_NOTIFICATION.pdapiEvent;
      return {
        type: "partial_delivery",
        typeCode,
        indication: u32(L.indication),
        stream: u32(L.stream),
        seq: u32(L.seq),
        assocId: i32(L.assocId),
      };
    }
    case SCTP_ADAPTATION_INDICATION: {
      const L = SCTP_NOTIFICATION.adaptationEvent;
      return {
        type: "adaptation_indication",
        typeCode,
        adaptation: u32(L.adaptationInd),
        assocId: i32(L.assocId),
      };
    }
    case SCTP_SENDER_DRY_EVENT:
      return {
        type: "sender_dry",
        typeCode,
        assocId: i32(SCTP_NOTIFICATION.senderDryEvent.assocId),
      };
    default:
      return { type: OTHER_NAMES[typeCode] ?? `type ${typeCode}`, typeCode, assocId: 0 };
  }
}

/** Builds the SCTP_SNDRCV cmsg (header and sctp_sndrcvinfo) for `info`. */
export function sndrcvCmsg(info: SendInfo): Uint8Array {
  const cm = new Uint8Array(CMSGHDR.size + SCTP_SNDRCVINFO.size);
  fillSndrcvCmsg(cm, info);
  return cm;
}

/** Writes the SCTP_SNDRCV cmsg for `info` into `cm` (CMSGHDR.size + SCTP_SNDRCVINFO.size). */
export function fillSndrcvCmsg(cm: Uint8Array, info: SendInfo): void {
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
  dv.setUint32(d + SCTP_SNDRCVINFO.ppid, (info.ppid ?? 0) >>> 0, false);
  dv.setUint32(d + SCTP_SNDRCVINFO.context, (info.context ?? 0) >>> 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.timetolive, info.ttl ?? 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.tsn, 0, true);
  dv.setUint32(d + SCTP_SNDRCVINFO.cumtsn, 0, true);
  dv.setInt32(d + SCTP_SNDRCVINFO.assocId, info.assocId ?? 0, true);
}

/** Decodes a bare struct sctp_sndrcvinfo at `off` of `dv`. */
export function decodeSndrcvInfo(dv: DataView, off = 0): RecvInfo {
  return {
    stream: dv.getUint16(off + SCTP_SNDRCVINFO.stream, true),
    ssn: dv.getUint16(off + SCTP_SNDRCVINFO.ssn, true),
    flags: dv.getUint16(off + SCTP_SNDRCVINFO.flags, true),
    ppid: dv.getUint32(off + SCTP_SNDRCVINFO.ppid, false),
    context: dv.getUint32(off + SCTP_SNDRCVINFO.context, true),
    tsn: dv.getUint32(off + SCTP_SNDRCVINFO.tsn, true),
    cumtsn: dv.getUint32(off + SCTP_SNDRCVINFO.cumtsn, true),
    assocId: dv.getInt32(off + SCTP_SNDRCVINFO.assocId, true),
  };
}

/** Finds the SCTP_SNDRCV cmsg in `control` (recvmsg control data) and decodes it. */
export function parseSndrcv(control: Uint8Array): RecvInfo | null {
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSGHDR.size <= control.length) {
    const len = Number(dv.getBigUint64(off + CMSGHDR.len, true));
    // Malformed (the kernel never writes a cmsg_len beyond the buffer): stop, as CMSG_NXTHDR does.
    if (len < CMSGHDR.size || len > control.length - off) break;
    if (
      dv.getInt32(off + CMSGHDR.level, true) === IPPROTO_SCTP &&
      dv.getInt32(off + CMSGHDR.type, true) === SCTP_SNDRCV &&
      len >= CMSGHDR.size + SCTP_SNDRCVINFO.size &&
      off + CMSGHDR.size + SCTP_SNDRCVINFO.size <= control.length
    ) {
      return decodeSndrcvInfo(dv, off + CMSGHDR.data);
    }
    off += Math.ceil(len / CMSGHDR.align) * CMSGHDR.align; // no `&`: it truncates to 32 bits
  }
  return null;
}

function sockaddrLen(family: number): number {
  return family === AF_INET ? SOCKADDR_IN.size : family === AF_INET6 ? SOCKADDR_IN6.size : 0;
}

/** Decodes `count` packed sockaddrs (the sctp_getaddrs / sctp_bindx layout). */
export function decodePackedAddrs(buf: Uint8Array, count: number): SockAddr[] {
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

/**
 * Packs addresses for sctp_bindx(3) / sctp_connectx(3). An IPv6 address for an IPv4
 * socket is refused with `bindx EINVAL`, as the kernel would.
 */
export function packAddrs(
  family: 4 | 6,
  addrs: { address: string; port: number }[],
): Uint8Array {
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

/** One peer path (struct sctp_paddrinfo), from SCTP_GET_PEER_ADDR_INFO or SCTP_STATUS. */
export interface SctpPathInfo {
  /** The peer address of this path. */
  address: string;
  /** The peer port. */
  port: number;
  /** spinfo_state: ACTIVE, INACTIVE, PF, UNCONFIRMED, UNKNOWN. */
  state: string;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Smoothed RTT, ms. */
  srtt: number;
  /** Retransmission timeout, ms. */
  rto: number;
  /** Path MTU, bytes. */
  mtu: number;
}

/** An association's state (struct sctp_status, SCTP_STATUS). */
export interface SctpStatus {
  /** The association id. */
  assocId: number;
  /** sstat_state: ESTABLISHED, SHUTDOWN_PENDING, ... */
  state: string;
  /** The peer's receive window, bytes. */
  rwnd: number;
  /** Data chunks sent and not yet acknowledged. */
  unackdata: number;
  /** Data chunks waiting to be delivered to the application. */
  penddata: number;
  /** Inbound streams negotiated. */
  instreams: number;
  /** Outbound streams negotiated. */
  outstreams: number;
  /** Message size above which SCTP fragments, bytes. */
  fragmentationPoint: number;
  /** The primary path. */
  primary: SctpPathInfo;
}

/** Decodes a struct sctp_paddrinfo at `base` of `buf`. */
export function decodePath(buf: Uint8Array, base = 0): SctpPathInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = base + SCTP_PADDRINFO.address;
  const sa = decodeSockAddr(buf.subarray(at, at + SOCKADDR_STORAGE.size));
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

/** Decodes a struct sctp_status. */
export function decodeStatus(buf: Uint8Array): SctpStatus {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
    primary: decodePath(buf, SCTP_STATUS_S.primary),
  };
}
