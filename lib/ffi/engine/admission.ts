/**
 * TCP admission for the echo data plane, shared by every worker thread. The lists
 * (--allow/--deny) need no shared state: each worker checks them itself. Connections per
 * source (--max-per-ip) and the token bucket per source (--rate) must hold across workers
 * that accept on their own SO_REUSEPORT sockets, so they live in one table in a
 * `SharedArrayBuffer`: open addressing with linear probing, keyed by the source address
 * (16 bytes; IPv4 as its IPv4-mapped IPv6 form, so a mapped peer is the same source),
 * guarded by one spin lock taken with `Atomics.compareExchange`. A decision is a few
 * dozen loads and stores once per accepted connection, so one lock costs nothing
 * measurable, and every thread decides exactly as one {@link Gate} would: the lists, then
 * the count per source, then the bucket (rate tokens are taken only from connections the
 * count lets in), with the same refill rule as lib/base/rate.ts.
 *
 * Memory stays bounded, as lib/base/rate.ts bounds its map: an entry with no open
 * connection whose bucket has refilled says nothing a new entry would not, so it is
 * dropped (at once on the last close without a rate; by a sweep when the table fills).
 * If every entry is live (more sources at once than {@link SharedAdmission.capacity}/2),
 * a new source is admitted untracked, which can only err towards serving it.
 *
 * Pure: no fds; time is passed in (ms on a clock every thread shares, such as
 * `performance.timeOrigin + performance.now()`).
 *
 * @module
 */
import { AccessList, addressBytes, parseCidr } from "../../base/acl.ts";
import type { AdmissionSpec } from "../../base/gate.ts";
import type { Rate } from "../../base/rate.ts";
import type { RefusalReason } from "../../base/refusals.ts";

/** Int32 words before the slots: the lock and the number of entries in use. */
const LOCK = 0;
const LIVE = 1;
const HEADER = 2;
/** Int32 words per slot: the key (4), in use, open connections. */
const WORDS = 6;
const USED = 4;
const COUNT = 5;
/** Float64 words per slot: the bucket's tokens and when it was last taken from. */
const TOKENS = 0;
const AT = 1;

/** Slots in a table made by {@link SharedAdmission.table} (entries live: at most half). */
export const DEFAULT_SLOTS = 1 << 17;

/** Whether a spec needs the shared table (a count or a rate per source). */
export function needsTable(spec: AdmissionSpec | undefined): boolean {
  return spec !== undefined && (spec.maxPerIp !== undefined || spec.rate !== undefined);
}

/** Offset (bytes) of the Float64 part in a table of `slots` slots. */
function floatsAt(slots: number): number {
  return Math.ceil(((HEADER + slots * WORDS) * 4) / 8) * 8;
}

/**
 * One thread's view of the shared admission state (see the module doc).
 *
 * @example
 * ```ts
 * import { SharedAdmission } from "./admission.ts";
 * const spec = { allow: [], deny: [], maxPerIp: 1 };
 * const table = SharedAdmission.table(spec, 64);
 * const a = new SharedAdmission(spec, table), b = new SharedAdmission(spec, table);
 * a.admit("10.0.0.1", 0); // null: served
 * b.admit("10.0.0.1", 0); // "max-per-ip": the other thread's connection counts
 * a.release("10.0.0.1", 0);
 * b.admit("10.0.0.1", 0); // null
 * ```
 */
export class SharedAdmission {
  readonly #acl: AccessList | null;
  readonly #maxPerIp: number | undefined;
  readonly #rate: Rate | undefined;
  readonly #ints: Int32Array | null;
  readonly #floats: Float64Array | null;
  readonly #mask: number;
  /** The table's slots (0 without a table). */
  readonly capacity: number;
  readonly #key = new Int32Array(4);
  readonly #keyBytes = new Uint8Array(this.#key.buffer);

  /** The shared table for `spec`, or null when it needs none ({@link needsTable}). */
  static table(spec: AdmissionSpec, slots = DEFAULT_SLOTS): SharedArrayBuffer | null {
    if (!needsTable(spec)) return null;
    if (slots < 2 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`Invalid slots: ${slots} (a power of 2)`);
    }
    return new SharedArrayBuffer(floatsAt(slots) + slots * 2 * 8);
  }

  /** This thread's view of `table` (from {@link SharedAdmission.table}) under `spec`. */
  constructor(spec: AdmissionSpec, table: SharedArrayBuffer | null) {
    const cidrs = (l: string[]) => l.map((t) => parseCidr(t)!);
    this.#acl = spec.allow.length || spec.deny.length
      ? new AccessList(cidrs(spec.allow), cidrs(spec.deny))
      : null;
    this.#maxPerIp = spec.maxPerIp;
    this.#rate = spec.rate;
    if (table && needsTable(spec)) {
      // The slot count follows from the size: floatsAt(s) + 16 s bytes.
      let slots = 2;
      while (floatsAt(slots * 2) + slots * 2 * 16 <= table.byteLength) slots *= 2;
      this.#ints = new Int32Array(table, 0, HEADER + slots * WORDS);
      this.#floats = new Float64Array(table, floatsAt(slots), slots * 2);
      this.capacity = slots;
      this.#mask = slots - 1;
    } else {
      this.#ints = this.#floats = null;
      this.capacity = this.#mask = 0;
    }
  }

  /** Sources with an entry now (open connections or a bucket still refilling). */
  get live(): number {
    return this.#ints ? Atomics.load(this.#ints, LIVE) : 0;
  }

  /**
   * A connection from `peer` (an address as accept(2) gave it) at `nowMs`: null to serve
   * it (call {@link release} when it closes), or why it is refused.
   */
  admit(peer: string, nowMs: number): RefusalReason | null {
    const acl = this.#acl?.check(peer);
    if (acl) return acl;
    if (!this.#ints || !this.#setKey(peer)) return null;
    this.#lock();
    try {
      return this.#admit(nowMs);
    } finally {
      this.#unlock();
    }
  }

  /** A connection {@link admit} let in from `peer` has closed. */
  release(peer: string, nowMs: number): void {
    if (this.#maxPerIp === undefined || !this.#ints || !this.#setKey(peer)) return;
    this.#lock();
    try {
      const i = this.#find();
      if (i < 0) return; // admitted untracked (the table was full)
      const ints = this.#ints, w = HEADER + i * WORDS;
      const n = ints[w + COUNT]! - 1;
      ints[w + COUNT] = Math.max(0, n);
      if (n <= 0 && this.#stale(i, nowMs)) this.#delete(i);
    } finally {
      this.#unlock();
    }
  }

  /** Open connections from `peer` as the table counts them (only with a count per source). */
  openFrom(peer: string): number {
    if (!this.#ints || !this.#setKey(peer)) return 0;
    this.#lock();
    try {
      const i = this.#find();
      return i < 0 ? 0 : this.#ints[HEADER + i * WORDS + COUNT]!;
    } finally {
      this.#unlock();
    }
  }

  #admit(nowMs: number): RefusalReason | null {
    const ints = this.#ints!, floats = this.#floats!;
    let i = this.#find();
    const count = i < 0 ? 0 : ints[HEADER + i * WORDS + COUNT]!;
    if (this.#maxPerIp !== undefined && count >= this.#maxPerIp) return "max-per-ip";
    const rate = this.#rate;
    let tokens = 0;
    if (rate) {
      tokens = i < 0
        ? rate.burst
        : Math.min(rate.burst, floats[i * 2 + TOKENS]! + refill(rate, nowMs - floats[i * 2 + AT]!));
      if (tokens < 1) {
        floats[i * 2 + TOKENS] = tokens; // i >= 0 here: a new bucket is full
        floats[i * 2 + AT] = nowMs;
        return "rate";
      }
    }
    if (i < 0) {
      i = this.#insert(nowMs);
      if (i < 0) return null; // full of live sources: served untracked
    }
    const w = HEADER + i * WORDS;
    if (this.#maxPerIp !== undefined) ints[w + COUNT] = count + 1;
    if (rate) {
      floats[i * 2 + TOKENS] = tokens - 1;
      floats[i * 2 + AT] = nowMs;
    }
    return null;
  }

  /** The key of `peer` into #key; false when it is not an address. */
  #setKey(peer: string): boolean {
    const b = addressBytes(peer);
    if (!b) return false;
    const k = this.#keyBytes;
    if (b.length === 4) {
      k.fill(0, 0, 10);
      k[10] = k[11] = 0xff;
      k.set(b, 12);
    } else k.set(b);
    return true;
  }

  #home(k0: number, k1: number, k2: number, k3: number): number {
    let h = 0x811c9dc5;
    h = Math.imul(h ^ k0, 0x01000193);
    h = Math.imul(h ^ k1, 0x01000193);
    h = Math.imul(h ^ k2, 0x01000193);
    h = Math.imul(h ^ k3, 0x01000193);
    h ^= h >>> 15;
    return h & this.#mask;
  }

  /** The slot holding #key, or -1. */
  #find(): number {
    const ints = this.#ints!, k = this.#key;
    for (let i = this.#home(k[0]!, k[1]!, k[2]!, k[3]!);; i = (i + 1) & this.#mask) {
      const w = HEADER + i * WORDS;
      if (ints[w + USED] === 0) return -1;
      if (
        ints[w] === k[0] && ints[w + 1] === k[1] && ints[w + 2] === k[2] && ints[w + 3] === k[3]
      ) {
        return i;
      }
    }
  }

  /** Adds #key (absent) with nothing counted; -1 when the table is full of live entries. */
  #insert(nowMs: number): number {
    const ints = this.#ints!;
    if (ints[LIVE]! >= this.capacity / 2) {
      this.#sweep(nowMs);
      if (ints[LIVE]! >= this.capacity / 2) return -1;
    }
    const k = this.#key;
    let i = this.#home(k[0]!, k[1]!, k[2]!, k[3]!);
    while (ints[HEADER + i * WORDS + USED] !== 0) i = (i + 1) & this.#mask;
    const w = HEADER + i * WORDS;
    ints.set(k, w);
    ints[w + USED] = 1;
    ints[w + COUNT] = 0;
    ints[LIVE] = ints[LIVE]! + 1;
    return i;
  }

  /** Whether slot `i`'s bucket (if any) has refilled by `nowMs`: it says nothing new. */
  #stale(i: number, nowMs: number): boolean {
    const rate = this.#rate;
    if (!rate) return true;
    const f = this.#floats!;
    return f[i * 2 + TOKENS]! + refill(rate, nowMs - f[i * 2 + AT]!) >= rate.burst;
  }

  /** Drops every entry with no open connection and a full bucket. */
  #sweep(nowMs: number): void {
    const ints = this.#ints!;
    for (let i = 0; i < this.capacity;) {
      const w = HEADER + i * WORDS;
      // After a delete, slot i holds what moved back into it: look at it again.
      if (ints[w + USED] !== 0 && ints[w + COUNT] === 0 && this.#stale(i, nowMs)) {
        this.#delete(i);
        if (ints[w + USED] !== 0) continue;
      }
      i++;
    }
  }

  /** Empties slot `i`, moving later entries of its probe run back (no tombstones). */
  #delete(i: number): void {
    const ints = this.#ints!, floats = this.#floats!, mask = this.#mask;
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const wj = HEADER + j * WORDS;
      if (ints[wj + USED] === 0) break;
      const h = this.#home(ints[wj]!, ints[wj + 1]!, ints[wj + 2]!, ints[wj + 3]!);
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (stays) continue;
      ints.copyWithin(HEADER + i * WORDS, wj, wj + WORDS);
      floats[i * 2 + TOKENS] = floats[j * 2 + TOKENS]!;
      floats[i * 2 + AT] = floats[j * 2 + AT]!;
      i = j;
    }
    ints.fill(0, HEADER + i * WORDS, HEADER + (i + 1) * WORDS);
    ints[LIVE] = ints[LIVE]! - 1;
  }

  #lock(): void {
    const ints = this.#ints!;
    while (Atomics.compareExchange(ints, LOCK, 0, 1) !== 0) { /* held for a few loads */ }
  }

  #unlock(): void {
    Atomics.store(this.#ints!, LOCK, 0);
  }
}

function refill(rate: Rate, ms: number): number {
  return ms > 0 ? (ms / 1000) * rate.perSecond : 0;
}
