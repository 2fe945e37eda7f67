/**
 * Socket options, set and read back in one place: socket(7), ip(7), ipv6(7), tcp(7).
 * Works on an FFI {@link Socket} or on a socket Deno owns, found by its addresses (Deno
 * gives no fd: the fds of the process are scanned with getsockname(2)/getpeername(2) and
 * SO_TYPE, and the match is used without ever being closed). The fd never leaves this
 * file. Options the kernel adjusts (SO_RCVBUF doubling, caps) are reported as read back.
 *
 * @module
 */
import {
  IP_TOS,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_NODELAY,
} from "./constants.ts";
import { lastError } from "./errno.ts";
import { libc } from "./libc.ts";
import type { Socket } from "./socket.ts";
import { decodeSockAddr, SOCKADDR_STORAGE } from "./structs.ts";
import { SysError } from "../base/errors.ts";
import { unmapV4 } from "../base/ip.ts";

/** TCP keepalive timers (tcp(7) TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT). */
export interface Keepalive {
  /** Seconds idle before the first probe. */
  idle: number;
  /** Seconds between probes (kernel default when absent). */
  interval?: number;
  /** Probes unanswered before the connection is dropped (kernel default when absent). */
  count?: number;
}

/** What to set; absent fields are left as the kernel has them. */
export interface SockoptRequest {
  /** TCP_NODELAY. */
  nodelay?: boolean;
  /** SO_KEEPALIVE on with these timers (false: off). */
  keepalive?: Keepalive | false;
  /** SO_RCVBUF bytes (the kernel doubles it, socket(7)). */
  rcvbuf?: number;
  /** SO_SNDBUF bytes (doubled too). */
  sndbuf?: number;
  /** IP_TTL, or IPV6_UNICAST_HOPS on an IPv6 socket. */
  ttl?: number;
  /** IP_TOS, or IPV6_TCLASS on an IPv6 socket. */
  tos?: number;
  /** SO_REUSEADDR (before bind to matter). */
  reuseaddr?: boolean;
  /** SO_REUSEPORT (before bind to matter). */
  reuseport?: boolean;
  /** SO_LINGER on with this many seconds (0: close resets). */
  linger?: number;
  /** TCP_MAXSEG (before connect or listen). */
  mss?: number;
  /** IPV6_V6ONLY (before bind). */
  v6only?: boolean;
}

/** The options as getsockopt(2) reads them back; fields that do not apply are absent. */
export interface SockoptState {
  /** SO_RCVBUF. */
  rcvbuf: number;
  /** SO_SNDBUF. */
  sndbuf: number;
  /** IP_TTL or IPV6_UNICAST_HOPS. */
  ttl: number;
  /** IP_TOS or IPV6_TCLASS. */
  tos: number;
  /** SO_REUSEADDR. */
  reuseaddr: boolean;
  /** SO_REUSEPORT. */
  reuseport: boolean;
  /** TCP: TCP_NODELAY. */
  nodelay?: boolean;
  /** TCP: keepalive timers, or false when SO_KEEPALIVE is off. */
  keepalive?: Required<Keepalive> | false;
  /** TCP: SO_LINGER seconds, or false when off. */
  linger?: number | false;
  /** TCP: TCP_MAXSEG. */
  mss?: number;
  /** IPv6 sockets: IPV6_V6ONLY. */
  v6only?: boolean;
}

/** Which socket a Deno-owned one is: its local address, and its peer when connected. */
export interface DenoSocketKey {
  /** "tcp" or "udp". */
  transport: "tcp" | "udp";
  /** The socket's local address (`listener.addr`, `conn.localAddr`, `udp.addr`). */
  local: { hostname: string; port: number };
  /** The peer (`conn.remoteAddr`) of an accepted or connected TCP socket. */
  remote?: { hostname: string; port: number };
}

const int = (v: number) => new Uint8Array(new Int32Array([v]).buffer);

function setRaw(fd: number, level: number, name: number, buf: Uint8Array, what: string) {
  if (libc().setsockopt(fd, level, name, buf as Uint8Array<ArrayBuffer>, buf.length) < 0) {
    throw lastError("setsockopt", {}, what);
  }
}

function getInt(fd: number, level: number, name: number, what: string): number {
  const b = new Uint8Array(4), len = new Uint32Array([4]);
  if (libc().getsockopt(fd, level, name, b, new Uint8Array(len.buffer)) < 0) {
    throw lastError("getsockopt", {}, what);
  }
  return new DataView(b.buffer).getInt32(0, true);
}

function familyOf(fd: number): 4 | 6 {
  const sa = new Uint8Array(SOCKADDR_STORAGE.size), len = new Uint32Array([sa.length]);
  if (libc().getsockname(fd, sa, new Uint8Array(len.buffer)) < 0) throw lastError("getsockname");
  return decodeSockAddr(sa.subarray(0, len[0]))?.family ?? 4;
}

/** Sets `req` on `fd`, in the order that matters (reuse and v6only first, MSS before I/O). */
function setOn(fd: number, family: 4 | 6, stream: boolean, req: SockoptRequest): void {
  const on = (b: boolean | undefined) => int(b ? 1 : 0);
  if (req.reuseaddr !== undefined) {
    setRaw(fd, SOL_SOCKET, SO_REUSEADDR, on(req.reuseaddr), "SO_REUSEADDR");
  }
  if (req.reuseport !== undefined) {
    setRaw(fd, SOL_SOCKET, SO_REUSEPORT, on(req.reuseport), "SO_REUSEPORT");
  }
  if (req.v6only !== undefined && family === 6) {
    setRaw(fd, IPPROTO_IPV6, IPV6_V6ONLY, on(req.v6only), "IPV6_V6ONLY");
  }
  if (req.rcvbuf !== undefined) setRaw(fd, SOL_SOCKET, SO_RCVBUF, int(req.rcvbuf), "SO_RCVBUF");
  if (req.sndbuf !== undefined) setRaw(fd, SOL_SOCKET, SO_SNDBUF, int(req.sndbuf), "SO_SNDBUF");
  if (req.ttl !== undefined) {
    if (family === 6) {
      setRaw(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, int(req.ttl), "IPV6_UNICAST_HOPS");
    } else setRaw(fd, IPPROTO_IP, IP_TTL, int(req.ttl), "IP_TTL");
  }
  if (req.tos !== undefined) {
    if (family === 6) setRaw(fd, IPPROTO_IPV6, IPV6_TCLASS, int(req.tos), "IPV6_TCLASS");
    else setRaw(fd, IPPROTO_IP, IP_TOS, int(req.tos), "IP_TOS");
  }
  if (!stream) return;
  if (req.nodelay !== undefined) {
    setRaw(fd, IPPROTO_TCP, TCP_NODELAY, on(req.nodelay), "TCP_NODELAY");
  }
  if (req.keepalive !== undefined) {
    const k = req.keepalive;
    setRaw(fd, SOL_SOCKET, SO_KEEPALIVE, on(k !== false), "SO_KEEPALIVE");
    if (k) {
      setRaw(fd, IPPROTO_TCP, TCP_KEEPIDLE, int(k.idle), "TCP_KEEPIDLE");
      if (k.interval !== undefined) {
        setRaw(fd, IPPROTO_TCP, TCP_KEEPINTVL, int(k.interval), "TCP_KEEPINTVL");
      }
      if (k.count !== undefined) setRaw(fd, IPPROTO_TCP, TCP_KEEPCNT, int(k.count), "TCP_KEEPCNT");
    }
  }
  if (req.linger !== undefined) {
    setRaw(
      fd,
      SOL_SOCKET,
      SO_LINGER,
      new Uint8Array(new Int32Array([1, req.linger]).buffer),
      "SO_LINGER",
    );
  }
  if (req.mss !== undefined) setRaw(fd, IPPROTO_TCP, TCP_MAXSEG, int(req.mss), "TCP_MAXSEG");
}

/** Reads every option back from `fd`. */
function readFrom(fd: number, family: 4 | 6, stream: boolean): SockoptState {
  const g = (level: number, name: number, what: string) => getInt(fd, level, name, what);
  const s: SockoptState = {
    rcvbuf: g(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"),
    sndbuf: g(SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"),
    ttl: family === 6
      ? g(IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS")
      : g(IPPROTO_IP, IP_TTL, "IP_TTL"),
    tos: family === 6
      ? g(IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS")
      : g(IPPROTO_IP, IP_TOS, "IP_TOS"),
    reuseaddr: g(SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR") !== 0,
    reuseport: g(SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT") !== 0,
  };
  if (stream) {
    s.nodelay = g(IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY") !== 0;
    s.keepalive = g(SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE") === 0 ? false : {
      idle: g(IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE"),
      interval: g(IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"),
      count: g(IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"),
    };
    const l = new Int32Array(2), len = new Uint32Array([8]);
    const lb = new Uint8Array(l.buffer);
    if (libc().getsockopt(fd, SOL_SOCKET, SO_LINGER, lb, new Uint8Array(len.buffer)) < 0) {
      throw lastError("getsockopt", {}, "SO_LINGER");
    }
    s.linger = l[0] ? l[1]! : false;
    s.mss = g(IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
  }
  if (family === 6) s.v6only = g(IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY") !== 0;
  return s;
}

/**
 * Sets `req` on sockets lib/ffi/ opened itself (the echo data plane's bound sockets),
 * then reads the first one's options back. Internal to `lib/ffi/`.
 * @internal
 */
export function applyToFds(
  fds: readonly number[],
  stream: boolean,
  req: SockoptRequest,
): SockoptState {
  for (const fd of fds) setOn(fd, familyOf(fd), stream, req);
  return readFrom(fds[0]!, familyOf(fds[0]!), stream);
}

/** Whether the tcp(7) options apply: SOCK_STREAM, but not one-to-one SCTP. */
const isTcp = (sock: Socket) => sock.type === SOCK_STREAM && sock.protocol !== IPPROTO_SCTP;

/** Sets `req` on an FFI socket, then reads every option back. */
export function applySocketOptions(sock: Socket, req: SockoptRequest): SockoptState {
  const stream = isTcp(sock);
  return sock.withFd("setsockopt", (fd) => {
    setOn(fd, sock.family, stream, req);
    return readFrom(fd, sock.family, stream);
  });
}

/**
 * Sets `req` on an FFI socket without reading anything back: for a client socket not yet
 * bound or connected (SO_REUSEADDR, SO_REUSEPORT and TCP_MAXSEG matter only then).
 */
export function setSocketOptions(sock: Socket, req: SockoptRequest): void {
  sock.withFd("setsockopt", (fd) => setOn(fd, sock.family, isTcp(sock), req));
}

/** Reads every option of an FFI socket back. */
export function readSocketOptions(sock: Socket): SockoptState {
  return sock.withFd("getsockopt", (fd) => readFrom(fd, sock.family, isTcp(sock)));
}

/**
 * Sets `req` on a socket Deno owns, then reads every option back. Options that only
 * matter before bind (reuse, v6only) or before connect/listen for a client (MSS) are
 * the caller's to refuse. Throws `SysError` (`getsockname ENOENT`) when no fd matches.
 */
export function applyDenoSocketOptions(key: DenoSocketKey, req: SockoptRequest): SockoptState {
  const fd = findDenoFd(key);
  const family = familyOf(fd);
  const stream = key.transport === "tcp";
  setOn(fd, family, stream, req);
  return readFrom(fd, family, stream);
}

/** Reads every option of a socket Deno owns. */
export function readDenoSocketOptions(key: DenoSocketKey): SockoptState {
  const fd = findDenoFd(key);
  return readFrom(fd, familyOf(fd), key.transport === "tcp");
}

const sameHost = (a: string, b: string) => a === b || unmapV4(a) === unmapV4(b);

/**
 * Finds the fd of a Deno socket (deno-facts 1.5): getsockname port and address, SO_TYPE,
 * and getpeername for a connected one (a listener and its accepted sockets share the
 * local port; a listener has no peer). Gives up after 1024 closed fds in a row.
 */
function findDenoFd(key: DenoSocketKey): number {
  const want = key.transport === "tcp" ? SOCK_STREAM : SOCK_DGRAM;
  const sa = new Uint8Array(SOCKADDR_STORAGE.size), len = new Uint32Array(1);
  const lenB = new Uint8Array(len.buffer);
  const l = libc();
  for (let fd = 3, misses = 0; misses < 1024 && fd < 1 << 22; fd++) {
    len[0] = sa.length;
    if (l.getsockname(fd, sa, lenB) < 0) {
      misses++;
      continue;
    }
    misses = 0;
    const me = decodeSockAddr(sa.subarray(0, len[0]));
    if (!me || me.port !== key.local.port || !sameHost(me.address, key.local.hostname)) continue;
    let type: number;
    try {
      type = getInt(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    } catch {
      continue;
    }
    if (type !== want) continue;
    len[0] = sa.length;
    const connected = l.getpeername(fd, sa, lenB) === 0;
    if (!key.remote) {
      if (want === SOCK_STREAM && connected) continue;
      return fd;
    }
    if (!connected) continue;
    const peer = decodeSockAddr(sa.subarray(0, len[0]));
    if (peer && peer.port === key.remote.port && sameHost(peer.address, key.remote.hostname)) {
      return fd;
    }
  }
  throw new SysError(
    "getsockname",
    "ENOENT",
    { address: key.local.hostname, port: key.local.port },
    "no socket of this process has that address",
  );
}
