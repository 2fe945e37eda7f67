/**
 * Multicast over FFI sockets: a listener that joins a group on given interfaces (and can
 * answer each datagram by unicast), a sender with interface / TTL / loopback control, and
 * a multicast ping that reports per-responder RTT percentiles and loss.
 *
 * Each engine takes its options with an `AbortSignal` and an `onEvent` callback, reports
 * what happens as events (rendered by {@link mcastListenEventText},
 * {@link mcastSendEventText} and {@link mcastPingEventText}), and resolves to a summary.
 *
 * Probe wire format (`mcast ping`, 20 bytes, answered verbatim by `mcast listen --echo`):
 * `"SBXP"` magic, version u8 (1), type u8 (0 = probe), 2 reserved bytes, an 8-byte random
 * session id, then the sequence number as u32 big-endian.
 *
 * @module
 */
import { formatEndpoint } from "../../base/errors.ts";
import { listInterfaces, type NetInterface } from "../../sys/interfaces.ts";
import { payloadText } from "../../base/text.ts";
import { ms3, summarize } from "../../base/stats.ts";
import { MSG_TRUNC, SOCK_DGRAM } from "../../ffi/constants.ts";
import {
  joinGroup,
  leaveGroup,
  parsePktInfo,
  prepareReceiver,
  setMulticastHops,
  setMulticastInterface,
  setMulticastLoop,
} from "../../ffi/mcast.ts";
import { WOULD_BLOCK } from "../../ffi/errno.ts";
import { Socket } from "../../ffi/socket.ts";
import {
  type Group,
  ifaceName,
  type IfaceSpec,
  type ResolvedIface,
  resolveIface,
  scopedAddress,
  suggestIface,
} from "./groups.ts";
import { isAbort, sleep } from "../../base/sleep.ts";

/** What `mcast listen` was asked to do. */
export interface McastListenOptions {
  /** The group to join. */
  group: Group;
  /** The UDP port to bind (0: a free one). */
  port: number;
  /** Interfaces to join on; empty = once, on the kernel's choice. */
  ifaces: IfaceSpec[];
  /** Source-specific join (same family as the group). */
  source?: string;
  /** Answer each datagram to its sender by unicast. */
  echo: boolean;
  /** Stop after this many datagrams. */
  count?: number;
  /** Aborting leaves the group and resolves with the summary. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: McastListenEvent) => void) | undefined;
}

/** Events a multicast listener reports. */
export type McastListenEvent =
  | {
    event: "joined";
    group: string;
    /** Interface name; null for the kernel's choice (`ifindex` 0). */
    iface: string | null;
    ifindex: number;
    source?: string;
  }
  | {
    event: "listening";
    proto: "udp";
    address: string;
    group: string;
    port: number;
    echo: boolean;
  }
  | {
    event: "datagram";
    from: string | null;
    port: number | null;
    group: string;
    iface: string | null;
    ifindex: number;
    bytes: number;
    truncated: boolean;
    /** The payload as text (hex `0x...` when not UTF-8), at most 4096 bytes of it. */
    data: string;
  }
  /** An echo could not be sent back (a diagnostic, not data). */
  | { event: "echo-failed"; to: string; port: number; error: string }
  | { event: "left"; group: string; iface: string | null; ifindex: number }
  | McastListenSummary;

/** How a listener ended. */
export interface McastListenSummary {
  /** The event name. */
  event: "summary";
  /** The group listened to. */
  group: string;
  /** The port bound. */
  port: number;
  /** Datagrams received for the group. */
  datagrams: number;
  /** Datagrams sent back (with `echo`). */
  echoed: number;
  /** Whether datagrams were echoed. */
  echo: boolean;
}

/** The human line for a listener event. */
export function mcastListenEventText(ev: McastListenEvent): string {
  const on = (iface: string | null) => iface ?? "the default interface";
  switch (ev.event) {
    case "joined":
      return `joined ${ev.group}${ev.source ? ` source ${ev.source}` : ""} on ${on(ev.iface)}`;
    case "listening":
      return `listening udp ${formatEndpoint(ev.group, ev.port)}${ev.echo ? " (echo)" : ""}`;
    case "datagram":
      return `from ${
        ev.from === null ? "?" : formatEndpoint(ev.from, ev.port ?? undefined)
      } to ${ev.group}${ev.iface ? ` on ${ev.iface}` : ""}: ${ev.bytes} bytes: ${ev.data}`;
    case "echo-failed":
      return ev.error;
    case "left":
      return `left ${ev.group} on ${on(ev.iface)}`;
    case "summary":
      return `${ev.datagrams} datagrams${ev.echo ? `, ${ev.echoed} echoed` : ""}`;
  }
}

function resolveAll(specs: IfaceSpec[], interfaces: NetInterface[]): ResolvedIface[] {
  return specs.map((s) => resolveIface("--iface", s, interfaces));
}

/**
 * Joins the group and reports each datagram sent to it until `count` datagrams or the
 * signal; leaves the group and resolves with the summary (also emitted).
 */
export async function mcastListen(o: McastListenOptions): Promise<McastListenSummary> {
  const emit = o.onEvent ?? (() => {});
  const interfaces = listInterfaces();
  const ifaces = resolveAll(o.ifaces, interfaces);
  const name = (index: number) => index === 0 ? null : ifaceName(index, interfaces);
  using sock = Socket.open(o.group.family, SOCK_DGRAM);
  prepareReceiver(sock);
  sock.bind(o.group.family === 4 ? "0.0.0.0" : "::", o.port);
  const port = sock.localAddress().port;
  const joins = ifaces.length > 0 ? ifaces.map((i) => i.index) : [0];
  for (const index of joins) {
    try {
      joinGroup(sock, o.group.address, index, o.source);
    } catch (e) {
      throw suggestIface(e, o.group.address);
    }
    emit({
      event: "joined",
      group: o.group.address,
      iface: name(index),
      ifindex: index,
      ...(o.source !== undefined ? { source: o.source } : {}),
    });
  }
  emit({
    event: "listening",
    proto: "udp",
    address: o.group.address,
    group: o.group.address,
    port,
    echo: o.echo,
  });
  const buf = new Uint8Array(65536);
  const control = new Uint8Array(256);
  let received = 0, echoed = 0;
  try {
    while (o.count === undefined || received < o.count) {
      let m;
      try {
        m = await sock.recvMsg(buf, control, o.signal);
      } catch (e) {
        if (isAbort(e, o.signal)) break;
        throw e;
      }
      const info = parsePktInfo(m.control);
      // Unicast to our port (or another group) is not what we listen for.
      if (info && info.destination !== o.group.address) continue;
      received++;
      const from = m.from;
      const ifindex = info?.ifindex ?? 0;
      emit({
        event: "datagram",
        from: from?.address ?? null,
        port: from?.port ?? null,
        group: o.group.address,
        iface: name(ifindex),
        ifindex,
        bytes: m.data.length,
        truncated: (m.flags & MSG_TRUNC) !== 0,
        data: payloadText(m.data, 4096),
      });
      if (o.echo && from) {
        try {
          const n = sock.trySendTo(m.data, from.address, from.port, from.scopeId ?? 0);
          if (n !== WOULD_BLOCK) echoed++;
        } catch (e) {
          emit({
            event: "echo-failed",
            to: from.address,
            port: from.port,
            error: (e as Error).message,
          });
        }
      }
    }
  } finally {
    for (const index of joins) {
      try {
        leaveGroup(sock, o.group.address, index, o.source);
        emit({ event: "left", group: o.group.address, iface: name(index), ifindex: index });
      } catch {
        // closing the socket leaves anyway
      }
    }
  }
  const summary: McastListenSummary = {
    event: "summary",
    group: o.group.address,
    port,
    datagrams: received,
    echoed,
    echo: o.echo,
  };
  emit(summary);
  return summary;
}

/** Options shared by `mcast send` and `mcast ping`. */
export interface McastSenderOptions {
  /** The group to send to. */
  group: Group;
  /** The destination port. */
  port: number;
  /** The outgoing interface; default the kernel's choice. */
  iface?: IfaceSpec;
  /** TTL / hop limit; default 1. */
  hops: number;
  /** Loopback; undefined leaves the kernel default (on). */
  loop?: boolean;
}

/** An FFI socket set up to send to the group. */
export function openSender(o: McastSenderOptions, interfaces: NetInterface[]): {
  sock: Socket;
  iface: ResolvedIface | undefined;
} {
  const iface = o.iface ? resolveIface("--iface", o.iface, interfaces) : undefined;
  const sock = Socket.open(o.group.family, SOCK_DGRAM);
  try {
    if (iface) {
      const local = o.iface?.kind === "address" ? o.iface.address : undefined;
      setMulticastInterface(sock, iface.index, local);
    }
    setMulticastHops(sock, o.hops);
    if (o.loop !== undefined) setMulticastLoop(sock, o.loop);
    sock.bind(o.group.family === 4 ? "0.0.0.0" : "::", 0);
  } catch (e) {
    sock.close();
    throw e;
  }
  return { sock, iface };
}

/** What `mcast send` was asked to do. */
export interface McastSendOptions extends McastSenderOptions {
  /** One datagram each. */
  messages: Uint8Array[];
  /** How many times to send every message. */
  count: number;
  /** Pause between datagrams (ms). */
  intervalMs: number;
  /** Aborting stops sending. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: McastSendEvent) => void) | undefined;
}

/** Events a multicast sender reports: one per datagram sent. */
export type McastSendEvent = {
  event: "sent";
  to: string;
  port: number;
  from_port: number;
  iface: string | null;
  ttl: number;
  bytes: number;
  data: string;
};

/** The human line for a sender event. */
export function mcastSendEventText(ev: McastSendEvent): string {
  return `Sent ${ev.bytes} bytes to ${formatEndpoint(ev.to, ev.port)}${
    ev.iface ? ` on ${ev.iface}` : ""
  } ttl ${ev.ttl}: ${ev.data}`;
}

/** Sends every message `count` times, `intervalMs` apart; resolves to the datagram count. */
export async function mcastSend(o: McastSendOptions): Promise<{ sent: number }> {
  const emit = o.onEvent ?? (() => {});
  const interfaces = listInterfaces();
  const { sock, iface } = openSender(o, interfaces);
  using _s = sock;
  const scope = iface?.index ?? 0;
  let sent = 0;
  outer: for (let round = 0; round < o.count; round++) {
    for (const msg of o.messages) {
      if (sent > 0 && !(await sleep(o.intervalMs, o.signal))) break outer;
      try {
        await sock.sendTo(msg, o.group.address, o.port, o.signal, scope);
      } catch (e) {
        if (isAbort(e, o.signal)) break outer;
        throw suggestIface(e, o.group.address, o.port);
      }
      sent++;
      emit({
        event: "sent",
        to: o.group.address,
        port: o.port,
        from_port: sock.localAddress().port,
        iface: iface?.name ?? null,
        ttl: o.hops,
        bytes: msg.length,
        data: payloadText(msg, 4096),
      });
    }
  }
  return { sent };
}

const PROBE_MAGIC = [0x53, 0x42, 0x58, 0x50]; // "SBXP"
const PROBE_SIZE = 20;

/**
 * Builds probe `seq` of `session` (see the module doc).
 *
 * @example
 * ```ts
 * import { decodeProbe, encodeProbe } from "./mcast.ts";
 * const session = new Uint8Array(8).fill(7);
 * decodeProbe(encodeProbe(session, 42), session); // 42
 * ```
 */
export function encodeProbe(session: Uint8Array, seq: number): Uint8Array {
  const b = new Uint8Array(PROBE_SIZE);
  b.set(PROBE_MAGIC, 0);
  b[4] = 1;
  b.set(session.subarray(0, 8), 8);
  new DataView(b.buffer).setUint32(16, seq, false);
  return b;
}

/** The sequence number of a reply to `session`, or null if it is not one. */
export function decodeProbe(b: Uint8Array, session: Uint8Array): number | null {
  if (b.length !== PROBE_SIZE || b[4] !== 1 || b[5] !== 0) return null;
  for (let i = 0; i < 4; i++) if (b[i] !== PROBE_MAGIC[i]) return null;
  for (let i = 0; i < 8; i++) if (b[8 + i] !== session[i]) return null;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(16, false);
}

/** What `mcast ping` was asked to do. */
export interface McastPingOptions extends McastSenderOptions {
  /** Probes to send. */
  count: number;
  /** Pause between probes (ms). */
  intervalMs: number;
  /** How long to wait for answers after the last probe. */
  waitMs: number;
  /** Aborting stops probing and resolves with what was heard so far. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: McastPingEvent) => void) | undefined;
}

/** Events a multicast ping reports. */
export type McastPingEvent =
  | {
    event: "start";
    group: string;
    port: number;
    iface: string | null;
    ttl: number;
    count: number;
    /** The probes' session id, in hex. */
    session: string;
  }
  | { event: "reply"; from: string; port: number; seq: number; rtt_ms: number }
  /** One per responder, sorted by address, after the last probe's wait. */
  | {
    event: "responder";
    address: string;
    port: number;
    sent: number;
    received: number;
    duplicates: number;
    loss_pct: number;
    min_ms: number;
    avg_ms: number;
    p50_ms: number;
    p90_ms: number;
    p99_ms: number;
    max_ms: number;
  }
  | McastPingSummary;

/** How a multicast ping ended. */
export interface McastPingSummary {
  /** The event name. */
  event: "summary";
  /** The group probed. */
  group: string;
  /** Its port. */
  port: number;
  /** Probes sent. */
  sent: number;
  /** Hosts that answered at least once. */
  responders: number;
}

/**
 * The human line for a ping event. The statistics block (the `responder` lines and the
 * summary) is preceded by {@link mcastPingStatsHeader} in human output.
 */
export function mcastPingEventText(ev: McastPingEvent): string {
  switch (ev.event) {
    case "start":
      return `MCAST PING ${formatEndpoint(ev.group, ev.port)}${
        ev.iface ? ` on ${ev.iface}` : ""
      } ttl ${ev.ttl}: ${ev.count} probes`;
    case "reply":
      return `reply from ${formatEndpoint(ev.from, ev.port)} seq=${ev.seq} time=${ev.rtt_ms} ms`;
    case "responder":
      return `${ev.address}: ${ev.sent} sent, ${ev.received} received, ${ev.loss_pct}% loss${
        ev.duplicates ? `, ${ev.duplicates} duplicates` : ""
      }, rtt p50/p90/p99/max = ${ev.p50_ms}/${ev.p90_ms}/${ev.p99_ms}/${ev.max_ms} ms`;
    case "summary":
      return `${ev.sent} probes, ${ev.responders} responder${ev.responders === 1 ? "" : "s"}`;
  }
}

/** The line that opens a multicast ping's statistics in human output. */
export function mcastPingStatsHeader(group: string, port: number): string {
  return `--- ${formatEndpoint(group, port)} multicast ping statistics ---`;
}

interface Responder {
  address: string;
  port: number;
  rtts: number[];
  seqs: Set<number>;
  duplicates: number;
}

/**
 * Probes the group, reports each answer, then one `responder` event per host that
 * answered (RTT percentiles and loss) and the summary, which it resolves to. Nobody
 * answering is not an error here: the summary says `responders: 0`.
 */
export async function mcastPing(o: McastPingOptions): Promise<McastPingSummary> {
  const emit = o.onEvent ?? (() => {});
  const interfaces = listInterfaces();
  const { sock, iface } = openSender(o, interfaces);
  using _s = sock;
  const session = crypto.getRandomValues(new Uint8Array(8));
  const sessionHex = Array.from(session, (x) => x.toString(16).padStart(2, "0")).join("");
  const scope = iface?.index ?? 0;
  const sentAt = new Map<number, number>();
  const responders = new Map<string, Responder>();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  emit({
    event: "start",
    group: o.group.address,
    port: o.port,
    iface: iface?.name ?? null,
    ttl: o.hops,
    count: o.count,
    session: sessionHex,
  });

  const receiver = (async () => {
    const buf = new Uint8Array(2048);
    for (;;) {
      let r;
      try {
        r = await sock.recvFrom(buf, stop.signal);
      } catch (e) {
        if (isAbort(e, stop.signal)) return;
        throw e;
      }
      const now = performance.now();
      if (!r.from) continue;
      const seq = decodeProbe(r.data, session);
      if (seq === null) continue;
      const t0 = sentAt.get(seq);
      if (t0 === undefined) continue;
      const key = scopedAddress(r.from);
      let resp = responders.get(key);
      if (!resp) {
        resp = { address: key, port: r.from.port, rtts: [], seqs: new Set(), duplicates: 0 };
        responders.set(key, resp);
      }
      if (resp.seqs.has(seq)) {
        resp.duplicates++;
        continue;
      }
      resp.seqs.add(seq);
      const rtt = now - t0;
      resp.rtts.push(rtt);
      emit({ event: "reply", from: key, port: r.from.port, seq, rtt_ms: ms3(rtt) });
    }
  })();

  let sent = 0;
  let failure: unknown;
  try {
    for (let seq = 1; seq <= o.count; seq++) {
      if (seq > 1 && !(await sleep(o.intervalMs, stop.signal))) break;
      const probe = encodeProbe(session, seq);
      sentAt.set(seq, performance.now());
      try {
        await sock.sendTo(probe, o.group.address, o.port, stop.signal, scope);
      } catch (e) {
        if (isAbort(e, stop.signal)) break;
        throw suggestIface(e, o.group.address, o.port);
      }
      sent++;
    }
    await sleep(o.waitMs, stop.signal);
  } catch (e) {
    failure = e;
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    stop.abort();
    await receiver.catch((e) => failure ??= e);
  }
  if (failure) throw failure;

  const sorted = [...responders.values()].sort((a, b) => a.address.localeCompare(b.address));
  for (const r of sorted) {
    const s = summarize(r.rtts)!;
    emit({
      event: "responder",
      address: r.address,
      port: r.port,
      sent,
      received: r.seqs.size,
      duplicates: r.duplicates,
      loss_pct: sent === 0 ? 0 : Math.round((1 - r.seqs.size / sent) * 1000) / 10,
      min_ms: ms3(s.min),
      avg_ms: ms3(s.avg),
      p50_ms: ms3(s.p50),
      p90_ms: ms3(s.p90),
      p99_ms: ms3(s.p99),
      max_ms: ms3(s.max),
    });
  }
  const summary: McastPingSummary = {
    event: "summary",
    group: o.group.address,
    port: o.port,
    sent,
    responders: sorted.length,
  };
  emit(summary);
  return summary;
}
