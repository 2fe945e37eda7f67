/**
 * Pieces the SCTP server and client share: the event shapes they report, the human line
 * for each, and the sctp_opt_info tuning both accept (RTO bounds, heartbeat, retransmission
 * limit).
 *
 * @module
 */
import { formatEndpoint } from "../../base/errors.ts";
import type { PathInfo, SctpNotification, SctpSocket, SctpStatus } from "../../ffi/sctp.ts";

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

/** An SCTP notification as an event. */
export type NotificationEvent =
  & { event: string; assoc: number; peer?: { address: string; port: number } }
  & Record<string, unknown>;

/** A received message (server with -v). */
export interface MessageEvent {
  event: "message";
  bytes: number;
  stream: number;
  ppid: number;
  ssn: number;
  flags: number;
  assoc: number;
  from?: { address: string; port: number } | undefined;
  [k: string]: unknown;
}

/** Every event the SCTP server and client emit. */
export type SctpEvent =
  | NotificationEvent
  | MessageEvent
  | { event: string; [k: string]: unknown };

/** Turns a decoded notification into an event (`peers`: peer addresses at COMM_UP). */
export function notificationEvent(
  n: SctpNotification,
  peer?: { address: string; port: number },
  peers?: string[],
): NotificationEvent {
  const { type, typeCode, assocId, ...rest } = n as SctpNotification & Record<string, unknown>;
  const ev: NotificationEvent = { event: type, type_code: typeCode, assoc: assocId, ...rest };
  if (peer) ev.peer = peer;
  if (peers) ev.peers = peers;
  return ev;
}

/** The server's human line for an event (null: no human form). */
export function serverEventText(ev: SctpEvent): string | null {
  const e = ev as Record<string, unknown>;
  switch (ev.event) {
    case "assoc_change":
      return `assoc_change state=${e.state} instr=${e.instreams} outstr=${e.outstreams}` +
        (e.error ? ` error=${e.error}` : "");
    case "paddr_change":
      return `paddr_change addr=${e.address} state=${e.state} error=${e.error}`;
    case "send_failed":
      return `send_failed error=${e.error} len=${e.length} stream=${e.stream} ppid=${e.ppid}`;
    case "remote_error":
      return `remote_error error=${e.error} len=${e.length}`;
    case "shutdown_event":
      return "shutdown_event";
    case "message":
      return `got ${e.bytes} bytes on stream ${e.stream} ppid ${e.ppid}`;
    case "summary":
      return `stopped: ${e.associations} associations, ${e.messages} messages, ${e.bytes} bytes echoed`;
    default:
      return `${ev.event}`;
  }
}

/** The status table lines (`send sctp --status`). */
export function statusText(s: SctpStatus, paths: PathInfo[]): string {
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
