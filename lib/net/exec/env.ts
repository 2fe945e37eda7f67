/**
 * The environment an exec child learns its connection from, as tcpserver (ucspi-tcp)
 * and ncat give it: the protocol and both ends, IPv4 peers as plain IPv4, plus for SCTP
 * the stream and payload protocol identifier of the first message. The variables are
 * added to sockbox's own environment.
 *
 * @module
 */
import { unmapV4 } from "../../base/ip.ts";

/** What the child is told about its connection (or datagram, or association). */
export interface ExecContext {
  proto: "tcp" | "udp" | "sctp";
  remote: { address: string; port: number };
  local: { address: string; port: number };
  /** SCTP: stream and PPID of the first message. */
  sctp?: { stream: number; ppid: number } | undefined;
  /** TLS: the ALPN protocol agreed (null: none). */
  tls?: { alpn: string | null } | undefined;
}

/**
 * The SOCKBOX_* variables for a child.
 *
 * @example
 * ```ts
 * import { execEnv } from "./env.ts";
 * execEnv({
 *   proto: "tcp",
 *   remote: { address: "::ffff:127.0.0.1", port: 40000 },
 *   local: { address: "127.0.0.1", port: 7 },
 * }); // { SOCKBOX_PROTO: "tcp", SOCKBOX_REMOTE_ADDR: "127.0.0.1", ... }
 * ```
 */
export function execEnv(c: ExecContext): Record<string, string> {
  const env: Record<string, string> = {
    SOCKBOX_PROTO: c.proto,
    SOCKBOX_REMOTE_ADDR: unmapV4(c.remote.address),
    SOCKBOX_REMOTE_PORT: String(c.remote.port),
    SOCKBOX_LOCAL_ADDR: unmapV4(c.local.address),
    SOCKBOX_LOCAL_PORT: String(c.local.port),
  };
  if (c.sctp) {
    env.SOCKBOX_SCTP_STREAM = String(c.sctp.stream);
    env.SOCKBOX_SCTP_PPID = String(c.sctp.ppid);
  }
  if (c.tls) {
    env.SOCKBOX_TLS = "1";
    if (c.tls.alpn !== null) env.SOCKBOX_TLS_ALPN = c.tls.alpn;
  }
  return env;
}
