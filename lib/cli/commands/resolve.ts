/**
 * `sockbox resolve`: libc getaddrinfo/getnameinfo and the services/protocols databases,
 * so names resolve exactly as they do for C programs (like getent ahosts/services).
 *
 * @module
 */
import { noExtra, parseFlags, parseInteger, parsePort } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import { parseIPv4, parseIPv6 } from "../../base/ip.ts";
import { type Io, Reporter } from "../output.ts";
import { command, type CommandModule } from "../command.ts";
import {
  type AddressInfo,
  resolveAddresses,
  resolveName,
  resolveProtocol,
  resolveService,
  scopeName,
} from "../../sys/resolver.ts";

/** One line for `sockbox help`. */
export const summary = "resolve names, addresses, services and protocols through libc";

/** The full help text. */
export const usage =
  `Usage: sockbox resolve HOST [SERVICE] [-4|-6] [--type stream|dgram] [--canonical]
                       [--addrconfig] [--v4mapped] [--numeric-host] [--json]
       sockbox resolve -r ADDR [PORT] [--numeric-serv] [--name-required] [--dgram] [--json]
       sockbox resolve --service NAME|PORT[/PROTO] [--json]
       sockbox resolve --protocol NAME|NUMBER [--json]

Resolve through libc, so /etc/hosts, nsswitch.conf and resolver search domains apply
exactly as for C programs. Lookups run off the main thread.

HOST [SERVICE]: getaddrinfo(3). Prints one line per result: family, address, socket
type, protocol, port, and the canonical name (with --canonical). SERVICE is a service
name or port number.
  -4, -6           only IPv4 (AF_INET) or only IPv6 (AF_INET6) results
  --type T         only socket type T: stream or dgram (default: any, which also
                   lists raw results)
  --canonical      AI_CANONNAME: report the canonical name (on the first result)
  --addrconfig     AI_ADDRCONFIG: only families this host has a non-loopback address for
  --v4mapped       AI_V4MAPPED: with -6, return IPv4-only names as ::ffff:a.b.c.d
  --numeric-host   AI_NUMERICHOST: HOST must be a numeric address (no lookup)

-r ADDR [PORT]: getnameinfo(3) for a numeric IPv4 or IPv6 address (IPv6 may carry
%SCOPE, an interface name or index). Prints the host name, then the service if PORT
is given.
  -r, --reverse    reverse lookup
  --numeric-serv   NI_NUMERICSERV: print PORT as a number
  --name-required  NI_NAMEREQD: fail when ADDR has no name
  --dgram          NI_DGRAM: look PORT up as a UDP service

--service NAME|PORT[/PROTO]: the services database (getservbyname(3)/getservbyport(3)),
  for protocol PROTO (tcp, udp, sctp or dccp) or the first one listed. Prints like
  "getent services": name, port/protocol, aliases.
--protocol NAME|NUMBER: the protocols database (getprotobyname(3)/getprotobynumber(3)),
  NUMBER 0-255. Prints like "getent protocols": name, number, aliases.

Common:
  --json           one JSON object per line: {"event":"address"|"name"|"service"|
                   "protocol",...}
  -h, --help       show this help

Rules: -4 cannot be used with -6; -r, --service and --protocol exclude each other;
-4, -6, --type, --canonical, --addrconfig, --v4mapped and --numeric-host need the
HOST form; --numeric-serv, --name-required and --dgram need -r; --service and
--protocol take no other arguments. A failed lookup exits 1 with the resolver's text:
"sockbox: resolve no-such.invalid: Name or service not known".
`;

/** Parsed `resolve` options, one shape per form. */
export type ResolveCommandOptions =
  | {
    mode: "forward";
    host: string;
    service?: string;
    family?: 4 | 6;
    type?: "stream" | "dgram";
    canonical: boolean;
    addrconfig: boolean;
    v4mapped: boolean;
    numericHost: boolean;
    json: boolean;
  }
  | {
    mode: "reverse";
    address: string;
    port?: number;
    numericServ: boolean;
    nameRequired: boolean;
    dgram: boolean;
    json: boolean;
  }
  | { mode: "service"; query: string; protocol?: string; json: boolean }
  | { mode: "protocol"; query: string; json: boolean };

const FORWARD_FLAGS = [
  ["4", "-4"],
  ["6", "-6"],
  ["type", "--type"],
  ["canonical", "--canonical"],
  ["addrconfig", "--addrconfig"],
  ["v4mapped", "--v4mapped"],
  ["numeric-host", "--numeric-host"],
] as const;
const REVERSE_FLAGS = [
  ["numeric-serv", "--numeric-serv"],
  ["name-required", "--name-required"],
  ["dgram", "--dgram"],
] as const;

const FLAGS = {
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  type: { type: "string" },
  canonical: { type: "boolean" },
  addrconfig: { type: "boolean" },
  v4mapped: { type: "boolean" },
  "numeric-host": { type: "boolean" },
  reverse: { type: "boolean", short: "r" },
  "numeric-serv": { type: "boolean" },
  "name-required": { type: "boolean" },
  dgram: { type: "boolean" },
  service: { type: "string" },
  protocol: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Parses `resolve` arguments (pure). */
export function parse(args: string[]): ResolveCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const json = v.json ?? false;
  const modes = [
    v.reverse ? "-r" : undefined,
    v.service !== undefined ? "--service" : undefined,
    v.protocol !== undefined ? "--protocol" : undefined,
  ].filter((x) => x !== undefined);
  if (modes.length > 1) throw new UsageError(`${modes[0]} cannot be used with ${modes[1]}`);
  const mode = modes[0];
  const values = v as Record<string, unknown>;
  if (mode !== undefined) {
    for (const [key, flag] of FORWARD_FLAGS) {
      if (values[key] !== undefined) throw new UsageError(`${flag} cannot be used with ${mode}`);
    }
  }
  if (mode !== "-r") {
    for (const [key, flag] of REVERSE_FLAGS) {
      if (values[key] !== undefined) throw new UsageError(`${flag} needs -r`);
    }
  }
  if (mode === "--service" || mode === "--protocol") {
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument "${positionals[0]}" (${mode} takes no other arguments)`,
      );
    }
  }
  if (mode === "--service") {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.+-]*)(?:\/(tcp|udp|sctp|dccp))?$/.exec(v.service!);
    if (!m) {
      throw new UsageError(
        `invalid --service "${v.service}": must be NAME or PORT, optionally /tcp, /udp, /sctp or /dccp`,
      );
    }
    if (/^\d+$/.test(m[1]!)) parseInteger("--service", m[1]!, 0, 65535);
    return { mode: "service", query: m[1]!, ...(m[2] ? { protocol: m[2] } : {}), json };
  }
  if (mode === "--protocol") {
    const q = v.protocol!;
    if (/^\d+$/.test(q)) parseInteger("--protocol", q, 0, 255);
    else if (!/^[A-Za-z][A-Za-z0-9_.+-]*$/.test(q)) {
      throw new UsageError(`invalid --protocol "${q}": must be a protocol name or a number 0-255`);
    }
    return { mode: "protocol", query: q, json };
  }
  if (mode === "-r") {
    noExtra(positionals, 2);
    const address = positionals[0];
    if (address === undefined) throw new UsageError("missing ADDR");
    const [text, zone] = address.split("%");
    const ok = zone === undefined
      ? parseIPv4(text!) !== null || parseIPv6(text!) !== null
      : parseIPv6(text!) !== null && /^[^\s/%]{1,15}$/.test(zone);
    if (!ok) {
      throw new UsageError(
        `invalid ADDR "${address}": must be a numeric IPv4 or IPv6 address (IPv6 may add %SCOPE)`,
      );
    }
    const opts: ResolveCommandOptions = {
      mode: "reverse",
      address,
      numericServ: v["numeric-serv"] ?? false,
      nameRequired: v["name-required"] ?? false,
      dgram: v.dgram ?? false,
      json,
    };
    if (positionals[1] !== undefined) opts.port = parsePort("PORT", positionals[1]);
    return opts;
  }
  noExtra(positionals, 2);
  const host = positionals[0];
  if (host === undefined || host === "") throw new UsageError("missing HOST");
  if (v["4"] && v["6"]) throw new UsageError("-4 cannot be used with -6");
  if (v.type !== undefined && v.type !== "stream" && v.type !== "dgram") {
    throw new UsageError(`invalid --type "${v.type}": must be stream or dgram`);
  }
  const service = positionals[1];
  if (service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(service)) {
    throw new UsageError(`invalid SERVICE "${service}": must be a service name or port number`);
  }
  if (service !== undefined && /^\d+$/.test(service)) parseInteger("SERVICE", service, 0, 65535);
  return {
    mode: "forward",
    host,
    ...(service === undefined ? {} : { service }),
    ...(v["4"] ? { family: 4 as const } : v["6"] ? { family: 6 as const } : {}),
    ...(v.type === undefined ? {} : { type: v.type }),
    canonical: v.canonical ?? false,
    addrconfig: v.addrconfig ?? false,
    v4mapped: v.v4mapped ?? false,
    numericHost: v["numeric-host"] ?? false,
    json,
  };
}

/** An address with its scope named as `ip` names it: `fe80::1%eth0`. */
function scoped(a: AddressInfo): string {
  return a.scopeId === undefined ? a.address : `${a.address}%${scopeName(a.scopeId)}`;
}

/**
 * The JSON event of one getaddrinfo result: every field snake_case, as in every other
 * sockbox event (`protocol_name`, `scope_id`); `scope` is the scope's interface name.
 */
export function addressEvent(
  host: string,
  a: AddressInfo,
  nameScope: (index: number) => string = scopeName,
): Record<string, unknown> & { event: "address" } {
  return {
    event: "address",
    host,
    family: a.family,
    address: a.address,
    socktype: a.socktype,
    protocol: a.protocol,
    ...(a.protocolName === undefined ? {} : { protocol_name: a.protocolName }),
    port: a.port,
    ...(a.scopeId === undefined ? {} : { scope_id: a.scopeId, scope: nameScope(a.scopeId) }),
    ...(a.canonname === undefined ? {} : { canonname: a.canonname }),
  };
}

function addressText(a: AddressInfo, width: number): string {
  const addr = scoped(a);
  const proto = a.protocolName ?? (a.protocol === 0 ? "-" : String(a.protocol));
  let line = `${a.family.padEnd(5)}  ${addr.padEnd(width)}  ${a.socktype.padEnd(6)}  ` +
    `${proto.padEnd(4)}  port ${a.port}`;
  if (a.canonname !== undefined) line += `  canonical ${a.canonname}`;
  return line;
}

/** Runs `resolve`. */
export async function run(opts: ResolveCommandOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: opts.json });
  switch (opts.mode) {
    case "forward": {
      const list = await resolveAddresses(opts.host, opts.service, {
        ...(opts.family === undefined ? {} : { family: opts.family }),
        ...(opts.type === undefined ? {} : { type: opts.type }),
        canonical: opts.canonical,
        addrconfig: opts.addrconfig,
        v4mapped: opts.v4mapped,
        numericHost: opts.numericHost,
      });
      const width = Math.max(...list.map((a) => scoped(a).length));
      for (const a of list) out.emit(addressEvent(opts.host, a), () => addressText(a, width));
      return 0;
    }
    case "reverse": {
      const r = await resolveName(opts.address, opts.port, {
        numericServ: opts.numericServ,
        nameRequired: opts.nameRequired,
        dgram: opts.dgram,
      });
      out.emit(
        { event: "name", ...r },
        () => r.service === undefined ? r.host : `${r.host} ${r.service}`,
      );
      return 0;
    }
    case "service": {
      const s = resolveService(opts.query, opts.protocol);
      out.emit(
        { event: "service", ...s },
        () =>
          `${s.name.padEnd(21)} ${s.port}/${s.protocol}${s.aliases.map((x) => " " + x).join("")}`,
      );
      return 0;
    }
    case "protocol": {
      const p = resolveProtocol(opts.query);
      out.emit(
        { event: "protocol", ...p },
        () => `${p.name.padEnd(21)} ${p.number}${p.aliases.map((x) => " " + x).join("")}`,
      );
      return 0;
    }
  }
}

/** `resolve`, as the command table holds it. */
export const cmd = command(
  { summary, usage, flags: FLAGS, parse, run } satisfies CommandModule<ResolveCommandOptions>,
);
