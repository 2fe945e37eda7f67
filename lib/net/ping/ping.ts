/**
 * Echo ping: probes with a sequence number go to an echo server, each echo is checked
 * byte for byte and timed, and a ping(8)-style summary with percentiles comes out.
 * The probe logic is transport-independent; TCP and UDP transports are here, and other
 * protocols (SCTP) can supply their own {@link ProbeTransport}.
 *
 * Probe layout (SIZE bytes, SIZE >= 12): "SBXP", session id (u32 BE), sequence (u32 BE),
 * then a filler derived from the sequence number.
 *
 * @module
 */
import { ms3, summarize } from "../../base/stats.ts";
import { formatEndpoint, toSysError, UsageError } from "../../base/errors.ts";
import { plural } from "../../base/text.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  connectTcp,
  isRefused,
  maxUdpPayload,
  openUdpPeer,
  sameAddress,
  UdpClient,
  type UdpPeer,
} from "../echo/client.ts";

/** When and how big probes are: `-c`, `-i`, `-s`, `--timeout` of every `ping`. */
export interface ProbeSchedule {
  /** Probes to send; Infinity = until the signal aborts. */
  count: number;
  /** Pause between probes (ms); 0 sends the next as soon as the last is answered or lost. */
  intervalMs: number;
  /** Probe size in bytes, at least {@link MIN_PROBE}. */
  size: number;
  /** A probe not answered within this many ms is lost. */
  timeoutMs: number;
}

/** Smallest probe: magic, session, sequence. */
export const MIN_PROBE = 12;
const MAGIC = [0x53, 0x42, 0x58, 0x50]; // "SBXP"

/** Builds probe `seq` of `size` bytes for `session`. */
export function makeProbe(size: number, session: number, seq: number): Uint8Array {
  const p = new Uint8Array(size);
  p.set(MAGIC);
  const dv = new DataView(p.buffer);
  dv.setUint32(4, session);
  dv.setUint32(8, seq);
  for (let i = MIN_PROBE; i < size; i++) p[i] = (seq + i) & 0xff;
  return p;
}

/**
 * What a transport yields for a probe the peer's host refused (UDP: an ICMP port
 * unreachable reached the connected socket): the oldest unanswered probe is `refused`.
 */
export const REFUSED = "refused" as const;

/** How probes travel: send one, and yield every echoed frame. */
export interface ProbeTransport {
  /** Sends one probe. */
  send(probe: Uint8Array): Promise<void>;
  /**
   * Every frame that comes back, in arrival order, and {@link REFUSED} for each refusal
   * the peer's host reports; ends when the peer closes.
   */
  frames(): AsyncIterable<Uint8Array | "refused">;
  /** Releases the socket; `frames()` then ends. */
  close(): void;
}

/** Events a ping run reports. */
export type PingEvent =
  | { event: "reply"; seq: number; bytes: number; rtt_ms: number; from: string; port: number }
  | { event: "timeout"; seq: number; timeout_ms: number }
  | { event: "late"; seq: number; rtt_ms: number }
  | { event: "duplicate"; seq: number }
  | { event: "refused"; seq: number; from: string; port: number }
  | { event: "corrupt"; seq: number | null; bytes: number; reason: string }
  | PingSummary;

/** The closing statistics. */
export interface PingSummary {
  /** Always "summary". */
  event: "summary";
  /** The transport: "tcp", "udp", "sctp". */
  proto: string;
  /** The address probed. */
  address: string;
  /** The port probed. */
  port: number;
  /** Probes sent. */
  sent: number;
  /** Probes answered in time. */
  received: number;
  /** Probes not answered in time (late ones included); refused ones are not lost. */
  lost: number;
  /** Probes the peer's host refused (ICMP port unreachable): nothing listens there. */
  refused: number;
  /** Echoes that came after their timeout. */
  late: number;
  /** Echoes of a probe already answered. */
  duplicates: number;
  /** Frames that were not an exact echo of one of our probes. */
  corrupt: number;
  /** `lost` as a percentage of `sent`, one decimal. */
  loss_pct: number;
  /** Wall time of the run. */
  time_ms: number;
  /** Shortest round trip (absent when nothing came back). */
  min_ms?: number;
  /** Mean round trip. */
  avg_ms?: number;
  /** Longest round trip. */
  max_ms?: number;
  /** Mean deviation of the round trips, as ping(8) reports it. */
  mdev_ms?: number;
  /** Median round trip. */
  p50_ms?: number;
  /** 90th percentile round trip. */
  p90_ms?: number;
  /** 99th percentile round trip. */
  p99_ms?: number;
}

/** Parameters of a ping run. */
export interface PingOptions extends ProbeSchedule {
  /** The transport's name, for the summary. */
  proto: string;
  /** The address probed, for events and the summary. */
  address: string;
  /** The port probed. */
  port: number;
  /** Aborting stops sending; the run then waits for nothing and summarizes. */
  signal: AbortSignal;
  /** Receives every event, the summary last. */
  onEvent: (ev: PingEvent) => void;
}

/**
 * Runs probes over `transport` and returns the summary (also emitted).
 *
 * @example
 * ```ts
 * import { connectTcp } from "../echo/client.ts";
 * import { runPing, tcpTransport } from "./ping.ts";
 * const t = await connectTcp("127.0.0.1", 7, { timeoutMs: 2000 });
 * const summary = await runPing(tcpTransport(t.conn, 64, t), {
 *   proto: "tcp", address: t.address, port: t.port, count: 5, intervalMs: 100, size: 64,
 *   timeoutMs: 2000, signal: new AbortController().signal, onEvent: console.log,
 * });
 * console.log(summary.p99_ms);
 * ```
 */
export async function runPing(transport: ProbeTransport, o: PingOptions): Promise<PingSummary> {
  const session = (Math.random() * 0xffffffff) >>> 0;
  const outstanding = new Map<number, { t0: number; timer: ReturnType<typeof setTimeout> }>();
  const timedOut = new Map<number, number>(); // seq -> send time
  const answered = new Set<number>();
  const rtts: number[] = [];
  let sent = 0, late = 0, dups = 0, corrupt = 0, refused = 0;
  let settle: (() => void) | null = null;
  const started = performance.now();

  let closing = false;
  let receiverError: unknown = null;
  const settled = () => {
    settle?.();
    settle = null;
  };

  const receiver = (async () => {
    try {
      for await (const frame of transport.frames()) {
        const now = performance.now();
        if (frame === REFUSED) {
          // The ICMP error does not say which datagram it answers: the oldest unanswered.
          const first = outstanding.entries().next();
          if (first.done) continue;
          const [seq, p] = first.value;
          clearTimeout(p.timer);
          outstanding.delete(seq);
          refused++;
          o.onEvent({ event: "refused", seq, from: o.address, port: o.port });
          settled();
          continue;
        }
        const ok = frame.length >= MIN_PROBE && MAGIC.every((b, i) => frame[i] === b) &&
          new DataView(frame.buffer, frame.byteOffset).getUint32(4) === session;
        const seq = frame.length >= MIN_PROBE
          ? new DataView(frame.buffer, frame.byteOffset).getUint32(8)
          : null;
        if (!ok || seq === null) {
          corrupt++;
          o.onEvent({ event: "corrupt", seq: null, bytes: frame.length, reason: "not our probe" });
          continue;
        }
        const expect = makeProbe(o.size, session, seq);
        if (frame.length !== expect.length || frame.some((b, i) => b !== expect[i])) {
          corrupt++;
          o.onEvent({
            event: "corrupt",
            seq,
            bytes: frame.length,
            reason: "echo differs from probe",
          });
          continue;
        }
        const p = outstanding.get(seq);
        if (p) {
          clearTimeout(p.timer);
          outstanding.delete(seq);
          answered.add(seq);
          const rtt = now - p.t0;
          rtts.push(rtt);
          o.onEvent({
            event: "reply",
            seq,
            bytes: frame.length,
            rtt_ms: ms3(rtt),
            from: o.address,
            port: o.port,
          });
          settled();
        } else if (timedOut.has(seq)) {
          const t0 = timedOut.get(seq)!;
          timedOut.delete(seq);
          late++;
          o.onEvent({ event: "late", seq, rtt_ms: ms3(now - t0) });
        } else if (answered.has(seq)) {
          dups++;
          o.onEvent({ event: "duplicate", seq });
        }
      }
    } catch (err) {
      if (!o.signal.aborted && !closing) throw err;
    }
  })();
  receiver.catch((e) => {
    receiverError = e;
    settled();
  });

  const sleep = (ms: number) =>
    new Promise<void>((res) => {
      const t = setTimeout(done, ms);
      function done() {
        o.signal.removeEventListener("abort", done);
        clearTimeout(t);
        res();
      }
      o.signal.addEventListener("abort", done, { once: true });
    });

  try {
    for (let seq = 1; seq <= o.count && !o.signal.aborted; seq++) {
      if (receiverError) throw receiverError;
      const probe = makeProbe(o.size, session, seq);
      const t0 = performance.now();
      const timer = setTimeout(() => {
        if (!outstanding.delete(seq)) return;
        timedOut.set(seq, t0);
        o.onEvent({ event: "timeout", seq, timeout_ms: o.timeoutMs });
        settled();
      }, o.timeoutMs);
      outstanding.set(seq, { t0, timer });
      sent++;
      await transport.send(probe);
      if (seq === o.count) break;
      if (o.intervalMs > 0) await sleep(o.intervalMs);
      else {
        while (outstanding.has(seq) && !o.signal.aborted && !receiverError) {
          await new Promise<void>((r) => (settle = r));
        }
      }
    }
    // Wait for the last answers (or their timeouts).
    while (outstanding.size > 0 && !o.signal.aborted && !receiverError) {
      await new Promise<void>((r) => (settle = r));
    }
    if (receiverError) throw receiverError;
  } finally {
    for (const p of outstanding.values()) clearTimeout(p.timer);
    closing = true;
    transport.close();
    await receiver.catch(() => {});
  }
  const lost = sent - rtts.length - refused;
  const s = summarize(rtts);
  const summary: PingSummary = {
    event: "summary",
    proto: o.proto,
    address: o.address,
    port: o.port,
    sent,
    received: rtts.length,
    lost,
    refused,
    late,
    duplicates: dups,
    corrupt,
    loss_pct: sent ? Math.round((lost / sent) * 1000) / 10 : 0,
    time_ms: Math.round(performance.now() - started),
  };
  if (s) {
    Object.assign(summary, {
      min_ms: ms3(s.min),
      avg_ms: ms3(s.avg),
      max_ms: ms3(s.max),
      mdev_ms: ms3(s.mdev),
      p50_ms: ms3(s.p50),
      p90_ms: ms3(s.p90),
      p99_ms: ms3(s.p99),
    });
  }
  o.onEvent(summary);
  return summary;
}

/** Probes over a connected TCP stream: each echo frame is `size` bytes. */
export function tcpTransport(
  conn: Deno.Conn,
  size: number,
  ep: { address: string; port: number },
): ProbeTransport {
  return {
    async send(probe) {
      try {
        let off = 0;
        while (off < probe.length) off += await conn.write(probe.subarray(off));
      } catch (err) {
        throw toSysError(err, "send", ep);
      }
    },
    async *frames() {
      const buf = new Uint8Array(size);
      for (;;) {
        let got = 0;
        while (got < size) {
          let r: number | null;
          try {
            r = await conn.read(buf.subarray(got));
          } catch (err) {
            throw toSysError(err, "recv", ep);
          }
          if (r === null) return;
          got += r;
        }
        yield buf;
      }
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * Probes over a {@link UdpPeer} (a connected UDP socket where libc is reachable): each
 * datagram from the peer is an echo; an ICMP port unreachable is yielded as
 * {@link REFUSED}, whether the wait for an echo or the next send sees it.
 */
export function udpPeerTransport(peer: UdpPeer): ProbeTransport {
  let closed = false;
  let refusedOnSend = 0;
  return {
    async send(probe) {
      try {
        await peer.send(probe);
      } catch (err) {
        if (!isRefused(err)) throw err;
        // The refusal of an earlier probe, reported here: note it, then send this one.
        refusedOnSend++;
        await peer.send(probe);
      }
    },
    async *frames() {
      while (!closed) {
        for (; refusedOnSend > 0; refusedOnSend--) yield REFUSED;
        let d: Uint8Array | null;
        try {
          d = await peer.receive(250);
        } catch (err) {
          if (closed) return;
          if (!isRefused(err)) throw err;
          yield REFUSED;
          continue;
        }
        if (d !== null) yield d;
      }
    },
    close() {
      closed = true;
      peer.close();
    },
  };
}

/** Probes over UDP: datagrams from the target are the echoes, others are ignored. */
export function udpTransport(
  client: UdpClient,
  ep: { address: string; port: number },
): ProbeTransport {
  let closed = false;
  return {
    send: (probe) => client.send(probe, ep.address, ep.port),
    async *frames() {
      while (!closed) {
        const d = await client.receive(1000);
        if (d === null) continue;
        if (!sameAddress(d.address, ep.address) || d.port !== ep.port) continue;
        yield d.data;
      }
    },
    close() {
      closed = true;
      client.close();
    },
  };
}

/** Where {@link openTransport} sends probes. */
export interface TransportTarget {
  /** The transport. */
  proto: "tcp" | "udp";
  /** Host name or address. */
  host: string;
  /** The echo server's port. */
  port: number;
  /** Use only IPv4 or only IPv6 addresses of `host`. */
  family?: 4 | 6 | undefined;
  /** Probe size in bytes (TCP reads echoes in frames of this size). */
  size: number;
  /** Limit (ms) for the TCP connect. */
  timeoutMs: number;
  /** Aborting stops a TCP connect in progress. */
  signal: AbortSignal;
  /** TCP: opens the connection instead of a plain connect (TLS: lib/net/tls/client.ts). */
  connect?: (() => Promise<{ conn: Deno.Conn; address: string; port: number }>) | undefined;
}

/**
 * Opens the transport a `ping tcp|udp` run uses: TCP connects to the first address of
 * `host` that accepts; UDP binds a socket for the first address. Resolves to the
 * transport and the address it talks to.
 */
export async function openTransport(
  o: TransportTarget,
): Promise<{ transport: ProbeTransport; address: string }> {
  if (o.proto === "tcp") {
    const t = o.connect ? await o.connect() : await connectTcp(o.host, o.port, {
      family: o.family,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
    });
    return {
      transport: tcpTransport(t.conn, o.size, { address: t.address, port: o.port }),
      address: t.address,
    };
  }
  const a = (await resolveHost(o.host, o.family))[0]!;
  const max = maxUdpPayload(a.family);
  if (o.size > max) {
    // The family is known only now, for a name: the same message the parser gives a literal.
    throw new UsageError(
      `invalid --size "${o.size}": must be 12-${max} (${o.host} is IPv${a.family} ${a.address})`,
    );
  }
  return {
    transport: udpPeerTransport(openUdpPeer(a.address, a.family, o.port)),
    address: a.address,
  };
}

/** The human line for a ping event. */
export function pingEventText(ev: PingEvent): string {
  switch (ev.event) {
    case "reply":
      return `${ev.bytes} bytes from ${formatEndpoint(ev.from, ev.port)}: seq=${ev.seq} time=${
        ev.rtt_ms.toFixed(3)
      } ms`;
    case "timeout":
      return `no echo for seq=${ev.seq} within ${ev.timeout_ms}ms`;
    case "late":
      return `late echo for seq=${ev.seq} after ${ev.rtt_ms.toFixed(3)} ms (counted as lost)`;
    case "duplicate":
      return `duplicate echo for seq=${ev.seq}`;
    case "refused":
      return `seq=${ev.seq} refused by ${
        formatEndpoint(ev.from, ev.port)
      } (port unreachable: nothing listens there)`;
    case "corrupt":
      return `bad echo${
        ev.seq === null ? "" : ` for seq=${ev.seq}`
      } (${ev.bytes} bytes): ${ev.reason}`;
    case "summary": {
      const lines = [
        `--- ${formatEndpoint(ev.address, ev.port)} ${ev.proto} ping statistics ---`,
        `${plural(ev.sent, "probe")} sent, ${ev.received} received, ${ev.loss_pct}% loss` +
        (ev.refused ? `, ${ev.refused} refused` : "") +
        (ev.late ? `, ${ev.late} late` : "") +
        (ev.duplicates ? `, ${plural(ev.duplicates, "duplicate")}` : "") +
        (ev.corrupt ? `, ${ev.corrupt} corrupt` : "") + `, time ${ev.time_ms}ms`,
      ];
      if (ev.min_ms !== undefined) {
        const f = (x: number | undefined) => (x ?? 0).toFixed(3);
        lines.push(
          `rtt min/avg/max/mdev = ${f(ev.min_ms)}/${f(ev.avg_ms)}/${f(ev.max_ms)}/${
            f(ev.mdev_ms)
          } ms`,
          `rtt p50/p90/p99 = ${f(ev.p50_ms)}/${f(ev.p90_ms)}/${f(ev.p99_ms)} ms`,
        );
      }
      return lines.join("\n");
    }
  }
}
