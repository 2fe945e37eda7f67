/**
 * `sockbox hosts`: the ruptime view of the LAN, from a running beacon on this host or by
 * listening for announcements.
 *
 * @module
 */
import { noExtra, parseDuration, parseFlags } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import type { Io } from "../output.ts";
import {
  type BeaconOptions,
  DEFAULT_PORT,
  printHosts,
  queryBeacon,
  runBeacon,
} from "../../net/beacon/beacon.ts";
import { parseTransport, TRANSPORT_FLAGS } from "../beacon_flags.ts";

export const summary = "list hosts heard by the beacon (ruptime)";

export const usage = `Usage: sockbox hosts [--port N] [--key FILE] [--json]
       sockbox hosts --wait DUR [--group GROUP | --broadcast] [--port N]
                     [--iface NAME|ADDR|INDEX]... [--key FILE] [--json]

Prints one line per host, sorted by name, as ruptime does:
  scratchy up 2+12:04, 8 users, load 4.67, 5.13, 4.59
  wood down 17:04
"up" shows the time since boot (days+hours:minutes), "down" the time since the host was
last heard; a host is down when silent for more than 3 of its announce intervals.

Without --wait it asks the beacon running on this host ("sockbox beacon", same --port) over
loopback (127.0.0.1, then ::1) and fails (exit 1) if none answers within 2s. With --wait
it listens itself for DUR on the beacon's groups (default both, every up multicast-capable
interface) and prints what it heard. Drop counts (malformed, unauthenticated, forged, stale)
are printed on stderr when not zero.

Options:
  --wait DUR        listen for DUR (e.g. 2s, 500ms; up to 1h) instead of asking a beacon
  --group GROUP     with --wait: listen on this multicast group only
  --broadcast       with --wait: listen for IPv4 broadcast announcements
  --iface I         with --wait: listen on these interfaces only; repeatable
  --port N          UDP port (1-65535, default ${DEFAULT_PORT})
  --key FILE        accept only announcements (and beacon answers) signed with this key
  --json            one JSON object per line: a "host" event per host, then "summary"

--group, --broadcast and --iface need --wait.
`;

/** Parsed `hosts` arguments. */
export type Options =
  | { mode: "query"; port: number; keyFile?: string; json: boolean }
  | { mode: "wait"; waitMs: number; beacon: BeaconOptions };

/** Parses `hosts` arguments (pure). */
export function parseHostsArgs(args: string[]): Options {
  const { values: v, positionals } = parseFlags(args, {
    ...TRANSPORT_FLAGS,
    wait: { type: "string" },
  });
  noExtra(positionals, 0);
  if (v.ttl !== undefined) throw new UsageError('unknown option "--ttl"');
  const transport = parseTransport(v);
  const json = v.json ?? false;
  if (v.wait === undefined) {
    for (const f of ["group", "broadcast", "iface"] as const) {
      if (v[f] !== undefined) throw new UsageError(`--${f} can only be used with --wait`);
    }
    const o: Options = { mode: "query", port: transport.port, json };
    if (v.key !== undefined) o.keyFile = v.key;
    return o;
  }
  const waitMs = parseDuration("--wait", v.wait, 1, 3_600_000);
  const beacon: BeaconOptions = { ...transport, intervalMs: Math.min(waitMs, 1000), json };
  if (v.key !== undefined) beacon.keyFile = v.key;
  return { mode: "wait", waitMs, beacon };
}

export const parse = parseHostsArgs;

/** Prints the host table. */
export async function run(o: Options, io: Io): Promise<number> {
  if (o.mode === "query") {
    const r = await queryBeacon(o.port, o.keyFile, 2000, io.signal);
    return printHosts(r.hosts, r.dropped, r.time, o.json, io);
  }
  const table = await runBeacon(o.beacon, io, { announce: false, waitMs: o.waitMs });
  return printHosts(table.sorted(), table.dropped, Date.now(), o.beacon.json, io);
}
