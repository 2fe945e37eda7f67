/**
 * Echo senders: send messages (or a byte stream) to an RFC 862 echo server and check
 * that exactly the same bytes come back. TCP sends each message and waits for its whole
 * echo, or streams an input like netcat and checks every echoed byte; UDP tries each
 * address of the host in turn until one answers, then keeps that one.
 *
 * They report what happens as {@link SendEvent}s and resolve to a {@link SendSummary};
 * a failed check rejects with `RuntimeError`, a failed call with `SysError`.
 *
 * @module
 */
import {
  formatEndpoint,
  RuntimeError,
  streamClosedError,
  streamSilentError,
  SysError,
  toSysError,
} from "../../base/errors.ts";
import { payloadBytes, payloadFields, plural, visibleText } from "../../base/text.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  type ClientSocketOptions,
  type ConnectedEvent,
  connectedEvent,
} from "../sockopt/sockopt.ts";
import {
  checkEcho,
  connectTcpClient,
  isRefused,
  openUdpPeer,
  readExact,
  type StreamConn,
  type UdpPeer,
} from "./client.ts";

/** Where to send and how long to wait. */
export interface EchoSendOptions {
  /** Host name or address; every address it resolves to is tried in order. */
  host: string;
  /** The echo server's port. */
  port: number;
  /** Use only IPv4 or only IPv6 addresses of `host`. */
  family?: 4 | 6 | undefined;
  /**
   * Limit (ms) to connect and for each echo; when streaming, the longest silence allowed
   * while echoed bytes are owed (an idle input, with everything echoed, waits forever).
   */
  timeoutMs: number;
  /** Aborting stops the run; it then resolves with `aborted: true`. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: SendEvent) => void) | undefined;
  /** TCP: opens the connection instead of a plain connect (TLS: lib/net/tls/client.ts). */
  connect?: (() => Promise<{ conn: Deno.Conn; address: string; port: number }>) | undefined;
  /**
   * The client socket's source address and options (not with `connect`). When given,
   * a `connected` event follows `connect`, with the options as read back.
   */
  client?: ClientSocketOptions | undefined;
}

/** Options of {@link sendTcp} and {@link sendUdp}: the messages to send, one at a time. */
export interface EchoMessagesOptions extends EchoSendOptions {
  /** Each one is sent whole and must come back whole before the next is sent. */
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** Options of {@link streamTcp}: a byte stream to send, and where its echo goes. */
export interface EchoStreamOptions extends EchoSendOptions {
  /** The bytes to send; when it ends, the connection is half-closed. */
  input: AsyncIterable<Uint8Array>;
  /**
   * Receives the echoed bytes once they are checked, in order (e.g. to copy to stdout).
   * Without it, each checked chunk is reported as an `echo` event with its `offset`.
   */
  onData?: ((bytes: Uint8Array) => Promise<void>) | undefined;
}

/**
 * Events an echo sender reports: TCP and UDP alike, `connect` (the address that answered;
 * with a client setup, `connected` next: the socket's own address and its options), one
 * `echo` per message (or per streamed chunk), then `done`.
 */
export type SendEvent =
  | { event: "connect"; proto: "tcp" | "udp"; address: string; port: number }
  | ConnectedEvent
  | {
    event: "echo";
    /** Bytes in the echo. */
    bytes: number;
    /** The echoed bytes, whole: their text, or base64 (see `encoding`). */
    data: string;
    /** `utf-8`: `data` is the bytes' text; `base64`: they are not UTF-8 (RFC 4648). */
    encoding?: "utf-8" | "base64";
    from: string;
    port: number;
    /** Messages: the round trip of this one. */
    rtt_ms?: number;
    /** Streams: where this chunk starts in the echoed stream. */
    offset?: number;
  }
  | { event: "done"; proto: "tcp" | "udp"; bytes_sent: number; bytes_received: number }
  | {
    /** `send tcp --urgent`: the urgent byte went out (send(2) with MSG_OOB). */
    event: "urgent";
    proto: "tcp";
    byte: number;
    address: string;
    port: number;
  };

/** What a send run did. */
export interface SendSummary {
  /** Messages whose echo came back and matched (stream mode: 0). */
  echoes: number;
  /** Bytes sent. */
  bytesSent: number;
  /** Echoed bytes received and checked. */
  bytesReceived: number;
  /** The signal stopped the run before it finished. */
  aborted: boolean;
}

/** The human line for a send event (`null`: the event has no human form). */
export function sendEventText(ev: SendEvent): string | null {
  switch (ev.event) {
    case "echo": {
      const shown = ev.encoding === undefined
        ? ev.data
        : visibleText(payloadBytes({ data: ev.data, encoding: ev.encoding }), 4096);
      const at = ev.offset === undefined ? "" : ` at offset ${ev.offset}`;
      return `Received ${plural(ev.bytes, "byte")}${at}: ${shown}`;
    }
    case "urgent":
      return `Sent urgent byte ${ev.byte}`;
    case "connect":
    case "connected": // -v: connectedEventText, on stderr (stdout may carry the echo)
    case "done":
      return null;
  }
}

type Endpoint = { address: string; port: number };

function echoEvent(data: Uint8Array, ep: Endpoint, rttMs: number): SendEvent {
  return {
    event: "echo",
    bytes: data.length,
    ...payloadFields(data),
    from: ep.address,
    port: ep.port,
    rtt_ms: Math.round(rttMs * 1000) / 1000,
  };
}

/** Closes `conn` when `signal` aborts (SIGINT/SIGTERM); returns the undo function. */
function closeOnAbort(conn: StreamConn, signal: AbortSignal): () => void {
  const close = () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
  signal.addEventListener("abort", close, { once: true });
  return () => signal.removeEventListener("abort", close);
}

async function writeAll(conn: StreamConn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Runs `body`; when the signal has aborted, its failure (a closed connection) is the stop. */
async function untilAborted(
  signal: AbortSignal,
  body: () => Promise<SendSummary>,
): Promise<SendSummary> {
  try {
    return await body();
  } catch (err) {
    if (signal.aborted) return { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: true };
    throw err;
  }
}

/**
 * The frame of a TCP sender: connects (or takes `o.connect`'s connection) and reports
 * `connect`, runs `body` on the connection, closes it (also on abort, which is then the
 * stop, not a failure) and reports `done` with the byte counts `body` resolves to.
 */
function overTcp(
  o: EchoSendOptions,
  body: (conn: StreamConn, ep: Endpoint) => Promise<SendSummary>,
): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  return untilAborted(o.signal, async () => {
    const t = o.connect ? await o.connect() : await connectTcpClient(o.host, o.port, {
      family: o.family,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      socket: o.client,
    });
    const undo = closeOnAbort(t.conn, o.signal);
    emit({ event: "connect", proto: "tcp", address: t.address, port: t.port });
    if (o.client && "local" in t) emit(connectedEvent("tcp", t));
    let summary: SendSummary;
    try {
      summary = await body(t.conn, { address: t.address, port: t.port });
    } finally {
      undo();
      t.conn.close();
    }
    emit({
      event: "done",
      proto: "tcp",
      bytes_sent: summary.bytesSent,
      bytes_received: summary.bytesReceived,
    });
    return summary;
  });
}

/**
 * Connects over TCP and sends each message, waiting for its complete echo (within
 * `timeoutMs`) before the next.
 *
 * @example
 * ```ts
 * import { sendEventText, sendTcp } from "./send.ts";
 * const r = await sendTcp({
 *   host: "127.0.0.1", port: 7, timeoutMs: 2000, signal: new AbortController().signal,
 *   messages: [new TextEncoder().encode("hi")],
 *   onEvent: (ev) => console.log(sendEventText(ev)), // Received 2 bytes: hi
 * });
 * console.log(r.echoes); // 1
 * ```
 */
export function sendTcp(o: EchoMessagesOptions): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  return overTcp(o, async (conn, ep) => {
    const summary: SendSummary = { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: false };
    for await (const msg of o.messages) {
      const t0 = performance.now();
      try {
        await writeAll(conn, msg);
      } catch (err) {
        throw toSysError(err, "send", ep);
      }
      summary.bytesSent += msg.length;
      let got: Uint8Array;
      try {
        got = await readExact(conn, msg.length, o.timeoutMs, ep);
      } catch (err) {
        throw toSysError(err, "recv", ep);
      }
      checkEcho(msg, got, ep, true);
      summary.bytesReceived += got.length;
      summary.echoes++;
      emit(echoEvent(got, ep, performance.now() - t0));
    }
    return summary;
  });
}

/**
 * Streams `input` over TCP like netcat, checks every echoed byte against what was sent
 * and hands it to `onData` (or reports it as `echo` events); when `input` ends it
 * half-closes and waits for the rest of the echo. Fails when the server closes early,
 * sends bytes that differ or more than were sent, or is silent for `timeoutMs` while
 * echoed bytes are owed. An input that is merely idle (an interactive user thinking)
 * never times out: nothing is owed then.
 */
export function streamTcp(o: EchoStreamOptions): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  return overTcp(o, async (conn, ep) => {
    const where = formatEndpoint(ep.address, ep.port);
    const pending: Uint8Array[] = []; // sent, not yet echoed
    let sent = 0, received = 0, inputDone = false;

    // The silence watchdog runs only while echoed bytes are owed: armed when bytes go out
    // with nothing owed, re-armed by every echoed chunk, disarmed once all came back.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let fail: (e: Error) => void = () => {};
    const timedOut = new Promise<never>((_, reject) => (fail = reject));
    timedOut.catch(() => {});
    const arm = () => {
      clearTimeout(timer);
      timer = undefined;
      if (received >= sent) return;
      timer = setTimeout(
        () => fail(streamSilentError(ep, o.timeoutMs, received, sent)),
        o.timeoutMs,
      );
    };

    const pump = async () => {
      try {
        for await (const chunk of o.input) {
          if (chunk.length === 0) continue;
          const owed = received < sent;
          pending.push(chunk.slice());
          sent += chunk.length;
          if (!owed) arm();
          await writeAll(conn, chunk);
        }
        inputDone = true;
      } catch (err) {
        throw toSysError(err, "send", ep);
      }
    };

    const drain = async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        if (inputDone && received === sent) return;
        let r: number | null;
        try {
          r = await Promise.race([conn.read(buf), timedOut]);
        } catch (err) {
          throw toSysError(err, "recv", ep);
        }
        if (r === null) {
          if (received < sent || !inputDone) throw streamClosedError(where, sent, received);
          return;
        }
        let got = buf.subarray(0, r);
        const offset = received;
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
        clearTimeout(timer); // the time spent handing the chunk on is not the peer's silence
        const chunk = buf.subarray(0, r);
        if (o.onData) await o.onData(chunk);
        else {
          emit({
            event: "echo",
            bytes: r,
            ...payloadFields(chunk),
            from: ep.address,
            port: ep.port,
            offset,
          });
        }
        arm();
      }
    };

    try {
      const p = pump().then(() => conn.closeWrite().catch(() => {}));
      await Promise.all([p, drain()]);
    } finally {
      clearTimeout(timer);
    }
    return { echoes: 0, bytesSent: sent, bytesReceived: received, aborted: false };
  });
}

/**
 * Sends each message as one UDP datagram and waits up to `timeoutMs` for its echo from
 * the same address and port. Every address of `host` is tried in order; the first that
 * answers becomes the peer for the remaining messages. Each address gets a connected
 * socket where libc is reachable (see {@link openUdpPeer}), so a closed port fails at
 * once with `recvfrom ECONNREFUSED` (ICMP port unreachable) rather than a timeout.
 */
export async function sendUdp(o: EchoMessagesOptions): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  const addrs = await resolveHost(o.host, o.family);
  const summary: SendSummary = { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: false };
  let peer: UdpPeer | undefined;
  let candidates = addrs;
  let chosen = false;
  try {
    for await (const msg of o.messages) {
      let done = false;
      let lastErr: Error | undefined;
      for (const a of candidates) {
        if (o.signal.aborted) return { ...summary, aborted: true };
        const ep = { address: a.address, port: o.port };
        if (peer?.address !== a.address) {
          peer?.close();
          peer = undefined;
          peer = openUdpPeer(a.address, a.family, o.port, o.client);
        }
        const t0 = performance.now();
        let got: Uint8Array | null;
        try {
          await peer.send(msg);
          summary.bytesSent += msg.length;
          got = await peer.receive(o.timeoutMs, o.signal);
        } catch (err) {
          if (!isRefused(err)) throw err;
          lastErr = new SysError("recvfrom", "ECONNREFUSED", ep);
          continue;
        }
        if (o.signal.aborted) return { ...summary, aborted: true };
        if (got === null) {
          lastErr = new SysError("recvfrom", "ETIMEDOUT", ep, `no echo within ${o.timeoutMs}ms`);
          continue;
        }
        checkEcho(msg, got, ep, false);
        if (!chosen) {
          emit({ event: "connect", proto: "udp", address: a.address, port: o.port });
          if (o.client) emit(connectedEvent("udp", peer));
          chosen = true;
        }
        summary.bytesReceived += got.length;
        summary.echoes++;
        emit(echoEvent(got, ep, performance.now() - t0));
        candidates = [a];
        done = true;
        break;
      }
      if (!done) throw lastErr ?? new RuntimeError("no address to send to");
    }
  } finally {
    peer?.close();
  }
  emit({
    event: "done",
    proto: "udp",
    bytes_sent: summary.bytesSent,
    bytes_received: summary.bytesReceived,
  });
  return summary;
}
