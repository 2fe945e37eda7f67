/**
 * The bookkeeping of an echo ping, shared by every transport (Deno sockets on the main
 * thread, the synchronous libc prober in a Worker): the probe layout, which probes are in
 * flight, and what each frame that comes back is (a reply, a late or duplicate echo, a
 * corrupt frame). Pure: the caller supplies the clock and does the I/O.
 *
 * Probe layout (SIZE bytes, SIZE >= 12): "SBXP", session id (u32 BE), sequence (u32 BE),
 * then a filler derived from the sequence number.
 *
 * @module
 */

/** Smallest probe: magic, session, sequence. */
export const MIN_PROBE = 12;
const MAGIC = [0x53, 0x42, 0x58, 0x50]; // "SBXP"

/** Writes probe `seq` of `session` into all of `buf` (its length is the probe size). */
export function fillProbe(buf: Uint8Array, session: number, seq: number): void {
  buf.set(MAGIC);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(4, session);
  dv.setUint32(8, seq);
  // Every bit of seq reaches every filler byte (xorshift32 seeded by a multiplicative hash),
  // so an echo whose sequence number is corrupted is not the probe of another number.
  let x = Math.imul(seq ^ 0x5bd1e995, 0x9e3779b1) || 1;
  for (let i = MIN_PROBE; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
}

/** Builds probe `seq` of `size` bytes for `session`. */
export function makeProbe(size: number, session: number, seq: number): Uint8Array {
  const p = new Uint8Array(size);
  fillProbe(p, session, seq);
  return p;
}

/** What a frame that came back is. */
export type ProbeVerdict =
  /** The echo of a probe in flight: `rtt` in the caller's clock units. */
  | { kind: "reply"; seq: number; rtt: number }
  /** The echo of a probe already counted lost; `rtt` from its send. */
  | { kind: "late"; seq: number; rtt: number }
  /** A second echo of a probe already answered. */
  | { kind: "duplicate"; seq: number }
  /** Not an exact echo of one of our probes. */
  | { kind: "corrupt"; seq: number | null; reason: string }
  /** One of our probes (seq 1 to the highest sent) the book no longer knows: ignored. */
  | { kind: "ignored"; seq: number };

/**
 * The probes of one ping run: sent ones in flight (in send order), those counted lost, those
 * answered, and the round trips.
 *
 * @example
 * ```ts
 * import { makeProbe, ProbeBook } from "./probe_book.ts";
 * const book = new ProbeBook(64, 7);
 * book.sent(1, 0);
 * book.frame(makeProbe(64, 7, 1), 0.2); // { kind: "reply", seq: 1, rtt: 0.2 }
 * ```
 */
export class ProbeBook {
  /** In flight: seq -> send time, oldest first. */
  readonly inFlight = new Map<number, number>();
  /** Counted lost: seq -> send time (a later echo is `late`). */
  readonly lost = new Map<number, number>();
  /** Answered (a second echo is a duplicate). */
  readonly answered = new Set<number>();
  readonly #expect: Uint8Array;
  /** The highest seq sent: an echo of a higher one (or of 0) is corrupt, not ignored. */
  #highest = 0;

  /** Probes of `size` bytes carrying `session`. */
  constructor(readonly size: number, readonly session: number) {
    this.#expect = new Uint8Array(size);
  }

  /** Records probe `seq` as sent at `t0`. */
  sent(seq: number, t0: number): void {
    this.inFlight.set(seq, t0);
    if (seq > this.#highest) this.#highest = seq;
  }

  /** The oldest probe in flight and its send time, if any. */
  oldest(): [number, number] | undefined {
    const first = this.inFlight.entries().next();
    return first.done ? undefined : first.value;
  }

  /** Counts probe `seq` lost (no echo in time); false when it is not in flight. */
  timeout(seq: number): boolean {
    const t0 = this.inFlight.get(seq);
    if (t0 === undefined) return false;
    this.inFlight.delete(seq);
    this.lost.set(seq, t0);
    return true;
  }

  /**
   * The peer's host refused a probe (an ICMP port unreachable does not say which one): the
   * oldest in flight is refused; its seq, or null when none is in flight.
   */
  refuse(): number | null {
    const o = this.oldest();
    if (!o) return null;
    this.inFlight.delete(o[0]);
    return o[0];
  }

  /** Drops a probe from every record (a run that ends with it in flight). */
  forget(seq: number): void {
    this.inFlight.delete(seq);
  }

  /** Classifies `frame`, received at `now`, and updates the records. */
  frame(frame: Uint8Array, now: number): ProbeVerdict {
    if (frame.length < MIN_PROBE) return { kind: "corrupt", seq: null, reason: "not our probe" };
    const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const ours = frame[0] === MAGIC[0] && frame[1] === MAGIC[1] && frame[2] === MAGIC[2] &&
      frame[3] === MAGIC[3] && dv.getUint32(4) === this.session;
    if (!ours) return { kind: "corrupt", seq: null, reason: "not our probe" };
    const seq = dv.getUint32(8);
    const expect = this.#expect;
    fillProbe(expect, this.session, seq);
    let same = frame.length === expect.length;
    for (let i = MIN_PROBE; same && i < frame.length; i++) same = frame[i] === expect[i];
    if (!same) return { kind: "corrupt", seq, reason: "echo differs from probe" };
    const t0 = this.inFlight.get(seq);
    if (t0 !== undefined) {
      this.inFlight.delete(seq);
      this.answered.add(seq);
      return { kind: "reply", seq, rtt: now - t0 };
    }
    const lostAt = this.lost.get(seq);
    if (lostAt !== undefined) {
      this.lost.delete(seq);
      return { kind: "late", seq, rtt: now - lostAt };
    }
    if (this.answered.has(seq)) return { kind: "duplicate", seq };
    if (seq === 0 || seq > this.#highest) {
      return { kind: "corrupt", seq, reason: "no probe was sent with this seq" };
    }
    return { kind: "ignored", seq };
  }
}
