/**
 * `sockbox hosts`: the ruptime view of the LAN, from a running beacon on this host or by
 * listening for announcements.
 *
 * @module
 */
import { noExtra, parseDuration, parseFlags } from "../args.ts";
import { formatEndpoint, RuntimeError, UsageError } from "../../base/errors.ts";
import { command, type CommandModule } from "../command.ts";
import { type Io, Reporter } from "../output.ts";
import {
  BEACON_PORT,
  beaconDiagnosticText,
  beaconEventText,
  type BeaconListenOptions,
  dropText,
  hostLine,
  type HostsSnapshot,
  type HostView,
  hostView,
  isBeaconDiagnostic,
  listenBeacons,
  queryBeacon,
  sortHosts,
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
  --port N          UDP port (1-65535, default ${BEACON_PORT})
  --key FILE        accept only announcements (and beacon answers) signed with this key
  --json            one JSON object per line: a "host" event per host, then "summary"

--group, --broadcast and --iface need --wait.
`;

/** Parsed `hosts` arguments. */
export type Options =
  | { mode: "query"; port: number; keyFile?: string; json: boolean }
  | {
    mode: "wait";
    beacon: Omit<BeaconListenOptions, "signal" | "onEvent">;
    json: boolean;
  };

const FLAGS = { ...TRANSPORT_FLAGS, wait: { type: "string" } } as const;

/** Parses `hosts` arguments (pure). */
export function parseHostsArgs(args: string[]): Options {
  const { values: v, positionals } = parseFlags(args, FLAGS);
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
  const beacon: Omit<BeaconListenOptions, "signal" | "onEvent"> = {
    ...transport,
    waitMs,
    intervalMs: Math.min(waitMs, 1000),
  };
  if (v.key !== undefined) beacon.keyFile = v.key;
  return { mode: "wait", beacon, json };
}

export const parse = parseHostsArgs;

/** Events `hosts` prints: one per host, then the counts. */
export type HostsEvent =
  | ({ event: "host" } & HostView)
  | {
    event: "summary";
    hosts: number;
    up: number;
    down: number;
    dropped: HostsSnapshot["dropped"];
  };

/** The human line for a `hosts` event (the summary has none; see {@link renderHosts}). */
export function hostsEventText(ev: HostsEvent): string | null {
  return ev.event === "host" ? hostLine(ev) : null;
}

/**
 * Prints the ruptime view of `snap`: a `host` event per host, sorted by name, then the
 * summary; in human output, non-zero drop counts and an empty table are said on stderr.
 */
export function renderHosts(out: Reporter, snap: HostsSnapshot): void {
  const hosts = sortHosts(snap.hosts).map((r) => hostView(r, snap.time));
  for (const h of hosts) out.emit({ event: "host", ...h }, hostsEventText);
  const up = hosts.filter((h) => h.state === "up").length;
  const d = snap.dropped;
  out.emit(
    { event: "summary", hosts: hosts.length, up, down: hosts.length - up, dropped: d },
    hostsEventText,
  );
  if (out.json) return;
  if (d.malformed + d.unauthenticated + d.forged + d.stale > 0) out.warn(dropText(d));
  if (hosts.length === 0) out.warn("no hosts heard");
}

/** Prints the host table, asked of the local beacon or heard during `--wait`. */
export async function run(o: Options, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  if (o.mode === "query") {
    const timeoutMs = 2000;
    const snap = await queryBeacon({
      port: o.port,
      keyFile: o.keyFile,
      timeoutMs,
      signal: io.signal,
    });
    if (snap === null && !io.signal.aborted) {
      throw new RuntimeError(
        `no beacon answered on ${formatEndpoint("127.0.0.1", o.port)} within ${timeoutMs}ms ` +
          `(start "sockbox beacon"${
            o.keyFile !== undefined ? " with the same --key" : ""
          }, or listen with --wait DUR)`,
      );
    }
    renderHosts(
      out,
      snap ?? {
        hosts: [],
        dropped: { malformed: 0, unauthenticated: 0, forged: 0, stale: 0 },
        time: Date.now(),
      },
    );
    return 0;
  }
  // Only the table is printed; JSON still gets the listening event to sync on.
  const snap = await listenBeacons({
    ...o.beacon,
    signal: io.signal,
    onEvent: (ev) => {
      if (isBeaconDiagnostic(ev)) out.warn(beaconDiagnosticText(ev));
      else if (ev.event === "listening") out.emit(ev, beaconEventText);
    },
  });
  renderHosts(out, snap);
  return 0;
}

/** `hosts`. */
export const hostsModule = {
  summary,
  usage,
  flags: FLAGS,
  parse: parseHostsArgs,
  run,
} satisfies CommandModule<Options>;

/** `hosts`, as the command table holds it. */
export const cmd = command(hostsModule);
