/**
 * `sockbox beacon`: announce this host (name, boot time, users, load, version) to the LAN
 * by multicast or broadcast and record what other beacons announce (an rwhod).
 *
 * @module
 */
import { noExtra, parseDuration, parseFlags } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import { command, type CommandModule } from "../command.ts";
import { type Io, Reporter } from "../output.ts";
import {
  BEACON_GROUP_V4,
  BEACON_GROUP_V6,
  BEACON_PORT,
  beaconDiagnosticText,
  type BeaconEvent,
  beaconEventText,
  type BeaconOptions,
  type DropReason,
  isBeaconDiagnostic,
  isBeaconName,
  runBeacon,
} from "../../net/beacon/beacon.ts";
import { parseTransport, TRANSPORT_FLAGS } from "../beacon_flags.ts";

export const summary = "announce this host and record other hosts (rwhod over multicast)";

export const usage =
  `Usage: sockbox beacon [--group GROUP | --broadcast] [--port N] [--interval DUR]
                      [--iface NAME|ADDR|INDEX]... [--ttl N] [--key FILE] [--name NAME] [--json]

Every --interval (default 60s) announces this host: its name, boot time, the number of
users logged in (utmp), the 1/5/15-minute load averages and the sockbox version. By default
it announces to ${BEACON_GROUP_V4} (IPv4) and ${BEACON_GROUP_V6} (IPv6 link-local) on every up,
multicast-capable, non-loopback interface, port ${BEACON_PORT}, and joins both groups there to
hear the other beacons. It prints "up NAME from ADDR: ..." when a host is first heard (or
comes back) and "down NAME: silent for H:MM" when a host has been silent for more than 3 of
its own intervals. "sockbox hosts" on this host asks the beacon for its table over
loopback. SIGINT or SIGTERM stops it with a summary.

Options:
  --group GROUP     announce to and listen on this one multicast group instead
  --broadcast       IPv4 broadcast to each interface's broadcast address instead of multicast
  --port N          UDP port (1-65535, default ${BEACON_PORT}); every beacon on the LAN must agree
  --interval DUR    time between announcements (50ms-1h, default 60s)
  --iface I         use only these interfaces (name, index or address); repeatable
  --ttl N           multicast TTL / hop limit (0-255, default 1); not with --broadcast
  --key FILE        sign announcements with HMAC-SHA256 under the key in FILE (trailing
                    newline ignored) and drop every datagram that is unsigned ("unauthenticated"),
                    badly signed ("forged") or more than 5 minutes off ("stale")
  --name NAME       announce NAME (1-64 of A-Z a-z 0-9 . _ -) instead of the host name
  --json            one JSON object per line: listening, host-up, host-down, dropped, summary

Datagrams that are not valid beacon messages are dropped and counted ("malformed"). A
"dropped" line is printed at most once per --interval for each reason, with the count
since the last one, so nobody on the LAN can flood the log.
--group cannot be used with --broadcast.
`;

/** Parsed `beacon` arguments. */
export type Options = Omit<BeaconOptions, "signal" | "onEvent"> & { json: boolean };

const FLAGS = {
  ...TRANSPORT_FLAGS,
  interval: { type: "string" },
  name: { type: "string" },
} as const;

/** Parses `beacon` arguments (pure). */
export function parseBeaconArgs(args: string[]): Options {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  noExtra(positionals, 0);
  const o: Options = {
    ...parseTransport(v),
    intervalMs: v.interval === undefined
      ? 60_000
      : parseDuration("--interval", v.interval, 50, 3_600_000),
    json: v.json ?? false,
  };
  if (v.key !== undefined) o.keyFile = v.key;
  if (v.name !== undefined) {
    if (!isBeaconName(v.name)) {
      throw new UsageError(
        `invalid --name "${v.name}": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)`,
      );
    }
    o.name = v.name;
  }
  return o;
}

export const parse = parseBeaconArgs;

/** A `dropped` line: the drops of one reason since the last line of that reason. */
export type DroppedLine = {
  event: "dropped";
  reason: DropReason;
  /** The sender of the last one. */
  from: string | null;
  /** How many datagrams this line stands for. */
  count: number;
};

/** The human form of a {@link DroppedLine}. */
export function droppedText(ev: DroppedLine): string {
  const from = ev.from ?? "?";
  return ev.count === 1
    ? `dropped ${ev.reason} datagram from ${from}`
    : `dropped ${ev.count} ${ev.reason} datagrams (the last from ${from})`;
}

/**
 * Logs drops at most once per `intervalMs` for each reason: the first at once, those that
 * follow within the interval counted and told in one line when it ends.
 */
export class DropLog {
  readonly #intervalMs: number;
  readonly #emit: (line: DroppedLine) => void;
  readonly #state = new Map<
    DropReason,
    {
      toldAt: number;
      count: number;
      from: string | null;
      timer?: ReturnType<typeof setTimeout> | undefined;
    }
  >();

  /** Tells each line to `emit`. */
  constructor(intervalMs: number, emit: (line: DroppedLine) => void) {
    this.#intervalMs = intervalMs;
    this.#emit = emit;
  }

  /** Counts one drop. */
  add(reason: DropReason, from: string | null): void {
    const now = performance.now();
    const st = this.#state.get(reason) ?? { toldAt: -Infinity, count: 0, from };
    this.#state.set(reason, st);
    st.count++;
    st.from = from;
    if (now - st.toldAt >= this.#intervalMs) {
      this.#tell(reason);
      return;
    }
    st.timer ??= setTimeout(() => {
      st.timer = undefined;
      this.#tell(reason);
    }, st.toldAt + this.#intervalMs - now);
  }

  #tell(reason: DropReason): void {
    const st = this.#state.get(reason);
    if (!st || st.count === 0) return;
    this.#emit({ event: "dropped", reason, from: st.from, count: st.count });
    st.count = 0;
    st.toldAt = performance.now();
  }

  /** Tells what is still counted and stops the timers. */
  close(): void {
    for (const [reason, st] of this.#state) {
      clearTimeout(st.timer);
      st.timer = undefined;
      this.#tell(reason);
    }
  }
}

/** Runs the beacon until SIGINT/SIGTERM; diagnostics go to stderr. */
export async function run(o: Options, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const { json: _, ...opts } = o;
  const drops = new DropLog(o.intervalMs, (line) => out.emit(line, droppedText));
  const onEvent = (ev: BeaconEvent) => {
    if (isBeaconDiagnostic(ev)) out.warn(beaconDiagnosticText(ev));
    else if (ev.event === "dropped") drops.add(ev.reason, ev.from);
    else {
      if (ev.event === "summary") drops.close();
      out.emit(ev, beaconEventText);
    }
  };
  try {
    await runBeacon({ ...opts, signal: io.signal, onEvent });
  } finally {
    drops.close();
  }
  return 0;
}

/** `beacon`. */
export const beaconModule = {
  summary,
  usage,
  flags: FLAGS,
  parse: parseBeaconArgs,
  run,
} satisfies CommandModule<Options>;

/** `beacon`, as the command table holds it. */
export const cmd = command(beaconModule);
