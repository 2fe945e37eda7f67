/**
 * `sockbox ifaces`: list network interfaces and their addresses (the SIOCGIF* ioctls of
 * netdevice(7) plus getifaddrs(3)/if_nameindex(3)), agreeing with `ip -j addr show`.
 *
 * @module
 */
import { noExtra, parseFamily, parseFlags } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import { type InterfaceAddress, listInterfaces, type NetInterface } from "../../sys/interfaces.ts";
import { type Io, Reporter } from "../output.ts";
import { command, type CommandModule } from "../command.ts";

/** One line for `sockbox help`. */
export const summary = "list network interfaces and addresses (like ip addr)";

/** The full help text. */
export const usage = `Usage: sockbox ifaces [NAME] [-4|-6] [--json]

List every network interface (down ones too), ordered by index: name, index, state,
flags, MTU, link-layer address, then its IPv4 addresses (with dotted netmask, broadcast,
point-to-point peer and label, e.g. eth0:1) and IPv6 addresses (with prefix length and
scope). IPv4 comes from the SIOCGIFCONF/SIOCGIF* ioctls, IPv6 and interfaces without
IPv4 from getifaddrs(3)/if_nameindex(3). Names, indexes, flags, MTU, MAC, addresses,
prefixes, broadcast, peers and labels agree with "ip -j addr show".

Arguments:
  NAME        only this interface (exit 1 if there is no such interface)

Options:
  -4          only IPv4 addresses, and only interfaces that have one (as "ip -4 addr")
  -6          only IPv6 addresses, and only interfaces that have one (as "ip -6 addr")
  --json      print one JSON array: [{"name","index","flags":[...],"mtu","mac",
              "addresses":[{"family":"inet"|"inet6","address","prefixlen","netmask",
              "broadcast","peer","label","scope"}]}] (absent fields omitted)
  -h, --help  show this help

Flags are named as "ip link" names them (NO-CARRIER when UP without carrier; RUNNING
is not shown). Not reported: M-DOWN (a veth peer's state), IPv4 scope, lifetimes.
-4 cannot be used with -6.
`;

/** Parsed `ifaces` options. */
export interface IfacesOptions {
  name?: string;
  family?: 4 | 6;
  json: boolean;
}

const FLAGS = {
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
} as const;

/** Parses `ifaces` arguments (pure). */
export function parse(args: string[]): IfacesOptions {
  const { values, positionals } = parseFlags(args, FLAGS);
  noExtra(positionals, 1);
  const family = parseFamily(values["4"], values["6"]);
  const opts: IfacesOptions = { json: values.json ?? false };
  const name = positionals[0];
  if (name !== undefined) {
    const len = new TextEncoder().encode(name).length;
    if (len === 0 || len > 15 || /[\s/:]/.test(name)) {
      throw new UsageError(
        `invalid NAME "${name}": interface names are 1-15 bytes without spaces, "/" or ":"`,
      );
    }
    opts.name = name;
  }
  if (family !== undefined) opts.family = family;
  return opts;
}

function state(i: NetInterface): string {
  if (!i.flags.includes("UP")) return "down";
  if (i.flags.includes("NO-CARRIER")) return "no-carrier";
  return i.flags.includes("LOWER_UP") ? "up" : "unknown";
}

function addressLine(a: InterfaceAddress): string {
  const parts = [`${a.family} ${a.address}/${a.prefixlen}`];
  if (a.netmask !== undefined) parts.push(`netmask ${a.netmask}`);
  if (a.broadcast !== undefined) parts.push(`broadcast ${a.broadcast}`);
  if (a.peer !== undefined) parts.push(`peer ${a.peer}`);
  if (a.scope !== undefined) parts.push(`scope ${a.scope}`);
  if (a.label !== undefined) parts.push(`label ${a.label}`);
  return "    " + parts.join("  ");
}

/** Formats interfaces as the human table `ifaces` prints. */
export function formatInterfaces(list: NetInterface[]): string[] {
  const lines: string[] = [];
  const w = Math.max(0, ...list.map((i) => `${i.index}: ${i.name}`.length));
  for (const i of list) {
    const head = `${i.index}: ${i.name}`.padEnd(w);
    const mac = i.mac === undefined ? "" : `  mac ${i.mac}`;
    lines.push(
      `${head}  ${state(i).padEnd(10)}  mtu ${String(i.mtu).padEnd(5)}${mac}  <${
        i.flags.join(",")
      }>`,
    );
    for (const a of i.addresses) lines.push(addressLine(a));
  }
  return lines;
}

/** Runs `ifaces`. */
export function run(opts: IfacesOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: opts.json });
  let list = listInterfaces({
    ...(opts.name === undefined ? {} : { name: opts.name }),
    ...(opts.family === undefined ? {} : { family: opts.family }),
  });
  if (opts.family !== undefined) list = list.filter((i) => i.addresses.length > 0);
  if (opts.json) out.line(JSON.stringify(list));
  else for (const l of formatInterfaces(list)) out.line(l);
  return Promise.resolve(0);
}

/** `ifaces`, as the command table holds it. */
export const cmd = command(
  { summary, usage, flags: FLAGS, parse, run } satisfies CommandModule<IfacesOptions>,
);
