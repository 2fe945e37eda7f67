/**
 * `sockbox send tcp|udp|sctp HOST PORT [MSG...]`: the echo client. Sends each message,
 * waits for the complete echo and checks it.
 *
 * @module
 */
import { ipFamily } from "../../base/ip.ts";
import {
  afterProtoWord,
  parseDuration,
  parseFamily,
  parseFlags,
  parsePort,
  parseProto,
} from "../args.ts";
import {
  checkEcho,
  connectTcp,
  readExact,
  sameAddress,
  UdpClient,
  withTimeout,
} from "../../net/echo/client.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  formatEndpoint,
  RuntimeError,
  SysError,
  toSysError,
  UsageError,
} from "../../base/errors.ts";
import { readAllLines, readLines } from "../../base/lines.ts";
import { payloadText } from "../../base/text.ts";
import { type Io, Reporter, writeAll } from "../output.ts";
import type { BroadcastOptions } from "../../net/broadcast/broadcast.ts";
import * as sctp from "./sctp.ts";

export const summary = "send messages to an echo server and check the echoes";

export const usage =
  `Usage: sockbox send tcp|udp HOST PORT [MSG...] [--timeout DUR] [-4|-6] [--json]
       sockbox send udp --broadcast ADDR|all PORT [MSG...] [--timeout DUR] [--json]

Resolves HOST (every IPv4 and IPv6 address, tried in order), sends each MSG as-is (no
trailing newline or NUL), waits for the complete echo and prints "Received N bytes: MSG".
A missing echo, a different echo or a timeout is an error (exit 1) saying which.

With no MSG, reads stdin: tcp streams it to the server and writes the echo to stdout
(like netcat), checking every byte; when stdin ends it half-closes and waits for the rest
of the echo. udp sends one datagram per stdin line (without the newline; empty lines are
skipped).

Options:
  --timeout DUR       wait at most DUR to connect and for each echo (default 5s;
                      with stdin on tcp: the longest silence allowed)
  -4, -6              use only IPv4 or only IPv6 addresses of HOST
  --broadcast ADDR    udp only, IPv4 only: send each MSG to the broadcast address ADDR
                      (e.g. 10.1.255.255), or with "all" to the broadcast address of every
                      up, broadcast-capable interface; prints every reply that arrives
                      within --timeout. Takes the place of HOST.
  --json              one JSON object per line on stdout
${sctp.SEND_USAGE}`;

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
}

export type Options =
  | SendOptions
  | { proto: "sctp"; sctp: sctp.SendSctpOptions }
  | { proto: "broadcast"; broadcast: Omit<BroadcastOptions, "messages">; messages?: Uint8Array[] };

const enc = new TextEncoder();

/** Parses `send` arguments. */
export function parseSendArgs(args: string[]): Options {
  const sctpArgs = afterProtoWord(args, "sctp");
  if (sctpArgs) return { proto: "sctp", sctp: sctp.parseSend(sctpArgs) };
  const { values: v, positionals } = parseFlags(args, {
    timeout: { type: "string" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    broadcast: { type: "string" },
    json: { type: "boolean" },
  });
  const proto = parseProto(positionals[0], ["tcp", "udp"] as const);
  const family = parseFamily(v["4"], v["6"]);
  const timeoutMs = v.timeout === undefined
    ? 5000
    : parseDuration("--timeout", v.timeout, 1, 3_600_000);
  const json = v.json ?? false;
  if (v.broadcast !== undefined) {
    if (proto !== "udp") throw new UsageError(`--broadcast cannot be used with ${proto}`);
    if (family === 6) throw new UsageError("--broadcast cannot be used with -6 (IPv4 only)");
    const target = v.broadcast;
    if (target !== "all" && ipFamily(target) !== 4) {
      throw new UsageError(
        `invalid --broadcast "${target}": must be an IPv4 broadcast address or "all"`,
      );
    }
    const port = parsePort("PORT", positionals[1]);
    const msgs = positionals.slice(2).map((m) => enc.encode(m));
    return {
      proto: "broadcast",
      broadcast: { target, port, timeoutMs, json },
      ...(msgs.length ? { messages: msgs } : {}),
    };
  }
  const host = positionals[1];
  if (host === undefined) throw new UsageError("missing HOST");
  const port = parsePort("PORT", positionals[2]);
  const msgs = positionals.slice(3);
  const opts: SendOptions = {
    proto,
    host,
    port,
    messages: msgs.length ? msgs.map((m) => enc.encode(m)) : undefined,
    timeoutMs,
    json,
  };
  if (family !== undefined) opts.family = family;
  return opts;
}

export const parse = parseSendArgs;

/** Runs the echo client. */
export async function run(opts: Options, io: Io): Promise<number> {
  if (opts.proto === "sctp") return await sctp.runSend(opts.sctp, io);
  if (opts.proto === "broadcast") {
    const messages = opts.messages ?? await readAllLines(io.stdin);
    const { runBroadcast } = await import("../../net/broadcast/broadcast.ts"); // loaded only when used
    return await runBroadcast({ ...opts.broadcast, messages }, io);
  }
  const out = new Reporter(io, { json: opts.json });
  if (opts.proto === "tcp") {
    try {
      return opts.messages
        ? await sendTcp(opts, opts.messages, out, io.signal)
        : await streamTcp(opts, io, out);
    } catch (err) {
      if (io.signal.aborted) return 130; // interrupted: the connection was closed on purpose
      throw err;
    }
  }
  return await sendUdp(opts, opts.messages ?? readLines(io.stdin), out, io.signal);
}

function emitEcho(
  out: Reporter,
  data: Uint8Array,
  ep: { address: string; port: number },
  rtt: number,
) {
  out.emit(
    {
      event: "echo",
      bytes: data.length,
      data: payloadText(data, 4096),
      from: ep.address,
      port: ep.port,
      rtt_ms: Math.round(rtt * 1000) / 1000,
    },
    (e) => `Received ${e.bytes} bytes: ${e.data}`,
  );
}

/** Closes `conn` when `signal` aborts (SIGINT/SIGTERM); returns the undo function. */
function closeOnAbort(conn: Deno.Conn, signal: AbortSignal): () => void {
  const close = () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
  signal.addEventListener("abort", close, { once: true });
  return () => signal.removeEventListener("abort", close);
}

async function sendTcp(
  opts: SendOptions,
  messages: Uint8Array[],
  out: Reporter,
  signal: AbortSignal,
): Promise<number> {
  const t = await connectTcp(opts.host, opts.port, {
    family: opts.family,
    timeoutMs: opts.timeoutMs,
    signal,
  });
  const undo = closeOnAbort(t.conn, signal);
  const ep = { address: t.address, port: t.port };
  out.emit({ event: "connect", proto: "tcp", address: t.address, port: t.port }, null);
  try {
    for (const msg of messages) {
      const t0 = performance.now();
      try {
        let off = 0;
        while (off < msg.length) off += await t.conn.write(msg.subarray(off));
      } catch (err) {
        throw toSysError(err, "send", ep);
      }
      let got: Uint8Array;
      try {
        got = await readExact(t.conn, msg.length, opts.timeoutMs, ep);
      } catch (err) {
        throw toSysError(err, "recv", ep);
      }
      checkEcho(msg, got, ep, true);
      emitEcho(out, got, ep, performance.now() - t0);
    }
  } finally {
    undo();
    t.conn.close();
  }
  return 0;
}

/** tcp with stdin: stream it, copy the echo to stdout, check every byte. */
async function streamTcp(opts: SendOptions, io: Io, out: Reporter): Promise<number> {
  const t = await connectTcp(opts.host, opts.port, {
    family: opts.family,
    timeoutMs: opts.timeoutMs,
    signal: io.signal,
  });
  const undo = closeOnAbort(t.conn, io.signal);
  const ep = { address: t.address, port: t.port };
  const where = formatEndpoint(ep.address, ep.port);
  out.emit({ event: "connect", proto: "tcp", address: t.address, port: t.port }, null);
  const pending: Uint8Array[] = []; // sent, not yet echoed
  let sent = 0, received = 0, stdinDone = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };

  const pump = async () => {
    try {
      for await (const chunk of io.stdin) {
        pending.push(chunk.slice());
        sent += chunk.length;
        let off = 0;
        while (off < chunk.length) off += await t.conn.write(chunk.subarray(off));
      }
      stdinDone = true;
      poke();
    } catch (err) {
      throw toSysError(err, "send", ep);
    }
  };

  const drain = async () => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      if (stdinDone && received === sent) return;
      const r = await withTimeout(
        t.conn.read(buf),
        opts.timeoutMs,
        () =>
          new SysError(
            "recv",
            "ETIMEDOUT",
            ep,
            `no echo for ${opts.timeoutMs}ms; ${received} of ${sent} bytes back`,
          ),
      ).catch((err) => {
        throw toSysError(err, "recv", ep);
      });
      if (r === null) {
        if (received < sent || !stdinDone) {
          throw new RuntimeError(
            `echo incomplete from ${where}: sent ${sent} bytes, got ${received} before the connection closed`,
          );
        }
        return;
      }
      let got = buf.subarray(0, r);
      while (got.length) {
        const head = pending[0];
        if (!head) {
          throw new RuntimeError(`echo mismatch from ${where}: got more bytes than were sent`);
        }
        const n = Math.min(head.length, got.length);
        for (let i = 0; i < n; i++) {
          if (head[i] !== got[i]) {
            throw new RuntimeError(`echo mismatch from ${where}: byte ${received + i} differs`);
          }
        }
        if (n === head.length) pending.shift();
        else pending[0] = head.subarray(n);
        received += n;
        got = got.subarray(n);
      }
      await writeAll(io.stdout, buf.subarray(0, r));
    }
  };

  try {
    const p = pump().then(() => t.conn.closeWrite().catch(() => {}));
    await Promise.all([p, drain()]);
  } finally {
    undo();
    t.conn.close();
  }
  out.emit({ event: "done", proto: "tcp", bytes_sent: sent, bytes_received: received }, null);
  return 0;
}

async function sendUdp(
  opts: SendOptions,
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  out: Reporter,
  signal: AbortSignal,
): Promise<number> {
  const addrs = await resolveHost(opts.host, opts.family);
  const clients = new Map<4 | 6, UdpClient>();
  const client = (f: 4 | 6) => {
    let c = clients.get(f);
    if (!c) {
      try {
        c = new UdpClient(f);
      } catch (err) {
        throw toSysError(err, "bind", { address: f === 6 ? "::" : "0.0.0.0", port: 0 });
      }
      clients.set(f, c);
    }
    return c;
  };
  // The first address that answers becomes the peer for the remaining messages.
  let candidates = addrs;
  try {
    for await (const msg of messages) {
      let done = false;
      let lastErr: Error | undefined;
      for (const a of candidates) {
        if (signal.aborted) return 130;
        const ep = { address: a.address, port: opts.port };
        const c = client(a.family);
        const t0 = performance.now();
        await c.send(msg, a.address, opts.port);
        const deadline = t0 + opts.timeoutMs;
        let got = null;
        while (got === null) {
          const left = deadline - performance.now();
          if (left <= 0) break;
          const d = await c.receive(left);
          if (d === null) break;
          if (sameAddress(d.address, a.address) && d.port === opts.port) got = d;
        }
        if (got === null) {
          lastErr = new SysError("recvfrom", "ETIMEDOUT", ep, `no echo within ${opts.timeoutMs}ms`);
          continue;
        }
        checkEcho(msg, got.data, ep, false);
        emitEcho(out, got.data, ep, performance.now() - t0);
        candidates = [a];
        done = true;
        break;
      }
      if (!done) throw lastErr ?? new RuntimeError("no address to send to");
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
  return 0;
}
