/**
 * Refusal counters, pure: every connection or datagram a server turns away, by reason,
 * for the `reject`/`drop` events and the summary. One type names every reason, so the
 * engines count alike and a summary line reads the same on each of them.
 *
 * @module
 */
import type { AccessRefusal } from "./acl.ts";
import type { ReflectDrop } from "./reflect.ts";

/** Why a server refused a connection or dropped a datagram, or stopped reading one. */
export type RefusalReason =
  | AccessRefusal
  | ReflectDrop
  | "max-conns"
  | "max-per-ip"
  | "rate"
  | "max-bytes"
  | "idle-timeout"
  | "no-fds";

/** Every reason, in the order a summary lists them. */
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  "denied",
  "not-allowed",
  "max-conns",
  "max-per-ip",
  "rate",
  "max-bytes",
  "idle-timeout",
  "no-fds",
  "reflector-port",
  "port-zero",
  "broadcast-source",
  "multicast-source",
];

/** Counts by reason; only reasons seen are present. */
export type RefusalCounts = Partial<Record<RefusalReason, number>>;

/**
 * Counts refusals by reason.
 *
 * @example
 * ```ts
 * import { Refusals } from "./refusals.ts";
 * const r = new Refusals();
 * r.add("rate");
 * r.add("denied", 2);
 * r.text(); // "denied 2, rate 1"
 * ```
 */
export class Refusals {
  #counts = new Map<RefusalReason, number>();

  /** Counts `n` (default 1) refusals for `reason`. */
  add(reason: RefusalReason, n = 1): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + n);
  }

  /** The count for one reason. */
  get(reason: RefusalReason): number {
    return this.#counts.get(reason) ?? 0;
  }

  /** The sum over every reason. */
  get total(): number {
    let t = 0;
    for (const n of this.#counts.values()) t += n;
    return t;
  }

  /** The counts as a summary event carries them (reasons in {@link REFUSAL_REASONS} order). */
  toJSON(): RefusalCounts {
    const out: RefusalCounts = {};
    for (const r of REFUSAL_REASONS) {
      const n = this.#counts.get(r);
      if (n) out[r] = n;
    }
    return out;
  }

  /** The human text: `denied 2, rate 1`, or `none`. */
  text(): string {
    return refusalsText(this.toJSON());
  }
}

/** The human text of counts: `denied 2, rate 1`, or `none`. */
export function refusalsText(counts: RefusalCounts): string {
  const parts = REFUSAL_REASONS.filter((r) => counts[r]).map((r) => `${r} ${counts[r]}`);
  return parts.length ? parts.join(", ") : "none";
}
