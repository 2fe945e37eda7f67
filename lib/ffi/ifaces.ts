/**
 * Interface enumeration through libc: the SIOCGIF* ioctls (the classic BSD way netdevice(7)
 * documents), `getifaddrs(3)` and `if_nameindex(3)` (netlink underneath, for what ioctl
 * cannot give on Linux: interfaces without IPv4, IPv6 addresses, 32-bit flags, link
 * address length). Everything returned is plain data; no pointer or fd leaves this file.
 *
 * @module
 */
import { SysError } from "../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  IFNAMSIZ,
  SIOCGIFADDR,
  SIOCGIFBRDADDR,
  SIOCGIFCONF,
  SIOCGIFDSTADDR,
  SIOCGIFFLAGS,
  SIOCGIFHWADDR,
  SIOCGIFINDEX,
  SIOCGIFMTU,
  SIOCGIFNETMASK,
  SOCK_DGRAM,
} from "./constants.ts";
import { errno, errnoName } from "./errno.ts";
import { libc } from "./libc.ts";
import { Socket } from "./socket.ts";
import {
  addressOf,
  cString,
  decodeSockAddr,
  decodeSockAddrAt,
  IF_NAMEINDEX,
  IFADDRS,
  IFCONF,
  IFREQ,
  SOCKADDR_IN,
  SOCKADDR_LL,
} from "./structs.ts";
import { formatIPv4 } from "../base/ip.ts";

/** One `if_nameindex(3)` entry. */
export interface NameIndex {
  index: number;
  name: string;
}

/** All interfaces by `if_nameindex(3)` (down ones too), in the order libc returns them. */
export function ifNameIndex(): NameIndex[] {
  const head = libc().if_nameindex();
  if (head === null) throw new SysError("if_nameindex", errnoName(errno()));
  const out: NameIndex[] = [];
  try {
    const view = new Deno.UnsafePointerView(head);
    for (let off = 0;; off += IF_NAMEINDEX.size) {
      const index = view.getUint32(off + IF_NAMEINDEX.index);
      const name = view.getPointer(off + IF_NAMEINDEX.name);
      if (index === 0 && name === null) break;
      out.push({ index, name: name === null ? "" : Deno.UnsafePointerView.getCString(name) });
    }
  } finally {
    libc().if_freenameindex(head);
  }
  return out;
}

/** `if_nametoindex(3)`; 0 when there is no such interface (or the name is too long). */
export function ifNameToIndex(name: string): number {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0 || bytes.length >= IFNAMSIZ || bytes.includes(0)) return 0;
  const c = new Uint8Array(bytes.length + 1);
  c.set(bytes);
  return libc().if_nametoindex(c);
}

/** One `getifaddrs(3)` entry, decoded. */
export interface IfAddrsEntry {
  /** The interface name, or for IPv4 the address label (`eth0:1`). */
  name: string;
  /** All 32 bits of the interface flags (LOWER_UP, DORMANT, ECHO included). */
  flags: number;
  family: "packet" | "inet" | "inet6" | "other";
  /** inet/inet6: the local address (IPv6 link-local addresses carry `scopeId`). */
  address?: string;
  scopeId?: number;
  /** inet/inet6: the netmask as text. */
  netmask?: string;
  /** inet/inet6: `ifa_ifu`, the broadcast or point-to-point destination address. */
  ifu?: string;
  /** packet: interface index, hardware type and link-layer address bytes. */
  ifindex?: number;
  hatype?: number;
  hwaddr?: Uint8Array;
}

/**
 * Every `getifaddrs(3)` entry, in list order (one AF_PACKET entry per interface first).
 * With `inet: false`, AF_INET entries are skipped (callers that use SIOCGIFCONF).
 */
export function getIfAddrs(opts: { inet?: boolean } = {}): IfAddrsEntry[] {
  const wantInet = opts.inet ?? true;
  const out = new BigUint64Array(1);
  if (libc().getifaddrs(out) < 0) throw new SysError("getifaddrs", errnoName(errno()));
  const head = Deno.UnsafePointer.create(out[0]!);
  const entries: IfAddrsEntry[] = [];
  try {
    for (let p = head; p !== null;) {
      const v = new Deno.UnsafePointerView(p);
      const next = v.getPointer(IFADDRS.next);
      const addr = v.getPointer(IFADDRS.addr);
      const family = addr === null ? -1 : new Deno.UnsafePointerView(addr).getUint16(0);
      if (family === AF_INET && !wantInet) {
        p = next;
        continue;
      }
      const namePtr = v.getPointer(IFADDRS.name);
      const e: IfAddrsEntry = {
        name: namePtr === null ? "" : Deno.UnsafePointerView.getCString(namePtr),
        flags: v.getUint32(IFADDRS.flags),
        family: "other",
      };
      if (addr !== null && family === AF_PACKET) {
        const ll = new Deno.UnsafePointerView(addr);
        e.family = "packet";
        e.ifindex = ll.getInt32(SOCKADDR_LL.ifindex);
        e.hatype = ll.getUint16(SOCKADDR_LL.hatype);
        const halen = ll.getUint8(SOCKADDR_LL.halen);
        const hw = new Uint8Array(halen);
        if (halen > 0) ll.copyInto(hw, SOCKADDR_LL.addr);
        e.hwaddr = hw;
      } else if (family === AF_INET || family === AF_INET6) {
        const sa = decodeSockAddrAt(addr);
        e.family = family === AF_INET ? "inet" : "inet6";
        if (sa) {
          e.address = sa.address;
          if (sa.scopeId !== undefined) e.scopeId = sa.scopeId;
        }
        const mask = decodeSockAddrAt(v.getPointer(IFADDRS.netmask));
        if (mask) e.netmask = mask.address;
        const ifu = decodeSockAddrAt(v.getPointer(IFADDRS.broadaddr));
        if (ifu) e.ifu = ifu.address;
      }
      entries.push(e);
      p = next;
    }
  } finally {
    if (head !== null) libc().freeifaddrs(head);
  }
  return entries;
}

/** One SIOCGIFCONF entry: an IPv4 address and the label it carries (`eth0`, `eth0:1`). */
export interface IfConfEntry {
  label: string;
  address: string;
}

/** The link-layer address SIOCGIFHWADDR reports: ARPHRD_* type and 14 bytes of sa_data. */
export interface HwAddr {
  hatype: number;
  data: Uint8Array;
}

/**
 * The SIOCGIF* ioctls over one AF_INET datagram socket (as netdevice(7) describes). Each query
 * takes a name or label; per-address queries also take the address, so the kernel matches
 * label and address (4.4BSD style) and secondary addresses sharing a label are told apart.
 */
export class IfIoctl implements Disposable {
  #sock: Socket;
  #req = new Uint8Array(IFREQ.size);
  #dv = new DataView(this.#req.buffer);

  constructor() {
    this.#sock = Socket.open(4, SOCK_DGRAM);
  }

  /** SIOCGIFCONF: every IPv4 address with its label, in kernel order. */
  conf(): IfConfEntry[] {
    for (let n = 64;; n *= 4) {
      const buf = new Uint8Array(n * IFREQ.size);
      const ifc = new Uint8Array(IFCONF.size);
      const dv = new DataView(ifc.buffer);
      dv.setInt32(IFCONF.len, buf.length, true);
      dv.setBigUint64(IFCONF.buf, addressOf(buf), true);
      this.#sock.ioctl(SIOCGIFCONF, ifc, "ioctl(SIOCGIFCONF)");
      const len = dv.getInt32(IFCONF.len, true);
      if (len >= buf.length && n < 65536) continue; // may be truncated: retry bigger
      const out: IfConfEntry[] = [];
      for (let off = 0; off + IFREQ.size <= len; off += IFREQ.size) {
        const sa = decodeSockAddr(buf.subarray(off + IFREQ.union, off + IFREQ.size));
        if (!sa) continue;
        out.push({ label: cString(buf, off + IFREQ.name, IFNAMSIZ), address: sa.address });
      }
      return out;
    }
  }

  #prepare(name: string, address?: string): void {
    this.#req.fill(0);
    const b = new TextEncoder().encode(name);
    if (b.length === 0 || b.length >= IFNAMSIZ) {
      throw new SysError("ioctl", "ENODEV", { address: name });
    }
    this.#req.set(b, IFREQ.name);
    if (address !== undefined) {
      this.#dv.setUint16(IFREQ.union + SOCKADDR_IN.family, AF_INET, true);
      const parts = address.split(".").map(Number);
      this.#req.set(parts, IFREQ.union + SOCKADDR_IN.addr);
    }
  }

  #call(request: number, what: string, name: string): void {
    this.#sock.ioctl(request, this.#req, `ioctl(${what}) ${name}`);
  }

  /** SIOCGIFFLAGS: the low 16 flag bits (`ifr_flags` is a short). */
  flags(name: string): number {
    this.#prepare(name);
    this.#call(SIOCGIFFLAGS, "SIOCGIFFLAGS", name);
    return this.#dv.getUint16(IFREQ.union, true);
  }

  /** SIOCGIFMTU. */
  mtu(name: string): number {
    this.#prepare(name);
    this.#call(SIOCGIFMTU, "SIOCGIFMTU", name);
    return this.#dv.getInt32(IFREQ.union, true);
  }

  /** SIOCGIFINDEX. */
  index(name: string): number {
    this.#prepare(name);
    this.#call(SIOCGIFINDEX, "SIOCGIFINDEX", name);
    return this.#dv.getInt32(IFREQ.union, true);
  }

  /** SIOCGIFHWADDR: hardware type and the 14 bytes of sa_data. */
  hwaddr(name: string): HwAddr {
    this.#prepare(name);
    this.#call(SIOCGIFHWADDR, "SIOCGIFHWADDR", name);
    return {
      hatype: this.#dv.getUint16(IFREQ.union, true),
      data: this.#req.slice(IFREQ.union + 2, IFREQ.size),
    };
  }

  #v4(request: number, what: string, label: string, address: string): string {
    this.#prepare(label, address);
    this.#call(request, what, label);
    const off = IFREQ.union + SOCKADDR_IN.addr;
    return formatIPv4(this.#req.subarray(off, off + 4));
  }

  /** SIOCGIFADDR for `label` (matching `address` when given). */
  address(label: string, address?: string): string {
    return this.#v4(SIOCGIFADDR, "SIOCGIFADDR", label, address ?? "0.0.0.0");
  }

  /** SIOCGIFNETMASK for the address `address` labelled `label`. */
  netmask(label: string, address: string): string {
    return this.#v4(SIOCGIFNETMASK, "SIOCGIFNETMASK", label, address);
  }

  /** SIOCGIFBRDADDR (0.0.0.0 when the address has no broadcast). */
  broadcast(label: string, address: string): string {
    return this.#v4(SIOCGIFBRDADDR, "SIOCGIFBRDADDR", label, address);
  }

  /** SIOCGIFDSTADDR: the peer, or the address itself when it is not point-to-point. */
  destination(label: string, address: string): string {
    return this.#v4(SIOCGIFDSTADDR, "SIOCGIFDSTADDR", label, address);
  }

  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
