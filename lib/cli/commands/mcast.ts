/**
 * `sockbox mcast listen|send|ping`: IPv4 and IPv6 multicast with interface, TTL / hop
 * limit, loopback and source-specific control, and multicast round-trip times.
 *
 * @module
 */
import { readAllLines } from "../../base/lines.ts";
import { ipFamily, stripBrackets } from "../../base/ip.ts";
import { noExtra, parseDuration, parseFlags, parseInteger, parsePort } from "../args.ts";
import { UsageError } from "../../base/errors.ts";
import type { Io } from "../output.ts";
import {
  type Group,
  type IfaceSpec,
  isMulticast,
  needsInterface,
  parseGroup,
  parseIfaceSpec,
} from "../../net/mcast/groups.ts";
import {
  listen,
  type ListenOptions,
  ping,
  type PingOptions,
  send,
  type SendOptions,
} from "../../net/mcast/mcast.ts";

export const summary = "join, send to and ping IPv4/IPv6 multicast groups";

export const usage =
  `Usage: sockbox mcast listen GROUP PORT [--iface NAME|ADDR|INDEX]... [--source ADDR]
                            [--echo] [--count N] [--json]
       sockbox mcast send GROUP PORT [MSG...] [--iface NAME|ADDR|INDEX] [--ttl N | --hops N]
                          [--loop | --no-loop] [-c COUNT] [-i INTERVAL] [--json]
       sockbox mcast ping GROUP PORT [--iface NAME|ADDR|INDEX] [--ttl N | --hops N]
                          [-c COUNT] [-i INTERVAL] [--wait DUR] [--json]

GROUP is an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address. An interface is
given by name (eth0), index (2) or one of its addresses (10.0.0.1, which must have the
group's family). IPv6 groups of interface- or link-local scope (ff01::/16, ff02::/16)
need --iface.

listen  Binds the wildcard address and PORT with SO_REUSEADDR (several listeners share the
        port; PORT 0 picks a free one) and joins GROUP on each --iface (default: once, on
        the interface the kernel routes the group to). Prints "joined ..." per interface,
        then "listening udp GROUP:PORT", then one line per datagram sent to GROUP:
        "from HOST:PORT to GROUP on IFACE: N bytes: TEXT" (TEXT is hex 0x... when not
        UTF-8). Datagrams to other destinations are ignored. Leaves the group on exit.
  --iface I     join on this interface; repeat for several
  --source ADDR source-specific join (only datagrams from ADDR are delivered)
  --echo        send each datagram back to its sender by unicast (a responder for
                "mcast ping")
  --count N     exit after N datagrams (1-1000000); otherwise run until SIGINT/SIGTERM

send    Sends each MSG as one datagram to GROUP:PORT (with no MSG: one datagram per stdin
        line, empty lines skipped), COUNT times over (default 1), INTERVAL apart
        (default 1s). Prints "Sent N bytes to GROUP:PORT [on IFACE] ttl T: TEXT".
  --iface I     outgoing interface (IP_MULTICAST_IF / IPV6_MULTICAST_IF)
  --ttl N, --hops N
                IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS, 0-255 (default 1); either
                name works for either family, but not both at once
  --loop, --no-loop
                deliver our own datagrams to listeners on this host or not (default:
                the kernel's, on)
  -c COUNT      repeat the messages COUNT times (1-1000000)
  -i INTERVAL   pause between datagrams (0-1h, e.g. 200ms; default 1s)

ping    Sends COUNT (default 5) 20-byte probes INTERVAL apart (default 1s) and waits
        --wait DUR (default 2s) after the last one. Every host running "mcast listen
        GROUP PORT --echo" answers by unicast; prints "reply from HOST:PORT seq=N time=T ms"
        per answer, then one line per responder: sent, received, loss and RTT
        p50/p90/p99/max. Exit 1 when nobody answered. Takes --iface, --ttl/--hops as send.

  --json        one JSON object per line: joined, listening, datagram, left, summary
                (listen); sent (send); start, reply, responder, summary (ping)

No route to the group or no multicast-capable interface is a runtime error (exit 1)
suggesting --iface.
`;

/** Parsed `mcast` arguments. */
export type Options =
  | { sub: "listen"; listen: ListenOptions }
  | { sub: "send"; send: Omit<SendOptions, "messages">; messages: Uint8Array[] | undefined }
  | { sub: "ping"; ping: PingOptions };

const enc = new TextEncoder();

function groupAndIfaces(positionals: string[], ifaces: string[] | undefined, max: number) {
  const group = parseGroup("GROUP", positionals[1]);
  const list = ifaces ?? [];
  if (list.length > max) {
    throw new UsageError(`--iface can be given only once with ${positionals[0]}`);
  }
  const specs: IfaceSpec[] = list.map((v) => parseIfaceSpec("--iface", v, group.family));
  if (needsInterface(group) && specs.length === 0) {
    throw new UsageError(
      `GROUP "${positionals[1]}" has ${
        group.scope === 1 ? "interface" : "link"
      }-local scope: give the interface with --iface`,
    );
  }
  return { group, specs };
}

function parseHops(v: { ttl?: string | undefined; hops?: string | undefined }): number {
  if (v.ttl !== undefined && v.hops !== undefined) {
    throw new UsageError("--ttl cannot be used with --hops");
  }
  if (v.ttl !== undefined) return parseInteger("--ttl", v.ttl, 0, 255);
  if (v.hops !== undefined) return parseInteger("--hops", v.hops, 0, 255);
  return 1;
}

function parseSource(value: string, group: Group): string {
  const a = stripBrackets(value);
  const f = ipFamily(a);
  if (f === 0 || a.includes("%")) {
    throw new UsageError(`invalid --source "${value}": not an IP address`);
  }
  if (f !== group.family) {
    throw new UsageError(
      `invalid --source "${value}": an IPv${f} source cannot send to IPv${group.family} GROUP`,
    );
  }
  if (isMulticast(a)) {
    throw new UsageError(`invalid --source "${value}": must be a unicast address`);
  }
  return a;
}

/** Parses `mcast` arguments (pure). */
export function parseMcastArgs(args: string[]): Options {
  const sub = args[0];
  if (sub === undefined) throw new UsageError("missing subcommand (listen, send or ping)");
  if (sub !== "listen" && sub !== "send" && sub !== "ping") {
    throw new UsageError(`unknown mcast subcommand "${sub}": must be listen, send or ping`);
  }
  if (sub === "listen") {
    const { values: v, positionals } = parseFlags(args, {
      iface: { type: "string", multiple: true },
      source: { type: "string" },
      echo: { type: "boolean" },
      count: { type: "string" },
      json: { type: "boolean" },
    });
    const { group, specs } = groupAndIfaces(positionals, v.iface, Infinity);
    const port = parsePort("PORT", positionals[2]);
    noExtra(positionals, 3);
    const o: ListenOptions = {
      group,
      port,
      ifaces: specs,
      echo: v.echo ?? false,
      json: v.json ?? false,
    };
    if (v.source !== undefined) o.source = parseSource(v.source, group);
    if (v.count !== undefined) o.count = parseInteger("--count", v.count, 1, 1_000_000);
    return { sub, listen: o };
  }
  const common = {
    iface: { type: "string", multiple: true },
    ttl: { type: "string" },
    hops: { type: "string" },
    count: { type: "string", short: "c" },
    interval: { type: "string", short: "i" },
    json: { type: "boolean" },
  } as const;
  if (sub === "send") {
    const { values: v, positionals } = parseFlags(args, {
      ...common,
      loop: { type: "boolean" },
      "no-loop": { type: "boolean" },
    });
    const { group, specs } = groupAndIfaces(positionals, v.iface, 1);
    const port = parsePort("PORT", positionals[2]);
    if (port === 0) throw new UsageError(`invalid PORT "0": must be 1-65535`);
    if (v.loop && v["no-loop"]) throw new UsageError("--loop cannot be used with --no-loop");
    const o: Omit<SendOptions, "messages"> = {
      group,
      port,
      hops: parseHops(v),
      count: v.count === undefined ? 1 : parseInteger("-c", v.count, 1, 1_000_000),
      intervalMs: v.interval === undefined ? 1000 : parseDuration("-i", v.interval, 0, 3_600_000),
      json: v.json ?? false,
    };
    if (specs[0]) o.iface = specs[0];
    if (v.loop) o.loop = true;
    if (v["no-loop"]) o.loop = false;
    const msgs = positionals.slice(3);
    return { sub, send: o, messages: msgs.length > 0 ? msgs.map((m) => enc.encode(m)) : undefined };
  }
  const { values: v, positionals } = parseFlags(args, { ...common, wait: { type: "string" } });
  const { group, specs } = groupAndIfaces(positionals, v.iface, 1);
  const port = parsePort("PORT", positionals[2]);
  if (port === 0) throw new UsageError(`invalid PORT "0": must be 1-65535`);
  noExtra(positionals, 3);
  const o: PingOptions = {
    group,
    port,
    hops: parseHops(v),
    count: v.count === undefined ? 5 : parseInteger("-c", v.count, 1, 1_000_000),
    intervalMs: v.interval === undefined ? 1000 : parseDuration("-i", v.interval, 0, 3_600_000),
    waitMs: v.wait === undefined ? 2000 : parseDuration("--wait", v.wait, 0, 3_600_000),
    json: v.json ?? false,
  };
  if (specs[0]) o.iface = specs[0];
  return { sub, ping: o };
}

export const parse = parseMcastArgs;

/** Runs `mcast listen|send|ping`. */
export async function run(o: Options, io: Io): Promise<number> {
  switch (o.sub) {
    case "listen":
      return await listen(o.listen, io);
    case "send":
      return await send({ ...o.send, messages: o.messages ?? await readAllLines(io.stdin) }, io);
    case "ping":
      return await ping(o.ping, io);
  }
}
