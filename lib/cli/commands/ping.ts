/**
 * `sockbox ping tcp|udp|sctp HOST PORT`: ping(8) for echo servers. The protocol word
 * picks an entry of {@link cmd}'s table (it may follow flags); the SCTP entry lives in
 * ./sctp.ts.
 *
 * @module
 */
import { parseDestPort, parseFamily, parseFlags, parseHost } from "../args.ts";
import { ipFamily } from "../../base/ip.ts";
import { UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import { command, type CommandModule, protocolTable } from "../command.ts";
import { MIN_PROBE, openTransport, type ProbeSchedule } from "../../net/ping/ping.ts";
import { parseSchedule, pingAndReport, SCHEDULE_FLAGS } from "../ping_report.ts";
import { PING_USAGE, pingSctpModule } from "./sctp.ts";
import {
  parseTlsClient,
  TLS_CLIENT_FLAGS,
  TLS_CLIENT_USAGE,
  type TlsClientFlags,
  tlsConnector,
} from "../inetd_flags.ts";

/** One line for `sockbox help`. */
export const summary = "measure round trips to an echo server, like ping(8)";

/** The help text of `ping tcp|udp`. */
export const TCP_UDP_USAGE =
  `Usage: sockbox ping tcp|udp HOST PORT [-c COUNT] [-i INTERVAL] [-s SIZE]
                    [--timeout DUR] [-4|-6] [--json]

Sends probes of SIZE bytes, each carrying a sequence number, to an echo server (sockbox
serve, socat, inetd's echo, ...), checks every echo byte for byte and prints one line per
probe ("64 bytes from 127.0.0.1:7: seq=1 time=0.215 ms"), then a summary: sent, received,
loss, min/avg/max/mdev and p50/p90/p99. tcp sends all probes over one connection.

Options:
  -c, --count N       stop after N probes (1-1000000000; default: until interrupted)
  -i, --interval DUR  wait DUR between probes (default 1s; 0 = send the next probe as
                      soon as the previous one is answered or timed out)
  -s, --size N        probe size in bytes (default 64): ${MIN_PROBE}-1048576 for tcp; for
                      udp ${MIN_PROBE}-65507 over IPv4, ${MIN_PROBE}-65527 over IPv6 (the largest
                      datagram each carries)
  --timeout DUR       a probe not answered within DUR is lost (default 2s)
  -4, -6              use only IPv4 or only IPv6 addresses of HOST
  --json              one JSON object per line on stdout

udp uses a connected socket, so an ICMP port unreachable counts the probe as "refused"
(nothing listens there), not as lost.

Exit status 0 if at least one echo came back, 1 if none did.
`;

/** The full help text of `ping`. */
export const usage = TCP_UDP_USAGE + TLS_CLIENT_USAGE + PING_USAGE;

/** Options for `ping tcp|udp`. */
export interface PingCommandOptions extends ProbeSchedule {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  family?: 4 | 6;
  json: boolean;
  /** tcp --tls: how to verify the server and what to offer. */
  tls?: TlsClientFlags;
}

const FLAGS = {
  ...SCHEDULE_FLAGS,
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
  ...TLS_CLIENT_FLAGS,
} as const;

/** Parses the arguments of `ping tcp|udp` (those around the protocol word). */
export function parsePing(proto: "tcp" | "udp", args: string[]): PingCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const host = parseHost("HOST", positionals[0]);
  const port = parseDestPort("PORT", positionals[1]);
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const family = parseFamily(v["4"], v["6"]);
  // UDP's largest probe depends on the family: known now for a literal or -4/-6, else
  // only once HOST is resolved (openTransport checks again then).
  const known = family ?? (ipFamily(host) || undefined);
  const maxSize = proto === "tcp" ? 1 << 20 : known === 4 ? 65507 : 65527;
  const opts: PingCommandOptions = {
    proto,
    host,
    port,
    ...parseSchedule(v, maxSize),
    json: v.json ?? false,
  };
  if (family !== undefined) opts.family = family;
  const tls = parseTlsClient(proto, v);
  if (tls) opts.tls = tls;
  return opts;
}

/** Runs the pinger. */
export async function runPing(opts: PingCommandOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: opts.json });
  const { count, intervalMs, size, timeoutMs } = opts;
  const { transport, address } = await openTransport({
    proto: opts.proto,
    host: opts.host,
    port: opts.port,
    family: opts.family,
    size,
    timeoutMs,
    signal: io.signal,
    connect: opts.tls
      ? await tlsConnector({ ...opts, signal: io.signal }, opts.tls, out, true)
      : undefined,
  });
  return await pingAndReport(transport, out, opts.host, {
    proto: opts.proto,
    address,
    port: opts.port,
    count,
    intervalMs,
    size,
    timeoutMs,
    signal: io.signal,
  });
}

/** `ping tcp`. */
export const pingTcpModule = {
  summary: "measure round trips over one TCP connection",
  usage: TCP_UDP_USAGE + TLS_CLIENT_USAGE,
  flags: FLAGS,
  parse: (args) => parsePing("tcp", args),
  run: runPing,
} satisfies CommandModule<PingCommandOptions>;

/** `ping udp`. */
export const pingUdpModule = {
  summary: "measure round trips with UDP datagrams",
  usage: TCP_UDP_USAGE + TLS_CLIENT_USAGE,
  flags: FLAGS,
  parse: (args) => parsePing("udp", args),
  run: runPing,
} satisfies CommandModule<PingCommandOptions>;

/** `ping`: the protocol table. */
export const cmd = protocolTable({
  summary,
  usage,
  entries: {
    tcp: command(pingTcpModule),
    udp: command(pingUdpModule),
    sctp: command(pingSctpModule),
  },
});
