/**
 * Name resolution exactly as C programs see it: libc `getaddrinfo(3)`/`getnameinfo(3)`
 * (so /etc/hosts, nsswitch.conf and resolv.conf search domains apply, unlike
 * `Deno.resolveDns`), run off the main thread so lookups never block the event loop, and
 * the services and protocols databases (`/etc/services`, `/etc/protocols` through NSS).
 *
 * {@link resolveHost} is the lighter lookup the clients use before they connect: the
 * addresses of one name through `node:dns` (itself getaddrinfo), with IP literals passed
 * through without a lookup and no FFI needed.
 *
 * @module
 */
import { RuntimeError, SysError } from "../base/errors.ts";
import { ipFamily, stripBrackets } from "../base/ip.ts";
import {
  AF_INET,
  AF_INET6,
  AI_ADDRCONFIG,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_V4MAPPED,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "../ffi/constants.ts";
import {
  type GaiFailure,
  getAddrInfo,
  getNameInfo,
  getProtoByName,
  getProtoByNumber,
  getServByName,
  getServByPort,
} from "../ffi/netdb.ts";
import { interfaceIndex } from "./interfaces.ts";
import { ifNameIndex } from "../ffi/ifaces.ts";

/**
 * A failed lookup. `code` is the resolver code (`EAI_NONAME`, ...) or `ENOENT` for the
 * services/protocols databases; the message reads `resolve QUERY: TEXT`, with TEXT from
 * `gai_strerror(3)` (e.g. `resolve no-such.invalid: Name or service not known`).
 */
export class ResolveError extends SysError {
  /** Always `"ResolveError"`. */
  override name = "ResolveError";
  /** What was looked up, as the user wrote it. */
  readonly query: string;
  /** The reason text (gai_strerror's for resolver errors). */
  readonly reason: string;

  /**
   * Builds the error for a failed lookup of `query`.
   *
   * @param syscall The failed call (`getaddrinfo`, `getnameinfo`, `getservbyname`, ...).
   * @param code The resolver code (`EAI_NONAME`, ...) or `ENOENT`.
   * @param query What was looked up, as the user wrote it.
   * @param reason The reason text.
   */
  constructor(syscall: string, code: string, query: string, reason: string) {
    super(syscall, code, { address: query }, reason);
    this.query = query;
    this.reason = reason;
    this.message = `resolve ${query}: ${reason}`;
  }
}

function fail(syscall: string, query: string, f: GaiFailure): ResolveError {
  return new ResolveError(syscall, f.code, query, f.text);
}

/** Options for {@link resolveAddresses} (each maps to a getaddrinfo hint). */
export interface ResolveOptions {
  /** AF_INET (4) or AF_INET6 (6); any when absent. */
  family?: 4 | 6;
  /** SOCK_STREAM or SOCK_DGRAM; any (stream, dgram and raw results) when absent. */
  type?: "stream" | "dgram";
  /** AI_CANONNAME: report the canonical name (on the first result). */
  canonical?: boolean;
  /** AI_ADDRCONFIG: only families the host has a non-loopback address for. */
  addrconfig?: boolean;
  /** AI_V4MAPPED: with family 6, return IPv4-only names as `::ffff:a.b.c.d`. */
  v4mapped?: boolean;
  /** AI_NUMERICHOST: HOST must be a numeric address; no lookup is made. */
  numericHost?: boolean;
}

/** One getaddrinfo result. */
export interface AddressInfo {
  /** The address family: "inet" (AF_INET) or "inet6" (AF_INET6). */
  family: "inet" | "inet6";
  /** The address as text, without a scope (see `scopeId`). */
  address: string;
  /** "stream", "dgram", "raw", "seqpacket" or the number as text. */
  socktype: string;
  /** IPPROTO_* number (0 for raw results). */
  protocol: number;
  /** The protocol's name from the protocols database, when it has one. */
  protocolName?: string;
  /** The port the service resolved to (0 when no service was given). */
  port: number;
  /** IPv6 scope (interface index) of a link-local result. */
  scopeId?: number;
  /** With `canonical`: the canonical name (libc puts it on the first result). */
  canonname?: string;
}

const SOCKTYPES: Record<number, string> = { 1: "stream", 2: "dgram", 3: "raw", 5: "seqpacket" };

/** The socket type name for SOCK_* `n` (stream, dgram, raw, seqpacket). */
export function socktypeName(n: number): string {
  return SOCKTYPES[n] ?? String(n);
}

/**
 * Resolves `host` (and `service`, a name or port) with libc getaddrinfo.
 * @throws {ResolveError} e.g. `resolve no-such.invalid: Name or service not known`
 *
 * @example
 * ```ts
 * import { resolveAddresses } from "./resolver.ts";
 * for (const a of await resolveAddresses("localhost", "http", { type: "stream" })) {
 *   console.log(a.family, a.address, a.port); // inet 127.0.0.1 80
 * }
 * ```
 */
export async function resolveAddresses(
  host: string,
  service?: string,
  opts: ResolveOptions = {},
): Promise<AddressInfo[]> {
  const flags = (opts.canonical ? AI_CANONNAME : 0) | (opts.addrconfig ? AI_ADDRCONFIG : 0) |
    (opts.v4mapped ? AI_V4MAPPED : 0) | (opts.numericHost ? AI_NUMERICHOST : 0);
  const r = await getAddrInfo(host, service ?? null, {
    flags,
    family: opts.family === 4 ? AF_INET : opts.family === 6 ? AF_INET6 : 0,
    socktype: opts.type === "stream" ? SOCK_STREAM : opts.type === "dgram" ? SOCK_DGRAM : 0,
    protocol: 0,
  });
  if (!Array.isArray(r)) {
    throw fail("getaddrinfo", service === undefined ? host : `${host} ${service}`, r);
  }
  const protoNames = new Map<number, string | undefined>();
  return r.map((x) => {
    if (!protoNames.has(x.protocol)) {
      protoNames.set(x.protocol, x.protocol === 0 ? undefined : getProtoByNumber(x.protocol)?.name);
    }
    const pn = protoNames.get(x.protocol);
    const a: AddressInfo = {
      family: x.family === 4 ? "inet" : "inet6",
      address: x.address,
      socktype: socktypeName(x.socktype),
      protocol: x.protocol,
      ...(pn === undefined ? {} : { protocolName: pn }),
      port: x.port,
    };
    if (x.scopeId !== undefined) a.scopeId = x.scopeId;
    if (x.canonname !== undefined) a.canonname = x.canonname;
    return a;
  });
}

/** Options for {@link resolveName} (each maps to a getnameinfo flag). */
export interface NameOptions {
  /** NI_NUMERICSERV: the port as a number, not a service name. */
  numericServ?: boolean;
  /** NI_NUMERICHOST: the address as text, no reverse lookup. */
  numericHost?: boolean;
  /** NI_NAMEREQD: fail when the address has no name (instead of returning it as text). */
  nameRequired?: boolean;
  /** NI_DGRAM: look the port up as a UDP service. */
  dgram?: boolean;
}

/** A getnameinfo result: the host name, and the service when a port was given. */
export interface NameInfo {
  /** The address that was looked up, as given (with its `%scope`, if any). */
  address: string;
  /** The host name, or the address as text when it has none (or with `numericHost`). */
  host: string;
  /** The port that was looked up, when one was given. */
  port?: number;
  /** The service name for `port` (or the port as text with `numericServ`). */
  service?: string;
}

/**
 * Reverse-resolves numeric `address` (IPv6 may carry `%scope`, a number or an interface
 * name) and optionally `port` with libc getnameinfo.
 * @throws {ResolveError} e.g. `resolve -r 192.0.2.1: Name or service not known`
 * @throws {TypeError} when `address` is not a numeric IPv4/IPv6 address
 *
 * @example
 * ```ts
 * import { resolveName } from "./resolver.ts";
 * const n = await resolveName("127.0.0.1", 22);
 * console.log(n.host, n.service); // localhost ssh
 * ```
 */
export async function resolveName(
  address: string,
  port?: number,
  opts: NameOptions = {},
): Promise<NameInfo> {
  const [text, zone] = address.split("%");
  let scopeId = 0;
  if (zone !== undefined && zone !== "") {
    scopeId = /^\d+$/.test(zone) ? Number(zone) : interfaceIndex(zone);
  }
  const flags = (opts.numericServ ? NI_NUMERICSERV : 0) |
    (opts.numericHost ? NI_NUMERICHOST : 0) | (opts.nameRequired ? NI_NAMEREQD : 0) |
    (opts.dgram ? NI_DGRAM : 0);
  const r = await getNameInfo(text!, port ?? 0, scopeId, flags, port !== undefined);
  if ("code" in r) throw fail("getnameinfo", `-r ${address}`, r);
  const out: NameInfo = { address, host: r.host };
  if (port !== undefined) out.port = port;
  if (r.service !== undefined) out.service = r.service;
  return out;
}

/** A services-database entry. */
export interface ServiceEntry {
  /** The official service name (`ssh`). */
  name: string;
  /** The port number. */
  port: number;
  /** The protocol the entry is for (`tcp`, `udp`, `sctp`). */
  protocol: string;
  /** Other names of the service. */
  aliases: string[];
}

/**
 * Looks up `query` (a service name or port number) in the services database, for
 * `protocol` (e.g. "tcp", "udp") or for the first protocol listed.
 * @throws {ResolveError} `resolve --service NAME: unknown service` when there is none
 *
 * @example
 * ```ts
 * import { resolveService } from "./resolver.ts";
 * console.log(resolveService("domain", "udp").port); // 53
 * ```
 */
export function resolveService(query: string, protocol?: string): ServiceEntry {
  const e = /^\d+$/.test(query)
    ? getServByPort(Number(query), protocol ?? null)
    : getServByName(query, protocol ?? null);
  if (!e) {
    const q = protocol === undefined ? query : `${query}/${protocol}`;
    throw new ResolveError(
      "getservby" + (/^\d+$/.test(query) ? "port" : "name"),
      "ENOENT",
      `--service ${q}`,
      "unknown service",
    );
  }
  return { name: e.name, port: e.port, protocol: e.protocol, aliases: e.aliases };
}

/** A protocols-database entry. */
export interface ProtocolEntry {
  /** The official protocol name (`sctp`). */
  name: string;
  /** The IP protocol number (132 for SCTP). */
  number: number;
  /** Other names of the protocol (`SCTP`). */
  aliases: string[];
}

/**
 * Looks up `query` (a protocol name or number) in the protocols database.
 * @throws {ResolveError} `resolve --protocol NAME: unknown protocol` when there is none
 *
 * @example
 * ```ts
 * import { resolveProtocol } from "./resolver.ts";
 * console.log(resolveProtocol("sctp").number); // 132
 * ```
 */
export function resolveProtocol(query: string): ProtocolEntry {
  const numeric = /^\d+$/.test(query);
  const e = numeric ? getProtoByNumber(Number(query)) : getProtoByName(query);
  if (!e) {
    throw new ResolveError(
      numeric ? "getprotobynumber" : "getprotobyname",
      "ENOENT",
      `--protocol ${query}`,
      "unknown protocol",
    );
  }
  return { name: e.name, number: e.number, aliases: e.aliases };
}

/** A resolved address. */
export interface ResolvedAddress {
  /** The address as text (`127.0.0.1`, `::1`). */
  address: string;
  /** 4 for IPv4, 6 for IPv6. */
  family: 4 | 6;
}

/** Whether `err` means libc cannot be used here (no `--allow-ffi`, not Linux). */
function noLibc(err: unknown): boolean {
  return (err as Error)?.name === "NotCapable" ||
    (err instanceof SysError && err.syscall === "dlopen");
}

/**
 * The name of interface `index` (if_indextoname(3), through if_nameindex), as `ip`
 * prints a scope; the number as text where there is no such interface or no libc.
 *
 * @example
 * ```ts
 * import { scopeName } from "./resolver.ts";
 * scopeName(1); // "lo"
 * ```
 */
export function scopeName(index: number): string {
  try {
    return ifNameIndex().find((i) => i.index === index)?.name ?? String(index);
  } catch (err) {
    if (noLibc(err)) return String(index);
    throw err;
  }
}

/**
 * Checks the zone of an IPv6 literal (`fe80::1%eth0`, `fe80::1%2`) and names it as `ip`
 * does: an index becomes the interface's name. An interface that does not exist is an
 * error here, before any connect (Deno's own would say "failed to lookup address
 * information"). Without libc the literal is left as given.
 */
function checkZone(literal: string): string {
  const i = literal.indexOf("%");
  if (i < 0) return literal;
  const [addr, zone] = [literal.slice(0, i), literal.slice(i + 1)];
  try {
    if (/^\d+$/.test(zone)) {
      const name = ifNameIndex().find((x) => x.index === Number(zone))?.name;
      if (name === undefined) {
        throw new RuntimeError(`unknown interface index ${zone} in address ${literal}`);
      }
      return `${addr}%${name}`;
    }
    interfaceIndex(zone);
    return literal;
  } catch (err) {
    if (noLibc(err)) return literal;
    if (err instanceof SysError && err.code === "ENODEV") {
      throw new RuntimeError(`unknown interface "${zone}" in address ${literal}`);
    }
    throw err;
  }
}

/**
 * Resolves `host` to every address the system resolver returns, IPv4 and IPv6, in its
 * order; an IP literal resolves to itself (an IPv6 zone is checked and given by name,
 * see {@link scopeName}). `family` keeps only one family.
 *
 * @example
 * ```ts
 * import { resolveHost } from "./resolver.ts";
 * const addrs = await resolveHost("localhost"); // [{ address: "127.0.0.1", family: 4 }, ...]
 * ```
 */
export async function resolveHost(host: string, family?: 4 | 6): Promise<ResolvedAddress[]> {
  const h = stripBrackets(host);
  if (h.trim() === "") throw new SysError("getaddrinfo", "EAI_NONAME", {}, "empty host name");
  const lit = ipFamily(h);
  if (lit !== 0) {
    if (family !== undefined && lit !== family) {
      throw new SysError(
        "getaddrinfo",
        "EAI_ADDRFAMILY",
        { address: h },
        `not an IPv${family} address`,
      );
    }
    return [{ address: lit === 6 ? checkZone(h) : h, family: lit }];
  }
  let res: { address: string; family: number }[];
  try {
    // Loaded only for real names: node:dns costs start-up time the literal path need not pay.
    const { lookup } = await import("node:dns/promises");
    res = await lookup(h, { all: true, family: family ?? 0, order: "verbatim" });
  } catch (err) {
    const code = (err as { code?: string }).code ?? "EAI_FAIL";
    // node:dns reports EAI_NONAME as ENOTFOUND, and its message only repeats the code:
    // say what gai_strerror(3) (glibc) says instead.
    const text = ({
      ENOTFOUND: "Name or service not known",
      EAI_AGAIN: "Temporary failure in name resolution",
      EAI_FAIL: "Non-recoverable failure in name resolution",
      EAI_NODATA: "No address associated with hostname",
      EAI_MEMORY: "Memory allocation failure",
    } as Record<string, string>)[code] ?? (err as Error).message;
    throw new SysError(
      "getaddrinfo",
      code === "ENOTFOUND" ? "EAI_NONAME" : code,
      { address: h },
      text,
    );
  }
  const out: ResolvedAddress[] = [];
  for (const r of res) {
    if ((r.family === 4 || r.family === 6) && !out.some((o) => o.address === r.address)) {
      out.push({ address: r.address, family: r.family });
    }
  }
  if (out.length === 0) {
    throw new SysError(
      "getaddrinfo",
      "EAI_NODATA",
      { address: h },
      "no address of the requested family",
    );
  }
  return out;
}
