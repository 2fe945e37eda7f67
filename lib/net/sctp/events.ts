/**
 * Pieces the SCTP server and client share: the events they report (one discriminated
 * union, {@link SctpEvent}), the pure human line for each ({@link sctpEventText},
 * {@link sctpClientEventText}, {@link sctpStatusText}), and the sctp_opt_info tuning both accept
 * (RTO bounds, heartbeat, retransmission limit).
 *
 * Notification events carry the fields of the notification (RFC 6458 section 6.1) under
 * the names the JSON output uses: `type_code` (the kernel's number) and `assoc` (the
 * association id) first, then the fields of that type.
 *
 * @module
 */
import { type RejectEvent, rejectEventText } from "../../base/echo_events.ts";
import { formatEndpoint } from "../../base/errors.ts";
import { type RefusalCounts, type RefusalReason, refusalsText } from "../../base/refusals.ts";
import type { SctpSocket, SctpStyle } from "../../ffi/sctp.ts";
import type {
  SctpNotification,
  SctpOtherNotificationName,
  SctpPathInfo,
  SctpStatus,
} from "../../ffi/sctp_codec.ts";

export type { SctpPathInfo, SctpStatus, SctpStyle };

/** sctp_opt_info options a user may set (applied before bind/connect). */
export interface SctpTuning {
  /** SCTP_RTOINFO srto_min, ms. */
  rtoMinMs?: number;
  /** SCTP_RTOINFO srto_max, ms. */
  rtoMaxMs?: number;
  /** SCTP_PEER_ADDR_PARAMS heartbeat interval, ms (0 disables heartbeats). */
  heartbeatMs?: number;
  /** SCTP_ASSOCINFO association retransmission limit. */
  maxRetrans?: number;
}

/** Applies {@link SctpTuning} as socket-wide defaults. */
export function applyTuning(sock: SctpSocket, t: SctpTuning): void {
  if (t.rtoMinMs !== undefined || t.rtoMaxMs !== undefined) {
    const rto: { min?: number; max?: number } = {};
    if (t.rtoMinMs !== undefined) rto.min = t.rtoMinMs;
    if (t.rtoMaxMs !== undefined) rto.max = t.rtoMaxMs;
    sock.setRtoInfo(rto);
  }
  if (t.heartbeatMs !== undefined) sock.setPeerAddrParams({ heartbeatMs: t.heartbeatMs });
  if (t.maxRetrans !== undefined) sock.setAssocMaxRetrans(t.maxRetrans);
}

/** An address and port. */
export type SctpPeer = {
  /** The IP address (IPv4-mapped addresses shown as IPv4). */
  address: string;
  /** The port. */
  port: number;
};

/** assoc_change (SCTP_ASSOC_CHANGE): an association came up, was lost, restarted or ended. */
export type SctpAssocChangeEvent = {
  /** The notification name. */
  event: "assoc_change";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** COMM_UP, COMM_LOST, RESTART, SHUTDOWN_COMP or CANT_STR_ASSOC. */
  state: string;
  /** sac_error (0: none). */
  error: number;
  /** Outbound streams of the association. */
  outstreams: number;
  /** Inbound streams of the association. */
  instreams: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
  /** The peer's addresses, at COMM_UP and RESTART (server). */
  peers?: string[];
};

/** paddr_change (SCTP_PEER_ADDR_CHANGE): a peer address changed state. */
export type SctpPaddrChangeEvent = {
  /** The notification name. */
  event: "paddr_change";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** The peer address that changed. */
  address: string;
  /** ADDR_AVAILABLE, ADDR_UNREACHABLE, ADDR_REMOVED, ADDR_ADDED, ADDR_MADE_PRIM, ... */
  state: string;
  /** spc_error (an errno number, 0: none). */
  error: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** send_failed (SCTP_SEND_FAILED): a message could not be delivered. */
export type SctpSendFailedEvent = {
  /** The notification name. */
  event: "send_failed";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** ssf_error. */
  error: number;
  /** Bytes of the undelivered message. */
  length: number;
  /** Its stream. */
  stream: number;
  /** Its payload protocol identifier. */
  ppid: number;
  /** Its sinfo_context. */
  context: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** remote_error (SCTP_REMOTE_ERROR): the peer sent an Operation Error. */
export type SctpRemoteErrorEvent = {
  /** The notification name. */
  event: "remote_error";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** The error cause code (RFC 9260 section 3.3.10). */
  error: number;
  /** Length of the notification, error cause included. */
  length: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** shutdown_event (SCTP_SHUTDOWN_EVENT): the peer sent SHUTDOWN. */
export type SctpShutdownEvent = {
  /** The notification name. */
  event: "shutdown_event";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** partial_delivery (SCTP_PARTIAL_DELIVERY_EVENT): a partial delivery was aborted. */
export type SctpPartialDeliveryEvent = {
  /** The notification name. */
  event: "partial_delivery";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** pdapi_indication (0: SCTP_PARTIAL_DELIVERY_ABORTED). */
  indication: number;
  /** The stream of the message. */
  stream: number;
  /** Its stream sequence number. */
  seq: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** adaptation_indication (SCTP_ADAPTATION_INDICATION): the peer's adaptation layer. */
export type SctpAdaptationEvent = {
  /** The notification name. */
  event: "adaptation_indication";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** The adaptation layer indication (RFC 5061). */
  adaptation: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** sender_dry (SCTP_SENDER_DRY_EVENT): nothing is left to send or retransmit. */
export type SctpSenderDryEvent = {
  /** The notification name. */
  event: "sender_dry";
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** A notification sockbox does not take apart (`assoc` is 0). */
export type SctpOtherNotificationEvent = {
  /** Its name, or `type N` for an unknown number. */
  event: SctpOtherNotificationName;
  /** The kernel's notification type number (sn_type). */
  type_code: number;
  /** The association id. */
  assoc: number;
  /** Who sent it, when the server knows. */
  peer?: SctpPeer;
};

/** An SCTP notification as an event. */
export type SctpNotificationEvent =
  | SctpAssocChangeEvent
  | SctpPaddrChangeEvent
  | SctpSendFailedEvent
  | SctpRemoteErrorEvent
  | SctpShutdownEvent
  | SctpPartialDeliveryEvent
  | SctpAdaptationEvent
  | SctpSenderDryEvent
  | SctpOtherNotificationEvent;

/** A received message (server with -v). */
export type SctpMessageEvent = {
  /** The event name. */
  event: "message";
  /** Message size. */
  bytes: number;
  /** The stream it came in on. */
  stream: number;
  /** Its payload protocol identifier. */
  ppid: number;
  /** Its stream sequence number. */
  ssn: number;
  /** sinfo_flags. */
  flags: number;
  /** The association id. */
  assoc: number;
  /** The sender, when known. */
  from?: SctpPeer;
};

/** An echo the client got back. */
export type SctpEchoEvent = {
  /** The event name. */
  event: "echo";
  /** Message size. */
  bytes: number;
  /** The stream it came back on. */
  stream: number;
  /** Its stream sequence number. */
  ssn: number;
  /** sinfo_flags. */
  flags: number;
  /** Its payload protocol identifier. */
  ppid: number;
  /** The association id. */
  assoc: number;
  /** The payload as text (see payloadText). */
  data: string;
};

/** What a server did, once it stopped. */
export type SctpServerSummary = {
  /** The event name. */
  event: "summary";
  /** The protocol. */
  proto: "sctp";
  /** Associations that came up. */
  associations: number;
  /** Messages echoed. */
  messages: number;
  /** Bytes echoed. */
  bytes: number;
  /** Associations refused, by reason (`--allow`, `--deny`, `--max-per-ip`, `--rate`). */
  refused?: RefusalCounts;
  /** Only in a snapshot (SIGHUP): the server is still running. */
  running?: true;
};

/**
 * An association the server refused (access lists and limits): one-to-one closes the
 * accepted socket at once, one-to-many aborts the association (RFC 9260 ABORT) once up.
 * `peer` is the peer's primary address; the fields and the text are the echo servers'.
 */
export type SctpRejectEvent = RejectEvent<"sctp", RefusalReason>;

/** The events the server reports while it runs. */
export type SctpServerEvent = SctpNotificationEvent | SctpMessageEvent | SctpRejectEvent;
/** The events the client reports while it runs. */
export type SctpClientEvent = SctpNotificationEvent | SctpEchoEvent;
/** Every event the SCTP server and client emit. */
export type SctpEvent =
  | SctpNotificationEvent
  | SctpMessageEvent
  | SctpEchoEvent
  | SctpRejectEvent
  | SctpServerSummary;

/**
 * Turns a decoded notification into an event. `peer`: who sent it (server side);
 * `peers`: the peer's addresses, for an assoc_change at COMM_UP or RESTART.
 */
export function notificationEvent(
  n: SctpNotification,
  peer?: SctpPeer,
  peers?: string[],
): SctpNotificationEvent {
  const ev = notificationFields(n);
  if (peer) ev.peer = peer;
  if (peers && ev.event === "assoc_change") ev.peers = peers;
  return ev;
}

function notificationFields(n: SctpNotification): SctpNotificationEvent {
  const head = { type_code: n.typeCode, assoc: n.assocId };
  switch (n.type) {
    case "assoc_change":
      return {
        event: n.type,
        ...head,
        state: n.state,
        error: n.error,
        outstreams: n.outstreams,
        instreams: n.instreams,
      };
    case "paddr_change":
      return { event: n.type, ...head, address: n.address, state: n.state, error: n.error };
    case "send_failed":
      return {
        event: n.type,
        ...head,
        error: n.error,
        length: n.length,
        stream: n.stream,
        ppid: n.ppid,
        context: n.context,
      };
    case "remote_error":
      return { event: n.type, ...head, error: n.error, length: n.length };
    case "partial_delivery":
      return { event: n.type, ...head, indication: n.indication, stream: n.stream, seq: n.seq };
    case "adaptation_indication":
      return { event: n.type, ...head, adaptation: n.adaptation };
    case "shutdown_event":
    case "sender_dry":
    default:
      return { event: n.type, ...head };
  }
}

/** The server's human line for an event (`serve sctp`). */
export function sctpEventText(ev: SctpEvent): string {
  switch (ev.event) {
    case "assoc_change":
      return `assoc_change state=${ev.state} instr=${ev.instreams} outstr=${ev.outstreams}` +
        (ev.error ? ` error=${ev.error}` : "");
    case "paddr_change":
      return `paddr_change addr=${ev.address} state=${ev.state} error=${ev.error}`;
    case "send_failed":
      return `send_failed error=${ev.error} len=${ev.length} stream=${ev.stream} ppid=${ev.ppid}`;
    case "remote_error":
      return `remote_error error=${ev.error} len=${ev.length}`;
    case "message":
      return `got ${ev.bytes} bytes on stream ${ev.stream} ppid ${ev.ppid}`;
    case "reject":
      return rejectEventText(ev);
    case "summary":
      return `${ev.running ? "running" : "stopped"}: ${ev.associations} associations, ` +
        `${ev.messages} messages, ${ev.bytes} bytes echoed` +
        (ev.refused ? `, refused: ${refusalsText(ev.refused)}` : "");
    default:
      return ev.event;
  }
}

/**
 * The client's human line for an event (`send sctp`), in the words of the Solaris Socket
 * Interfaces guide's SCTP echo client: the echo with its stream, SSN, flags (hex) and
 * PPID, or the notification's type number.
 */
export function sctpClientEventText(ev: SctpClientEvent): string {
  if (ev.event === "echo") {
    return `[ Receive echo (${ev.bytes} bytes): stream = ${ev.stream}, ssn = ${ev.ssn}, ` +
      `flags = ${ev.flags.toString(16)}, ppid = ${ev.ppid} ]`;
  }
  return `[ Receive notification type ${ev.type_code} ]`;
}

/** The status table lines (`send sctp --status`). */
export function sctpStatusText(s: SctpStatus, paths: SctpPathInfo[]): string {
  const lines = [
    `SCTP status: assoc ${s.assocId} state ${s.state} rwnd ${s.rwnd} unackdata ${s.unackdata} ` +
    `penddata ${s.penddata} instrms ${s.instreams} outstrms ${s.outstreams} ` +
    `fragpoint ${s.fragmentationPoint}`,
  ];
  const rows = paths.map((p) => [
    formatEndpoint(p.address, p.port) +
    (p.address === s.primary.address && p.port === s.primary.port ? " *" : ""),
    p.state,
    String(p.cwnd),
    String(p.srtt),
    String(p.rto),
    String(p.mtu),
  ]);
  const head = ["PATH (* primary)", "STATE", "CWND", "SRTT(ms)", "RTO(ms)", "MTU"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) {
    lines.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  }
  return lines.join("\n");
}
