/**
 * The simple services inetd(8) runs itself, over TCP (optionally TLS) and UDP: echo
 * (RFC 862), discard (RFC 863), chargen (RFC 864), daytime (RFC 867), time (RFC 868) and
 * qotd (RFC 865).
 *
 * Over UDP no reply is larger than the datagram that asked for it, so the services
 * cannot be used as amplifiers: daytime, time and qotd answer only a datagram at least as
 * long as the answer (others are dropped, reason `amplification`), and chargen, the one
 * exception, answers at most `chargenRate` datagrams a second (others: `rate-limit`).
 *
 * @module
 */
import { toSysError } from "../../base/errors.ts";
import { chargenDatagram, ChargenRing, PERIOD } from "./chargen.ts";
import { daytimeReply } from "./daytime.ts";
import {
  closeQuietly,
  type InetdServer,
  type ListenOptions,
  serveDatagrams,
  serveStream,
  type Session,
  type SessionEnd,
  sessionError,
  type Totals,
  writeFully,
} from "./listener.ts";
import { BUILTIN_QUOTE, quoteBytes } from "./qotd.ts";
import { encodeTime } from "./time.ts";
import type { Service } from "./names.ts";

export { type Service, SERVICES } from "./names.ts";

/** Options of {@link serveService}. */
export interface ServiceOptions extends ListenOptions {
  proto: "tcp" | "udp";
  service: Service;
  /** qotd: the quotes served in turn (default: one built-in quote). */
  quotes?: string[] | undefined;
  /** TCP echo and discard: close a connection after this long without data (ms). */
  idleTimeoutMs?: number | undefined;
  /** UDP chargen: replies per second at most (default 20). */
  chargenRate?: number | undefined;
  /** daytime: UTC instead of local time. */
  utc?: boolean | undefined;
}

/** After its reply, how long a talk-first service waits for the peer to close (ms). */
const LINGER_MS = 2000;

/**
 * Starts a built-in service; resolves once it is listening.
 *
 * @example
 * ```ts
 * import { serveService } from "./services.ts";
 * const ac = new AbortController();
 * const srv = await serveService({ proto: "tcp", service: "daytime", port: 0, signal: ac.signal });
 * // ... connect to srv.port: one ctime(3) line, then the server closes ...
 * ac.abort();
 * await srv.finished;
 * ```
 */
export function serveService(o: ServiceOptions): Promise<InetdServer> {
  return Promise.resolve(o.proto === "tcp" ? serveStreamService(o) : serveDatagramService(o));
}

/** The reply a talk-first service sends now (daytime, time, qotd), or null. */
function replyFor(o: ServiceOptions, turn: number): Uint8Array | null {
  switch (o.service) {
    case "daytime":
      return daytimeReply(new Date(), o.utc ?? false);
    case "time":
      return encodeTime(new Date());
    case "qotd": {
      const quotes = o.quotes?.length ? o.quotes : [BUILTIN_QUOTE];
      return quoteBytes(quotes[turn % quotes.length]!);
    }
    default:
      return null;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function serveStreamService(o: ServiceOptions): InetdServer {
  let turn = 0;
  const handler = (s: Session): Promise<SessionEnd> => {
    switch (o.service) {
      case "echo":
        return echoStream(s, o, true);
      case "discard":
        return echoStream(s, o, false);
      case "chargen":
        return chargenStream(s, o);
      default:
        return talkFirst(s, replyFor(o, turn++)!);
    }
  };
  return serveStream(o, o.service, {}, handler);
}

/** echo (every byte back, half-close honoured) or discard (every byte swallowed). */
async function echoStream(s: Session, o: ServiceOptions, echo: boolean): Promise<SessionEnd> {
  let bytesIn = 0, bytesOut = 0;
  let idle = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (o.idleTimeoutMs === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      closeQuietly(s.conn);
    }, o.idleTimeoutMs);
  };
  let buf = new Uint8Array(4 * 1024);
  arm();
  try {
    for (;;) {
      const n = await s.conn.read(buf);
      if (n === null) break;
      arm();
      bytesIn += n;
      if (o.verbose) s.emit({ event: "read", proto: "tcp", peer: s.peer, port: s.port, bytes: n });
      if (echo) bytesOut += await writeFully(s.conn, buf.subarray(0, n));
      if (n === buf.length && buf.length < 256 * 1024) buf = new Uint8Array(buf.length * 4);
    }
    clearTimeout(timer);
    await s.conn.closeWrite().catch(() => {});
    return { bytes_in: bytesIn, bytes_out: bytesOut, reason: "eof" };
  } catch (err) {
    clearTimeout(timer);
    if (idle) return { bytes_in: bytesIn, bytes_out: bytesOut, reason: "idle-timeout" };
    if (s.signal.aborted) return { bytes_in: bytesIn, bytes_out: bytesOut, reason: "shutdown" };
    return {
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      reason: "error",
      error: sessionError(s, err),
    };
  }
}

/**
 * chargen over TCP: the RFC 864 stream until the peer goes away. Each write waits for the
 * kernel to take the bytes, so a slow reader slows the sender (TCP flow control); what
 * the peer sends is read and thrown away.
 */
async function chargenStream(s: Session, o: ServiceOptions): Promise<SessionEnd> {
  const ring = new ChargenRing();
  let bytesIn = 0, bytesOut = 0;
  const sink = (async () => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await s.conn.read(buf);
        if (n === null) return;
        bytesIn += n;
        if (o.verbose) {
          s.emit({ event: "read", proto: "tcp", peer: s.peer, port: s.port, bytes: n });
        }
      }
    } catch { /* the writer sees the same failure */ }
  })();
  let reason: SessionEnd["reason"] = "peer-closed";
  try {
    for (;;) bytesOut += await s.conn.write(ring.window(bytesOut, PERIOD));
  } catch {
    if (s.signal.aborted) reason = "shutdown";
  }
  closeQuietly(s.conn);
  await sink;
  return { bytes_in: bytesIn, bytes_out: bytesOut, reason };
}

/**
 * daytime, time, qotd over TCP: send the reply, close the sending side, then read away
 * whatever the peer still sends until it closes (at most {@link LINGER_MS}), so data it
 * sent first does not turn the close into a reset that could destroy the reply.
 */
async function talkFirst(s: Session, reply: Uint8Array): Promise<SessionEnd> {
  let bytesIn = 0;
  const bytesOut = await writeFully(s.conn, reply);
  await s.conn.closeWrite().catch(() => {});
  const drain = (async () => {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await s.conn.read(buf);
        if (n === null) return;
        bytesIn += n;
      }
    } catch { /* gone */ }
  })();
  const ac = new AbortController();
  const onStop = () => ac.abort();
  s.signal.addEventListener("abort", onStop, { once: true });
  await Promise.race([drain, pause(LINGER_MS, ac.signal)]);
  ac.abort();
  s.signal.removeEventListener("abort", onStop);
  closeQuietly(s.conn);
  await drain;
  return { bytes_in: bytesIn, bytes_out: bytesOut, reason: "done" };
}

/** A token bucket: `rate` per second, bursts of up to `rate`. */
class Bucket {
  #tokens: number;
  #last = performance.now();
  readonly #rate: number;

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
  }

  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

function serveDatagramService(o: ServiceOptions): InetdServer {
  const emit = o.onEvent ?? (() => {});
  const bucket = new Bucket(o.chargenRate ?? 20);
  let turn = 0;

  const answer = (
    data: Uint8Array,
    peer: string,
    peerPort: number,
    totals: Totals,
  ): Uint8Array | null => {
    const drop = (reason: "amplification" | "rate-limit") => {
      totals.dropped++;
      if (o.verbose) {
        emit({ event: "drop", proto: "udp", peer, port: peerPort, bytes: data.length, reason });
      }
      return null;
    };
    switch (o.service) {
      case "echo":
        return data;
      case "discard":
        return null;
      case "chargen":
        if (!bucket.take()) return drop("rate-limit");
        return chargenDatagram(Math.floor(Math.random() * 513), Math.floor(Math.random() * 95));
      default: {
        const reply = replyFor(o, turn);
        if (reply === null || reply.length > data.length) return drop("amplification");
        turn++;
        return reply;
      }
    }
  };

  return serveDatagrams(o, o.service, {}, async ({ data, from: ra, peer }, srv) => {
    const reply = answer(data, peer, ra.port, srv.totals);
    if (reply === null) return;
    try {
      srv.totals.bytes_out += await srv.sock.send(reply, ra);
    } catch (err) {
      if (srv.signal.aborted) return;
      emit({
        event: "error",
        proto: "udp",
        peer,
        port: ra.port,
        error: toSysError(err, "sendto", { address: peer, port: ra.port }).message,
      });
    }
  });
}
