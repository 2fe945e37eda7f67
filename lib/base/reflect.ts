/**
 * The UDP reflection guard, pure. An open UDP echo is a reflector: a forged source
 * address aims its answers at a victim, and a forged source port aims them at another
 * UDP service that answers back (two echo servers, or echo and chargen, bounce a
 * datagram forever; CERT advisory CA-1996-01, "UDP Port Denial-of-Service Attack").
 * US-CERT alert TA14-017A lists the UDP protocols abused for amplification. A datagram
 * from one of those ports, from port 0, or from a broadcast or multicast address (which
 * no host sends from, RFC 1122 section 3.2.1.3 and RFC 4291 section 2.7) is dropped.
 *
 * @module
 */
import { addressBytes, ipv4Number } from "./acl.ts";
import { UsageError } from "./errors.ts";

/**
 * The source ports never answered by default: echo 7, daytime 13, qotd 17, chargen 19,
 * time 37, DNS 53, portmap 111, NTP 123, NetBIOS 137-138, SNMP 161, CLDAP 389, SSDP 1900,
 * mDNS 5353, memcached 11211.
 */
export const REFLECTOR_PORTS: readonly number[] = [
  7,
  13,
  17,
  19,
  37,
  53,
  111,
  123,
  137,
  138,
  161,
  389,
  1900,
  5353,
  11211,
];

/** Why the guard dropped a datagram. */
export type ReflectDrop =
  | "reflector-port"
  | "port-zero"
  | "broadcast-source"
  | "multicast-source";

/** The guard's setting: the source ports refused, or off. */
export interface ReflectGuard {
  /** False for `--reflect-guard off`: nothing is dropped. */
  enabled: boolean;
  /** Source ports never answered. */
  ports: ReadonlySet<number>;
}

/** The guard as it is without `--reflect-guard`. */
export const DEFAULT_REFLECT_GUARD: ReflectGuard = {
  enabled: true,
  ports: new Set(REFLECTOR_PORTS),
};

/**
 * Parses `--reflect-guard LIST|off`: `off`, or ports and ranges separated by commas,
 * where `default` stands for {@link REFLECTOR_PORTS} (`default,8080`, `53,123`,
 * `1-1023`). Port 0 and broadcast/multicast sources are refused whatever the list, unless
 * the guard is off.
 *
 * @example
 * ```ts
 * import { parseReflectGuard } from "./reflect.ts";
 * parseReflectGuard("--reflect-guard", "default,8080").ports.has(8080); // true
 * ```
 */
export function parseReflectGuard(flag: string, value: string): ReflectGuard {
  if (value === "off") return { enabled: false, ports: new Set() };
  const bad = () =>
    new UsageError(
      `invalid ${flag} "${value}": must be "off" or ports and ranges separated by commas ` +
        `(1-65535; "default" for the usual list)`,
    );
  const ports = new Set<number>();
  for (const item of value.split(",")) {
    if (item === "default") {
      for (const p of REFLECTOR_PORTS) ports.add(p);
      continue;
    }
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (!m) throw bad();
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) throw bad();
    for (let p = lo; p <= hi; p++) ports.add(p);
  }
  return { enabled: true, ports };
}

/**
 * The guard a server on `port` uses: `guard` plus its own port, as inetd's check_loop
 * refuses datagrams from the ports of its own services (FreeBSD inetd(8)): two servers on
 * the same port pointed at each other can then never bounce a datagram. Off stays off.
 */
export function guardWithPort(guard: ReflectGuard, port: number): ReflectGuard {
  if (!guard.enabled || guard.ports.has(port) || port === 0) return guard;
  return { enabled: true, ports: new Set([...guard.ports, port]) };
}

/** The text of a guard for `-v` and usage: `off`, or its ports with ranges folded. */
export function reflectGuardText(g: ReflectGuard): string {
  if (!g.enabled) return "off";
  const sorted = [...g.ports].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/**
 * Why a datagram from `address`:`port` must not be answered, or null. `broadcasts`
 * holds the directed broadcast addresses of the host's interfaces (the caller looks
 * them up); 255.255.255.255 is always one.
 *
 * @example
 * ```ts
 * import { DEFAULT_REFLECT_GUARD, reflectDrop } from "./reflect.ts";
 * reflectDrop(DEFAULT_REFLECT_GUARD, "192.0.2.1", 19); // "reflector-port"
 * reflectDrop(DEFAULT_REFLECT_GUARD, "192.0.2.1", 40000); // null
 * ```
 */
export function reflectDrop(
  guard: ReflectGuard,
  address: string,
  port: number,
  broadcasts: ReadonlySet<string> = new Set(),
): ReflectDrop | null {
  if (!guard.enabled) return null;
  const b = addressBytes(address);
  if (b?.length === 4) {
    const directed = broadcasts.has(`${b[0]}.${b[1]}.${b[2]}.${b[3]}`);
    return reflectDropBinary(guard, ipv4Number(b), 0, port, directed);
  }
  return reflectDropBinary(guard, -1, b?.[0] ?? 0, port, false);
}

/**
 * {@link reflectDrop} for a source already in binary form, so the per-datagram path of an
 * engine that holds the sockaddr's bytes builds no text: an IPv4 (or IPv4-mapped) source
 * as its 32-bit number `v4`, or, with `v4` = -1, an IPv6 source by its first byte
 * `v6First`; `directedBroadcast` says whether the IPv4 source is one of the host's directed
 * broadcast addresses.
 *
 * @example
 * ```ts
 * import { DEFAULT_REFLECT_GUARD, reflectDropBinary } from "./reflect.ts";
 * reflectDropBinary(DEFAULT_REFLECT_GUARD, 0xe0000001, 0, 4000, false); // "multicast-source"
 * reflectDropBinary(DEFAULT_REFLECT_GUARD, -1, 0x20, 53, false); // "reflector-port"
 * ```
 */
export function reflectDropBinary(
  guard: ReflectGuard,
  v4: number,
  v6First: number,
  port: number,
  directedBroadcast: boolean,
): ReflectDrop | null {
  if (!guard.enabled) return null;
  if (port === 0) return "port-zero";
  if (v4 >= 0) {
    const first = v4 >>> 24;
    if (first >= 224 && first < 240) return "multicast-source";
    if (v4 === 0xffffffff || directedBroadcast) return "broadcast-source";
  } else if (v6First === 0xff) {
    return "multicast-source";
  }
  return guard.ports.has(port) ? "reflector-port" : null;
}
