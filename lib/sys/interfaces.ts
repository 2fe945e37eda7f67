/**
 * Network interfaces as `ip -j addr show` sees them, found the classic BSD way (the
 * SIOCGIFCONF walk of netdevice(7) and the Solaris Socket Interfaces guide): SIOCGIFCONF for
 * the IPv4 addresses and their labels (`eth0:1`), SIOCGIFFLAGS/MTU/HWADDR/INDEX per
 * interface and SIOCGIFNETMASK/BRDADDR/DSTADDR per address, plus `if_nameindex(3)` for
 * interfaces without IPv4 and `getifaddrs(3)` for IPv6 addresses and the flag bits above 16
 * (LOWER_UP, DORMANT, ECHO) that `ifr_flags` cannot hold.
 *
 * Differences from `ip -j addr show`: no `M-DOWN` (the state of a veth's peer is not
 * visible through these calls); IPv4 addresses carry no `scope` (no ioctl reports it);
 * lifetimes, qdisc, operstate and link broadcast are not reported.
 *
 * @module
 */
import { SysError } from "../base/errors.ts";
import {
  ARPHRD_IP6GRE,
  ARPHRD_IPGRE,
  ARPHRD_SIT,
  ARPHRD_TUNNEL,
  ARPHRD_TUNNEL6,
  IFF_FLAGS,
  IFF_RUNNING,
  IFF_UP,
} from "../ffi/constants.ts";
import { getIfAddrs, IfIoctl, ifNameIndex, ifNameToIndex } from "../ffi/ifaces.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../base/ip.ts";

/** One address on an interface. Absent fields are omitted. */
export interface InterfaceAddress {
  /** The address family: "inet" (IPv4) or "inet6" (IPv6). */
  family: "inet" | "inet6";
  /** The address as text (`192.0.2.2`, `fe80::1`; RFC 5952 form for IPv6). */
  address: string;
  /** The network prefix length in bits (`24` for 255.255.255.0). */
  prefixlen: number;
  /** IPv4 only: the dotted netmask. */
  netmask?: string;
  /** IPv4 only: the broadcast address, when one is set. */
  broadcast?: string;
  /** The point-to-point peer, when it differs from `address`. */
  peer?: string;
  /** IPv4 only: the address label (`eth0`, `eth0:1`). */
  label?: string;
  /** IPv6 only: "host", "link", "site" or "global". */
  scope?: string;
}

/** One network interface. */
export interface NetInterface {
  /** The interface name (`lo`, `eth0`). */
  name: string;
  /** The interface index (`if_nametoindex(3)`), as `ip link` numbers interfaces. */
  index: number;
  /** Flag names in `ip -j` order, e.g. ["BROADCAST","MULTICAST","UP","LOWER_UP"]. */
  flags: string[];
  /** The MTU in bytes (SIOCGIFMTU). */
  mtu: number;
  /** Link-layer address (`aa:bb:cc:dd:ee:ff`), when the interface has one. */
  mac?: string;
  /** Its addresses: IPv4 first (SIOCGIFCONF order), then IPv6 (`getifaddrs(3)` order). */
  addresses: InterfaceAddress[];
}

/** Options for {@link listInterfaces}. */
export interface ListInterfacesOptions {
  /** Only this interface; throws `SysError` (`if_nametoindex ENODEV NAME ...`) if unknown. */
  name?: string;
  /** Only IPv4 (4) or IPv6 (6) addresses. */
  family?: 4 | 6;
}

const FLAG_BITS = new Map(IFF_FLAGS.map(([bit, name]) => [name, bit]));
/** The order iproute2's print_link_flags() uses. */
const IP_FLAG_ORDER = [
  "LOOPBACK",
  "BROADCAST",
  "POINTOPOINT",
  "MULTICAST",
  "NOARP",
  "ALLMULTI",
  "PROMISC",
  "MASTER",
  "SLAVE",
  "DEBUG",
  "DYNAMIC",
  "AUTOMEDIA",
  "PORTSEL",
  "NOTRAILERS",
  "UP",
  "LOWER_UP",
  "DORMANT",
  "ECHO",
];

/**
 * Names the IFF_* bits in `flags` the way `ip link` does: `NO-CARRIER` first when the
 * interface is UP but not RUNNING, RUNNING itself omitted, unknown bits as hex.
 */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) out.push("NO-CARRIER");
  let rest = flags & ~IFF_RUNNING;
  for (const name of IP_FLAG_ORDER) {
    const bit = FLAG_BITS.get(name)!;
    if (rest & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push((rest >>> 0).toString(16));
  return out;
}

/** Prefix length of a netmask in text form (`255.255.255.0` → 24, `ffff:ffff::` → 32). */
export function prefixLength(netmask: string): number {
  const b = parseIPv4(netmask) ?? parseIPv6(netmask);
  if (!b) throw new TypeError(`Invalid netmask "${netmask}"`);
  let n = 0;
  for (const x of b) {
    for (let v = x; v; v &= v - 1) n++;
  }
  return n;
}

/** The kernel's scope name for an IPv6 address: host, link, site or global. */
export function ipv6Scope(address: string): string {
  const b = parseIPv6(address);
  if (!b) return "global";
  if (b.every((x, i) => x === (i === 15 ? 1 : 0))) return "host";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return "link";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return "site";
  if (b[0] === 0xff) {
    const s = b[1]! & 0x0f;
    return s === 1 ? "host" : s === 2 ? "link" : s === 5 ? "site" : "global";
  }
  return "global";
}

/** Formats a link-layer address the way iproute2's ll_addr_n2a does. */
function formatLinkAddress(hatype: number, bytes: Uint8Array): string {
  if (
    bytes.length === 4 &&
    (hatype === ARPHRD_TUNNEL || hatype === ARPHRD_SIT || hatype === ARPHRD_IPGRE)
  ) {
    return formatIPv4(bytes);
  }
  if (bytes.length === 16 && (hatype === ARPHRD_TUNNEL6 || hatype === ARPHRD_IP6GRE)) {
    return formatIPv6(bytes);
  }
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * The index of interface `name` (`if_nametoindex(3)`).
 * @throws {SysError} `if_nametoindex ENODEV NAME (no such interface)` when there is no such interface.
 *
 * @example
 * ```ts
 * import { interfaceIndex } from "./interfaces.ts";
 * console.log(interfaceIndex("lo")); // 1
 * ```
 */
export function interfaceIndex(name: string): number {
  const index = ifNameToIndex(name);
  if (index === 0) {
    throw new SysError("if_nametoindex", "ENODEV", { address: name }, "no such interface");
  }
  return index;
}

/**
 * All network interfaces (down ones too), ordered by index, each with its flags, MTU,
 * link-layer address and IPv4 then IPv6 addresses in kernel order. Needs `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { listInterfaces } from "./interfaces.ts";
 * for (const i of listInterfaces({ family: 4 })) {
 *   console.log(i.name, i.flags.join(","), i.addresses.map((a) => `${a.address}/${a.prefixlen}`));
 * }
 * ```
 */
export function listInterfaces(opts: ListInterfacesOptions = {}): NetInterface[] {
  const only = opts.name === undefined ? undefined : interfaceIndex(opts.name);
  const gifa = getIfAddrs({ inet: false });
  using io = new IfIoctl();
  const byIndex = new Map<number, NetInterface>();
  const packet = new Map<string, { flags: number; hw: Uint8Array }>();
  const names: { index: number; name: string }[] = [];
  for (const e of gifa) {
    if (e.family !== "packet") continue;
    packet.set(e.name, { flags: e.flags, hw: e.hwaddr! });
    names.push({ index: e.ifindex!, name: e.name });
  }
  // getifaddrs lists every interface once as AF_PACKET; if_nameindex is the fallback
  // (a kernel without AF_PACKET).
  for (const { index, name } of names.length > 0 ? names : ifNameIndex()) {
    if (only !== undefined && index !== only) continue;
    let flags: number, mtu: number, hw;
    try {
      flags = io.flags(name);
      mtu = io.mtu(name);
      hw = io.hwaddr(name);
    } catch (err) {
      if (err instanceof SysError && err.code === "ENODEV") continue; // vanished meanwhile
      throw err;
    }
    const pk = packet.get(name);
    // ifr_flags is a short; take the higher bits (LOWER_UP, DORMANT, ECHO) from netlink.
    if (pk) flags = (flags & 0xffff) | (pk.flags & ~0xffff);
    const iface = { name, index, flags: flagNames(flags), mtu } as NetInterface;
    const halen = pk?.hw.length ?? 0;
    if (halen > 0) {
      const bytes = halen <= hw.data.length ? hw.data.subarray(0, halen) : pk!.hw;
      iface.mac = formatLinkAddress(hw.hatype, bytes);
    }
    iface.addresses = [];
    byIndex.set(index, iface);
  }
  const byName = new Map([...byIndex.values()].map((i) => [i.name, i]));
  if (opts.family !== 6) {
    for (const { label, address } of io.conf()) {
      // Labels are "DEV" or "DEV:ALIAS" (device names cannot contain ":").
      const iface = byName.get(label.split(":")[0]!) ?? byIndex.get(indexOfLabel(io, label));
      if (!iface) continue;
      let netmask: string, broadcast: string, dst: string;
      try {
        netmask = io.netmask(label, address);
        broadcast = io.broadcast(label, address);
        dst = io.destination(label, address);
      } catch (err) {
        if (err instanceof SysError && (err.code === "EADDRNOTAVAIL" || err.code === "ENODEV")) {
          continue; // removed meanwhile
        }
        throw err;
      }
      const a: InterfaceAddress = { family: "inet", address, prefixlen: prefixLength(netmask) };
      a.netmask = netmask;
      if (broadcast !== "0.0.0.0") a.broadcast = broadcast;
      if (dst !== address && dst !== "0.0.0.0") a.peer = dst;
      a.label = label;
      iface.addresses.push(a);
    }
  }
  if (opts.family !== 4) {
    for (const e of gifa) {
      if (e.family !== "inet6" || e.address === undefined) continue;
      const iface = byName.get(e.name);
      if (!iface) continue;
      const a: InterfaceAddress = {
        family: "inet6",
        address: e.address,
        prefixlen: e.netmask === undefined ? 128 : prefixLength(e.netmask),
      };
      if (e.ifu !== undefined && e.ifu !== e.address) a.peer = e.ifu;
      a.scope = ipv6Scope(e.address);
      iface.addresses.push(a);
    }
  }
  return [...byIndex.values()].sort((x, y) => x.index - y.index);
}

function indexOfLabel(io: IfIoctl, label: string): number {
  try {
    return io.index(label); // the kernel strips ":N" for SIOCGIFINDEX
  } catch {
    return ifNameToIndex(label.split(":")[0]!);
  }
}
