/**
 * `sockbox serve all PORT`: the `all` entry of serve's protocol table, the TCP, UDP and
 * SCTP echo servers on one port (engine: lib/net/echo/all.ts).
 *
 * @module
 */
import {
  noExtra,
  parseBindHost,
  parseDuration,
  parseFamily,
  parseFlags,
  parsePort,
} from "../args.ts";
import { type Io, Reporter } from "../output.ts";
import type { CommandModule } from "../command.ts";
import type { ServeAllEvent } from "../../net/echo/all.ts";

/** The help text of `serve all`. */
export const SERVE_ALL_USAGE = `
Usage: sockbox serve all PORT [--host ADDR] [-4|-6] [--drain DUR] [--json] [-v]

The TCP, UDP and SCTP echo servers above on the same port number, IPv4 and IPv6: the far
side for "sockbox check". PORT 0 asks for a port free for all three. One "listening" line
per protocol says which are up; SCTP is left out, with the reason, where the kernel has
none: "not listening sctp [::]:7007: SCTP is not available in this kernel ..." (with
--json: {"event":"listening","proto":"sctp","up":false,"reason":...}).

  --host ADDR         address to bind (IPv4 or IPv6 literal; default :: dual stack)
  -4, -6              IPv4 only (0.0.0.0) or IPv6 only (::); not with --host
  --drain DUR         after SIGINT/SIGTERM, how long each server drains (default 5s;
                      0: close at once), as for tcp, udp and sctp above
  --json              one JSON object per line; "listening" events carry "up"
  -v, --verbose       one line per read, datagram or message

SIGHUP prints the summary so far of each protocol that is up (marked running) and keeps
serving. Options of one protocol (--max-conns, --idle-timeout, --style, --streams, --bind,
the SCTP timers, socket options, limits) need that protocol's own server.
`;

/** Options for `serve all`. */
export interface ServeAllCommandOptions {
  port: number;
  host?: string;
  family?: 4 | 6;
  /** --drain: ms each server may drain after the stop signal (default 5000). */
  drainMs?: number;
  json: boolean;
  verbose: boolean;
}

const FLAGS = {
  host: { type: "string" },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  drain: { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

/** Parses the arguments of `serve all` (those around the word `all`). */
export function parseServeAll(args: string[]): ServeAllCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const port = parsePort("PORT", positionals[0]);
  noExtra(positionals, 1);
  const family = parseFamily(v["4"], v["6"]);
  const opts: ServeAllCommandOptions = { port, json: v.json ?? false, verbose: v.verbose ?? false };
  const host = parseBindHost(v.host, family);
  if (host !== undefined) opts.host = host;
  if (family !== undefined) opts.family = family;
  if (v.drain !== undefined) opts.drainMs = parseDuration("--drain", v.drain, 0, 3_600_000);
  return opts;
}

/** Runs `serve all` until `io.signal` aborts. */
export async function runServeAll(o: ServeAllCommandOptions, io: Io): Promise<number> {
  // Loaded here, not at the top: `serve tcp` shares this table and should not pay for it.
  const { serveAll, serveAllEventText } = await import("../../net/echo/all.ts");
  const out = new Reporter(io, { json: o.json });
  const onEvent = (ev: ServeAllEvent) => {
    if (!out.json && ev.event === "error") out.warn(ev.error);
    else if (!out.json && ev.event === "warning") out.warn(ev.message);
    else out.emit(ev, serveAllEventText);
  };
  const server = await serveAll({
    host: o.host,
    port: o.port,
    family: o.family,
    drainMs: o.drainMs,
    verbose: o.verbose,
    signal: io.signal,
    onEvent,
  });
  // SIGHUP: each protocol's summary so far; serving goes on.
  const off = io.onHangup?.(() => {
    void server.snapshot().then((all) => {
      for (const s of all) out.emit(s, serveAllEventText);
    }).catch(() => {});
  });
  try {
    await server.finished;
  } finally {
    off?.();
  }
  return 0;
}

/** `serve all`. */
export const serveAllModule = {
  summary: "run TCP, UDP and SCTP echo servers on one port",
  usage: SERVE_ALL_USAGE,
  flags: FLAGS,
  parse: parseServeAll,
  run: runServeAll,
} satisfies CommandModule<ServeAllCommandOptions>;
