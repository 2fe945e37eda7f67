/**
 * How `check` names what happened to a probe: the ICMP and ICMPv6 destination-unreachable
 * codes by the names nftables and iptables use (RFC 792, RFC 1812 section 5.2.7.1,
 * RFC 4443 section 3.1), and the one result each failure maps to.
 *
 * @module
 */

/** The transports `check` probes. */
export type Proto = "tcp" | "udp" | "sctp";

/** The result of one cell (address x protocol). */
export type CellResult =
  | "ok"
  | "refused"
  | "rejected"
  | "filtered"
  | "no-route"
  | "unsupported"
  | "not-echo";

/** An error the kernel queued for a socket (IP_RECVERR / IPV6_RECVERR). */
export interface QueuedError {
  /** The errno it stands for (`EHOSTUNREACH`). */
  errno: string;
  /** "icmp", "icmp6", "local", ... */
  origin: string;
  type: number;
  code: number;
  /** The MTU, for "fragmentation needed" / "packet too big" and local EMSGSIZE. */
  info: number;
  /** Who sent the ICMP message, when the kernel tells. */
  offender: string | null;
}

/** Why a cell is not `ok`. */
export interface Failure {
  result: Exclude<CellResult, "ok">;
  reason: string;
  /** Who sent the ICMP message, when known. */
  from: string | null;
}

/** ICMP destination-unreachable codes (type 3), RFC 792 and RFC 1812. */
const ICMP_UNREACH: readonly string[] = [
  "net-unreachable",
  "host-unreachable",
  "prot-unreachable",
  "port-unreachable",
  "frag-needed",
  "source-route-failed",
  "net-unknown",
  "host-unknown",
  "host-isolated",
  "net-prohibited",
  "host-prohibited",
  "net-unreachable-for-tos",
  "host-unreachable-for-tos",
  "admin-prohibited",
  "host-precedence-violation",
  "precedence-cutoff",
];

/** ICMPv6 destination-unreachable codes (type 1), RFC 4443 section 3.1. */
const ICMP6_UNREACH: readonly string[] = [
  "no-route",
  "admin-prohibited",
  "beyond-scope",
  "addr-unreachable",
  "port-unreachable",
  "policy-fail",
  "reject-route",
];

/** Whether `e` came from an ICMP or ICMPv6 message (rather than from this host). */
export function isIcmp(e: QueuedError): boolean {
  return e.origin === "icmp" || e.origin === "icmp6";
}

/** Whether `e` says a datagram was too big for the path (frag-needed, packet-too-big). */
export function isTooBig(e: QueuedError): boolean {
  return (e.origin === "icmp" && e.type === 3 && e.code === 4) ||
    (e.origin === "icmp6" && e.type === 2) || (e.origin === "local" && e.errno === "EMSGSIZE");
}

/** Whether `e` is ICMP "port unreachable": nothing listens there (RFC 1122 4.1.3.1). */
export function isPortUnreachable(e: QueuedError): boolean {
  return (e.origin === "icmp" && e.type === 3 && e.code === 3) ||
    (e.origin === "icmp6" && e.type === 1 && e.code === 4);
}

/**
 * The name of a queued error: `ICMP admin-prohibited`, `ICMPv6 packet-too-big (mtu 1400)`,
 * `local EMSGSIZE (mtu 1500)`.
 *
 * @example
 * ```ts
 * import { errorText } from "./classify.ts";
 * errorText({ errno: "EHOSTUNREACH", origin: "icmp", type: 3, code: 13, info: 0, offender: null });
 * // "ICMP admin-prohibited"
 * ```
 */
export function errorText(e: QueuedError): string {
  const mtu = e.info > 0 ? ` (mtu ${e.info})` : "";
  if (e.origin === "icmp") {
    if (e.type === 3) {
      const name = ICMP_UNREACH[e.code] ?? `unreachable code ${e.code}`;
      return `ICMP ${name}${e.code === 4 ? mtu : ""}`;
    }
    if (e.type === 11) return "ICMP time-exceeded";
    if (e.type === 12) return "ICMP parameter-problem";
    return `ICMP type ${e.type} code ${e.code}`;
  }
  if (e.origin === "icmp6") {
    if (e.type === 1) return `ICMPv6 ${ICMP6_UNREACH[e.code] ?? `unreachable code ${e.code}`}`;
    if (e.type === 2) return `ICMPv6 packet-too-big${mtu}`;
    if (e.type === 3) return "ICMPv6 time-exceeded";
    if (e.type === 4) return "ICMPv6 parameter-problem";
    return `ICMPv6 type ${e.type} code ${e.code}`;
  }
  return `local ${e.errno}${e.errno === "EMSGSIZE" ? mtu : ""}`;
}

/** A failed call: the syscall and its errno name, as `SysError` carries them. */
export interface CallError {
  syscall: string;
  code: string;
}

const UNSUPPORTED = new Set(["EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EPFNOSUPPORT"]);
const NO_ROUTE = new Set(["ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL", "ENETDOWN", "EHOSTDOWN"]);

/**
 * Classifies a failed probe from the call that failed and the error the kernel queued for
 * it (null when none was queued). `local` is this end's address: an ICMP host-unreachable
 * from ourselves means the next hop never answered ARP / neighbour discovery.
 *
 * @example
 * ```ts
 * import { classify } from "./classify.ts";
 * classify("udp", { syscall: "recv", code: "EHOSTUNREACH" }, {
 *   errno: "EHOSTUNREACH", origin: "icmp", type: 3, code: 13, info: 0, offender: "192.0.2.1",
 * });
 * // { result: "rejected", reason: "ICMP admin-prohibited", from: "192.0.2.1" }
 * ```
 */
export function classify(
  proto: Proto,
  err: CallError | null,
  queued: QueuedError | null,
  local?: string,
): Failure {
  if (queued && isIcmp(queued)) {
    const reason = errorText(queued);
    const from = queued.offender;
    if (isPortUnreachable(queued)) return { result: "refused", reason, from };
    const hostUnreach = (queued.origin === "icmp" && queued.type === 3 && queued.code === 1) ||
      (queued.origin === "icmp6" && queued.type === 1 && queued.code === 3);
    if (hostUnreach && from !== null && from === local) {
      return { result: "no-route", reason: `${reason}: the next hop did not answer`, from };
    }
    return { result: "rejected", reason, from };
  }
  if (err === null) return { result: "filtered", reason: "no answer", from: null };
  const what = `${err.syscall} ${err.code}`;
  switch (err.code) {
    case "ECONNREFUSED":
      return {
        result: "refused",
        reason: proto === "tcp"
          ? "TCP RST"
          : proto === "sctp"
          ? "SCTP ABORT"
          : "ICMP port-unreachable",
        from: null,
      };
    case "ETIMEDOUT":
      return { result: "filtered", reason: "no answer", from: null };
    case "EAFNOSUPPORT":
      return {
        result: "unsupported",
        reason: `address family not supported (${what})`,
        from: null,
      };
    case "ECONNRESET":
      return { result: "not-echo", reason: "connection reset", from: null };
    case "EPIPE":
      return { result: "not-echo", reason: "connection closed", from: null };
  }
  if (UNSUPPORTED.has(err.code)) {
    return {
      result: "unsupported",
      reason: proto === "sctp" ? "no SCTP in this kernel" : what,
      from: null,
    };
  }
  // SCTP queues no ICMP details; with IP_RECVERR an ICMP error still ends the INIT at once.
  if (proto === "sctp" && (err.code === "EHOSTUNREACH" || err.code === "EACCES")) {
    return {
      result: "rejected",
      reason: `ICMP unreachable (${what}; sender not reported)`,
      from: null,
    };
  }
  if (NO_ROUTE.has(err.code)) return { result: "no-route", reason: what, from: null };
  if (err.code === "EPERM" || err.code === "EACCES") {
    return { result: "rejected", reason: `${what} (local policy)`, from: null };
  }
  return { result: "rejected", reason: what, from: null };
}
