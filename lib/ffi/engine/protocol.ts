/**
 * What the echo data plane's threads tell each other: the settings the main thread gives a
 * worker (its first and only message), the control words they share through a
 * `SharedArrayBuffer`, and the messages a worker posts back (events in batches, then its
 * totals). Pure: nothing here opens, reads or closes an fd.
 *
 * @module
 */
import type { SpliceMode } from "../../base/splice.ts";
import type { EchoConnectionEvent } from "../../base/echo_events.ts";
import type { AdmissionSpec } from "../../base/gate.ts";
import { REFUSAL_REASONS, type RefusalCounts } from "../../base/refusals.ts";
import { addCounts } from "../counts.ts";

/** Settings one worker runs with. The fds belong to the pool; the worker never closes them. */
export interface WorkerConfig {
  proto: "tcp" | "udp";
  /** 0-based worker number (for messages). */
  index: number;
  /** The listening TCP socket, or the bound UDP socket, this worker serves. */
  fd: number;
  /** TCP: the listener is shared with the other workers (SO_REUSEPORT refused). */
  shared: boolean;
  /** TCP: the eventfd the pool writes to wake this worker; -1 for UDP (woken by shutdown(2)). */
  wakeFd: number;
  /** The words every thread shares, as an `Int32Array` indexed by {@link CONTROL}. */
  control: SharedArrayBuffer;
  /** TCP: connections served at once across all workers; 0 means no limit. */
  maxConns: number;
  /** TCP: close a connection after this long without data (ms); 0 means never. */
  idleTimeoutMs: number;
  /** Report every read (`read` events). */
  verbose: boolean;
  /** No `accept`, `close` or `reject` events (the totals still count them). */
  quiet: boolean;
  /**
   * TCP: which streaming peers are served with splice(2) through a pipe instead of
   * read(2)/write(2) (lib/base/splice.ts).
   */
  splice: SpliceMode;
  /** Refuse IPv4-mapped peers (`-6` with no host, where IPV6_V6ONLY could not be set). */
  rejectMapped: boolean;
  /**
   * Who is served (lib/base/gate.ts), as plain data; absent: everyone. UDP: every rule per
   * datagram. TCP: the lists, counts and rate per source on accept, `maxBytes` per
   * connection.
   */
  admission?: AdmissionSpec | undefined;
  /** TCP: the table of counts and buckets per source every worker shares (./admission.ts). */
  admissionTable?: SharedArrayBuffer | null | undefined;
  /** TCP: after the stop, how long (ms) connections may take to echo what they read. */
  drainMs: number;
  /** Every worker's running totals, {@link STATS} words each, at `index * STATS.length`. */
  stats: SharedArrayBuffer;
}

/** Indexes of the shared control words. */
export const CONTROL = {
  /** Set to 1 by the pool: finish and report. */
  stop: 0,
  /** TCP connections open across all workers. */
  open: 1,
  /** TCP connections their peers aborted before accept(2), across all workers. */
  aborted: 2,
  /** Number of words. */
  length: 3,
} as const;

/** Why a connection closed (the same words the `Deno.listen` engine uses). */
export type CloseReason = "eof" | "idle-timeout" | "error" | "shutdown" | "max-bytes";

/** Events a worker reports; the echo servers' own events, minus `listening` and `summary`. */
export type WorkerEvent = EchoConnectionEvent;

/** What one worker (or the whole pool) served. */
export interface Totals {
  connections: number;
  datagrams: number;
  bytes_in: number;
  bytes_out: number;
  /** TCP: connections refused because `maxConns` were open. */
  max_conns: number;
  /** TCP: connections their peers aborted before accept(2) took them. */
  aborted: number;
  /** UDP: datagrams dropped by the admission gate, by reason, when there were any. */
  refused?: RefusalCounts;
}

/** A message from a worker to the pool. */
export type WorkerMessage =
  | { type: "events"; events: WorkerEvent[] }
  | { type: "done"; totals: Totals }
  | { type: "failed"; error: string };

/** Totals of nothing. */
export function noTotals(): Totals {
  return { connections: 0, datagrams: 0, bytes_in: 0, bytes_out: 0, max_conns: 0, aborted: 0 };
}

/** Adds `b` into `a` and returns `a`. */
export function addTotals(a: Totals, b: Totals): Totals {
  addCounts(a, b);
  if (b.refused) addCounts(a.refused ??= {}, b.refused);
  return a;
}

/**
 * Takes one connection slot from the shared `open` counter: the new count, or 0 when
 * `max` (> 0) connections are already open. Safe when several workers accept at once.
 */
export function takeSlot(control: Int32Array, max: number): number {
  for (;;) {
    const cur = Atomics.load(control, CONTROL.open);
    if (max > 0 && cur >= max) return 0;
    if (Atomics.compareExchange(control, CONTROL.open, cur, cur + 1) === cur) return cur + 1;
  }
}

/** Gives back a slot {@link takeSlot} took. */
export function releaseSlot(control: Int32Array): void {
  Atomics.sub(control, CONTROL.open, 1);
}

/** The Float64 words of one worker's running totals in {@link WorkerConfig.stats}. */
export const STATS = {
  connections: 0,
  datagrams: 1,
  bytes_in: 2,
  bytes_out: 3,
  max_conns: 4,
  aborted: 5,
  /** Refusals by reason from here, in {@link REFUSAL_REASONS} order. */
  refused: 6,
  length: 6 + REFUSAL_REASONS.length,
} as const;

/** The stats buffer for `workers` workers. */
export function statsBuffer(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(workers * STATS.length * 8);
}

/** Writes `t` as worker `index`'s running totals (its own words only: no lock needed). */
export function publishTotals(stats: Float64Array, index: number, t: Totals): void {
  const at = index * STATS.length;
  stats[at + STATS.connections] = t.connections;
  stats[at + STATS.datagrams] = t.datagrams;
  stats[at + STATS.bytes_in] = t.bytes_in;
  stats[at + STATS.bytes_out] = t.bytes_out;
  stats[at + STATS.max_conns] = t.max_conns;
  stats[at + STATS.aborted] = t.aborted;
  if (t.refused) {
    for (let i = 0; i < REFUSAL_REASONS.length; i++) {
      stats[at + STATS.refused + i] = t.refused[REFUSAL_REASONS[i]!] ?? 0;
    }
  }
}

/** The sum of every worker's running totals (what they have published so far). */
export function readTotals(stats: Float64Array): Totals {
  const sum = noTotals();
  for (let at = 0; at + STATS.length <= stats.length; at += STATS.length) {
    const t = noTotals();
    t.connections = stats[at + STATS.connections]!;
    t.datagrams = stats[at + STATS.datagrams]!;
    t.bytes_in = stats[at + STATS.bytes_in]!;
    t.bytes_out = stats[at + STATS.bytes_out]!;
    t.max_conns = stats[at + STATS.max_conns]!;
    t.aborted = stats[at + STATS.aborted]!;
    for (let i = 0; i < REFUSAL_REASONS.length; i++) {
      const n = stats[at + STATS.refused + i]!;
      if (n) (t.refused ??= {})[REFUSAL_REASONS[i]!] = n;
    }
    addTotals(sum, t);
  }
  return sum;
}
