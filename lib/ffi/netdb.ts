/**
 * The libc name-service calls: `getaddrinfo(3)`/`getnameinfo(3)` (run off the main thread
 * through the nonblocking symbols; their return value carries the EAI_* code, so errno is
 * not needed) and the services/protocols databases (`getservbyname(3)`, `getservbyport(3)`,
 * `getprotobyname(3)`, `getprotobynumber(3)`: local files through NSS, called synchronously
 * and copied out at once because they return static storage). Plain data only leaves here.
 *
 * @module
 */
import { EAI_NAMES, NI_MAXHOST, NI_MAXSERV } from "./constants.ts";
import { libc } from "./libc.ts";
import {
  ADDRINFO,
  cString,
  decodeSockAddrAt,
  encodeSockAddr,
  PROTOENT,
  SERVENT,
  toCString,
} from "./structs.ts";

/** A failed resolver call: the EAI_* name and gai_strerror's text. */
export interface GaiFailure {
  code: string;
  /** The raw EAI_* number (negative on glibc). */
  number: number;
  /** `gai_strerror(3)` text, e.g. "Name or service not known". */
  text: string;
}

/** The EAI_* name and `gai_strerror(3)` text for resolver code `n`. */
export function gaiError(n: number): GaiFailure {
  const p = libc().gai_strerror(n);
  const text = p === null ? `error ${n}` : Deno.UnsafePointerView.getCString(p);
  return { code: EAI_NAMES[n] ?? `EAI ${n}`, number: n, text };
}

/** getaddrinfo hints. */
export interface AddrInfoHints {
  flags: number;
  family: number;
  socktype: number;
  protocol: number;
}

/** One decoded `struct addrinfo`. */
export interface RawAddrInfo {
  family: 4 | 6;
  socktype: number;
  protocol: number;
  address: string;
  port: number;
  scopeId?: number;
  canonname?: string;
}

/**
 * `getaddrinfo(3)` off the main thread. Resolves to the results in libc's order, or to a
 * {@link GaiFailure}.
 */
export async function getAddrInfo(
  node: string | null,
  service: string | null,
  hints: AddrInfoHints,
): Promise<RawAddrInfo[] | GaiFailure> {
  const h = new Uint8Array(ADDRINFO.size);
  const dv = new DataView(h.buffer);
  dv.setInt32(ADDRINFO.flags, hints.flags, true);
  dv.setInt32(ADDRINFO.family, hints.family, true);
  dv.setInt32(ADDRINFO.socktype, hints.socktype, true);
  dv.setInt32(ADDRINFO.protocol, hints.protocol, true);
  const nodeC = node === null ? null : toCString(node);
  const serviceC = service === null ? null : toCString(service);
  const out = new BigUint64Array(1);
  const rc = await libc().getaddrinfo_nb(nodeC, serviceC, h, out);
  if (rc !== 0) return gaiError(rc);
  const head = Deno.UnsafePointer.create(out[0]!);
  const results: RawAddrInfo[] = [];
  try {
    for (let p = head; p !== null;) {
      const v = new Deno.UnsafePointerView(p);
      const sa = decodeSockAddrAt(v.getPointer(ADDRINFO.addr));
      if (sa) {
        const r: RawAddrInfo = {
          family: sa.family,
          socktype: v.getInt32(ADDRINFO.socktype),
          protocol: v.getInt32(ADDRINFO.protocol),
          address: sa.address,
          port: sa.port,
        };
        if (sa.scopeId !== undefined) r.scopeId = sa.scopeId;
        const canon = v.getPointer(ADDRINFO.canonname);
        if (canon !== null) r.canonname = Deno.UnsafePointerView.getCString(canon);
        results.push(r);
      }
      p = v.getPointer(ADDRINFO.next);
    }
  } finally {
    if (head !== null) libc().freeaddrinfo(head);
  }
  return results;
}

/**
 * `getnameinfo(3)` off the main thread for `address` (numeric, with an optional numeric
 * `%scope`) and `port`. With `wantService` false no service is asked for.
 */
export async function getNameInfo(
  address: string,
  port: number,
  scopeId: number,
  flags: number,
  wantService: boolean,
): Promise<{ host: string; service?: string } | GaiFailure> {
  const sa = encodeSockAddr(address, port, scopeId);
  const host = new Uint8Array(NI_MAXHOST);
  const serv = wantService ? new Uint8Array(NI_MAXSERV) : null;
  const rc = await libc().getnameinfo_nb(
    sa,
    sa.length,
    host,
    host.length,
    serv,
    serv?.length ?? 0,
    flags,
  );
  if (rc !== 0) return gaiError(rc);
  const r: { host: string; service?: string } = { host: cString(host) };
  if (serv) r.service = cString(serv);
  return r;
}

function stringList(ptr: Deno.PointerValue): string[] {
  const out: string[] = [];
  if (ptr === null) return out;
  const v = new Deno.UnsafePointerView(ptr);
  for (let off = 0;; off += 8) {
    const s = v.getPointer(off);
    if (s === null) break;
    out.push(Deno.UnsafePointerView.getCString(s));
  }
  return out;
}

/** A services-database entry. */
export interface ServEnt {
  name: string;
  aliases: string[];
  port: number;
  protocol: string;
}

function servent(p: Deno.PointerValue): ServEnt | null {
  if (p === null) return null;
  const v = new Deno.UnsafePointerView(p);
  const name = v.getPointer(SERVENT.name);
  const proto = v.getPointer(SERVENT.proto);
  const raw = v.getInt32(SERVENT.port) & 0xffff; // network byte order in the low 16 bits
  return {
    name: name === null ? "" : Deno.UnsafePointerView.getCString(name),
    aliases: stringList(v.getPointer(SERVENT.aliases)),
    port: ((raw & 0xff) << 8) | (raw >> 8),
    protocol: proto === null ? "" : Deno.UnsafePointerView.getCString(proto),
  };
}

/** `getservbyname(3)`; `protocol` null means any. */
export function getServByName(name: string, protocol: string | null): ServEnt | null {
  return servent(
    libc().getservbyname(toCString(name), protocol === null ? null : toCString(protocol)),
  );
}

/** `getservbyport(3)` (port in host order); `protocol` null means any. */
export function getServByPort(port: number, protocol: string | null): ServEnt | null {
  const net = ((port & 0xff) << 8) | ((port >> 8) & 0xff);
  return servent(libc().getservbyport(net, protocol === null ? null : toCString(protocol)));
}

/** A protocols-database entry. */
export interface ProtoEnt {
  name: string;
  aliases: string[];
  number: number;
}

function protoent(p: Deno.PointerValue): ProtoEnt | null {
  if (p === null) return null;
  const v = new Deno.UnsafePointerView(p);
  const name = v.getPointer(PROTOENT.name);
  return {
    name: name === null ? "" : Deno.UnsafePointerView.getCString(name),
    aliases: stringList(v.getPointer(PROTOENT.aliases)),
    number: v.getInt32(PROTOENT.proto),
  };
}

/** `getprotobyname(3)`. */
export function getProtoByName(name: string): ProtoEnt | null {
  return protoent(libc().getprotobyname(toCString(name)));
}

/** `getprotobynumber(3)`. */
export function getProtoByNumber(n: number): ProtoEnt | null {
  return protoent(libc().getprotobynumber(n));
}
