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
import { formatEndpoint, toSysError } from "../../base/errors.ts";
import { sameAddress, UdpClient } from "../echo/client.ts";

/** When and how big probes are: `-c`, `-i`, `-s`, `--timeout` of every `ping`. */
export interface ProbeSchedule {
  /** Probes to send; Infinity = until the signal aborts. */
  count: number;
  intervalMs: number;
  size: number;
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

/** How probes travel: send one, and yield every echoed frame. */
export interface ProbeTransport {
  send(probe: Uint8Array): Promise<void>;
  frames(): AsyncIterable<Uint8Array>;
  close(): void;
}

/** Events a ping run reports. */
export type PingEvent =
  | { event: "reply"; seq: number; bytes: number; rtt_ms: number; from: string; port: number }
  | { event: "timeout"; seq: number; timeout_ms: number }
  | { event: "late"; seq: number; rtt_ms: number }
  | { event: "duplicate"; seq: number }
  | { event: "corrupt"; seq: number | null; bytes: number; reason: string }
  | PingSummary;

/** The closing statistics. */
export interface PingSummary {
  event: "summary";
  proto: string;
  address: string;
  port: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  corrupt: number;
  loss_pct: number;
  time_ms: number;
  min_ms?: number;
  avg_ms?: number;
  max_ms?: number;
  mdev_ms?: number;
  p50_ms?: number;
  p90_ms?: number;
  p99_ms?: number;
}

/** Parameters of a ping run. */
export interface PingOptions extends ProbeSchedule {
  proto: string;
  address: string;
  port: number;
  signal: AbortSignal;
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
  let sent = 0, late = 0, dups = 0, corrupt = 0;
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
  const lost = sent - rtts.length;
  const s = summarize(rtts);
  const summary: PingSummary = {
    event: "summary",
    proto: o.proto,
    address: o.address,
    port: o.port,
    sent,
    received: rtts.length,
    lost,
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
  conn: Deno.TcpConn,
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
    case "corrupt":
      return `bad echo${
        ev.seq === null ? "" : ` for seq=${ev.seq}`
      } (${ev.bytes} bytes): ${ev.reason}`;
    case "summary": {
      const lines = [
        `--- ${formatEndpoint(ev.address, ev.port)} ${ev.proto} ping statistics ---`,
        `${ev.sent} probes sent, ${ev.received} received, ${ev.loss_pct}% loss` +
        (ev.late ? `, ${ev.late} late` : "") +
        (ev.duplicates ? `, ${ev.duplicates} duplicates` : "") +
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
