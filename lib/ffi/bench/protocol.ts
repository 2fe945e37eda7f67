/**
 * What the bench client's threads tell each other: the settings the main thread gives a
 * worker (its first and only message), the control words they share through a
 * `SharedArrayBuffer` (the phase, and the monotonic time the measurement starts), the
 * counters a run keeps, and the messages a worker posts back. Pure: nothing here opens,
 * reads or closes an fd.
 *
 * @module
 */
import type { SparseHistogram } from "../../base/histogram.ts";
import { addCounts } from "../counts.ts";

/**
 * How a connection sends: `pingpong` (one message in flight, the next as soon as its echo
 * is back), `rate` (one in flight, each sent at its scheduled time or as soon as the one
 * before it is back, latency counted from the scheduled time), `stream` (writes as fast as
 * the kernel takes them while reading the echo back).
 */
export type BenchMode = "pingpong" | "rate" | "stream";

/** Settings one worker runs with. */
export interface BenchWorkerConfig {
  proto: "tcp" | "udp";
  mode: BenchMode;
  /** 0-based worker number (seeds its payload and names it in messages). */
  index: number;
  /** The server's address (an IP literal) and port. */
  address: string;
  port: number;
  /** Connections (UDP: sockets) this worker opens. */
  conns: number;
  /** The run's number of its first connection, and the run's connections in all. */
  connBase: number;
  connsTotal: number;
  /** Message size range, bytes (uniform; equal for a fixed size). */
  sizeMin: number;
  sizeMax: number;
  /** `rate`: messages per second on each connection of this worker. */
  ratePerConn: number;
  /** A message not echoed within this long counts as a timeout (UDP: lost), ms. */
  timeoutMs: number;
  /** Measured phases, ms: warm-up (not recorded), then the measurement. */
  warmupMs: number;
  durationMs: number;
  /** Counters and latencies are posted every this long, ms. */
  intervalMs: number;
  /** The shared words: an `Int32Array` indexed by {@link CONTROL} and a start time. */
  control: SharedArrayBuffer;
}

/** Indexes of the shared `Int32Array` words. */
export const CONTROL = {
  /** One of {@link PHASE}. */
  phase: 0,
  /** Int32 words before the start time (a Float64 at byte offset `length * 4`). */
  length: 2,
} as const;

/** The phases the main thread moves the workers through. */
export const PHASE = {
  /** Connecting; each worker posts `ready` and waits. */
  setup: 0,
  /** Run from the start time in the control block. */
  go: 1,
  /** Stop now and post what was counted. */
  stop: 2,
} as const;

/** Bytes of the control block: the Int32 words, then the Float64 start time (ns). */
export const CONTROL_BYTES = CONTROL.length * 4 + 8;

/** The start time's index in a `Float64Array` over the control block. */
export const START_INDEX = (CONTROL.length * 4) / 8;

/** What a run counts. Errors of each kind are never round trips. */
export interface Counters {
  /** Messages echoed whole and byte for byte (stream: writes whose bytes all came back). */
  roundTrips: number;
  /** Echoed bytes verified. */
  bytes: number;
  /** Messages sent (stream: writes). */
  sent: number;
  /** Echoes that differ from what was sent (stream: reads that differ), or are too long. */
  mismatches: number;
  /** Connections the server closed with an echo incomplete. */
  short: number;
  /** Connections reset (ECONNRESET, EPIPE). */
  resets: number;
  /** TCP/SCTP: messages not echoed within the timeout (the connection is reopened). */
  timeouts: number;
  /** UDP: datagrams not echoed within the timeout. */
  lost: number;
  /** UDP: echoes that came back after their datagram was counted lost. */
  late: number;
  /** Anything else: connects that failed, other errno values. */
  errors: number;
}

/** Counters at zero. */
export function noCounters(): Counters {
  return {
    roundTrips: 0,
    bytes: 0,
    sent: 0,
    mismatches: 0,
    short: 0,
    resets: 0,
    timeouts: 0,
    lost: 0,
    late: 0,
    errors: 0,
  };
}

/** Adds `b` into `a` and returns `a`. */
export function addCounters(a: Counters, b: Counters): Counters {
  return addCounts(a, b);
}

/** A message from a worker to the main thread. */
export type BenchWorkerMessage =
  | {
    type: "ready";
    /** Connections (sockets) ready to run. */
    connected: number;
    /** Those that could not connect (or, UDP, whose first datagram was refused). */
    failed: number;
    /** The first failure, as a SysError's syscall, code and message. */
    error?: { syscall: string; code: string; message: string };
  }
  | { type: "tick"; index: number; counters: Counters; hist: SparseHistogram }
  | {
    type: "done";
    /** What was counted since the last tick. */
    counters: Counters;
    hist: SparseHistogram;
    /** The first error seen while running, if any (`recv ECONNRESET 127.0.0.1:7`). */
    firstError?: string;
  }
  | { type: "failed"; error: string };

/**
 * Splits `total` connections over `workers` threads as evenly as possible (the first ones
 * get one more); threads left without a connection are not started.
 */
export function splitConns(total: number, workers: number): number[] {
  const n = Math.max(1, Math.min(workers, total));
  const base = Math.floor(total / n), extra = total % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** Period of the payload pattern: a prime, so consecutive messages start at new offsets. */
export const PATTERN_PERIOD = 4093;

/**
 * The payload pattern: `PATTERN_PERIOD + maxSize` pseudo-random bytes (xorshift32 from
 * `seed`), repeating with that period, so message k of a connection is the window at a
 * varying offset and a stale or shifted echo does not match.
 */
export function payloadPattern(maxSize: number, seed: number): Uint8Array {
  const p = new Uint8Array(PATTERN_PERIOD + maxSize);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    p[i] = s & 0xff;
  }
  for (let i = PATTERN_PERIOD; i < p.length; i++) p[i] = p[i - PATTERN_PERIOD]!;
  return p;
}
