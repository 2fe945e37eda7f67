/**
 * `sockbox ping tcp|udp|sctp HOST PORT`: ping(8) for echo servers. The protocol word
 * picks an entry of {@link cmd}'s table (it may follow flags); the SCTP entry lives in
 * ./sctp.ts.
 *
 * @module
 */
import { parseDestPort, parseFamily, parseFlags, parseHost } from "../args.ts";
import { ipFamily } from "../../base/ip.ts";
import { RuntimeError, UsageError } from "../../base/errors.ts";
import { type Io, Reporter } from "../output.ts";
import { command, protocolModule, protocolTable, type SharedModule } from "../command.ts";
import {
  MIN_PROBE,
  openTransport,
  pingEventText,
  type ProbeSchedule,
} from "../../net/ping/ping.ts";
import { fastPing, fastPingUnavailable } from "../../net/ping/fast.ts";
import { connectedEventText, type SockoptRequest } from "../../net/sockopt/sockopt.ts";
import {
  coalescingSink,
  emitPingStart,
  parseSchedule,
  pingAndReport,
  pingExitCode,
  SCHEDULE_FLAGS,
} from "../ping_report.ts";
import {
  BIND_FLAG,
  parseBind,
  parseSockopts,
  SOCKOPT_FLAGS,
  SOCKOPT_USAGE,
} from "../sockopt_flags.ts";
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
                    [--timeout DUR] [--bind ADDR[:PORT]] [SOCKET OPTIONS]
                    [--engine ffi|deno] [-4|-6] [--json] [-v]

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
  --bind ADDR[:PORT]  send from this source address (and port; default: the kernel picks)
  --engine ffi|deno   how probes travel (default: ffi where it runs, else deno): ffi
                      sends, waits (epoll_wait(2)) and receives in a thread of its
                      own through libc, timing each probe right around send(2) and
                      recv(2); deno uses Deno's sockets (no --bind, no socket
                      options); --tls is always deno
  -4, -6              use only IPv4 or only IPv6 addresses of HOST (--bind picks the
                      family of its address)
  --json              one JSON object per line on stdout; a "connected" event gives the
                      local address and port and the socket options read back (ffi)
  -v, --verbose       also print that "connected" line, with the options

udp uses a connected socket, so an ICMP port unreachable counts the probe as "refused"
(nothing listens there), not as lost.

Exit status 0 if at least one echo came back, 1 if none did.
`;

/** The socket options of `ping tcp|udp` (they need the ffi engine). */
const PING_SOCKOPT_USAGE = SOCKOPT_USAGE.replace(
  "Socket options (",
  "Socket options, set before connect (ffi engine; ",
);

/** The full help text of `ping`. */
export const usage = TCP_UDP_USAGE + PING_SOCKOPT_USAGE + TLS_CLIENT_USAGE + PING_USAGE;

/** Options for `ping tcp|udp`. */
export interface PingCommandOptions extends ProbeSchedule {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  family?: 4 | 6;
  json: boolean;
  /** Print the `connected` line and the options (`-v`). */
  verbose: boolean;
  /** tcp --tls: how to verify the server and what to offer. */
  tls?: TlsClientFlags;
  /** The engine asked for; absent: ffi where it runs, else deno. */
  engine?: "ffi" | "deno";
  /** Source address and port (`--bind`). */
  bind?: { address: string; port: number };
  /** Socket options, set before connect. */
  sockopts?: SockoptRequest;
}

const FLAGS = {
  ...SCHEDULE_FLAGS,
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  engine: { type: "string" },
  ...BIND_FLAG,
  ...SOCKOPT_FLAGS,
  ...TLS_CLIENT_FLAGS,
} as const;

/** Parses the arguments of `ping tcp|udp` (those around the protocol word). */
export function parsePing(proto: "tcp" | "udp", args: string[]): PingCommandOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const host = parseHost("HOST", positionals[0]);
  const port = parseDestPort("PORT", positionals[1]);
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  let family = parseFamily(v["4"], v["6"]);
  const bind = v.bind === undefined ? undefined : parseBind(v.bind);
  if (bind) {
    const bf = ipFamily(bind.address) as 4 | 6;
    if (family !== undefined && family !== bf) {
      throw new UsageError(`-${family} cannot be used with --bind "${v.bind}"`);
    }
    const hf = ipFamily(host);
    if (hf !== 0 && hf !== bf) {
      throw new UsageError(`--bind "${v.bind}" cannot be used with an IPv${hf} HOST`);
    }
    family = bf;
  }
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
    verbose: v.verbose ?? false,
  };
  if (family !== undefined) opts.family = family;
  const tls = parseTlsClient(proto, v);
  if (tls) opts.tls = tls;
  if (v.engine !== undefined) {
    if (v.engine !== "ffi" && v.engine !== "deno") {
      throw new UsageError(`invalid --engine "${v.engine}": must be ffi or deno`);
    }
    opts.engine = v.engine;
  }
  const sockopts = parseSockopts(proto, "client", v);
  if (bind) opts.bind = bind;
  if (sockopts) opts.sockopts = sockopts;
  // The ffi engine owns the socket before it connects; TLS and --engine deno do not.
  const first = bind
    ? "--bind"
    : sockopts
    ? `--${Object.keys(SOCKOPT_FLAGS).find((k) => v[k as keyof typeof v] !== undefined)}`
    : undefined;
  if (tls && opts.engine === "ffi") throw new UsageError("--engine ffi cannot be used with --tls");
  if (first && tls) throw new UsageError(`${first} cannot be used with --tls`);
  if (first && opts.engine === "deno") {
    throw new UsageError(`${first} cannot be used with --engine deno`);
  }
  return opts;
}

/** Runs the pinger: through the ffi prober where it runs (see --engine), else Deno's sockets. */
export async function runPing(opts: PingCommandOptions, io: Io): Promise<number> {
  const { count, intervalMs, size, timeoutMs } = opts;
  if (!opts.tls && opts.engine !== "deno") {
    const why = fastPingUnavailable();
    if (why === null) {
      const out = new Reporter({ ...io, stdout: coalescingSink(io.stdout) }, { json: opts.json });
      const summary = await fastPing({
        ...opts,
        signal: io.signal,
        onConnected: (ev) => {
          emitPingStart(out, opts.host, { ...opts, address: ev.peer });
          out.emit(ev, opts.verbose ? connectedEventText : null);
        },
        onEvent: (ev) => out.emit(ev, pingEventText),
      });
      return pingExitCode(summary);
    }
    if (opts.engine === "ffi") throw new RuntimeError(`--engine ffi cannot run here: ${why}`);
    if (opts.bind || opts.sockopts) {
      throw new RuntimeError(
        `${opts.bind ? "--bind needs" : "socket options need"} the ffi engine, which cannot ` +
          `run here: ${why}`,
      );
    }
  }
  const out = new Reporter(io, { json: opts.json });
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

/** What `ping tcp` and `ping udp` share: usage, flags, runner. */
const TCP_UDP = {
  usage: TCP_UDP_USAGE + PING_SOCKOPT_USAGE + TLS_CLIENT_USAGE,
  flags: FLAGS,
  parse: parsePing,
  run: runPing,
} satisfies SharedModule<"tcp" | "udp", PingCommandOptions>;

/** `ping tcp`. */
export const pingTcpModule = protocolModule(
  "tcp",
  "measure round trips over one TCP connection",
  TCP_UDP,
);

/** `ping udp`. */
export const pingUdpModule = protocolModule(
  "udp",
  "measure round trips with UDP datagrams",
  TCP_UDP,
);

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
