/**
 * Socket options for every engine and command, in one place: which option applies to
 * which protocol and role, which must be set before bind(2), how the values the kernel
 * reads back are shown, and setting them on Deno's own sockets (the FFI sockets of the
 * ffi engine take the same {@link SockoptRequest} in lib/ffi/sockopt.ts).
 *
 * @module
 */
import { tosName } from "../../base/tos.ts";
import {
  applyDenoSocketOptions,
  type Keepalive,
  readDenoSocketOptions,
  type SockoptRequest,
  type SockoptState,
} from "../../ffi/sockopt.ts";

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
