/**
 * IPv4 broadcast sends: `sockbox send udp --broadcast ADDR|all PORT MSG...`. With `all`,
 * one datagram per up, broadcast-capable, non-loopback interface goes to that interface's
 * broadcast address, as the seed's SIOCGIFCONF / SIOCGIFBRDADDR loop does (the addresses
 * come from `listInterfaces()`). Replies that arrive within the timeout are printed.
 *
 * @module
 */
import { RuntimeError, UsageError } from "../../base/errors.ts";
import { listInterfaces } from "../../sys/interfaces.ts";
import { payloadText } from "../../base/text.ts";
import { type Io, Reporter } from "../../cli/output.ts";
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import { setBroadcast } from "../../ffi/mcast.ts";
import { Socket } from "../../ffi/socket.ts";
import { parseIPv4 } from "../../base/ip.ts";
import { formatEndpoint } from "../../base/errors.ts";
import { sleep, suggestIface } from "../mcast/mcast.ts";

/** What `send udp --broadcast` was asked to do (parsed and validated by send.ts). */
export interface BroadcastOptions {
  /** A broadcast address (dotted quad) or `all` (every up, broadcast-capable interface). */
  target: string;
  port: number;
  /** Messages to send, one datagram each (already read from stdin lines if none given). */
  messages: Uint8Array[];
  /** How long to wait for echoes after the last send. */
  timeoutMs: number;
  json: boolean;
}

/** One broadcast destination. */
export interface BroadcastTarget {
  address: string;
  /** The interface it belongs to, for `all`. */
  iface?: string;
}

/** The broadcast address of every up, broadcast-capable, non-loopback interface. */
export function broadcastTargets(): BroadcastTarget[] {
  const out: BroadcastTarget[] = [];
  for (const i of listInterfaces()) {
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

/** Sends the broadcasts and reports any replies. */
export async function runBroadcast(o: BroadcastOptions, io: Io): Promise<number> {
  if (o.target !== "all" && !parseIPv4(o.target)) {
    throw new UsageError(
      `invalid --broadcast "${o.target}": must be an IPv4 broadcast address or "all"`,
    );
  }
  const out = new Reporter(io, { json: o.json });
  const targets = o.target === "all" ? broadcastTargets() : [{ address: o.target }];
  if (targets.length === 0) {
    throw new RuntimeError(
      "no up, broadcast-capable interface with an IPv4 broadcast address (give one with --broadcast ADDR)",
    );
  }
  using sock = Socket.open(4, SOCK_DGRAM);
  setBroadcast(sock, true);
  sock.bind("0.0.0.0", 0);
  for (const msg of o.messages) {
    for (const t of targets) {
      try {
        await sock.sendTo(msg, t.address, o.port, io.signal);
      } catch (e) {
        if (io.signal.aborted) return 0;
        throw suggestIface(e, t.address, o.port);
      }
      out.emit(
        {
          event: "sent",
          to: t.address,
          port: o.port,
          iface: t.iface ?? null,
          bytes: msg.length,
          data: payloadText(msg, 4096),
        },
        (e) =>
          `Sent ${e.bytes} bytes to ${formatEndpoint(t.address, o.port)}${
            t.iface ? ` (${t.iface})` : ""
          }: ${e.data}`,
      );
    }
  }
  // Collect replies until the timeout.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  io.signal.addEventListener("abort", onAbort, { once: true });
  const buf = new Uint8Array(65536);
  let replies = 0;
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
      out.emit(
        {
          event: "reply",
          from: r.from?.address ?? null,
          port: r.from?.port ?? null,
          bytes: r.data.length,
          data: payloadText(r.data, 4096),
        },
        (e) =>
          `Received ${e.bytes} bytes from ${
            formatEndpoint(String(e.from), r.from?.port)
          }: ${e.data}`,
      );
    }
  })();
  try {
    await sleep(o.timeoutMs, stop.signal);
  } finally {
    io.signal.removeEventListener("abort", onAbort);
    stop.abort();
    await collect;
  }
  out.emit(
    { event: "summary", sent: o.messages.length * targets.length, replies },
    `${o.messages.length * targets.length} datagrams sent, ${replies} replies`,
  );
  return 0;
}
