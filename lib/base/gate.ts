/**
 * Admission for servers, pure: one object per listening socket decides, before a byte is
 * read or echoed, whether a connection or datagram is served, and counts every refusal
 * by reason ({@link Refusals}). It combines the access lists (./acl.ts), connections per
 * source address, the token bucket per source (./rate.ts), the UDP reflection guard
 * (./reflect.ts), so every engine (Deno's sockets, the FFI Workers, SCTP, the services)
 * makes the same decisions with one call. Time is passed in.
 *
 * @module
 */
import { AccessList, addressBytes, formatCidr, ipv4Number, parseCidr } from "./acl.ts";
import { type Rate, RateLimiter } from "./rate.ts";
import { reflectDrop, reflectDropBinary, type ReflectGuard } from "./reflect.ts";
import { type RefusalReason, Refusals } from "./refusals.ts";

/** What a server admits; every field optional (absent: no limit of that kind). */
export interface AdmissionOptions {
  /** `--allow` / `--deny`. */
  acl?: AccessList | undefined;
  /** TCP: connections at once from one source address. */
  maxPerIp?: number | undefined;
  /** Connections (TCP) or datagrams (UDP) per second per source address. */
  rate?: Rate | undefined;
  /** TCP: bytes served per connection; beyond it the connection is closed. */
  maxBytes?: number | undefined;
  /** UDP: the reflection guard (absent: off). */
  reflect?: ReflectGuard | undefined;
  /** UDP: directed broadcast addresses of the host (for the reflection guard). */
  broadcasts?: ReadonlySet<string> | undefined;
}

/**
 * Decides and counts; see the module doc.
 *
 * @example
 * ```ts
 * import { Gate } from "./gate.ts";
 * const g = new Gate({ maxPerIp: 1 });
 * g.admit("10.0.0.1", 0); // null: served
 * g.admit("10.0.0.1", 0); // "max-per-ip"
 * g.release("10.0.0.1");
 * g.refusals.text(); // "max-per-ip 1"
 * ```
 */
export class Gate {
  /** The settings. */
  readonly options: AdmissionOptions;
  /** Every refusal so far, by reason. */
  readonly refusals: Refusals = new Refusals();
  #perIp = new Map<string, number>();
  #rate: RateLimiter | undefined;
  /** The directed broadcast addresses (IPv4) as 32-bit numbers. */
  #broadcasts4 = new Set<number>();
  /**
   * No access list and no rate: a datagram is decided by the reflection guard alone,
   * which {@link admitDatagramBinary} applies without the source as text.
   */
  readonly guardOnly: boolean;

  /** A gate with `options`. */
  constructor(options: AdmissionOptions = {}) {
    this.options = options;
    this.#rate = options.rate && new RateLimiter(options.rate);
    this.guardOnly = options.acl === undefined && options.rate === undefined;
    for (const text of options.broadcasts ?? []) {
      const b = addressBytes(text);
      if (b?.length === 4) this.#broadcasts4.add(ipv4Number(b));
    }
  }

  /**
   * A TCP connection from `peer` (unmapped address) at `nowMs`: null to serve it (then
   * call {@link release} when it closes), or the reason it is refused (counted).
   */
  admit(peer: string, nowMs: number): RefusalReason | null {
    const why = this.#check(peer, nowMs);
    if (why) {
      this.refusals.add(why);
      return why;
    }
    if (this.options.maxPerIp !== undefined) {
      this.#perIp.set(peer, (this.#perIp.get(peer) ?? 0) + 1);
    }
    return null;
  }

  #check(peer: string, nowMs: number): RefusalReason | null {
    const acl = this.options.acl?.check(peer);
    if (acl) return acl;
    const max = this.options.maxPerIp;
    if (max !== undefined && (this.#perIp.get(peer) ?? 0) >= max) return "max-per-ip";
    if (this.#rate && !this.#rate.take(peer, nowMs)) return "rate";
    return null;
  }

  /** A connection {@link admit} let in has closed. */
  release(peer: string): void {
    const n = this.#perIp.get(peer);
    if (n === undefined) return;
    if (n <= 1) this.#perIp.delete(peer);
    else this.#perIp.set(peer, n - 1);
  }

  /** Connections open from `peer` (counted only with `maxPerIp`). */
  openFrom(peer: string): number {
    return this.#perIp.get(peer) ?? 0;
  }

  /**
   * A UDP datagram from `peer`:`port` at `nowMs`: null to answer it, or the reason it is
   * dropped (counted). The reflection guard first, then the lists, then the rate.
   */
  admitDatagram(peer: string, port: number, nowMs: number): RefusalReason | null {
    const why = (this.options.reflect &&
      reflectDrop(this.options.reflect, peer, port, this.options.broadcasts)) ||
      this.options.acl?.check(peer) ||
      (this.#rate && !this.#rate.take(peer, nowMs) ? "rate" : null);
    if (why) this.refusals.add(why);
    return why || null;
  }

  /**
   * {@link admitDatagram} for a gate that is {@link guardOnly}, with the source in binary
   * form (see reflectDropBinary in ./reflect.ts: `v4` its 32-bit number, or -1 and the
   * IPv6 source's first byte `v6First`): null to answer, or the reason (counted).
   */
  admitDatagramBinary(v4: number, v6First: number, port: number): RefusalReason | null {
    const r = this.options.reflect;
    if (!r) return null;
    const why = reflectDropBinary(r, v4, v6First, port, v4 >= 0 && this.#broadcasts4.has(v4));
    if (why) this.refusals.add(why);
    return why;
  }

  /** How many of `n` bytes a connection that has served `served` may still take. */
  allowance(served: number, n: number): number {
    const max = this.options.maxBytes;
    return max === undefined ? n : Math.max(0, Math.min(n, max - served));
  }
}

/**
 * {@link AdmissionOptions} as plain data, for a Worker's first message (structured clone
 * keeps no classes): prefixes as text, the guard's ports as a list.
 */
export interface AdmissionSpec {
  allow: string[];
  deny: string[];
  maxPerIp?: number;
  rate?: Rate;
  maxBytes?: number;
  reflect?: { enabled: boolean; ports: number[] };
  broadcasts?: string[];
}

/** The plain-data form of `o` (see {@link AdmissionSpec}). */
export function admissionSpec(o: AdmissionOptions): AdmissionSpec {
  const spec: AdmissionSpec = {
    allow: (o.acl?.allow ?? []).map(formatCidr),
    deny: (o.acl?.deny ?? []).map(formatCidr),
  };
  if (o.maxPerIp !== undefined) spec.maxPerIp = o.maxPerIp;
  if (o.rate !== undefined) spec.rate = o.rate;
  if (o.maxBytes !== undefined) spec.maxBytes = o.maxBytes;
  if (o.reflect) spec.reflect = { enabled: o.reflect.enabled, ports: [...o.reflect.ports] };
  if (o.broadcasts) spec.broadcasts = [...o.broadcasts];
  return spec;
}

/** The options an {@link AdmissionSpec} stands for. */
export function admissionFromSpec(spec: AdmissionSpec): AdmissionOptions {
  const cidrs = (l: string[]) => l.map((t) => parseCidr(t)!);
  const o: AdmissionOptions = {};
  if (spec.allow.length || spec.deny.length) {
    o.acl = new AccessList(cidrs(spec.allow), cidrs(spec.deny));
  }
  if (spec.maxPerIp !== undefined) o.maxPerIp = spec.maxPerIp;
  if (spec.rate !== undefined) o.rate = spec.rate;
  if (spec.maxBytes !== undefined) o.maxBytes = spec.maxBytes;
  if (spec.reflect) {
    o.reflect = { enabled: spec.reflect.enabled, ports: new Set(spec.reflect.ports) };
  }
  if (spec.broadcasts) o.broadcasts = new Set(spec.broadcasts);
  return o;
}

/** `spec` with the server's own `port` added to an enabled reflection guard. */
export function specWithPort(spec: AdmissionSpec, port: number): AdmissionSpec {
  if (!spec.reflect?.enabled || port === 0 || spec.reflect.ports.includes(port)) return spec;
  return { ...spec, reflect: { enabled: true, ports: [...spec.reflect.ports, port] } };
}

/** Whether `o` limits TCP connections at all (lists, per-source counts, rate or bytes). */
export function limitsTcp(o: AdmissionOptions | undefined): boolean {
  return o !== undefined &&
    ((o.acl !== undefined && !o.acl.empty) || o.maxPerIp !== undefined ||
      o.rate !== undefined || o.maxBytes !== undefined);
}
