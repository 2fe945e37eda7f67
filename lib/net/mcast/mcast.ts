/**
 * Multicast over FFI sockets: a listener that joins a group on given interfaces (and can
 * answer each datagram by unicast), a sender with interface / TTL / loopback control, and
 * a multicast ping that reports per-responder RTT percentiles and loss.
 *
 * Probe wire format (`mcast ping`, 20 bytes, answered verbatim by `mcast listen --echo`):
 * `"SBXP"` magic, version u8 (1), type u8 (0 = probe), 2 reserved bytes, an 8-byte random
 * session id, then the sequence number as u32 big-endian.
 *
 * @module
 */
import { formatEndpoint, RuntimeError, SysError } from "../../base/errors.ts";
import { listInterfaces, type NetInterface } from "../../sys/interfaces.ts";
import { payloadText } from "../../base/text.ts";
import { type Io, Reporter } from "../../cli/output.ts";
import { ms3, summarize } from "../../base/stats.ts";
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import {
  joinGroup,
  leaveGroup,
  parsePktInfo,
  prepareReceiver,
  setMulticastHops,
  setMulticastInterface,
  setMulticastLoop,
} from "../../ffi/mcast.ts";
import { Socket } from "../../ffi/socket.ts";
import type { SockAddr } from "../../ffi/structs.ts";
import {
  type Group,
  ifaceName,
  type IfaceSpec,
  type ResolvedIface,
  resolveIface,
} from "./groups.ts";

const NO_ROUTE = new Set(["ENETUNREACH", "ENODEV", "EADDRNOTAVAIL", "EHOSTUNREACH", "EINVAL"]);

/** Rewrites a "no route / no interface" failure into one that suggests `--iface`. */
export function suggestIface(err: unknown, group: string, port?: number): unknown {
  if (!(err instanceof SysError) || !NO_ROUTE.has(err.code)) return err;
  return new SysError(
    err.syscall,
    err.code,
    { address: group, port },
    "no route to the group or no multicast-capable interface; pick one with --iface",
  );
}

function isAbort(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (e as Error)?.name === "AbortError" ||
    (e as Error)?.name === "Interrupted";
}

/** Sleeps `ms`, resolving early (false) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** What `mcast listen` was asked to do. */
export interface ListenOptions {
  group: Group;
  port: number;
  /** Interfaces to join on; empty = once, on the kernel's choice. */
  ifaces: IfaceSpec[];
  /** Source-specific join (same family as the group). */
  source?: string;
  /** Answer each datagram to its sender by unicast. */
  echo: boolean;
  /** Exit after this many datagrams. */
  count?: number;
  json: boolean;
}

function resolveAll(specs: IfaceSpec[], interfaces: NetInterface[]): ResolvedIface[] {
  return specs.map((s) => resolveIface("--iface", s, interfaces));
}

/** Joins and prints datagrams until `count` or the signal; returns the exit code. */
export async function listen(o: ListenOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const interfaces = listInterfaces();
  const ifaces = resolveAll(o.ifaces, interfaces);
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
    const ev: Record<string, unknown> = {
      event: "joined",
      group: o.group.address,
      iface: index === 0 ? null : ifaceName(index, interfaces),
      ifindex: index,
    };
    if (o.source !== undefined) ev.source = o.source;
    out.emit(
      ev as { event: string },
      `joined ${o.group.address}${o.source ? ` source ${o.source}` : ""} on ${
        index === 0 ? "the default interface" : ifaceName(index, interfaces)
      }`,
    );
  }
  out.emit(
    { event: "listening", proto: "udp", address: o.group.address, group: o.group.address, port },
    `listening udp ${formatEndpoint(o.group.address, port)}${o.echo ? " (echo)" : ""}`,
  );
  const buf = new Uint8Array(65536);
  const control = new Uint8Array(256);
  let received = 0, echoed = 0;
  try {
    while (o.count === undefined || received < o.count) {
      let m;
      try {
        m = await sock.recvMsg(buf, control, io.signal);
      } catch (e) {
        if (isAbort(e, io.signal)) break;
        throw e;
      }
      const info = parsePktInfo(m.control);
      // Unicast to our port (or another group) is not what we listen for.
      if (info && info.destination !== o.group.address) continue;
      received++;
      const from = m.from;
      const ifindex = info?.ifindex ?? 0;
      out.emit(
        {
          event: "datagram",
          from: from?.address ?? null,
          port: from?.port ?? null,
          group: o.group.address,
          iface: ifindex ? ifaceName(ifindex, interfaces) : null,
          ifindex,
          bytes: m.data.length,
          truncated: (m.flags & 0x20) !== 0,
          data: payloadText(m.data, 4096),
        },
        (e) =>
          `from ${from ? formatEndpoint(from.address, from.port) : "?"} to ${e.group}${
            e.iface ? ` on ${e.iface}` : ""
          }: ${e.bytes} bytes: ${e.data}`,
      );
      if (o.echo && from) {
        try {
          if (sock.trySendTo(m.data, from.address, from.port, from.scopeId ?? 0) >= 0) echoed++;
        } catch (e) {
          out.warn((e as Error).message);
        }
      }
    }
  } finally {
    for (const index of joins) {
      try {
        leaveGroup(sock, o.group.address, index, o.source);
        out.emit(
          { event: "left", group: o.group.address, ifindex: index },
          `left ${o.group.address} on ${
            index === 0 ? "the default interface" : ifaceName(index, interfaces)
          }`,
        );
      } catch {
        // closing the socket leaves anyway
      }
    }
  }
  out.emit(
    { event: "summary", group: o.group.address, port, datagrams: received, echoed },
    `${received} datagrams${o.echo ? `, ${echoed} echoed` : ""}`,
  );
  return 0;
}

/** Options shared by `mcast send` and `mcast ping`. */
export interface SenderOptions {
  group: Group;
  port: number;
  iface?: IfaceSpec;
  /** TTL / hop limit; default 1. */
  hops: number;
  /** Loopback; undefined leaves the kernel default (on). */
  loop?: boolean;
}

/** An FFI socket set up to send to the group. */
export function openSender(o: SenderOptions, interfaces: NetInterface[]): {
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
export interface SendOptions extends SenderOptions {
  messages: Uint8Array[];
  count: number;
  intervalMs: number;
  json: boolean;
}

/** Sends every message `count` times, `intervalMs` apart. */
export async function send(o: SendOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const interfaces = listInterfaces();
  const { sock, iface } = openSender(o, interfaces);
  using _s = sock;
  const scope = iface?.index ?? 0;
  let sent = 0;
  outer: for (let round = 0; round < o.count; round++) {
    for (const msg of o.messages) {
      if (sent > 0 && !(await sleep(o.intervalMs, io.signal))) break outer;
      try {
        await sock.sendTo(msg, o.group.address, o.port, io.signal, scope);
      } catch (e) {
        if (isAbort(e, io.signal)) break outer;
        throw suggestIface(e, o.group.address, o.port);
      }
      sent++;
      const local = sock.localAddress();
      out.emit(
        {
          event: "sent",
          to: o.group.address,
          port: o.port,
          from_port: local.port,
          iface: iface?.name ?? null,
          ttl: o.hops,
          bytes: msg.length,
          data: payloadText(msg, 4096),
        },
        (e) =>
          `Sent ${e.bytes} bytes to ${formatEndpoint(o.group.address, o.port)}${
            iface ? ` on ${iface.name}` : ""
          } ttl ${o.hops}: ${e.data}`,
      );
    }
  }
  return 0;
}

const PROBE_MAGIC = [0x53, 0x42, 0x58, 0x50]; // "SBXP"
const PROBE_SIZE = 20;

/** Builds probe `seq` of `session` (see the module doc). */
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
export interface PingOptions extends SenderOptions {
  count: number;
  intervalMs: number;
  /** How long to wait for answers after the last probe. */
  waitMs: number;
  json: boolean;
}

interface Responder {
  address: string;
  port: number;
  rtts: number[];
  seqs: Set<number>;
  duplicates: number;
}

function keyOf(a: SockAddr): string {
  return a.scopeId ? `${a.address}%${a.scopeId}` : a.address;
}

/** Probes the group and reports each responder's RTT percentiles and loss. */
export async function ping(o: PingOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
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
  io.signal.addEventListener("abort", onAbort, { once: true });
  out.emit(
    {
      event: "start",
      group: o.group.address,
      port: o.port,
      iface: iface?.name ?? null,
      ttl: o.hops,
      count: o.count,
      session: sessionHex,
    },
    `MCAST PING ${formatEndpoint(o.group.address, o.port)}${
      iface ? ` on ${iface.name}` : ""
    } ttl ${o.hops}: ${o.count} probes`,
  );

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
      const key = keyOf(r.from);
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
      out.emit(
        { event: "reply", from: key, port: r.from.port, seq, rtt_ms: ms3(rtt) },
        (e) => `reply from ${formatEndpoint(key, r.from!.port)} seq=${seq} time=${e.rtt_ms} ms`,
      );
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
    io.signal.removeEventListener("abort", onAbort);
    stop.abort();
    await receiver.catch((e) => failure ??= e);
  }
  if (failure) throw failure;

  if (!o.json) {
    out.line(`--- ${formatEndpoint(o.group.address, o.port)} multicast ping statistics ---`);
  }
  const sorted = [...responders.values()].sort((a, b) => a.address.localeCompare(b.address));
  for (const r of sorted) {
    const s = summarize(r.rtts)!;
    const loss = sent === 0 ? 0 : Math.round((1 - r.seqs.size / sent) * 1000) / 10;
    out.emit(
      {
        event: "responder",
        address: r.address,
        port: r.port,
        sent,
        received: r.seqs.size,
        duplicates: r.duplicates,
        loss_pct: loss,
        min_ms: ms3(s.min),
        avg_ms: ms3(s.avg),
        p50_ms: ms3(s.p50),
        p90_ms: ms3(s.p90),
        p99_ms: ms3(s.p99),
        max_ms: ms3(s.max),
      },
      (e) =>
        `${r.address}: ${sent} sent, ${e.received} received, ${loss}% loss${
          r.duplicates ? `, ${r.duplicates} duplicates` : ""
        }, rtt p50/p90/p99/max = ${e.p50_ms}/${e.p90_ms}/${e.p99_ms}/${e.max_ms} ms`,
    );
  }
  out.emit(
    { event: "summary", group: o.group.address, port: o.port, sent, responders: sorted.length },
    `${sent} probes, ${sorted.length} responder${sorted.length === 1 ? "" : "s"}`,
  );
  if (sorted.length === 0 && !io.signal.aborted) {
    throw new RuntimeError(
      `no responder answered ${sent} probes to ${formatEndpoint(o.group.address, o.port)} ` +
        `(run "sockbox mcast listen GROUP PORT --echo" on the other hosts, or pick an interface with --iface)`,
    );
  }
  return 0;
}
