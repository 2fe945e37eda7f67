/**
 * `sockbox check HOST... [PORT]`: what gets through to an echo service, protocol by
 * protocol and address by address, with the reason for every failure and, with `--mtu`,
 * the path MTU. The engine is lib/net/check/; this file parses the arguments and renders
 * the matrix (or NDJSON).
 *
 * @module
 */
import { parseDuration, parseFamily, parseFlags, parseInteger } from "../args.ts";
import { formatEndpoint, UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import { command, type CommandModule } from "../command.ts";
import type { Proto } from "../../net/check/classify.ts";
import {
  type CellEvent,
  cellText,
  type CheckEvent,
  type HostEvent,
  type PathEvent,
  pathText,
  runCheck,
  summaryText,
} from "../../net/check/check.ts";
import {
  type CheckTarget,
  parseHostsFile,
  parseTarget,
  readHostsFile,
} from "../../net/check/targets.ts";

/** One line for `sockbox help`. */
export const summary = "check what gets through to a host: TCP, UDP, SCTP x IPv4, IPv6";

/** The full help text. */
export const usage = `Usage: sockbox check HOST... [PORT] [--proto tcp,udp,sctp] [-4|-6] [--count N]
                     [--timeout DUR] [--mtu] [--hosts FILE] [--parallel N] [--json]

What gets through to an echo service (RFC 862 port 7, socat PIPE, "sockbox serve all"):
for every address HOST resolves to and every protocol, --count echo probes, each checked
byte for byte, and one result per cell:

  ok           the probes came back (shown: median RTT, probes echoed/sent)
  refused      nothing listens there: TCP RST, ICMP port-unreachable for UDP, SCTP ABORT
  rejected     another ICMP/ICMPv6 error (admin-prohibited from a firewall, ...), named
               with the address that sent it, read from the socket error queue
               (IP_RECVERR / IPV6_RECVERR)
  filtered     no answer at all within --timeout (a silent UDP port is filtered, not ok)
  no-route     no route from this host (or the next hop never answered)
  unsupported  this kernel has no SCTP (or not the address family)
  not-echo     something answered, but not with the probe: what came back is shown

Output: a block per host (a row per address, a column per protocol), a "path" line per
address with --mtu, and a last line counting hosts fully ok, partly ok and unreachable.

Arguments:
  HOST            a name or an address, with its port if it differs from PORT:
                  host:port, [2001:db8::1]:port
  PORT            the echo port of HOSTs that name none, 1-65535 (default 7)

Options:
  --proto LIST    protocols to probe, comma separated: tcp, udp, sctp (default all three)
  -4, -6          only IPv4 or only IPv6 addresses
  -c, --count N   echo probes per cell, 1-1000 (default 3); UDP probes go 200ms apart
  --timeout DUR   how long to wait for each answer (default 2s)
  --mtu           also find each path's MTU: UDP echoes with don't-fragment set
                  (IP_MTU_DISCOVER = IP_PMTUDISC_PROBE; IPv6: IPV6_DONTFRAG), binary
                  search, then the kernel's path MTU (IP_MTU / IPV6_MTU) and the router
                  that sent "fragmentation needed" / "packet too big"
  --hosts FILE    more hosts, one host[:port] a line, # starts a comment ("-": stdin)
  --parallel N    hosts probed at once, 1-1024 (default 32)
  --json          one JSON object per line: {"event":"cell","address","family","proto",
                  "result","sent","received","rtt_ms","reason","from",...} per cell,
                  {"event":"path","address","family","mtu","max_payload","from",...} per
                  path, {"event":"host",...} per host, then {"event":"summary",...}

Exit status: 0 when every cell is ok, 1 otherwise, 2 for usage errors.
`;

const PROTOS: readonly Proto[] = ["tcp", "udp", "sctp"];

/** Parsed `check` options. */
export interface CheckCommandOptions {
  /** Targets from the command line. */
  targets: CheckTarget[];
  /** `--hosts FILE` ("-" for stdin), read when the command runs. */
  hostsFile?: string;
  /** The port of hosts that name none. */
  port: number;
  protos: Proto[];
  family?: 4 | 6;
  count: number;
  timeoutMs: number;
  mtu: boolean;
  parallel: number;
  json: boolean;
}

const FLAGS = {
  proto: { type: "string" },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  count: { type: "string", short: "c" },
  timeout: { type: "string" },
  mtu: { type: "boolean" },
  hosts: { type: "string" },
  parallel: { type: "string" },
  json: { type: "boolean" },
} as const;

function parseProtos(value: string): Proto[] {
  const out: Proto[] = [];
  for (const p of value.split(",")) {
    const proto = PROTOS.find((x) => x === p);
    if (proto === undefined) {
      throw new UsageError(`invalid --proto "${value}": must be tcp, udp or sctp, comma separated`);
    }
    if (!out.includes(proto)) out.push(proto);
  }
  return out;
}

/** Parses `check` arguments (pure). */
export function parse(args: string[]): CheckCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  let hosts = positionals;
  let port = 7;
  const last = positionals.at(-1);
  if (last !== undefined && /^[0-9]+$/.test(last) && (positionals.length > 1 || v.hosts)) {
    port = parseInteger("PORT", last, 1, 65535);
    hosts = positionals.slice(0, -1);
  }
  if (hosts.length === 0 && v.hosts === undefined) throw new UsageError("missing HOST");
  const targets = hosts.map((h) => {
    const t = parseTarget(h, port);
    if (typeof t === "string") throw new UsageError(`invalid HOST "${h}": ${t}`);
    return t;
  });
  const opts: CheckCommandOptions = {
    targets,
    port,
    protos: v.proto === undefined ? [...PROTOS] : parseProtos(v.proto),
    count: v.count === undefined ? 3 : parseInteger("--count", v.count, 1, 1000),
    timeoutMs: v.timeout === undefined ? 2000 : parseDuration("--timeout", v.timeout, 10, 600_000),
    mtu: v.mtu ?? false,
    parallel: v.parallel === undefined ? 32 : parseInteger("--parallel", v.parallel, 1, 1024),
    json: v.json ?? false,
  };
  if (v.hosts !== undefined) {
    if (v.hosts === "") throw new UsageError('invalid --hosts "": must be a file or -');
    opts.hostsFile = v.hosts;
  }
  const family = parseFamily(v["4"], v["6"]);
  if (family !== undefined) opts.family = family;
  return opts;
}

/**
 * The matrix block of one host: its name, a row per address with a cell per protocol,
 * then the path lines.
 *
 * @example
 * ```ts ignore
 * hostBlock(hostEvent, cells, paths, ["tcp", "udp"]);
 * // ["server:7007",
 * //  "  ADDRESS    TCP            UDP",
 * //  "  192.0.2.7  ok 0.41ms 3/3  filtered (no answer within 2s)"]
 * ```
 */
export function hostBlock(
  host: HostEvent,
  cells: CellEvent[],
  paths: PathEvent[],
  protos: readonly Proto[],
): string[] {
  const title = formatEndpoint(host.host, host.port);
  if (host.error !== null) return [`${title}  ${host.error}`];
  const rows = [
    ["ADDRESS", ...protos.map((p) => p.toUpperCase())],
    ...host.addresses.map((a) => [
      a,
      ...protos.map((p) => {
        const c = cells.find((x) => x.address === a && x.proto === p);
        return c ? cellText(c) : "-";
      }),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    title,
    ...rows.map((r) =>
      "  " + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")
    ),
    ...paths.map((p) => "  " + pathText(p)),
  ];
}

async function readTargets(o: CheckCommandOptions, io: Io): Promise<CheckTarget[]> {
  if (o.hostsFile === undefined) return o.targets;
  const text = o.hostsFile === "-"
    ? await new Response(io.stdin).text()
    : readHostsFile(o.hostsFile);
  const more = parseHostsFile(text, o.port, "--hosts");
  if (more.length === 0 && o.targets.length === 0) {
    throw new UsageError(`--hosts "${o.hostsFile}" names no host`);
  }
  return [...o.targets, ...more];
}

/** Runs `check`: 0 when every cell is ok, 1 otherwise. */
export async function run(o: CheckCommandOptions, io: Io): Promise<number> {
  const targets = await readTargets(o, io);
  const out = new Reporter(io, { json: o.json });
  let cells: CellEvent[] = [];
  let paths: PathEvent[] = [];
  const onEvent = (ev: CheckEvent) => {
    switch (ev.event) {
      case "cell":
        cells.push(ev);
        out.emit(ev, null);
        return;
      case "path":
        paths.push(ev);
        out.emit(ev, null);
        return;
      case "host":
        out.emit(ev, (h) => hostBlock(h, cells, paths, o.protos).join("\n"));
        cells = [];
        paths = [];
        return;
      case "summary":
        out.emit(ev, summaryText);
    }
  };
  const s = await runCheck({
    targets,
    protos: o.protos,
    family: o.family,
    count: o.count,
    timeoutMs: o.timeoutMs,
    mtu: o.mtu,
    parallel: o.parallel,
    signal: io.signal,
    onEvent,
  });
  return s.hosts === targets.length && s.ok === s.hosts ? 0 : 1;
}

/** `check`, as the command table holds it. */
export const cmd = command(
  { summary, usage, flags: FLAGS, parse, run } satisfies CommandModule<CheckCommandOptions>,
);
