/**
 * `sockbox beacon`: announce this host (name, boot time, users, load, version) to the LAN
 * by multicast or broadcast and record what other beacons announce (an rwhod).
 *
 * @module
 */
import { noExtra, parseDuration, parseFlags } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import type { Io } from "../output.ts";
import {
  type BeaconOptions,
  DEFAULT_GROUP_V4,
  DEFAULT_GROUP_V6,
  DEFAULT_PORT,
  runBeacon,
} from "../../net/beacon/beacon.ts";
import { parseTransport, TRANSPORT_FLAGS } from "../beacon_flags.ts";

export const summary = "announce this host and record other hosts (rwhod over multicast)";

export const usage =
  `Usage: sockbox beacon [--group GROUP | --broadcast] [--port N] [--interval DUR]
                      [--iface NAME|ADDR|INDEX]... [--ttl N] [--key FILE] [--name NAME] [--json]

Every --interval (default 60s) announces this host: its name, boot time, the number of
users logged in (utmp), the 1/5/15-minute load averages and the sockbox version. By default
it announces to ${DEFAULT_GROUP_V4} (IPv4) and ${DEFAULT_GROUP_V6} (IPv6 link-local) on every up,
multicast-capable, non-loopback interface, port ${DEFAULT_PORT}, and joins both groups there to
hear the other beacons. It prints "up NAME from ADDR: ..." when a host is first heard (or
comes back) and "down NAME: silent for H:MM" when a host has been silent for more than 3 of
its own intervals. "sockbox hosts" on this host asks the beacon for its table over
loopback. SIGINT or SIGTERM stops it with a summary.

Options:
  --group GROUP     announce to and listen on this one multicast group instead
  --broadcast       IPv4 broadcast to each interface's broadcast address instead of multicast
  --port N          UDP port (1-65535, default ${DEFAULT_PORT}); every beacon on the LAN must agree
  --interval DUR    time between announcements (50ms-1h, default 60s)
  --iface I         use only these interfaces (name, index or address); repeatable
  --ttl N           multicast TTL / hop limit (0-255, default 1); not with --broadcast
  --key FILE        sign announcements with HMAC-SHA256 under the key in FILE (trailing
                    newline ignored) and drop every datagram that is unsigned ("unauthenticated"),
                    badly signed ("forged") or more than 5 minutes off ("stale")
  --name NAME       announce NAME (1-64 of A-Z a-z 0-9 . _ -) instead of the host name
  --json            one JSON object per line: listening, host-up, host-down, dropped, summary

Datagrams that are not valid beacon messages are dropped and counted ("malformed").
--group cannot be used with --broadcast.
`;

export type Options = BeaconOptions;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses `beacon` arguments (pure). */
export function parseBeaconArgs(args: string[]): Options {
  const { values: v, positionals } = parseFlags(args, {
    ...TRANSPORT_FLAGS,
    interval: { type: "string" },
    name: { type: "string" },
  });
  noExtra(positionals, 0);
  const o: BeaconOptions = {
    ...parseTransport(v),
    intervalMs: v.interval === undefined
      ? 60_000
      : parseDuration("--interval", v.interval, 50, 3_600_000),
    json: v.json ?? false,
  };
  if (v.key !== undefined) o.keyFile = v.key;
  if (v.name !== undefined) {
    if (!NAME_RE.test(v.name)) {
      throw new UsageError(
        `invalid --name "${v.name}": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)`,
      );
    }
    o.name = v.name;
  }
  return o;
}

export const parse = parseBeaconArgs;

/** Runs the beacon until SIGINT/SIGTERM. */
export async function run(o: Options, io: Io): Promise<number> {
  await runBeacon(o, io, { announce: true });
  return 0;
}
