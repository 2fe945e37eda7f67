/**
 * Socket options for every engine and command, in one place: which option applies to
 * which protocol and role, which must be set before bind(2), how the values the kernel
 * reads back are shown, and setting them on Deno's own sockets (the FFI sockets of the
 * ffi engine take the same {@link SockoptRequest} in lib/ffi/sockopt.ts).
 *
 * @module
 */
import { formatEndpoint } from "../../base/errors.ts";
import { tosName } from "../../base/tos.ts";
import {
  applyDenoSocketOptions,
  type Keepalive,
  readDenoSocketOptions,
  readSocketOptions,
  setSocketOptions,
  type SockoptRequest,
  type SockoptState,
} from "../../ffi/sockopt.ts";
import type { Socket } from "../../ffi/socket.ts";

export type { Keepalive, SockoptRequest, SockoptState };

/** A protocol socket options are asked for on. */
export type SockoptProto = "tcp" | "udp" | "sctp";

/** What each option is, as its flag names it, and where it applies. */
export interface SockoptSpec {
  /** The request field. */
  key: keyof SockoptRequest;
  /** The protocols it applies to. */
  protos: readonly SockoptProto[];
  /**
   * Whether it must be set before bind(2) (a Deno-owned socket is bound already).
   * SO_REUSEADDR and SO_REUSEPORT set after bind still let later sockets share the port:
   * Linux checks them on both sockets when the later one binds.
   */
  beforeBind: boolean;
}

/** Every option, by flag. */
export const SOCKOPTS: Readonly<Record<string, SockoptSpec>> = {
  "--nodelay": { key: "nodelay", protos: ["tcp"], beforeBind: false },
  "--no-nodelay": { key: "nodelay", protos: ["tcp"], beforeBind: false },
  "--keepalive": { key: "keepalive", protos: ["tcp"], beforeBind: false },
  "--rcvbuf": { key: "rcvbuf", protos: ["tcp", "udp", "sctp"], beforeBind: false },
  "--sndbuf": { key: "sndbuf", protos: ["tcp", "udp", "sctp"], beforeBind: false },
  "--ttl": { key: "ttl", protos: ["tcp", "udp"], beforeBind: false },
  "--tos": { key: "tos", protos: ["tcp", "udp", "sctp"], beforeBind: false },
  "--reuseaddr": { key: "reuseaddr", protos: ["tcp", "udp", "sctp"], beforeBind: false },
  "--reuseport": { key: "reuseport", protos: ["tcp", "udp", "sctp"], beforeBind: false },
  "--linger": { key: "linger", protos: ["tcp"], beforeBind: false },
  "--mss": { key: "mss", protos: ["tcp"], beforeBind: false },
  "--v6only": { key: "v6only", protos: ["tcp", "udp", "sctp"], beforeBind: true },
};

/** The flags in `req` that must be set before bind(2), as typed (`--reuseport`). */
export function beforeBindFlags(req: SockoptRequest): string[] {
  const out: string[] = [];
  for (const [flag, s] of Object.entries(SOCKOPTS)) {
    if (s.beforeBind && req[s.key] !== undefined && !out.includes(flag)) out.push(flag);
  }
  return out;
}

const onOff = (b: boolean) => (b ? "on" : "off");

/**
 * The options as a `-v` line shows them, in a fixed order:
 * `rcvbuf=131072 sndbuf=131072 ttl=64 tos=cs0 reuseaddr=on reuseport=off nodelay=on
 * keepalive=30,5,4 linger=off mss=1448 v6only=off` (TCP-only ones absent for UDP).
 *
 * @example
 * ```ts
 * import { sockoptsText } from "./sockopt.ts";
 * sockoptsText({ rcvbuf: 4096, sndbuf: 4096, ttl: 64, tos: 184, reuseaddr: true, reuseport: false });
 * // "rcvbuf=4096 sndbuf=4096 ttl=64 tos=ef reuseaddr=on reuseport=off"
 * ```
 */
export function sockoptsText(s: SockoptState): string {
  const parts = [
    `rcvbuf=${s.rcvbuf}`,
    `sndbuf=${s.sndbuf}`,
    `ttl=${s.ttl}`,
    `tos=${tosName(s.tos)}`,
    `reuseaddr=${onOff(s.reuseaddr)}`,
    `reuseport=${onOff(s.reuseport)}`,
  ];
  if (s.nodelay !== undefined) parts.push(`nodelay=${onOff(s.nodelay)}`);
  if (s.keepalive !== undefined) {
    const k = s.keepalive;
    parts.push(`keepalive=${k === false ? "off" : `${k.idle},${k.interval},${k.count}`}`);
  }
  if (s.linger !== undefined) parts.push(`linger=${s.linger === false ? "off" : s.linger}`);
  if (s.mss !== undefined) parts.push(`mss=${s.mss}`);
  if (s.v6only !== undefined) parts.push(`v6only=${onOff(s.v6only)}`);
  return parts.join(" ");
}

/**
 * How a client socket (`send`, `ping`) is set up: its source address and options.
 * Opened through libc when {@link needsSocketBeforeConnect} says so, else a Deno
 * socket with the options set just after connect.
 */
export interface ClientSocketOptions {
  /** bind(2) to this address and port (0: the kernel picks one) before connect(2). */
  bind?: { address: string; port: number } | undefined;
  /** The options to set. */
  sockopts?: SockoptRequest | undefined;
  /** Read every option back even when none is set (`-v`). */
  readBack?: boolean | undefined;
}

/**
 * Whether a client socket must be set up before connect(2), so through libc: a source
 * address, or an option that matters only before it (TCP_MAXSEG is sent in the SYN;
 * SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY act at bind(2)).
 *
 * @example
 * ```ts
 * import { needsSocketBeforeConnect } from "./sockopt.ts";
 * needsSocketBeforeConnect({ sockopts: { ttl: 7 } }); // false: set after connect
 * needsSocketBeforeConnect({ sockopts: { mss: 1000 } }); // true
 * ```
 */
export function needsSocketBeforeConnect(o: ClientSocketOptions | undefined): boolean {
  const r = o?.sockopts;
  return o?.bind !== undefined || r?.mss !== undefined || r?.reuseaddr !== undefined ||
    r?.reuseport !== undefined || r?.v6only !== undefined;
}

/**
 * A client's `connected` event: its own address and port (as getsockname(2) gives them,
 * `--bind` or the kernel's choice), the peer, and with options asked for (or `-v`) every
 * option as getsockopt(2) reads it back once connected.
 */
export interface ConnectedEvent {
  event: "connected";
  proto: "tcp" | "udp";
  /** The socket's own address. */
  local: string;
  /** The socket's own port. */
  local_port: number;
  /** The peer's address. */
  peer: string;
  /** The peer's port. */
  port: number;
  /** Every option as read back. */
  options?: SockoptState;
}

/**
 * The `connected` event of a client socket from what its opener returns (`t.address` and
 * `t.port`: the peer; `t.local`: getsockname(2); `t.options`: as read back).
 */
export function connectedEvent(
  proto: "tcp" | "udp",
  t: {
    address: string;
    port: number;
    local: { address: string; port: number };
    options?: SockoptState | undefined;
  },
): ConnectedEvent {
  return {
    event: "connected",
    proto,
    local: t.local.address,
    local_port: t.local.port,
    peer: t.address,
    port: t.port,
    ...(t.options ? { options: t.options } : {}),
  };
}

/**
 * The human line of a `connected` event:
 * `connected tcp 127.0.0.5:4000 -> 127.0.0.1:7 options rcvbuf=... ...`.
 *
 * @example
 * ```ts
 * import { connectedEventText } from "./sockopt.ts";
 * connectedEventText({
 *   event: "connected", proto: "udp", local: "::1", local_port: 5000, peer: "::1", port: 7,
 * }); // "connected udp [::1]:5000 -> [::1]:7"
 * ```
 */
export function connectedEventText(ev: ConnectedEvent): string {
  return `connected ${ev.proto} ${formatEndpoint(ev.local, ev.local_port)} -> ` +
    `${formatEndpoint(ev.peer, ev.port)}${
      ev.options ? ` options ${sockoptsText(ev.options)}` : ""
    }`;
}

/**
 * Readies a client FFI socket that is not yet bound or connected: sets `o`'s options
 * (all of them: before connect(2) they apply to the handshake too), then binds it to
 * `o.bind` (a busy port: `bind EADDRINUSE ADDR:PORT`).
 */
export function prepareClientSocket(sock: Socket, o: ClientSocketOptions | undefined): void {
  if (o?.sockopts) setSocketOptions(sock, o.sockopts);
  if (o?.bind) sock.bind(o.bind.address, o.bind.port);
}

/** A connected client FFI socket's options as read back, when `o` asks for them. */
export function clientSocketState(
  sock: Socket,
  o: ClientSocketOptions | undefined,
): SockoptState | undefined {
  return o?.sockopts || o?.readBack ? readSocketOptions(sock) : undefined;
}

/**
 * For a connected Deno TCP socket: sets `o`'s options (those that may come after
 * connect, see {@link needsSocketBeforeConnect}) and reads every one back; with none set
 * and `o.readBack`, only reads them (undefined where libc is out of reach).
 */
export function clientConnState(
  conn: Deno.Conn,
  o: ClientSocketOptions | undefined,
): SockoptState | undefined {
  if (o?.sockopts) return applyConnOptions(conn, o.sockopts);
  if (!o?.readBack) return undefined;
  try {
    return readConnOptions(conn);
  } catch (err) {
    if ((err as Error)?.name === "NotCapable") return undefined;
    throw err;
  }
}

/**
 * Sets `req` on a Deno listener or UDP socket (after bind: `--v6only`, which must come
 * before it, is refused by the parsers) and reads every option back.
 */
export function applyListenerOptions(
  sock: Deno.Listener | Deno.DatagramConn,
  transport: "tcp" | "udp",
  req: SockoptRequest,
): SockoptState {
  return applyDenoSocketOptions({ transport, local: sock.addr as Deno.NetAddr }, req);
}

/** Sets `req` on a connected Deno TCP socket and reads every option back. */
export function applyConnOptions(conn: Deno.Conn, req: SockoptRequest): SockoptState {
  return applyDenoSocketOptions({
    transport: "tcp",
    local: conn.localAddr as Deno.NetAddr,
    remote: conn.remoteAddr as Deno.NetAddr,
  }, req);
}

/** Reads every option of a connected Deno TCP socket. */
export function readConnOptions(conn: Deno.Conn): SockoptState {
  return readDenoSocketOptions({
    transport: "tcp",
    local: conn.localAddr as Deno.NetAddr,
    remote: conn.remoteAddr as Deno.NetAddr,
  });
}

/**
 * For an engine that has just bound `sock`: `{ options }` as read back after setting
 * `req`, or `{}` without a request. On failure the socket is closed and the error thrown.
 */
export function listenerOptions(
  sock: Deno.Listener | Deno.DatagramConn,
  transport: "tcp" | "udp",
  req: SockoptRequest | undefined,
): { options?: SockoptState } {
  if (!req) return {};
  try {
    return { options: applyListenerOptions(sock, transport, req) };
  } catch (err) {
    try {
      sock.close();
    } catch { /* closed */ }
    throw err;
  }
}
