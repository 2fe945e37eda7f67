/**
 * SCTP through libc alone: {@link SctpSocket} wraps a non-blocking {@link Socket} and adds
 * what libsctp would (INITMSG, event subscription, SCTP_SNDRCV send/receive info,
 * notifications, bindx, connectx, peel-off, address lists, status and the
 * sctp_opt_info options). libsctp's functions are thin wrappers over socket options, so
 * every call here is a plain setsockopt/getsockopt/sendmsg/recvmsg (RFC 6458, sections 8
 * and 9; sctp_bindx(3), sctp_connectx(3), sctp_peeloff(3)).
 *
 * Numbers are in constants.ts, layouts in structs.ts and the byte codecs in
 * sctp_codec.ts; tests/sctp/cases.ts checks them against the kernel.
 *
 * @module
 */
import { RuntimeError, SysError } from "../base/errors.ts";
import {
  ERRNO,
  F_GETFL,
  F_SETFL,
  IPPROTO_SCTP,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_NOSIGNAL,
  MSG_NOTIFICATION,
  O_NONBLOCK,
  SCTP_ABORT,
  SCTP_ASSOCINFO,
  SCTP_DEFAULT_SEND_PARAM,
  SCTP_EVENTS,
  SCTP_GET_LOCAL_ADDRS,
  SCTP_GET_PEER_ADDR_INFO,
  SCTP_GET_PEER_ADDRS,
  SCTP_INITMSG,
  SCTP_NODELAY,
  SCTP_PEER_ADDR_PARAMS,
  SCTP_RTOINFO,
  SCTP_SOCKOPT_BINDX_ADD,
  SCTP_SOCKOPT_BINDX_REM,
  SCTP_SOCKOPT_CONNECTX,
  SCTP_SOCKOPT_PEELOFF,
  SCTP_STATUS,
  SO_ERROR,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SPP_HB_DISABLE,
  SPP_HB_ENABLE,
} from "./constants.ts";
import {
  errnoName,
  errnoOf,
  lastError,
  orWouldBlock,
  sysError,
  WOULD_BLOCK,
  type WouldBlock,
} from "./errno.ts";
import { libc } from "./libc.ts";
import { doIo } from "./reactor.ts";
import {
  decodeNotification,
  decodePackedAddrs,
  decodePath,
  decodeStatus,
  fillSndrcvCmsg,
  packAddrs,
  parseSndrcv,
  type RecvInfo,
  type SctpNotification,
  type SctpPathInfo,
  type SctpStatus,
  type SendInfo,
  sndrcvCmsg,
} from "./sctp_codec.ts";
import { Socket } from "./socket.ts";
import { applySocketOptions, type SockoptRequest, type SockoptState } from "./sockopt.ts";
import {
  addressOf,
  CMSGHDR,
  decodeSockAddr,
  encodeSockAddr,
  IOVEC,
  LINGER,
  MSGHDR,
  SCTP_ASSOCPARAMS,
  SCTP_EVENT_SUBSCRIBE,
  SCTP_GETADDRS,
  SCTP_INITMSG_S,
  SCTP_PADDRINFO,
  SCTP_PADDRPARAMS,
  SCTP_PEELOFF_ARG,
  SCTP_RTOINFO_S,
  SCTP_SNDRCVINFO,
  SCTP_STATUS_S,
  type SockAddr,
  SOCKADDR_IN6,
  SOCKADDR_STORAGE,
} from "./structs.ts";

/** The socket styles (RFC 6458 sections 3 and 4). */
export type SctpStyle = "one-to-one" | "one-to-many";

/** One message read by {@link SctpSocket.receive}. */
export type SctpMessage =
  | { kind: "data"; data: Uint8Array; info: RecvInfo | null; from: SockAddr | null; flags: number }
  | { kind: "notification"; notification: SctpNotification; from: SockAddr | null };

/** Which notifications to subscribe to (SCTP_EVENTS). */
export interface EventSubscription {
  dataIo?: boolean;
  association?: boolean;
  address?: boolean;
  sendFailure?: boolean;
  peerError?: boolean;
  shutdown?: boolean;
}

/** The notifications the echo server and client report, plus per-message info. */
export const ALL_EVENTS: EventSubscription = {
  dataIo: true,
  association: true,
  address: true,
  sendFailure: true,
  peerError: true,
  shutdown: true,
};

/** socket(2) errors that mean "this kernel has no SCTP". */
const NOT_AVAILABLE = new Set<number>([
  ERRNO.EPROTONOSUPPORT,
  ERRNO.ESOCKTNOSUPPORT,
  ERRNO.EPFNOSUPPORT,
]);

/** The error sockbox prints when the kernel has no SCTP. */
export class SctpUnavailableError extends RuntimeError {
  /** The error class name. */
  override name = "SctpUnavailableError";
  /** `code`: the errno name socket(2) failed with (EPROTONOSUPPORT). */
  constructor(code: string) {
    super(`SCTP is not available in this kernel (socket: ${code}); try 'modprobe sctp'`);
  }
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

  /**
   * socket(7)/ip(7) options (SO_RCVBUF, IP_TOS, SO_REUSEPORT, IPV6_V6ONLY, ...; the tcp(7)
   * ones do not apply): sets `req`, then reads every one back.
   */
  applyOptions(req: SockoptRequest): SockoptState {
    return applySocketOptions(this.#sock, req);
  }

  /** SCTP_NODELAY (on: no bundling delay). */
  setNoDelay(on: boolean): void {
    this.#sock.setOption(IPPROTO_SCTP, SCTP_NODELAY, on ? 1 : 0, "setsockopt SCTP_NODELAY");
  }

  /** SO_SNDBUF / SO_RCVBUF. */
  setBuffers(bytes: number): void {
    this.#sock.setOption(SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt SO_SNDBUF");
    this.#sock.setOption(SOL_SOCKET, SO_RCVBUF, bytes, "setsockopt SO_RCVBUF");
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
      ppid: dv.getUint32(SCTP_SNDRCVINFO.ppid, false),
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
    return decodeStatus(b);
  }

  /** SCTP_GET_PEER_ADDR_INFO for one peer address. */
  pathInfo(address: string, port: number, assocId = 0): SctpPathInfo {
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
    const count = dv.getUint32(SCTP_GETADDRS.addrNum, true);
    return decodePackedAddrs(b.subarray(SCTP_GETADDRS.addrs), count);
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
      if (n !== ERRNO.EINPROGRESS) {
        if (e instanceof SysError) {
          throw new SysError("connect", e.code, first, undefined, { cause: e });
        }
        throw e;
      }
    }
    await this.#sock.writable(signal);
    const soerr = this.#sock.getIntOption(SOL_SOCKET, SO_ERROR, "connect");
    if (soerr !== 0) throw sysError("connect", soerr, first);
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
   * One sendmsg with an SCTP_SNDRCV cmsg, without waiting: bytes sent, or
   * {@link WOULD_BLOCK} when the send buffer is full. The msghdr, iovec and cmsg are
   * allocated once per socket.
   */
  trySend(
    data: Uint8Array,
    info: SendInfo = {},
    to?: { address: string; port: number },
  ): number | WouldBlock {
    fillSndrcvCmsg(this.#sendCtl, info);
    if (to) return this.#sock.trySendMsg(data, this.#sendCtl, to);
    const io = this.#io;
    io.sendIov.setBigUint64(IOVEC.base, addressOf(data), true);
    io.sendIov.setBigUint64(IOVEC.len, BigInt(data.length), true);
    return this.#sock.withFd(
      "sendmsg",
      (fd) =>
        orWouldBlock(
          Number(libc().sendmsg(fd, io.sendMsg, MSG_DONTWAIT | MSG_NOSIGNAL)),
          "sendmsg",
          () => this.#peerEndpoint(),
        ),
    );
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
  send(
    data: Uint8Array,
    info: SendInfo = {},
    signal?: AbortSignal,
    to?: { address: string; port: number },
  ): Promise<number> {
    return doIo(() => this.trySend(data, info, to), () => this.#sock.writable(signal));
  }

  /**
   * One whole message without waiting: {@link WOULD_BLOCK} when no complete message is
   * queued yet (the pieces of a partially delivered message are kept and joined until
   * MSG_EOR, as the getmsg() loop of the Solaris Socket Interfaces guide's SCTP echo
   * example does), `{kind: "eof"}` when a one-to-one association has ended. Data views
   * point into an internal buffer that the next call reuses; `from` is decoded when read.
   */
  tryReceive(): SctpMessage | { kind: "eof" } | WouldBlock {
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
        (fd) =>
          orWouldBlock(
            Number(libc().recvmsg(fd, io.recvMsg, MSG_DONTWAIT)),
            "recvmsg",
            () => this.#peerEndpoint(),
          ),
      );
      if (n === WOULD_BLOCK) return n;
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
  receive(signal?: AbortSignal): Promise<SctpMessage | { kind: "eof" }> {
    return doIo(() => this.tryReceive(), () => this.#sock.readable(signal));
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
    const linger = new Uint8Array(LINGER.size);
    const dv = new DataView(linger.buffer);
    dv.setInt32(LINGER.onoff, 1, true);
    dv.setInt32(LINGER.linger, 0, true); // linger 0: close sends ABORT
    this.#sock.setOption(SOL_SOCKET, SO_LINGER, linger, "setsockopt SO_LINGER");
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
  sock.withFd("fcntl", (fd) => {
    const fl = libc().fcntl_int(fd, F_GETFL, 0);
    if (fl < 0 || libc().fcntl_int(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw lastError("fcntl");
  });
}
