/**
 * TCP echo senders on FFI sockets, for what Deno's own sockets cannot do:
 *
 * - `send tcp ... --urgent BYTE`: the message sender of ./send.ts, which after the last
 *   echo sends one byte of TCP urgent data (send(2) with MSG_OOB; tcp(7), "Out-of-band
 *   data");
 * - `send tcp` streaming the process's own stdin: one synchronous poll(2) loop over stdin,
 *   stdout and the socket (lib/ffi/engine/stdio_stream.ts), as fast as netcat, with the
 *   same checks and messages as `streamTcp`.
 *
 * @module
 */
import { SysError } from "../../base/errors.ts";
import { payloadFields } from "../../base/text.ts";
import { MSG_OOB } from "../../ffi/constants.ts";
import { WOULD_BLOCK } from "../../ffi/errno.ts";
import { echoStdio } from "../../ffi/engine/stdio_stream.ts";
import { dataPlaneUnavailable } from "../../ffi/engine/pool.ts";
import { abortAfter, checkEcho, connectTcpSocket, type TcpSocketTarget } from "./client.ts";
import { connectedEvent } from "../sockopt/sockopt.ts";
import type { EchoMessagesOptions, EchoSendOptions, SendSummary } from "./send.ts";

/** Options of {@link sendTcpUrgent}: the messages, then the urgent byte. */
export interface UrgentSendOptions extends EchoMessagesOptions {
  /** The byte (0-255) sent with MSG_OOB after the last message's echo. */
  urgent: number;
}

/** Connects an FFI TCP socket with `o.client`'s setup (see `connectTcpSocket`). */
function connect(o: EchoSendOptions): Promise<TcpSocketTarget> {
  return connectTcpSocket(o.host, o.port, {
    family: o.family,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    socket: o.client,
  });
}

/** Reports `connect`, and `connected` when the run has a client setup. */
function emitConnected(o: EchoSendOptions, t: TcpSocketTarget): void {
  const emit = o.onEvent ?? (() => {});
  emit({ event: "connect", proto: "tcp", address: t.address, port: t.port });
  if (o.client) emit(connectedEvent("tcp", t));
}

/**
 * Connects over TCP, sends each message and checks its echo (as `sendTcp` does), then sends
 * `urgent` as one byte of urgent data and closes. An echo server does not echo urgent data
 * in-band; sockbox's ffi engine reports it as an `urgent` event.
 */
export async function sendTcpUrgent(o: UrgentSendOptions): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  const summary: SendSummary = { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: false };
  let conn;
  try {
    conn = await connect(o);
  } catch (err) {
    if (o.signal.aborted) return { ...summary, aborted: true };
    throw err;
  }
  const { sock, address, port } = conn;
  const ep = { address, port };
  emitConnected(o, conn);
  try {
    for await (const msg of o.messages) {
      const t0 = performance.now();
      await sock.sendAll(msg, o.signal);
      summary.bytesSent += msg.length;
      const got = new Uint8Array(msg.length);
      let n = 0;
      await abortAfter(
        o.timeoutMs,
        o.signal,
        () =>
          new SysError(
            "recv",
            "ETIMEDOUT",
            ep,
            `no echo within ${o.timeoutMs}ms; got ${n} of ${msg.length} bytes`,
          ),
        async (signal) => {
          while (n < msg.length) {
            const r = await sock.recv(got.subarray(n), signal);
            if (r === 0) break;
            n += r;
          }
        },
      );
      checkEcho(msg, got.subarray(0, n), ep, true);
      summary.bytesReceived += n;
      summary.echoes++;
      emit({
        event: "echo",
        bytes: n,
        ...payloadFields(got),
        from: address,
        port,
        rtt_ms: Math.round((performance.now() - t0) * 1000) / 1000,
      });
    }
    const byte = new Uint8Array([o.urgent]);
    while (sock.trySend(byte, MSG_OOB) === WOULD_BLOCK) await sock.writable(o.signal);
    summary.bytesSent += 1;
    emit({ event: "urgent", proto: "tcp", byte: o.urgent, address, port });
  } catch (err) {
    if (o.signal.aborted) return { ...summary, aborted: true };
    throw err;
  } finally {
    sock.close();
  }
  return summary;
}

/** Whether {@link streamStdioTcp} can run here (Linux, with FFI permitted). */
export function stdioStreamAvailable(): boolean {
  return dataPlaneUnavailable() === null;
}

/**
 * Streams the process's own stdin to the echo server and the checked echo to its stdout
 * (what `streamTcp` does with any streams), through libc: see the module doc.
 */
export async function streamStdioTcp(o: EchoSendOptions): Promise<SendSummary> {
  const emit = o.onEvent ?? (() => {});
  let conn;
  try {
    conn = await connect(o);
  } catch (err) {
    if (o.signal.aborted) return { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: true };
    throw err;
  }
  const { sock, address, port } = conn;
  emitConnected(o, conn);
  let r;
  try {
    r = await echoStdio({
      socket: sock,
      where: { address, port },
      timeoutMs: o.timeoutMs,
      signal: o.signal,
    });
  } finally {
    sock.close();
  }
  if (r.aborted) return { echoes: 0, bytesSent: r.sent, bytesReceived: r.received, aborted: true };
  emit({ event: "done", proto: "tcp", bytes_sent: r.sent, bytes_received: r.received });
  return { echoes: 0, bytesSent: r.sent, bytesReceived: r.received, aborted: false };
}
