/**
 * The path MTU search behind `check --mtu`, as pure logic: which UDP payload size to send
 * next with don't-fragment set, given what the earlier ones did. Like tracepath(8) it
 * follows the MTU every "fragmentation needed" / "packet too big" message carries
 * (RFC 1191, RFC 8201) and the local interface MTU the kernel reports for a datagram too
 * big to leave; where no hint comes (a black hole that drops big packets silently), it
 * falls back to a binary search between the largest echo and the smallest failure.
 *
 * @module
 */

/** What happened to one probe of a given size. */
export type MtuOutcome =
  /** The echo came back byte for byte. */
  | { kind: "echo" }
  /** Too big: with the MTU (whole IP packet) and the sender, when the error said. */
  | { kind: "too-big"; mtu?: number | undefined; from?: string | null | undefined }
  /** Nothing came back in time (or an error that says nothing about size). */
  | { kind: "lost" };

/**
 * The search state. Call {@link next} for the next payload size, {@link record} its
 * outcome, and read {@link maxPayload} and {@link from} when `next()` returns null.
 *
 * @example
 * ```ts
 * import { MtuSearch } from "./mtu.ts";
 * const s = new MtuSearch({ floor: 64, ceiling: 65507, header: 28 });
 * s.next(); // 64: first make sure a small echo gets through
 * s.record(64, { kind: "echo" });
 * s.next(); // 65507: the largest UDP payload; the kernel says the interface MTU
 * s.record(65507, { kind: "too-big", mtu: 1500 });
 * s.next(); // 1472
 * s.record(1472, { kind: "too-big", mtu: 1400, from: "192.0.2.1" });
 * s.next(); // 1372
 * s.record(1372, { kind: "echo" });
 * s.next(); // null: s.maxPayload === 1372, s.from === "192.0.2.1"
 * ```
 */
export class MtuSearch {
  readonly #floor: number;
  readonly #header: number;
  #lo = 0;
  #hi: number;
  #hinted = true;
  #floorDone = false;
  #from: string | null = null;

  /**
   * `floor`: the small payload tried first; `ceiling`: the largest payload to try;
   * `header`: IP + UDP header bytes (28 for IPv4, 48 for IPv6), to turn an MTU into a
   * payload size.
   */
  constructor(o: { floor: number; ceiling: number; header: number }) {
    this.#floor = o.floor;
    this.#header = o.header;
    this.#hi = o.ceiling;
  }

  /** The next payload size to try, or null when the search is over. */
  next(): number | null {
    if (!this.#floorDone) return this.#floor;
    if (this.#hi <= this.#lo) return null;
    if (this.#hinted) return this.#hi;
    // With no echo at all, only hints are worth following: each costs one probe and may
    // name the router, while a blind search would wait out every timeout.
    if (this.#lo === 0) return null;
    return Math.ceil((this.#lo + this.#hi) / 2);
  }

  /** Records what a probe of `size` bytes did. */
  record(size: number, outcome: MtuOutcome): void {
    if (!this.#floorDone && size === this.#floor) {
      this.#floorDone = true;
      if (outcome.kind === "echo") this.#lo = size;
      // Next: the ceiling, whatever happened (a too-big answer may still name the router).
      this.#hinted = true;
      return;
    }
    if (outcome.kind === "echo") {
      this.#lo = Math.max(this.#lo, size);
      this.#hinted = false;
      return;
    }
    this.#hi = Math.min(this.#hi, size - 1);
    this.#hinted = false;
    if (outcome.kind === "too-big") {
      if (outcome.from) this.#from = outcome.from;
      const fits = outcome.mtu === undefined ? NaN : outcome.mtu - this.#header;
      if (fits > this.#lo && fits < size) {
        this.#hi = Math.min(this.#hi, fits);
        this.#hinted = true;
      }
    }
  }

  /** The largest payload that came back, or null if none did. */
  get maxPayload(): number | null {
    return this.#lo > 0 ? this.#lo : null;
  }

  /** The last router that said "too big" (never this host), or null. */
  get from(): string | null {
    return this.#from;
  }
}
