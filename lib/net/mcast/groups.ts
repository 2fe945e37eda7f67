/**
 * Groups and interfaces for multicast commands: checking that a GROUP is a multicast
 * address, validating `--iface NAME|ADDR|INDEX` without touching the system (parse time),
 * resolving it to an interface index at run time, and turning "no route" failures into
 * advice to pick an interface.
 *
 * @module
 */
import { formatIPv6, ipFamily, parseIPv4, parseIPv6, stripBrackets } from "../../base/ip.ts";
import { SysError, UsageError } from "../../base/errors.ts";
import { type InterfaceAddress, listInterfaces, type NetInterface } from "../../sys/interfaces.ts";
import { scopeName } from "../../sys/resolver.ts";

/** A validated multicast group. */
export interface Group {
  /** The address, canonical (RFC 5952 for IPv6). */
  address: string;
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** IPv6 scope nibble (1 interface-local, 2 link-local, 5 site, 8 org, e global); 0 on IPv4. */
  scope: number;
}

/** Whether `address` is IPv4 224.0.0.0/4 or IPv6 ff00::/8. */
export function isMulticast(address: string): boolean {
  const v4 = parseIPv4(address);
  if (v4) return (v4[0]! & 0xf0) === 0xe0;
  const v6 = parseIPv6(address);
  return v6 !== null && v6[0] === 0xff;
}

/** Parses GROUP (or `--group`), naming `name` in errors. */
export function parseGroup(name: string, value: string | undefined): Group {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  const text = stripBrackets(value);
  const family = ipFamily(text);
  if (family === 0 || text.includes("%")) {
    throw new UsageError(`invalid ${name} "${value}": not an IP address`);
  }
  // Canonical text, so it compares equal to what pktinfo reports.
  const address = family === 6 ? formatIPv6(parseIPv6(text)!) : text;
  if (!isMulticast(address)) {
    throw new UsageError(
      `invalid ${name} "${value}": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)`,
    );
  }
  const scope = family === 6 ? parseIPv6(address)![1]! & 0x0f : 0;
  return { address, family, scope };
}

/** Whether an IPv6 group's scope is interface- or link-local, so it needs an interface. */
export function needsInterface(g: Group): boolean {
  return g.family === 6 && (g.scope === 1 || g.scope === 2);
}

/** An interface as given to `--iface`, checked for syntax only. */
export type IfaceSpec =
  | { kind: "index"; index: number; text: string }
  | { kind: "address"; address: string; family: 4 | 6; text: string }
  | { kind: "name"; name: string; text: string };

/**
 * Checks `--iface` syntax and, for an address, that its family matches `family` (the
 * group's). Pure: the interface is looked up by {@link resolveIface} at run time.
 */
export function parseIfaceSpec(flag: string, value: string, family: 4 | 6 | undefined): IfaceSpec {
  if (/^[0-9]+$/.test(value)) {
    const index = Number(value);
    if (index < 1 || index > 0x7fffffff) {
      throw new UsageError(`invalid ${flag} "${value}": interface index must be 1-2147483647`);
    }
    return { kind: "index", index, text: value };
  }
  const address = stripBrackets(value);
  const f = ipFamily(address);
  if (f !== 0) {
    if (family !== undefined && f !== family) {
      throw new UsageError(
        `invalid ${flag} "${value}": an IPv${f} address cannot carry IPv${family} multicast`,
      );
    }
    return { kind: "address", address, family: f, text: value };
  }
  if (value.length === 0 || value.length > 15 || /[\s/:]/.test(value)) {
    throw new UsageError(`invalid ${flag} "${value}": not an interface name, address or index`);
  }
  return { kind: "name", name: value, text: value };
}

/** An interface resolved from an {@link IfaceSpec}. */
export interface ResolvedIface {
  name: string;
  index: number;
  /** The local IPv4 address given (or the interface's first), for ip_mreqn. */
  address?: string;
  flags: string[];
  addresses: InterfaceAddress[];
}

/** Looks `spec` up among the host's interfaces; unknown → `UsageError` naming `flag`. */
export function resolveIface(
  flag: string,
  spec: IfaceSpec,
  interfaces: NetInterface[] = listInterfaces(),
): ResolvedIface {
  let found: NetInterface | undefined;
  switch (spec.kind) {
    case "index":
      found = interfaces.find((i) => i.index === spec.index);
      break;
    case "name":
      found = interfaces.find((i) => i.name === spec.name);
      break;
    case "address":
      found = interfaces.find((i) => i.addresses.some((a) => a.address === spec.address));
      break;
  }
  if (!found) {
    const what = spec.kind === "address" ? "no interface has this address" : "no such interface";
    throw new UsageError(`invalid ${flag} "${spec.text}": ${what}`);
  }
  const out: ResolvedIface = {
    name: found.name,
    index: found.index,
    flags: found.flags,
    addresses: found.addresses,
  };
  const v4 = spec.kind === "address" && spec.family === 4
    ? spec.address
    : found.addresses.find((a) => a.family === "inet")?.address;
  if (v4 !== undefined) out.address = v4;
  return out;
}

/**
 * The interfaces a beacon uses when none is given: up, multicast-capable (or, for
 * broadcast, broadcast-capable), not loopback, with an address of `family`.
 */
export function defaultInterfaces(
  family: 4 | 6,
  want: "MULTICAST" | "BROADCAST",
  interfaces: NetInterface[] = listInterfaces(),
): ResolvedIface[] {
  const fam = family === 4 ? "inet" : "inet6";
  return interfaces
    .filter((i) =>
      i.flags.includes("UP") && i.flags.includes(want) && !i.flags.includes("LOOPBACK") &&
      i.addresses.some((a) => a.family === fam)
    )
    .map((i) => {
      const r: ResolvedIface = {
        name: i.name,
        index: i.index,
        flags: i.flags,
        addresses: i.addresses,
      };
      const v4 = i.addresses.find((a) => a.family === "inet")?.address;
      if (v4 !== undefined) r.address = v4;
      return r;
    });
}

/** Interface name by index, for output ("?" when unknown). */
export function ifaceName(index: number, interfaces: NetInterface[]): string {
  return interfaces.find((i) => i.index === index)?.name ?? String(index);
}

/**
 * A peer's address with its IPv6 scope named as `ip` prints it (`fe80::1%eth0`, see
 * ip-address(8)); the address alone when it has no scope (scope id 0 or none).
 */
export function scopedAddress(
  a: { address: string; scopeId?: number | undefined },
  nameScope: (index: number) => string = scopeName,
): string {
  return a.scopeId ? `${a.address}%${nameScope(a.scopeId)}` : a.address;
}

const NO_ROUTE = new Set(["ENETUNREACH", "ENODEV", "EADDRNOTAVAIL", "EHOSTUNREACH", "EINVAL"]);

/**
 * Rewrites a "no route / no interface" failure (ENETUNREACH, ENODEV, EADDRNOTAVAIL,
 * EHOSTUNREACH, EINVAL) into one that names `group` and suggests `--iface`; any other
 * error is returned as it is.
 */
export function suggestIface(err: unknown, group: string, port?: number): unknown {
  if (!(err instanceof SysError) || !NO_ROUTE.has(err.code)) return err;
  return new SysError(
    err.syscall,
    err.code,
    { address: group, port },
    "no route to the group or no multicast-capable interface; pick one with --iface",
  );
}
