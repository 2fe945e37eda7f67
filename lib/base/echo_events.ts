/**
 * The per-connection events both echo server engines report (the Deno.listen engine in
 * lib/net/echo/server.ts and the Worker engine in lib/ffi/engine/), defined once so that the
 * two cannot drift: what the Workers post is exactly what the server emits.
 *
 * @module
 */
import { formatEndpoint } from "./errors.ts";
import type { RefusalReason } from "./refusals.ts";

/** An echo server event about one peer, connection or datagram (not `listening`/`summary`). */
export type EchoConnectionEvent =
  | { event: "accept"; proto: "tcp"; peer: string; port: number; open: number }
  | {
    event: "reject";
    proto: "tcp" | "udp";
    peer: string;
    port: number;
    reason: RefusalReason | "ipv4-peer";
  }
  | {
    /** udp, with `verbose`: a datagram dropped unanswered (counted in the summary anyway). */
    event: "drop";
    proto: "udp";
    peer: string;
    port: number;
    bytes: number;
    reason: RefusalReason;
  }
  | { event: "read"; proto: "tcp" | "udp"; peer: string; port: number; bytes: number }
  | {
    event: "close";
    proto: "tcp";
    peer: string;
    port: number;
    bytes_in: number;
    bytes_out: number;
    /** Bytes read and not echoed (bytes_in = bytes_out + bytes_dropped); absent when 0. */
    bytes_dropped?: number;
    duration_ms: number;
    reason: "eof" | "idle-timeout" | "error" | "shutdown" | "max-bytes";
    error?: string;
  }
  | { event: "error"; proto: "tcp" | "udp"; peer?: string; port?: number; error: string }
  | {
    /**
     * With `verbose`, at most once a second: connections their peers reset or abandoned
     * before accept(2) took them (ECONNABORTED, ENOTCONN, EPROTO): the peer's doing, not
     * an error of the server, so accept is retried at once.
     */
    event: "aborted";
    proto: "tcp";
    /** Such connections since the last `aborted` event. */
    count: number;
    /** Such connections since the server started. */
    total: number;
  }
  | {
    /**
     * accept(2) ran out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM): connections wait
     * in the backlog, and accept is retried every 100 ms until it works again.
     */
    event: "accept-paused";
    proto: "tcp";
    /** The failed call, e.g. `accept EMFILE`. */
    error: string;
  }
  | {
    /** accept(2) works again (for a second, without failing) after an `accept-paused` episode. */
    event: "accept-resumed";
    proto: "tcp";
    /** accept(2) calls that failed during the episode (each one a connection deferred). */
    deferred: number;
    /** From the first failure to the last. */
    duration_ms: number;
  }
  | {
    /** ffi engine only: the peer sent an urgent byte (tcp(7) out-of-band data); not echoed. */
    event: "urgent";
    proto: "tcp";
    peer: string;
    port: number;
    /** The urgent byte, 0-255. */
    byte: number;
    /** In-band bytes received on the connection before the urgent mark (SIOCATMARK). */
    offset: number;
  };

/**
 * The `reject` event of {@link EchoConnectionEvent} (a peer a server turned away), as every
 * server reports it: the inetd services, exec and SCTP too. `P` names the protocols and `R`
 * the reasons a server can give; the fields and the text stay those of the echo servers.
 */
export type RejectEvent<
  P extends string = "tcp" | "udp",
  R extends string = RefusalReason | "ipv4-peer",
> = Omit<Extract<EchoConnectionEvent, { event: "reject" }>, "proto" | "reason"> & {
  /** The protocol. */
  proto: P;
  /** `ipv4-peer`: an IPv4-mapped peer under `-6`; the rest: see {@link RefusalReason}. */
  reason: R;
};

/**
 * The human line of a `reject` event, the same for every server.
 *
 * @example
 * ```ts
 * import { rejectEventText } from "./echo_events.ts";
 * rejectEventText({ event: "reject", proto: "tcp", peer: "::1", port: 5000, reason: "max-conns" });
 * // "reject [::1]:5000 (max-conns)"
 * ```
 */
export function rejectEventText(ev: RejectEvent<string, string>): string {
  return `reject ${formatEndpoint(ev.peer, ev.port)} (${ev.reason})`;
}
