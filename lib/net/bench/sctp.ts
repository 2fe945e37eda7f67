/**
 * The SCTP side of `bench`: associations (one-to-one sockets, RFC 6458 section 3), or the
 * streams of one association, each a lane with one message in flight (`pingpong`, or
 * `rate` with latency from the scheduled time). It runs on the main thread through the
 * reactor (lib/ffi/sctp.ts's SctpSocket): SCTP is measured inside User-Mode Linux here,
 * where the kernel, not the client, is the limit. Each message starts with its sequence
 * number and that number's complement, as the UDP client's datagrams do, so an echo that
 * comes back after its timeout is told apart (late) from a corrupted one (mismatch).
 *
 * @module
 */
import { formatEndpoint, RuntimeError } from "../../base/errors.ts";
import { Histogram } from "../../base/histogram.ts";
import type { SctpSocket } from "../../ffi/sctp.ts";
import {
  addCounters,
  type Counters,
  noCounters,
  PATTERN_PERIOD,
  payloadPattern,
} from "../../ffi/bench/protocol.ts";
import type { BenchPoolResult } from "../../ffi/bench/pool.ts";
import { connectSctp } from "../sctp/client.ts";

/** The message header: sequence number and its complement (as the UDP client's). */
export const SCTP_HEADER = 8;

/** How to run the SCTP client. */
export interface SctpBenchOptions {
  address: string;
  port: number;
  /** Associations (each one lane), unless `streams` is given. */
  conns: number;
  /** Lanes on the streams 0..streams-1 of ONE association. */
  streams?: number | undefined;
  mode: "pingpong" | "rate";
  /** `rate`: messages per second in all. */
  rate: number;
  sizeMin: number;
  sizeMax: number;
  timeoutMs: number;
  warmupMs: number;
  durationMs: number;
  intervalMs: number;
  onReady?: (info: { connected: number; failed: number; threads: number }) => void;
  onTick?: (index: number, counters: Counters, hist: Histogram) => void;
  signal: AbortSignal;
}

interface Lane {
  sock: SctpSocket;
  stream: number;
  buf: Uint8Array;
  head: DataView;
  seq: number;
  size: number;
  busy: boolean;
  dead: boolean;
  t0: number;
  deadline: number;
  next: number;
}

/** Runs the SCTP client; rejects when no association could be made. */
export async function runSctpBench(o: SctpBenchOptions): Promise<BenchPoolResult> {
  const where = formatEndpoint(o.address, o.port);
  const lanesPer = o.streams ?? 1;
  const assocs = o.streams !== undefined ? 1 : o.conns;
  const settled = await Promise.allSettled(
    Array.from({ length: assocs }, () =>
      connectSctp({
        addresses: [o.address],
        port: o.port,
        streams: Math.max(lanesPer, 1),
        timeoutMs: o.timeoutMs,
        signal: o.signal,
      })),
  );
  const socks: SctpSocket[] = [];
  let firstFailure: unknown;
  for (const s of settled) {
    if (s.status === "fulfilled") socks.push(s.value.sock);
    else firstFailure ??= s.reason;
  }
  const closeAll = () => socks.forEach((s) => s.close());
  if (socks.length === 0) {
    if (o.signal.aborted) return emptyResult(0, assocs, true);
    throw firstFailure;
  }
  for (const [i, s] of settled.entries()) {
    if (s.status !== "fulfilled") continue;
    if (s.value.status.outstreams < lanesPer) {
      closeAll();
      throw new RuntimeError(
        `--streams ${lanesPer} is beyond the ${s.value.status.outstreams} outbound streams the association ${i} with ${where} negotiated`,
      );
    }
  }
  o.onReady?.({ connected: socks.length, failed: assocs - socks.length, threads: 1 });

  const pattern = payloadPattern(Math.max(o.sizeMax, SCTP_HEADER), 1);
  const lanes: Lane[] = [];
  for (const sock of socks) {
    for (let stream = 0; stream < lanesPer; stream++) {
      const off = (lanes.length * 61) % PATTERN_PERIOD;
      const buf = pattern.slice(off, off + Math.max(o.sizeMax, SCTP_HEADER));
      lanes.push({
        sock,
        stream,
        buf,
        head: new DataView(buf.buffer),
        seq: 0,
        size: 0,
        busy: false,
        dead: false,
        t0: 0,
        deadline: 0,
        next: 0,
      });
    }
  }
  const total = noCounters();
  const hist = new Histogram();
  let tickCounters = noCounters();
  const tickHist = new Histogram();
  let firstError: string | undefined;
  const start = performance.now();
  const warmEnd = start + o.warmupMs;
  const end = warmEnd + o.durationMs;
  let nextTick = warmEnd + o.intervalMs;
  let tickIndex = 0;
  const period = o.mode === "rate" ? (1000 * lanes.length) / o.rate : 0;
  let rand = 0x9e3779b9;
  const nextSize = () => {
    if (o.sizeMin === o.sizeMax) return o.sizeMin;
    rand ^= rand << 13;
    rand >>>= 0;
    rand ^= rand >>> 17;
    rand ^= rand << 5;
    rand >>>= 0;
    return o.sizeMin + (rand % (o.sizeMax - o.sizeMin + 1));
  };
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  const note = (s: string) => (firstError ??= s);

  const send = (lane: Lane, now: number) => {
    if (lane.dead || stop.signal.aborted) return;
    lane.seq = (lane.seq + 1) >>> 0;
    lane.head.setUint32(0, lane.seq, true);
    lane.head.setUint32(4, ~lane.seq >>> 0, true);
    lane.size = nextSize();
    if (period > 0) {
      lane.t0 = lane.next;
      lane.next += period;
    } else lane.t0 = now;
    lane.deadline = now + o.timeoutMs;
    lane.busy = true;
    if (now >= warmEnd) tickCounters.sent++;
    lane.sock.send(lane.buf.subarray(0, lane.size), { stream: lane.stream }, stop.signal)
      .catch((err) => fail(lane, err));
  };
  const fail = (lane: Lane, err: unknown) => {
    if (stop.signal.aborted) return;
    const code = (err as { code?: string }).code;
    if (performance.now() >= warmEnd) {
      if (code === "ECONNRESET" || code === "EPIPE") tickCounters.resets++;
      else tickCounters.errors++;
      note((err as Error).message);
    }
    for (const l of lanes) if (l.sock === lane.sock) l.dead = true;
  };
  const free = (lane: Lane, now: number) => {
    lane.busy = false;
    if (now >= end || lane.dead) return;
    if (period === 0 || lane.next <= now) send(lane, now);
  };

  const receiveLoop = async (sock: SctpSocket, mine: Lane[]) => {
    const byStream = new Map(mine.map((l) => [l.stream, l]));
    try {
      while (!stop.signal.aborted) {
        const m = await sock.receive(stop.signal);
        const now = performance.now();
        const measuring = now >= warmEnd && now < end;
        if (m.kind === "eof" || (m.kind === "notification" && endsAssociation(m.notification))) {
          const inFlight = mine.some((l) => l.busy);
          if (measuring) {
            if (inFlight) tickCounters.short++;
            else tickCounters.errors++;
            note(`${where} ended the association${inFlight ? " with an echo incomplete" : ""}`);
          }
          for (const l of mine) l.dead = true;
          return;
        }
        if (m.kind !== "data") continue;
        const lane = byStream.get(m.info?.stream ?? 0);
        const d = m.data;
        const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
        const valid = lane !== undefined && d.length >= SCTP_HEADER &&
          dv.getUint32(4, true) === (~dv.getUint32(0, true) >>> 0);
        if (lane !== undefined && valid && (dv.getUint32(0, true) !== lane.seq || !lane.busy)) {
          if (measuring) tickCounters.late++;
          continue;
        }
        if (lane === undefined || !lane.busy) {
          if (measuring) tickCounters.mismatches++;
          continue;
        }
        const ok = valid && d.length === lane.size && sameBytes(d, lane.buf);
        // Open loop counts the messages SCHEDULED in the window (as its latencies do).
        if (measuring && (period === 0 || lane.t0 >= warmEnd)) {
          if (ok) {
            tickCounters.roundTrips++;
            tickCounters.bytes += d.length;
            if (lane.t0 >= warmEnd) tickHist.record(Math.round((now - lane.t0) * 1e6));
          } else {
            tickCounters.mismatches++;
            note(`an echo from ${where} differs from what was sent`);
          }
        }
        free(lane, now);
      }
    } catch (err) {
      if (!stop.signal.aborted) fail(mine[0]!, err);
    }
  };

  const loops = socks.map((s) => receiveLoop(s, lanes.filter((l) => l.sock === s)));
  for (const [i, lane] of lanes.entries()) {
    if (period > 0) lane.next = start + (period * i) / lanes.length;
    else send(lane, performance.now());
  }
  let stoppedAt = 0;
  await new Promise<void>((resolve) => {
    const housekeeping = () => {
      const now = performance.now();
      if (now >= end || o.signal.aborted) {
        if (o.signal.aborted) stoppedAt = now;
        clearInterval(timer);
        resolve();
        return;
      }
      while (now >= nextTick && nextTick <= end) {
        addCounters(total, tickCounters);
        hist.merge(tickHist);
        o.onTick?.(tickIndex++, tickCounters, tickHist);
        tickCounters = noCounters();
        tickHist.reset();
        nextTick += o.intervalMs;
      }
      for (const lane of lanes) {
        if (lane.dead) continue;
        if (lane.busy && now > lane.deadline) {
          if (now >= warmEnd) {
            tickCounters.timeouts++;
            note(`no echo within ${o.timeoutMs}ms from ${where}`);
          }
          free(lane, now);
        } else if (!lane.busy && period > 0 && lane.next <= now) send(lane, now);
      }
    };
    const timer = setInterval(housekeeping, period > 0 ? 1 : 10);
  });
  const last = performance.now();
  if (last >= nextTick && nextTick <= end) {
    addCounters(total, tickCounters);
    hist.merge(tickHist);
    o.onTick?.(tickIndex++, tickCounters, tickHist);
  } else {
    addCounters(total, tickCounters);
    hist.merge(tickHist);
  }
  stop.abort();
  o.signal.removeEventListener("abort", onAbort);
  closeAll();
  await Promise.allSettled(loops);
  const measuredEnd = stoppedAt > 0 ? Math.min(stoppedAt, end) : end;
  return {
    connected: socks.length,
    failed: assocs - socks.length,
    threads: 1,
    counters: total,
    hist,
    measuredNs: Math.max(0, measuredEnd - warmEnd) * 1e6,
    ...(firstError !== undefined ? { firstError } : {}),
    aborted: o.signal.aborted,
  };
}

function emptyResult(connected: number, failed: number, aborted: boolean): BenchPoolResult {
  return {
    connected,
    failed,
    threads: 1,
    counters: noCounters(),
    hist: new Histogram(),
    measuredNs: 0,
    aborted,
  };
}

/** An assoc_change that ends the association (RFC 6458, section 6.1.1). */
function endsAssociation(n: { type: string; state?: unknown }): boolean {
  return n.type === "assoc_change" && n.state !== "COMM_UP" && n.state !== "RESTART";
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = SCTP_HEADER; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
