/**
 * `sockbox mcast listen|send|ping`: IPv4 and IPv6 multicast with interface, TTL / hop
 * limit, loopback and source-specific control, and multicast round-trip times. The verb
 * is looked up in a word table, so it may follow flags (`mcast --json ping GROUP PORT`).
 *
 * @module
 */
import { readAllLines } from "../../base/lines.ts";
import { ipFamily, stripBrackets } from "../../base/ip.ts";
import { formatEndpoint, RuntimeError, UsageError } from "../../base/errors.ts";
import { noExtra, parseDuration, parseFlags, parseInteger, parsePort } from "../args.ts";
import { command, type CommandModule, type FlagSpec, wordTable } from "../command.ts";
import { type Io, Reporter } from "../output.ts";
import {
  type Group,
  type IfaceSpec,
  isMulticast,
  needsInterface,
  parseGroup,
  parseIfaceSpec,
} from "../../net/mcast/groups.ts";
import {
  mcastListen,
  mcastListenEventText,
  type McastListenOptions,
  mcastPing,
  type McastPingEvent,
  mcastPingEventText,
  type McastPingOptions,
  mcastPingStatsHeader,
  mcastSend,
  mcastSendEventText,
  type McastSendOptions,
} from "../../net/mcast/mcast.ts";

export const summary = "join, send to and ping IPv4/IPv6 multicast groups";

type Verb = "listen" | "send" | "ping";

const SYNOPSIS: Record<Verb, string> = {
  listen: `sockbox mcast listen GROUP PORT [--iface NAME|ADDR|INDEX]... [--source ADDR]
                            [--echo] [--count N] [--json]`,
  send: `sockbox mcast send GROUP PORT [MSG...] [--iface NAME|ADDR|INDEX] [--ttl N | --hops N]
                          [--loop | --no-loop] [-c COUNT] [-i INTERVAL] [--json]`,
  ping: `sockbox mcast ping GROUP PORT [--iface NAME|ADDR|INDEX] [--ttl N | --hops N]
                          [-c COUNT] [-i INTERVAL] [--wait DUR] [--json]`,
};

const GROUP_TEXT =
  `GROUP is an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address. An interface is
given by name (eth0), index (2) or one of its addresses (10.0.0.1, which must have the
group's family). IPv6 groups of interface- or link-local scope (ff01::/16, ff02::/16)
need --iface.
`;

const SECTION: Record<Verb, string> = {
  listen:
    `listen  Binds the wildcard address and PORT with SO_REUSEADDR (several listeners share the
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
`,
  send: `send    Sends each MSG as one datagram to GROUP:PORT (with no MSG: one datagram per stdin
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
`,
  ping: `ping    Sends COUNT (default 5) 20-byte probes INTERVAL apart (default 1s) and waits
        --wait DUR (default 2s) after the last one. Every host running "mcast listen
        GROUP PORT --echo" answers by unicast; prints "reply from HOST:PORT seq=N time=T ms"
        per answer, then one line per responder: sent, received, loss and RTT
        p50/p90/p99/max. Exit 1 when nobody answered. Takes --iface, --ttl/--hops as send.
`,
};

const TAIL = `  --json        one JSON object per line: joined, listening, datagram, left, summary
                (listen); sent (send); start, reply, responder, summary (ping)

No route to the group or no multicast-capable interface is a runtime error (exit 1)
suggesting --iface.
`;

function usageOf(verbs: Verb[]): string {
  return `Usage: ${verbs.map((v) => SYNOPSIS[v]).join("\n       ")}\n\n${GROUP_TEXT}\n${
    verbs.map((v) => SECTION[v]).join("\n")
  }\n${TAIL}`;
}

export const usage: string = usageOf(["listen", "send", "ping"]);

/** Parsed `mcast listen` arguments. */
export type ListenArgs = Omit<McastListenOptions, "signal" | "onEvent"> & { json: boolean };

/** Parsed `mcast send` arguments (no MSG: the messages are stdin's lines). */
export type SendArgs = Omit<McastSendOptions, "signal" | "onEvent" | "messages"> & {
  messages: Uint8Array[] | undefined;
  json: boolean;
};

/** Parsed `mcast ping` arguments. */
export type PingArgs = Omit<McastPingOptions, "signal" | "onEvent"> & { json: boolean };

const enc = new TextEncoder();

function groupAndIfaces(verb: Verb, positionals: string[], ifaces: string[] | undefined) {
  const group = parseGroup("GROUP", positionals[0]);
  const list = ifaces ?? [];
  if (verb !== "listen" && list.length > 1) {
    throw new UsageError(`--iface can be given only once with ${verb}`);
  }
  const specs: IfaceSpec[] = list.map((v) => parseIfaceSpec("--iface", v, group.family));
  if (needsInterface(group) && specs.length === 0) {
    throw new UsageError(
      `GROUP "${positionals[0]}" has ${
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

/** What `send` and `ping` parse alike, in this order: hops, COUNT (default `count`), INTERVAL. */
function parseSending(
  v: {
    ttl?: string | undefined;
    hops?: string | undefined;
    count?: string | undefined;
    interval?: string | undefined;
  },
  count: number,
): { hops: number; count: number; intervalMs: number } {
  return {
    hops: parseHops(v),
    count: v.count === undefined ? count : parseInteger("-c", v.count, 1, 1_000_000),
    intervalMs: v.interval === undefined ? 1000 : parseDuration("-i", v.interval, 0, 3_600_000),
  };
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

/** A PORT to send to: 1-65535. */
function parseDestPort(value: string | undefined): number {
  const port = parsePort("PORT", value);
  if (port === 0) throw new UsageError(`invalid PORT "0": must be 1-65535`);
  return port;
}

const LISTEN_FLAGS = {
  iface: { type: "string", multiple: true },
  source: { type: "string" },
  echo: { type: "boolean" },
  count: { type: "string" },
  json: { type: "boolean" },
} as const;

const SENDER_FLAGS = {
  iface: { type: "string", multiple: true },
  ttl: { type: "string" },
  hops: { type: "string" },
  count: { type: "string", short: "c" },
  interval: { type: "string", short: "i" },
  json: { type: "boolean" },
} as const;

const SEND_FLAGS = {
  ...SENDER_FLAGS,
  loop: { type: "boolean" },
  "no-loop": { type: "boolean" },
} as const;

const PING_FLAGS = { ...SENDER_FLAGS, wait: { type: "string" } } as const;

/** Parses `mcast listen` arguments (the words after `listen`; pure). */
export function parseListenArgs(args: string[]): ListenArgs {
  const { values: v, positionals } = parseFlags(args, LISTEN_FLAGS);
  const { group, specs } = groupAndIfaces("listen", positionals, v.iface);
  const port = parsePort("PORT", positionals[1]);
  noExtra(positionals, 2);
  const o: ListenArgs = {
    group,
    port,
    ifaces: specs,
    echo: v.echo ?? false,
    json: v.json ?? false,
  };
  if (v.source !== undefined) o.source = parseSource(v.source, group);
  if (v.count !== undefined) o.count = parseInteger("--count", v.count, 1, 1_000_000);
  return o;
}

/** Parses `mcast send` arguments (the words after `send`; pure). */
export function parseSendArgs(args: string[]): SendArgs {
  const { values: v, positionals } = parseFlags(args, SEND_FLAGS);
  const { group, specs } = groupAndIfaces("send", positionals, v.iface);
  const port = parseDestPort(positionals[1]);
  if (v.loop && v["no-loop"]) throw new UsageError("--loop cannot be used with --no-loop");
  const msgs = positionals.slice(2);
  const o: SendArgs = {
    group,
    port,
    ...parseSending(v, 1),
    messages: msgs.length > 0 ? msgs.map((m) => enc.encode(m)) : undefined,
    json: v.json ?? false,
  };
  if (specs[0]) o.iface = specs[0];
  if (v.loop) o.loop = true;
  if (v["no-loop"]) o.loop = false;
  return o;
}

/** Parses `mcast ping` arguments (the words after `ping`; pure). */
export function parsePingArgs(args: string[]): PingArgs {
  const { values: v, positionals } = parseFlags(args, PING_FLAGS);
  const { group, specs } = groupAndIfaces("ping", positionals, v.iface);
  const port = parseDestPort(positionals[1]);
  noExtra(positionals, 2);
  const o: PingArgs = {
    group,
    port,
    ...parseSending(v, 5),
    waitMs: v.wait === undefined ? 2000 : parseDuration("--wait", v.wait, 0, 3_600_000),
    json: v.json ?? false,
  };
  if (specs[0]) o.iface = specs[0];
  return o;
}

/** Runs `mcast listen`: one line per event; a failed echo is a diagnostic on stderr. */
export async function runListen(o: ListenArgs, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const { json: _, ...opts } = o;
  await mcastListen({
    ...opts,
    signal: io.signal,
    onEvent: (ev) => {
      if (ev.event === "echo-failed") out.warn(mcastListenEventText(ev));
      else out.emit(ev, mcastListenEventText);
    },
  });
  return 0;
}

/** Runs `mcast send` (the messages are stdin's lines when none were given). */
export async function runSend(o: SendArgs, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const { json: _, messages, ...opts } = o;
  await mcastSend({
    ...opts,
    messages: messages ?? await readAllLines(io.stdin),
    signal: io.signal,
    onEvent: (ev) => out.emit(ev, mcastSendEventText),
  });
  return 0;
}

/** Runs `mcast ping`; exit 1 (a `RuntimeError`) when nobody answered. */
export async function runPing(o: PingArgs, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const { json: _, ...opts } = o;
  // In human output the responder lines and the summary follow a header line.
  let header = mcastPingStatsHeader(o.group.address, o.port);
  const text = (ev: McastPingEvent) => {
    const line = mcastPingEventText(ev);
    if (header === "" || (ev.event !== "responder" && ev.event !== "summary")) return line;
    const first = `${header}\n${line}`;
    header = "";
    return first;
  };
  const r = await mcastPing({ ...opts, signal: io.signal, onEvent: (ev) => out.emit(ev, text) });
  if (r.responders === 0 && !io.signal.aborted) {
    throw new RuntimeError(
      `no responder answered ${r.sent} probes to ${formatEndpoint(r.group, r.port)} ` +
        `(run "sockbox mcast listen GROUP PORT --echo" on the other hosts, or pick an interface with --iface)`,
    );
  }
  return 0;
}

/** What each verb does, in one line (its module's summary). */
const VERB_SUMMARY: Record<Verb, string> = {
  listen: "join a multicast group and print what arrives",
  send: "send datagrams to a multicast group",
  ping: "probe a multicast group and measure every responder's round trips",
};

/** The module of `mcast VERB`: its summary, and its own part of {@link usage} as its help. */
function verbModule<O>(
  verb: Verb,
  flags: FlagSpec,
  parse: (args: string[]) => O,
  run: (options: O, io: Io) => Promise<number>,
): CommandModule<O> {
  return { summary: VERB_SUMMARY[verb], usage: usageOf([verb]), flags, parse, run };
}

/** `mcast listen`. */
export const mcastListenModule = verbModule("listen", LISTEN_FLAGS, parseListenArgs, runListen);

/** `mcast send`. */
export const mcastSendModule = verbModule("send", SEND_FLAGS, parseSendArgs, runSend);

/** `mcast ping`. */
export const mcastPingModule = verbModule("ping", PING_FLAGS, parsePingArgs, runPing);

/** `mcast`: the verb table. */
export const cmd = wordTable({
  summary,
  usage,
  kind: "subcommand",
  entries: {
    listen: command(mcastListenModule),
    send: command(mcastSendModule),
    ping: command(mcastPingModule),
  },
  missing: "missing subcommand (listen, send or ping)",
  unknown: (word) => `unknown mcast subcommand "${word}": must be listen, send or ping`,
});

/** Parsed `mcast` arguments: the verb and its options. */
export type Options =
  | { sub: "listen"; listen: ListenArgs }
  | { sub: "send"; send: SendArgs }
  | { sub: "ping"; ping: PingArgs };

/** Parses `mcast` arguments, verb included (pure). */
export function parseMcastArgs(args: string[]): Options {
  const { word, rest } = cmd.pick(args);
  switch (word as Verb) {
    case "listen":
      return { sub: "listen", listen: parseListenArgs(rest) };
    case "send":
      return { sub: "send", send: parseSendArgs(rest) };
    case "ping":
      return { sub: "ping", ping: parsePingArgs(rest) };
  }
}

export const parse = parseMcastArgs;

/** Runs `mcast listen|send|ping`. */
export async function run(o: Options, io: Io): Promise<number> {
  switch (o.sub) {
    case "listen":
      return await runListen(o.listen, io);
    case "send":
      return await runSend(o.send, io);
    case "ping":
      return await runPing(o.ping, io);
  }
}
