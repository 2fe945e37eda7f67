/**
 * IPv4 broadcast sends: `sockbox send udp --broadcast ADDR|all PORT MSG...`. With `all`,
 * one datagram per up, broadcast-capable, non-loopback interface goes to that interface's
 * broadcast address: the addresses a SIOCGIFCONF / SIOCGIFBRDADDR loop reports
 * (netdevice(7)), here taken from `listInterfaces()`. With an interface named, the socket
 * is bound to it (SO_BINDTODEVICE, socket(7)), so even the limited broadcast
 * 255.255.255.255 leaves through that interface. Replies that arrive within the timeout
 * are reported.
 *
 * @module
 */
import { formatEndpoint, RuntimeError, SysError, UsageError } from "../../base/errors.ts";
import { parseIPv4 } from "../../base/ip.ts";
import { payloadBytes, payloadFields, plural, visibleText } from "../../base/text.ts";
import { interfaceIndex, listInterfaces, type NetInterface } from "../../sys/interfaces.ts";
import { SO_BINDTODEVICE, SOCK_DGRAM, SOL_SOCKET } from "../../ffi/constants.ts";
import { setBroadcast } from "../../ffi/mcast.ts";
import { Socket } from "../../ffi/socket.ts";
import { sleep } from "../../base/sleep.ts";

/** What `send udp --broadcast` was asked to do. */
export interface BroadcastOptions {
  /** A broadcast address (dotted quad) or `all` (every up, broadcast-capable interface). */
  target: string;
  /** The destination port. */
  port: number;
  /** Messages to send, one datagram each. */
  messages: Uint8Array[];
  /** How long to wait for replies after the last send (ms). */
  timeoutMs: number;
  /**
   * Send through this interface only (SO_BINDTODEVICE); with `all`, only to its
   * broadcast address.
   */
  iface?: string | undefined;
  /** Aborting stops sending or waiting. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: BroadcastEvent) => void) | undefined;
}

/** Events a broadcast run reports. */
export type BroadcastEvent =
  | {
    event: "sent";
    to: string;
    port: number;
    /** The interface the address belongs to (with `all`), else null. */
    iface: string | null;
    bytes: number;
    /** The bytes: their text, or base64 (see `encoding`). */
    data: string;
    /** `utf-8` or `base64` (the bytes are not UTF-8). */
    encoding?: "utf-8" | "base64";
  }
  | {
    event: "reply";
    from: string | null;
    port: number | null;
    bytes: number;
    /** The bytes: their text, or base64 (see `encoding`). */
    data: string;
    /** `utf-8` or `base64` (the bytes are not UTF-8). */
    encoding?: "utf-8" | "base64";
  }
  | BroadcastSummary;

/** How a broadcast run ended. */
export interface BroadcastSummary {
  /** The event name. */
  event: "summary";
  /** Datagrams sent. */
  sent: number;
  /** Datagrams received back before the timeout. */
  replies: number;
}

/** Escaped text of an event's bytes (see `visibleText`). */
function shown(ev: { data: string; encoding?: "utf-8" | "base64" | undefined }): string {
  return ev.encoding === undefined
    ? ev.data
    : visibleText(payloadBytes({ data: ev.data, encoding: ev.encoding }), 4096);
}

/** The human line for a broadcast event. */
export function broadcastEventText(ev: BroadcastEvent): string {
  switch (ev.event) {
    case "sent":
      return `Sent ${plural(ev.bytes, "byte")} to ${formatEndpoint(ev.to, ev.port)}${
        ev.iface ? ` (${ev.iface})` : ""
      }: ${shown(ev)}`;
    case "reply":
      return `Received ${plural(ev.bytes, "byte")} from ${
        ev.from === null ? "an unknown sender" : formatEndpoint(ev.from, ev.port ?? undefined)
      }: ${shown(ev)}`;
    case "summary":
      return `${plural(ev.sent, "datagram")} sent, ${plural(ev.replies, "reply", "replies")}`;
  }
}

/** One broadcast destination. */
export interface BroadcastTarget {
  /** The broadcast address. */
  address: string;
  /** The interface it belongs to, for `all`. */
  iface?: string;
}

/** The broadcast address of every up, broadcast-capable, non-loopback interface. */
export function broadcastTargets(
  interfaces: NetInterface[] = listInterfaces(),
): BroadcastTarget[] {
  const out: BroadcastTarget[] = [];
  for (const i of interfaces) {
    if (!i.flags.includes("UP") || !i.flags.includes("BROADCAST") || i.flags.includes("LOOPBACK")) {
      continue;
    }
    for (const a of i.addresses) {
      if (a.family !== "inet" || a.broadcast === undefined) continue;
      if (!out.some((t) => t.address === a.broadcast)) {
        out.push({ address: a.broadcast, iface: i.name });
      }
    }
  }
  return out;
}

const NO_ROUTE = new Set(["ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL", "ENODEV"]);

/** A send that found no way out names the flag that picks one. */
function noRoute(err: unknown, address: string, port: number): unknown {
  if (!(err instanceof SysError) || !NO_ROUTE.has(err.code)) return err;
  return new SysError(
    err.syscall,
    err.code,
    { address, port },
    "no route for this broadcast; pick the interface with --iface NAME",
  );
}

/**
 * Sends every message to every target, then reports the replies that arrive within
 * `timeoutMs`; resolves to the summary (also emitted, unless the signal stopped the
 * sending).
 */
export async function runBroadcast(o: BroadcastOptions): Promise<BroadcastSummary> {
  if (o.target !== "all" && !parseIPv4(o.target)) {
    throw new UsageError(
      `invalid --broadcast "${o.target}": must be an IPv4 broadcast address or "all"`,
    );
  }
  const emit = o.onEvent ?? (() => {});
  if (o.iface !== undefined) interfaceIndex(o.iface); // `if_nametoindex ENODEV NAME` if absent
  const targets: BroadcastTarget[] = o.target === "all"
    ? broadcastTargets().filter((t) => o.iface === undefined || t.iface === o.iface)
    : [{ address: o.target, ...(o.iface !== undefined ? { iface: o.iface } : {}) }];
  if (targets.length === 0) {
    throw new RuntimeError(
      o.iface === undefined
        ? "no up, broadcast-capable interface with an IPv4 broadcast address (give one with --broadcast ADDR)"
        : `interface ${o.iface} is not up and broadcast-capable with an IPv4 broadcast address`,
    );
  }
  using sock = Socket.open(4, SOCK_DGRAM);
  setBroadcast(sock, true);
  if (o.iface !== undefined) {
    sock.setOption(
      SOL_SOCKET,
      SO_BINDTODEVICE,
      new TextEncoder().encode(o.iface),
      "setsockopt SO_BINDTODEVICE",
    );
  }
  sock.bind("0.0.0.0", 0);
  let sent = 0, replies = 0;
  for (const msg of o.messages) {
    for (const t of targets) {
      try {
        await sock.sendTo(msg, t.address, o.port, o.signal);
      } catch (e) {
        if (o.signal.aborted) return { event: "summary", sent, replies };
        throw noRoute(e, t.address, o.port);
      }
      sent++;
      emit({
        event: "sent",
        to: t.address,
        port: o.port,
        iface: t.iface ?? null,
        bytes: msg.length,
        ...payloadFields(msg),
      });
    }
  }
  // Collect replies until the timeout.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  const buf = new Uint8Array(65536);
  const collect = (async () => {
    for (;;) {
      let r;
      try {
        r = await sock.recvFrom(buf, stop.signal);
      } catch (e) {
        if (stop.signal.aborted) return;
        throw e;
      }
      replies++;
      emit({
        event: "reply",
        from: r.from?.address ?? null,
        port: r.from?.port ?? null,
        bytes: r.data.length,
        ...payloadFields(r.data),
      });
    }
  })();
  try {
    await sleep(o.timeoutMs, stop.signal);
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    stop.abort();
    await collect;
  }
  const summary: BroadcastSummary = { event: "summary", sent, replies };
  emit(summary);
  return summary;
}
