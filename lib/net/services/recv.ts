/**
 * The client side of the talk-first services (daytime, time, qotd, chargen, or any
 * server that speaks first): send what the user gave, close the sending side, then
 * take everything the server sends until it closes, or until `maxBytes`. A reply of
 * exactly four bytes followed by the close, that reads as a date in 2000-2049, is
 * decoded as an RFC 868 time.
 *
 * @module
 */
import { SysError, toSysError } from "../../base/errors.ts";
import { decodeTime, timeSeconds } from "./time.ts";

/** Events of {@link receiveStream}. */
export type RecvEvent =
  /** Bytes from the server, in order (the caller prints them raw, or as JSON text). */
  | { event: "data"; bytes: number; data: Uint8Array }
  /** The whole reply was a 4-byte RFC 868 time. */
  | { event: "time"; seconds: number; date: string }
  | RecvSummary;

/** How a receive ended. */
export interface RecvSummary {
  event: "done";
  proto: "tcp";
  address: string;
  port: number;
  bytes_sent: number;
  bytes_received: number;
  duration_ms: number;
  /** eof: the server closed; max-bytes: the limit was reached and the client closed. */
  reason: "eof" | "max-bytes";
}

/** Options of {@link receiveStream}. */
export interface RecvOptions {
  /** The server, for events and errors. */
  address: string;
  port: number;
  /** Sent first, in order; then the sending side is closed. */
  messages?: Uint8Array[] | undefined;
  /** Stop after this many bytes (the rest is not read). */
  maxBytes?: number | undefined;
  /** The longest silence allowed (ms). */
  timeoutMs: number;
  signal: AbortSignal;
  onEvent: (ev: RecvEvent) => void;
}

/**
 * Whether 4 bytes read as an RFC 868 time between 2000 and 2050. The window keeps text
 * out: its first byte would have to be above 0xBB (2000-2036) or a control character
 * below 0x1A (2036-2050), where printable ASCII starts at 0x20.
 */
export function looksLikeTime(bytes: Uint8Array): boolean {
  if (bytes.length !== 4) return false;
  const t = decodeTime(bytes).getTime();
  return t >= Date.UTC(2000, 0, 1) && t < Date.UTC(2050, 0, 1);
}

/**
 * Runs the exchange on a connected stream (TCP or TLS); resolves to the summary (also
 * emitted) once the server closed or `maxBytes` arrived. Throws a `SysError` when the
 * server stays silent for `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { receiveStream } from "./recv.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 13 });
 * await receiveStream(conn, { address: "127.0.0.1", port: 13, timeoutMs: 5000,
 *   signal: new AbortController().signal, onEvent: console.log }); // data, then done
 * ```
 */
export async function receiveStream(conn: Deno.Conn, o: RecvOptions): Promise<RecvSummary> {
  const ep = { address: o.address, port: o.port };
  const t0 = performance.now();
  let sent = 0;
  for (const m of o.messages ?? []) {
    try {
      let off = 0;
      while (off < m.length) off += await conn.write(m.subarray(off));
      sent += m.length;
    } catch (err) {
      throw toSysError(err, "send", ep);
    }
  }
  await conn.closeWrite().catch(() => {});

  const max = o.maxBytes ?? Infinity;
  let received = 0;
  let head: Uint8Array | null = new Uint8Array(0); // the first bytes, held until > 4 or EOF
  const give = (data: Uint8Array) => {
    if (data.length) o.onEvent({ event: "data", bytes: data.length, data });
  };
  const buf = new Uint8Array(64 * 1024);
  let reason: RecvSummary["reason"] = "eof";
  for (;;) {
    if (received >= max) {
      reason = "max-bytes";
      break;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let n: number | null;
    try {
      n = await Promise.race([
        conn.read(buf.subarray(0, Math.min(buf.length, max - received))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SysError(
                  "recv",
                  "ETIMEDOUT",
                  ep,
                  `nothing for ${o.timeoutMs}ms; ${received} bytes so far`,
                ),
              ),
            o.timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (o.signal.aborted) break;
      throw toSysError(err, "recv", ep);
    } finally {
      clearTimeout(timer);
    }
    if (n === null) break;
    received += n;
    const chunk = buf.slice(0, n);
    if (head !== null) {
      const joined: Uint8Array = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      if (joined.length <= 4) {
        head = joined;
        continue;
      }
      head = null;
      give(joined);
    } else {
      give(chunk);
    }
  }
  if (head !== null) {
    if (reason === "eof" && looksLikeTime(head)) {
      o.onEvent({
        event: "time",
        seconds: timeSeconds(head),
        date: decodeTime(head).toISOString(),
      });
    } else {
      give(head);
    }
  }
  const summary: RecvSummary = {
    event: "done",
    proto: "tcp",
    address: o.address,
    port: o.port,
    bytes_sent: sent,
    bytes_received: received,
    duration_ms: Math.round(performance.now() - t0),
    reason,
  };
  o.onEvent(summary);
  return summary;
}

/** The human line for a receive event; null for `data` (printed raw) and `done`. */
export function recvEventText(ev: RecvEvent): string | null {
  switch (ev.event) {
    case "data":
      return null;
    case "time":
      return `time ${ev.date.replace(/\.000Z$/, "Z")} (RFC 868: ${ev.seconds} seconds since 1900)`;
    case "done":
      return null;
  }
}
