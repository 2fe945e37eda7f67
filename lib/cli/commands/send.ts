/**
 * `sockbox send tcp|udp|sctp HOST PORT [MSG...]`: the echo client. Sends each message,
 * waits for the complete echo and checks it. The protocol word picks an entry of
 * {@link cmd}'s table (it may follow flags); the engines are in lib/net/echo/send.ts, the
 * SCTP entry in ./sctp.ts.
 *
 * @module
 */
import { ipFamily } from "../../base/ip.ts";
import {
  parseDestPort,
  parseDuration,
  parseFamily,
  parseFlags,
  parseHost,
  parseInteger,
} from "../args.ts";
import { type SendEvent, sendEventText, sendTcp, sendUdp, streamTcp } from "../../net/echo/send.ts";
import { type ClientSocketOptions, connectedEventText } from "../../net/sockopt/sockopt.ts";
import {
  BIND_FLAG,
  BIND_USAGE,
  firstClientSocketFlag,
  parseClientSocket,
  SOCKOPT_FLAGS,
  SOCKOPT_USAGE,
} from "../sockopt_flags.ts";
import { UsageError } from "../../base/errors.ts";
import { readAllLines, readLines } from "../../base/lines.ts";
import { interruptedCode, type Io, Reporter, writeAll } from "../output.ts";
import { command, protocolModule, protocolTable, type SharedModule } from "../command.ts";
import type { BroadcastCommandOptions } from "../broadcast_report.ts";
import { SEND_USAGE, sendSctpModule } from "./sctp.ts";
import {
  parseRecv,
  parseTlsClient,
  RECV_FLAGS,
  RECV_USAGE,
  runRecv,
  TLS_CLIENT_FLAGS,
  TLS_CLIENT_USAGE,
  type TlsClientFlags,
  tlsConnector,
} from "../inetd_flags.ts";

/** One line for `sockbox help`. */
export const summary = "send messages to an echo server and check the echoes";

/** The help text of `send tcp|udp`. */
export const TCP_UDP_USAGE =
  `Usage: sockbox send tcp|udp HOST PORT [MSG...] [--bind ADDR[:PORT]] [SOCKET OPTIONS]
                        [-v] [--timeout DUR] [-4|-6] [--json]
       sockbox send tcp HOST PORT MSG... --urgent BYTE [--bind ADDR[:PORT]]
                        [SOCKET OPTIONS] [-v] [--timeout DUR] [-4|-6] [--json]
       sockbox send udp --broadcast ADDR|all PORT [MSG...] [--iface NAME] [--timeout DUR]
                        [--json]

Resolves HOST (every IPv4 and IPv6 address, tried in order), sends each MSG as-is (no
trailing newline or NUL) to PORT (1-65535), waits for the complete echo and prints
"Received N bytes: MSG" (control characters, backslashes and bytes that are not UTF-8
escaped: \\r, \\\\, \\xff). A missing echo, a different echo, a refusal (udp: ICMP port
unreachable, "recvfrom ECONNREFUSED") or a timeout is an error (exit 1) saying which.

With no MSG, reads stdin: tcp streams it to the server and writes the echo to stdout
(like netcat), checking every byte; when stdin ends it half-closes and waits for the rest
of the echo. udp sends one datagram per stdin line (without the newline; empty lines are
skipped). With --json, stdout carries JSON lines only, for tcp and udp alike: "connect",
one "echo" per message or echoed chunk ({"bytes","data","encoding"}: "data" is the text
when the bytes are UTF-8, "encoding":"base64" when not), then "done". With --bind, a
socket option or -v, "connected" follows "connect": {"local","local_port","peer","port",
"options"}, the socket's own address and port and every option as getsockopt(2) reads
it back once connected (UDP: once the first echo chose the address).

Exit status: 0 when every echo came back, 1 otherwise, 2 for usage errors; 130 (SIGINT)
or 143 (SIGTERM) when a signal stops it first.

Options:
  --timeout DUR       wait at most DUR to connect and for each echo (default 5s;
                      with stdin on tcp: the longest wait for echoed bytes still owed;
                      an idle stdin waits for ever)
  -4, -6              use only IPv4 or only IPv6 addresses of HOST
  --broadcast ADDR    udp only, IPv4 only: send each MSG to the broadcast address ADDR
                      (e.g. 10.1.255.255), or with "all" to the broadcast address of every
                      up, broadcast-capable interface; prints every reply that arrives
                      within --timeout; none is an error (exit 1), as a missing echo is.
                      Takes the place of HOST.
  --iface NAME        with --broadcast: send through interface NAME only
                      (SO_BINDTODEVICE); with "all", its broadcast address only
  --urgent BYTE       tcp only, with MSG: after the last echo, send BYTE (0-255) as TCP
                      urgent data (send(2) with MSG_OOB; needs --allow-ffi) and print
                      "Sent urgent byte BYTE". Echo servers do not echo it; sockbox
                      serve's ffi engine reports it
  --json              one JSON object per line on stdout
  -v, --verbose       print the "connected" line on stderr: "sockbox: connected tcp
                      LOCAL -> PEER options rcvbuf=... ..." (every option as read back)
${BIND_USAGE}
Socket options of send tcp|udp: every one below but --v6only, as each is marked for
tcp and udp; --reuseaddr and --reuseport need --bind. udp sets them before connect(2)
(and bind(2)); so does tcp with --bind or --mss (the socket is then made through libc),
otherwise just after connect(2). The options, --bind and -v cannot be used with
--broadcast, --tls or --recv.
`;

/** The full help text of `send`. */
export const usage = TCP_UDP_USAGE + SOCKOPT_USAGE + TLS_CLIENT_USAGE + RECV_USAGE + SEND_USAGE;

/** Options for `send tcp|udp`. */
export interface SendOptions {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  /** Messages from the command line; undefined means read stdin. */
  messages: Uint8Array[] | undefined;
  timeoutMs: number;
  family?: 4 | 6;
  json: boolean;
  /** tcp: a byte sent as urgent data (MSG_OOB) after the messages. */
  urgent?: number;
  /** tcp --tls: how to verify the server and what to offer. */
  tls?: TlsClientFlags;
  /** tcp --recv: no echo; print what the server sends (up to maxBytes). */
  recv?: { maxBytes?: number };
  /** --bind and the socket options (with -v: read every option back). */
  client?: ClientSocketOptions;
  /** -v: print the `connected` event on stderr. */
  verbose?: boolean;
}

/** Options for `send udp --broadcast`. */
export interface BroadcastSendOptions {
  proto: "broadcast";
  broadcast: Omit<BroadcastCommandOptions, "messages">;
  /** Messages from the command line; absent means read stdin. */
  messages?: Uint8Array[];
}

/** The flags of `send tcp|udp` (the same for both, so tcp can name `--broadcast`'s misuse). */
const FLAGS = {
  timeout: { type: "string" },
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  broadcast: { type: "string" },
  iface: { type: "string" },
  json: { type: "boolean" },
  urgent: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  ...SOCKOPT_FLAGS,
  ...BIND_FLAG,
  ...TLS_CLIENT_FLAGS,
  ...RECV_FLAGS,
} as const;

const enc = new TextEncoder();

/** Parses the arguments of `send tcp|udp` (those around the protocol word). */
export function parseSend(
  proto: "tcp" | "udp",
  args: string[],
): SendOptions | BroadcastSendOptions {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  const family = parseFamily(v["4"], v["6"]);
  const timeoutMs = v.timeout === undefined
    ? 5000
    : parseDuration("--timeout", v.timeout, 1, 3_600_000);
  const json = v.json ?? false;
  if (v.urgent !== undefined && proto !== "tcp") {
    throw new UsageError(`--urgent cannot be used with ${proto}`);
  }
  const tls = parseTlsClient(proto, v);
  const recv = parseRecv(proto, v);
  for (const [flag, given] of [["--tls", tls], ["--recv", recv]] as const) {
    if (given && v.urgent !== undefined) {
      throw new UsageError(`--urgent cannot be used with ${flag}`);
    }
  }
  if (v.iface !== undefined && v.broadcast === undefined) {
    throw new UsageError("--iface needs --broadcast");
  }
  const socketFlag = firstClientSocketFlag(v) ?? (v.verbose ? "-v" : undefined);
  if (socketFlag !== undefined) {
    for (const [flag, given] of [["--broadcast", v.broadcast], ["--tls", tls], ["--recv", recv]]) {
      if (given) throw new UsageError(`${socketFlag} cannot be used with ${flag}`);
    }
  }
  if (v.broadcast !== undefined) {
    if (proto !== "udp") throw new UsageError(`--broadcast cannot be used with ${proto}`);
    if (family === 6) throw new UsageError("--broadcast cannot be used with -6 (IPv4 only)");
    const target = v.broadcast;
    if (target !== "all" && ipFamily(target) !== 4) {
      throw new UsageError(
        `invalid --broadcast "${target}": must be an IPv4 broadcast address or "all"`,
      );
    }
    if (v.iface !== undefined && v.iface.trim() === "") {
      throw new UsageError(`invalid --iface "${v.iface}": must be an interface name`);
    }
    const port = parseDestPort("PORT", positionals[0]);
    const msgs = positionals.slice(1).map((m) => enc.encode(m));
    return {
      proto: "broadcast",
      broadcast: {
        target,
        port,
        timeoutMs,
        json,
        ...(v.iface !== undefined ? { iface: v.iface } : {}),
      },
      ...(msgs.length ? { messages: msgs } : {}),
    };
  }
  const host = parseHost("HOST", positionals[0]);
  const port = parseDestPort("PORT", positionals[1]);
  const msgs = positionals.slice(2);
  const client = parseClientSocket(proto, v, host, family, v.verbose ?? false);
  const opts: SendOptions = {
    proto,
    host,
    port,
    messages: msgs.length ? msgs.map((m) => enc.encode(m)) : undefined,
    timeoutMs,
    json,
  };
  if (client.family !== undefined) opts.family = client.family;
  if (client.socket) opts.client = client.socket;
  if (v.verbose) opts.verbose = true;
  if (v.urgent !== undefined) {
    if (!opts.messages) throw new UsageError("--urgent needs MSG arguments (it follows them)");
    opts.urgent = parseInteger("--urgent", v.urgent, 0, 255);
  }
  if (tls) opts.tls = tls;
  if (recv) opts.recv = recv;
  return opts;
}

/**
 * Whether `io` carries the process's own stdin and stdout and the FFI streamer runs here:
 * then `send tcp` streams through libc, as fast as netcat (see lib/net/echo/ffi_client.ts).
 */
async function processStdio(io: Io): Promise<boolean> {
  if (io.stdin !== Deno.stdin.readable || io.stdout !== Deno.stdout) return false;
  const { stdioStreamAvailable } = await import("../../net/echo/ffi_client.ts");
  return stdioStreamAvailable();
}

/** Runs the echo client; 130 (SIGINT) or 143 (SIGTERM) when a signal stopped it. */
export async function runSend(opts: SendOptions | BroadcastSendOptions, io: Io): Promise<number> {
  if (opts.proto === "broadcast") {
    const messages = opts.messages ?? await readAllLines(io.stdin);
    const { broadcastAndReport } = await import("../broadcast_report.ts"); // loaded only when used
    return await broadcastAndReport({ ...opts.broadcast, messages }, io);
  }
  if (opts.recv) {
    return await runRecv({ ...opts, messages: opts.messages ?? [], ...opts.recv }, io);
  }
  const out = new Reporter(io, { json: opts.json });
  const connect = opts.tls && opts.proto === "tcp"
    ? await tlsConnector({ ...opts, signal: io.signal }, opts.tls, out, opts.messages !== undefined)
    : undefined;
  const base = {
    connect,
    host: opts.host,
    port: opts.port,
    family: opts.family,
    timeoutMs: opts.timeoutMs,
    signal: io.signal,
    client: opts.client,
    onEvent: (ev: SendEvent) => {
      out.emit(ev, sendEventText);
      // Not on stdout, which may carry the echoed stream.
      if (ev.event === "connected" && opts.verbose && !out.json) out.warn(connectedEventText(ev));
    },
  };
  let r;
  if (opts.proto === "udp") {
    r = await sendUdp({ ...base, messages: opts.messages ?? readLines(io.stdin) });
  } else if (opts.messages && opts.urgent !== undefined) {
    const { sendTcpUrgent } = await import("../../net/echo/ffi_client.ts"); // loaded when used
    r = await sendTcpUrgent({ ...base, messages: opts.messages, urgent: opts.urgent });
  } else if (opts.messages) r = await sendTcp({ ...base, messages: opts.messages });
  else if (!connect && !out.json && await processStdio(io)) {
    const { streamStdioTcp } = await import("../../net/echo/ffi_client.ts"); // loaded when used
    r = await streamStdioTcp(base);
  } else {
    // Text: the echo itself goes to stdout, like netcat. JSON: stdout carries JSON lines
    // only, so the engine reports each echoed chunk as an event instead.
    const onData = out.json ? undefined : (b: Uint8Array) => writeAll(io.stdout, b);
    r = await streamTcp({ ...base, input: io.stdin, onData });
  }
  return r.aborted ? interruptedCode(io.signal) : 0;
}

/** What `send tcp` and `send udp` (`send udp --broadcast` too) share: usage, flags, runner. */
const TCP_UDP = {
  usage: TCP_UDP_USAGE + SOCKOPT_USAGE + TLS_CLIENT_USAGE + RECV_USAGE,
  flags: FLAGS,
  parse: parseSend,
  run: runSend,
} satisfies SharedModule<"tcp" | "udp", SendOptions | BroadcastSendOptions>;

/** `send tcp`. */
export const sendTcpModule = protocolModule(
  "tcp",
  "send messages over TCP and check the echoes",
  TCP_UDP,
);

/** `send udp` (and `send udp --broadcast`). */
export const sendUdpModule = protocolModule(
  "udp",
  "send UDP datagrams and check the echoes",
  TCP_UDP,
);

/** `send`: the protocol table. */
export const cmd = protocolTable({
  summary,
  usage,
  entries: {
    tcp: command(sendTcpModule),
    udp: command(sendUdpModule),
    sctp: command(sendSctpModule),
  },
});
