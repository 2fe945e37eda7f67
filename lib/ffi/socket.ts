/**
 * {@link Socket}: a non-blocking socket made through libc, for everything Deno's own
 * sockets cannot do (socket options before bind, multicast interface and hop limits,
 * pktinfo, SCTP, ioctl). It owns its fd; the fd never leaves `lib/ffi/`. Waiting happens
 * in the shared {@link reactor}; every syscall is made synchronously so errno is valid.
 * Each `tryX` makes one syscall and returns {@link WOULD_BLOCK} when it would block; each
 * waiting `x` is `tryX` run through {@link doIo}.
 *
 * @module
 */
import type { Endpoint } from "../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  ERRNO,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from "./constants.ts";
import { errno, lastError, orWouldBlock, sysError, WOULD_BLOCK, type WouldBlock } from "./errno.ts";
import { libc } from "./libc.ts";
import { doIo, reactor } from "./reactor.ts";
import {
  addressOf,
  decodeSockAddr,
  encodeSockAddr,
  IOVEC,
  MSGHDR,
  type SockAddr,
  SOCKADDR_STORAGE,
} from "./structs.ts";
import { SysError } from "../base/errors.ts";

/** A message read by {@link Socket.tryRecvMsg}. */
export interface RecvMsg {
  /** Bytes of payload (a view into the buffer passed in). */
  data: Uint8Array;
  /** Sender, for unconnected sockets. */
  from: SockAddr | null;
  /** `msg_flags` (MSG_TRUNC, MSG_EOR, MSG_NOTIFICATION, ...). */
  flags: number;
  /** Control data (cmsgs), a view into the control buffer. */
  control: Uint8Array;
}

function endpointOf(address: string, port: number): Endpoint {
  return { address, port };
}

/** A non-blocking socket owned by this object. */
export class Socket implements Disposable {
  #fd: number;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET. */
  readonly type: number;
  /** IPPROTO_* (0 = default for the type). */
  readonly protocol: number;
  #name = new Uint8Array(SOCKADDR_STORAGE.size);
  #nameLen = new Uint32Array(1);

  private constructor(fd: number, family: 4 | 6, type: number, protocol: number) {
    this.#fd = fd;
    this.family = family;
    this.type = type;
    this.protocol = protocol;
  }

  /** Opens a socket: `socket(AF_INET|AF_INET6, type|SOCK_NONBLOCK|SOCK_CLOEXEC, protocol)`. */
  static open(family: 4 | 6, type: number, protocol = 0): Socket {
    const fd = libc().socket(
      family === 4 ? AF_INET : AF_INET6,
      type | SOCK_NONBLOCK | SOCK_CLOEXEC,
      protocol,
    );
    if (fd < 0) throw lastError("socket");
    return new Socket(fd, family, type, protocol);
  }

  /**
   * Wraps an fd libc just returned (accept, SCTP peel-off). Internal to `lib/ffi/`.
   * @internal
   */
  static adopt(fd: number, family: 4 | 6, type: number, protocol: number): Socket {
    return new Socket(fd, family, type, protocol);
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  #checkOpen(syscall: string): number {
    if (this.#fd < 0) throw new SysError(syscall, "EBADF", {}, "socket is closed");
    return this.#fd;
  }

  /** Runs `fn(fd)` for code in `lib/ffi/` that needs the raw fd (never stored). @internal */
  withFd<T>(syscall: string, fn: (fd: number) => T): T {
    return fn(this.#checkOpen(syscall));
  }

  /** setsockopt with an int value or raw bytes. */
  setOption(level: number, name: number, value: number | Uint8Array, what = "setsockopt"): void {
    const fd = this.#checkOpen(what);
    const buf = typeof value === "number" ? new Uint8Array(new Int32Array([value]).buffer) : value;
    if (libc().setsockopt(fd, level, name, buf as Uint8Array<ArrayBuffer>, buf.length) < 0) {
      throw lastError(what);
    }
  }

  /** getsockopt into `buf` (which may carry input, e.g. an SCTP assoc id); returns the length. */
  getOptionInto(level: number, name: number, buf: Uint8Array, what = "getsockopt"): number {
    const fd = this.#checkOpen(what);
    const len = new Uint32Array([buf.length]);
    if (libc().getsockopt(fd, level, name, buf as Uint8Array<ArrayBuffer>, len) < 0) {
      throw lastError(what);
    }
    return len[0]!;
  }

  /** getsockopt of an int option. */
  getIntOption(level: number, name: number, what = "getsockopt"): number {
    const b = new Uint8Array(4);
    this.getOptionInto(level, name, b, what);
    return new DataView(b.buffer).getInt32(0, true);
  }

  /** bind(2) to `address` (IPv6 may carry `%scope`) and `port`. */
  bind(address: string, port: number, scopeId = 0): void {
    const fd = this.#checkOpen("bind");
    const sa = encodeSockAddr(address, port, scopeId);
    if (libc().bind(fd, sa, sa.length) < 0) throw lastError("bind", endpointOf(address, port));
  }

  /** listen(2). */
  listen(backlog = 511): void {
    const fd = this.#checkOpen("listen");
    if (libc().listen(fd, backlog) < 0) throw lastError("listen");
  }

  /** accept4(2) without waiting: the new connection, or {@link WOULD_BLOCK}. */
  tryAccept(): { socket: Socket; peer: SockAddr | null } | WouldBlock {
    const fd = this.#checkOpen("accept");
    this.#nameLen[0] = this.#name.length;
    const c = orWouldBlock(
      libc().accept4(fd, this.#name, this.#nameLen, SOCK_NONBLOCK | SOCK_CLOEXEC),
      "accept",
      () => this.#localEndpoint(),
    );
    if (c === WOULD_BLOCK) return c;
    return {
      socket: new Socket(c, this.family, this.type, this.protocol),
      peer: decodeSockAddr(this.#name.subarray(0, this.#nameLen[0])),
    };
  }

  /** Accepts one connection, waiting for it without blocking the event loop. */
  accept(signal?: AbortSignal): Promise<{ socket: Socket; peer: SockAddr | null }> {
    return doIo(() => this.tryAccept(), () => this.readable(signal));
  }

  /** Connects, waiting for the handshake (non-blocking connect + SO_ERROR). */
  async connect(address: string, port: number, signal?: AbortSignal, scopeId = 0): Promise<void> {
    const fd = this.#checkOpen("connect");
    const sa = encodeSockAddr(address, port, scopeId);
    if (libc().connect(fd, sa, sa.length) === 0) return;
    const e = errno();
    if (e !== ERRNO.EINPROGRESS && e !== ERRNO.EAGAIN) {
      throw sysError("connect", e, endpointOf(address, port));
    }
    await reactor.wait(fd, "write", signal);
    const soerr = this.getIntOption(SOL_SOCKET, SO_ERROR, "connect");
    if (soerr !== 0) throw sysError("connect", soerr, endpointOf(address, port));
  }

  /** connect(2) without waiting (UDP "connect" sets the default peer). */
  connectNow(address: string, port: number, scopeId = 0): void {
    const fd = this.#checkOpen("connect");
    const sa = encodeSockAddr(address, port, scopeId);
    if (libc().connect(fd, sa, sa.length) < 0) {
      throw lastError("connect", endpointOf(address, port));
    }
  }

  #addr(kind: "getsockname" | "getpeername"): SockAddr {
    const fd = this.#checkOpen(kind);
    this.#nameLen[0] = this.#name.length;
    if (libc()[kind](fd, this.#name, this.#nameLen) < 0) throw lastError(kind);
    const sa = decodeSockAddr(this.#name.subarray(0, this.#nameLen[0]));
    if (!sa) throw new SysError(kind, "EAFNOSUPPORT");
    return sa;
  }

  #localEndpoint(): Endpoint {
    try {
      const a = this.#addr("getsockname");
      return { address: a.address, port: a.port };
    } catch {
      return {};
    }
  }

  /** getsockname(2). */
  localAddress(): SockAddr {
    return this.#addr("getsockname");
  }

  /** getpeername(2). */
  peerAddress(): SockAddr {
    return this.#addr("getpeername");
  }

  /** Resolves when the socket is readable (or has an error pending). */
  readable(signal?: AbortSignal): Promise<void> {
    return reactor.wait(this.#checkOpen("poll"), "read", signal);
  }

  /** Resolves when the socket is writable. */
  writable(signal?: AbortSignal): Promise<void> {
    return reactor.wait(this.#checkOpen("poll"), "write", signal);
  }

  /**
   * One recvfrom(2) without waiting: the datagram (a view into `buf`) and its sender, or
   * {@link WOULD_BLOCK} if nothing is queued. `truncated` is set when the datagram was
   * longer than `buf`.
   */
  tryRecvFrom(
    buf: Uint8Array,
    flags = 0,
  ): { data: Uint8Array; from: SockAddr | null; truncated: boolean } | WouldBlock {
    const fd = this.#checkOpen("recvfrom");
    this.#nameLen[0] = this.#name.length;
    const n = orWouldBlock(
      Number(
        libc().recvfrom(
          fd,
          buf as Uint8Array<ArrayBuffer>,
          BigInt(buf.length),
          flags | MSG_DONTWAIT | MSG_TRUNC, // MSG_TRUNC: return the datagram's real length
          this.#name,
          this.#nameLen,
        ),
      ),
      "recvfrom",
      () => this.#localEndpoint(),
    );
    if (n === WOULD_BLOCK) return n;
    return {
      data: buf.subarray(0, Math.min(n, buf.length)),
      from: decodeSockAddr(this.#name.subarray(0, this.#nameLen[0])),
      truncated: n > buf.length,
    };
  }

  /** recvfrom(2), waiting until a datagram arrives. */
  recvFrom(
    buf: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ data: Uint8Array; from: SockAddr | null; truncated: boolean }> {
    return doIo(() => this.tryRecvFrom(buf), () => this.readable(signal));
  }

  /** sendto(2) without waiting: bytes sent, or {@link WOULD_BLOCK} if the send buffer is full. */
  trySendTo(data: Uint8Array, address: string, port: number, scopeId = 0): number | WouldBlock {
    const fd = this.#checkOpen("sendto");
    const sa = encodeSockAddr(address, port, scopeId);
    return orWouldBlock(
      Number(
        libc().sendto(
          fd,
          data as Uint8Array<ArrayBuffer>,
          BigInt(data.length),
          MSG_DONTWAIT | MSG_NOSIGNAL,
          sa,
          sa.length,
        ),
      ),
      "sendto",
      () => endpointOf(address, port),
    );
  }

  /** sendto(2), waiting for buffer space if needed. */
  sendTo(
    data: Uint8Array,
    address: string,
    port: number,
    signal?: AbortSignal,
    scopeId = 0,
  ): Promise<number> {
    return doIo(() => this.trySendTo(data, address, port, scopeId), () => this.writable(signal));
  }

  /** send(2) without waiting on a connected socket: bytes sent, or {@link WOULD_BLOCK}. */
  trySend(data: Uint8Array, flags = 0): number | WouldBlock {
    const fd = this.#checkOpen("send");
    return orWouldBlock(
      Number(
        libc().send(
          fd,
          data as Uint8Array<ArrayBuffer>,
          BigInt(data.length),
          flags | MSG_DONTWAIT | MSG_NOSIGNAL,
        ),
      ),
      "send",
      () => this.#peerEndpoint(),
    );
  }

  /** Writes all of `data` to a connected stream socket. */
  async sendAll(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const rest = data.subarray(off);
      off += await doIo(() => this.trySend(rest), () => this.writable(signal));
    }
  }

  /** recv(2) without waiting: bytes read (0 = EOF), or {@link WOULD_BLOCK}. */
  tryRecv(buf: Uint8Array, flags = 0): number | WouldBlock {
    const fd = this.#checkOpen("recv");
    return orWouldBlock(
      Number(
        libc().recv(fd, buf as Uint8Array<ArrayBuffer>, BigInt(buf.length), flags | MSG_DONTWAIT),
      ),
      "recv",
      () => this.#peerEndpoint(),
    );
  }

  /** recv(2), waiting for data; 0 means EOF. */
  recv(buf: Uint8Array, signal?: AbortSignal): Promise<number> {
    return doIo(() => this.tryRecv(buf), () => this.readable(signal));
  }

  #peerEndpoint(): Endpoint {
    try {
      const a = this.#addr("getpeername");
      return { address: a.address, port: a.port };
    } catch {
      return {};
    }
  }

  /**
   * One recvmsg(2) without waiting, with room for control data: {@link WOULD_BLOCK} when
   * nothing is queued. Views point into `buf` and `control`.
   */
  tryRecvMsg(buf: Uint8Array, control: Uint8Array, flags = 0): RecvMsg | WouldBlock {
    const fd = this.#checkOpen("recvmsg");
    const iov = new Uint8Array(IOVEC.size);
    const iovDv = new DataView(iov.buffer);
    iovDv.setBigUint64(IOVEC.base, addressOf(buf), true);
    iovDv.setBigUint64(IOVEC.len, BigInt(buf.length), true);
    const msg = new Uint8Array(MSGHDR.size);
    const dv = new DataView(msg.buffer);
    dv.setBigUint64(MSGHDR.name, addressOf(this.#name), true);
    dv.setUint32(MSGHDR.namelen, this.#name.length, true);
    dv.setBigUint64(MSGHDR.iov, addressOf(iov), true);
    dv.setBigUint64(MSGHDR.iovlen, 1n, true);
    if (control.length > 0) {
      dv.setBigUint64(MSGHDR.control, addressOf(control), true);
      dv.setBigUint64(MSGHDR.controllen, BigInt(control.length), true);
    }
    const n = orWouldBlock(
      Number(libc().recvmsg(fd, msg, flags | MSG_DONTWAIT)),
      "recvmsg",
      () => this.#localEndpoint(),
    );
    if (n === WOULD_BLOCK) return n;
    const nameLen = dv.getUint32(MSGHDR.namelen, true);
    const ctlLen = Number(dv.getBigUint64(MSGHDR.controllen, true));
    // Keep the iovec alive until here: it is only referenced by address.
    void iov.length;
    return {
      data: buf.subarray(0, Math.min(n, buf.length)),
      from: nameLen > 0 ? decodeSockAddr(this.#name.subarray(0, nameLen)) : null,
      flags: dv.getInt32(MSGHDR.flags, true),
      control: control.subarray(0, Math.min(ctlLen, control.length)),
    };
  }

  /** recvmsg(2), waiting until something arrives. */
  recvMsg(
    buf: Uint8Array,
    control: Uint8Array,
    signal?: AbortSignal,
    flags = 0,
  ): Promise<RecvMsg> {
    return doIo(() => this.tryRecvMsg(buf, control, flags), () => this.readable(signal));
  }

  /**
   * One sendmsg(2) without waiting, with optional destination and control data: bytes
   * sent, or {@link WOULD_BLOCK}.
   */
  trySendMsg(
    data: Uint8Array,
    control?: Uint8Array,
    to?: { address: string; port: number; scopeId?: number },
    flags = 0,
  ): number | WouldBlock {
    const fd = this.#checkOpen("sendmsg");
    const iov = new Uint8Array(IOVEC.size);
    const iovDv = new DataView(iov.buffer);
    iovDv.setBigUint64(IOVEC.base, addressOf(data), true);
    iovDv.setBigUint64(IOVEC.len, BigInt(data.length), true);
    const msg = new Uint8Array(MSGHDR.size);
    const dv = new DataView(msg.buffer);
    const sa = to ? encodeSockAddr(to.address, to.port, to.scopeId ?? 0) : null;
    if (sa) {
      dv.setBigUint64(MSGHDR.name, addressOf(sa), true);
      dv.setUint32(MSGHDR.namelen, sa.length, true);
    }
    dv.setBigUint64(MSGHDR.iov, addressOf(iov), true);
    dv.setBigUint64(MSGHDR.iovlen, 1n, true);
    if (control && control.length > 0) {
      dv.setBigUint64(MSGHDR.control, addressOf(control), true);
      dv.setBigUint64(MSGHDR.controllen, BigInt(control.length), true);
    }
    const n = orWouldBlock(
      Number(libc().sendmsg(fd, msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL)),
      "sendmsg",
      () => (to ? endpointOf(to.address, to.port) : this.#peerEndpoint()),
    );
    // Keep the iovec and sockaddr alive until here: msghdr refers to them by address.
    void iov.length;
    void sa?.length;
    return n;
  }

  /** sendmsg(2), waiting for buffer space if needed. */
  sendMsg(
    data: Uint8Array,
    control?: Uint8Array,
    to?: { address: string; port: number; scopeId?: number },
    signal?: AbortSignal,
    flags = 0,
  ): Promise<number> {
    return doIo(() => this.trySendMsg(data, control, to, flags), () => this.writable(signal));
  }

  /** ioctl(2) with a pointer argument (e.g. an ifreq); throws naming `what`. */
  ioctl(request: number, arg: Uint8Array, what = "ioctl"): void {
    const fd = this.#checkOpen(what);
    if (libc().ioctl_ptr(fd, BigInt(request), arg as Uint8Array<ArrayBuffer>) < 0) {
      throw lastError(what);
    }
  }

  /** shutdown(2): 0 read, 1 write, 2 both. */
  shutdown(how: number): void {
    const fd = this.#checkOpen("shutdown");
    if (libc().shutdown(fd, how) < 0) throw lastError("shutdown");
  }

  /** Closes the fd; pending waits reject. Safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    reactor.forget(fd);
    libc().close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
