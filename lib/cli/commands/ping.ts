/**
 * `sockbox ping tcp|udp|sctp HOST PORT`: ping(8) for echo servers.
 *
 * @module
 */
import { resolveHost } from "../../sys/resolver.ts";
import { afterProtoWord, parseFamily, parseFlags, parsePort, parseProto } from "../args.ts";
import { connectTcp, UdpClient } from "../../net/echo/client.ts";
import { toSysError, UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import { MIN_PROBE, type ProbeSchedule, tcpTransport, udpTransport } from "../../net/ping/ping.ts";
import { parseSchedule, pingAndReport, SCHEDULE_FLAGS } from "../ping_report.ts";
import * as sctp from "./sctp.ts";

export const summary = "measure round trips to an echo server, like ping(8)";

export const usage = `Usage: sockbox ping tcp|udp HOST PORT [-c COUNT] [-i INTERVAL] [-s SIZE]
                    [--timeout DUR] [-4|-6] [--json]

Sends probes of SIZE bytes, each carrying a sequence number, to an echo server (sockbox
serve, socat, inetd's echo, ...), checks every echo byte for byte and prints one line per
probe ("64 bytes from 127.0.0.1:7: seq=1 time=0.215 ms"), then a summary: sent, received,
loss, min/avg/max/mdev and p50/p90/p99. tcp sends all probes over one connection.

Options:
  -c, --count N       stop after N probes (1-1000000000; default: until interrupted)
  -i, --interval DUR  wait DUR between probes (default 1s; 0 = send the next probe as
                      soon as the previous one is answered or timed out)
  -s, --size N        probe size in bytes (${MIN_PROBE}-65507 for udp, ${MIN_PROBE}-1048576 for tcp;
                      default 64)
  --timeout DUR       a probe not answered within DUR is lost (default 2s)
  -4, -6              use only IPv4 or only IPv6 addresses of HOST
  --json              one JSON object per line on stdout

Exit status 0 if at least one echo came back, 1 if none did.
${sctp.PING_USAGE}`;

/** Options for `ping tcp|udp`. */
export interface PingCommandOptions extends ProbeSchedule {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  family?: 4 | 6;
  json: boolean;
}

export type Options = PingCommandOptions | { proto: "sctp"; sctp: sctp.PingSctpOptions };

/** Parses `ping` arguments. */
export function parsePingArgs(args: string[]): Options {
  const sctpArgs = afterProtoWord(args, "sctp");
  if (sctpArgs) return { proto: "sctp", sctp: sctp.parsePing(sctpArgs) };
  const { values: v, positionals } = parseFlags(args, {
    ...SCHEDULE_FLAGS,
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    json: { type: "boolean" },
  });
  const proto = parseProto(positionals[0], ["tcp", "udp"] as const);
  const host = positionals[1];
  if (host === undefined) throw new UsageError("missing HOST");
  const port = parsePort("PORT", positionals[2]);
  if (positionals.length > 3) throw new UsageError(`unexpected argument "${positionals[3]}"`);
  const family = parseFamily(v["4"], v["6"]);
  const opts: PingCommandOptions = {
    proto,
    host,
    port,
    ...parseSchedule(v, proto === "udp" ? 65507 : 1 << 20),
    json: v.json ?? false,
  };
  if (family !== undefined) opts.family = family;
  return opts;
}

export const parse = parsePingArgs;

/** Runs the pinger. */
export async function run(opts: Options, io: Io): Promise<number> {
  if (opts.proto === "sctp") return await sctp.runPing(opts.sctp, io);
  const out = new Reporter(io, { json: opts.json });
  let address: string, transport;
  if (opts.proto === "tcp") {
    const t = await connectTcp(opts.host, opts.port, {
      family: opts.family,
      timeoutMs: opts.timeoutMs,
      signal: io.signal,
    });
    address = t.address;
    transport = tcpTransport(t.conn, opts.size, { address, port: opts.port });
  } else {
    const a = (await resolveHost(opts.host, opts.family))[0]!;
    address = a.address;
    let client: UdpClient;
    try {
      client = new UdpClient(a.family);
    } catch (err) {
      throw toSysError(err, "bind", { address: a.family === 6 ? "::" : "0.0.0.0", port: 0 });
    }
    transport = udpTransport(client, { address, port: opts.port });
  }
  const { count, intervalMs, size, timeoutMs } = opts;
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
