/**
 * The SCTP echo client (the Solaris Socket Interfaces guide's): a one-to-one association, possibly
 * to a multi-homed peer (sctp_connectx) and from several local addresses (bind + bindx);
 * each message goes out on the next stream (or a fixed one) with a PPID, and every echo
 * is matched to what was sent (same bytes, same stream, same PPID).
 *
 * @module
 */
import { unmapV4 } from "../../base/ip.ts";
import { asError, formatEndpoint, RuntimeError, SysError } from "../../base/errors.ts";
import { payloadText } from "../../base/text.ts";
import { SCTP_UNORDERED } from "../../ffi/constants.ts";
import { ALL_EVENTS, SctpSocket } from "../../ffi/sctp.ts";
import type { SctpPathInfo, SctpStatus } from "../../ffi/sctp_codec.ts";
import { applyTuning, notificationEvent, type SctpClientEvent, type SctpTuning } from "./events.ts";

/** Where and how to connect. */
export interface SctpConnectOptions extends SctpTuning {
  /** Peer addresses (IP literals); more than one uses sctp_connectx. */
  addresses: string[];
  /** The peer's SCTP port. */
  port: number;
  /** Local addresses: the first is bound, the rest added with sctp_bindx. */
  binds?: string[];
  /** Streams to ask for in each direction (default 64). */
  streams?: number;
  /** Connect timeout, ms. */
  timeoutMs: number;
  /** Aborts the connect. */
  signal: AbortSignal;
}

/** Opens a one-to-one association; returns the socket and its negotiated status. */
export async function connectSctp(
  o: SctpConnectOptions,
): Promise<{ sock: SctpSocket; status: SctpStatus }> {
  const family = o.addresses.some((a) => a.includes(":")) ||
      (o.binds ?? []).some((a) => a.includes(":"))
    ? 6
    : 4;
  const sock = SctpSocket.open(family, "one-to-one");
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new Error("timeout")), o.timeoutMs);
  const first = { address: o.addresses[0] ?? "?", port: o.port };
  try {
    const streams = o.streams ?? 64;
    sock.setInitMsg({ outstreams: streams, instreams: streams });
    sock.subscribe(ALL_EVENTS);
    sock.setNoDelay(true);
    applyTuning(sock, o);
    const binds = o.binds ?? [];
    if (binds.length > 0) {
      sock.bind(binds[0]!, 0);
      const lport = sock.localAddress().port;
      for (const a of binds.slice(1)) sock.bindx([{ address: a, port: lport }], "add");
    }
    try {
      if (o.addresses.length === 1) await sock.connect(first.address, o.port, ac.signal);
      else {await sock.connectx(
          o.addresses.map((address) => ({ address, port: o.port })),
          ac.signal,
        );}
    } catch (e) {
      if (ac.signal.aborted && !o.signal.aborted) {
        throw new SysError("connect", "ETIMEDOUT", first, `no association within ${o.timeoutMs}ms`);
      }
      throw e;
    }
    return { sock, status: sock.status() };
  } catch (e) {
    sock.close();
    throw e;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onAbort);
  }
}

/** Options of {@link sendSctp}. */
export interface SctpSendOptions extends SctpConnectOptions {
  /** The messages (each one SCTP message; empty ones are skipped). */
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Fixed stream; undefined spreads messages over the streams round robin. */
  stream?: number;
  /** Payload protocol identifier (default 1). */
  ppid?: number;
  /** Send unordered (SCTP_UNORDERED). */
  unordered?: boolean;
  /** PR-SCTP time to live, ms (0 = reliable). */
  ttlMs?: number;
  /** Report SCTP_STATUS and every peer path at the end. */
  status?: boolean;
  /**
   * Messages in flight before waiting for an echo (default 1: each echo is awaited
   * before the next message, which also works with echo servers that do not keep message
   * boundaries, such as socat's PIPE).
   */
  window?: number;
  /** Receives every echo and notification. */
  onEvent: (ev: SctpClientEvent) => void;
  /** Receives diagnostics that are not events (fewer streams granted than asked for). */
  onWarning?: (msg: string) => void;
}

/** What {@link sendSctp} did. */
export interface SctpSendResult {
  /** Messages sent. */
  sent: number;
  /** Echoes received and matched. */
  received: number;
  /** SCTP_STATUS at the end (with `status: true`). */
  status?: SctpStatus;
  /** Every peer path at the end (with `status: true`). */
  paths?: SctpPathInfo[];
}

interface Pending {
  data: Uint8Array;
  stream: number;
  ppid: number;
}

/**
 * Connects, sends every message and waits for every echo; throws {@link RuntimeError}
 * for a missing, different or unexpected echo, and {@link SysError} for socket errors.
 *
 * @example
 * ```ts
 * const r = await sendSctp({
 *   addresses: ["127.0.0.1"],
 *   port: 5000,
 *   messages: ["hello", "world"].map((m) => new TextEncoder().encode(m)),
 *   ppid: 42, // stream: spread over 0, 1, ...
 *   status: true,
 *   timeoutMs: 5000,
 *   signal: AbortSignal.timeout(10_000),
 *   onEvent: (ev) => console.log(ev), // {event: "echo", stream, ssn, flags, ppid, ...}
 * });
 * console.log(r.received, r.status?.state, r.paths);
 * ```
 */
export async function sendSctp(o: SctpSendOptions): Promise<SctpSendResult> {
  const { sock, status: st0 } = await connectSctp(o);
  const peer = { address: o.addresses[0]!, port: o.port };
  const ep = formatEndpoint(peer.address, peer.port);
  const outstreams = st0.outstreams;
  if (o.stream !== undefined && o.stream >= outstreams) {
    sock.close();
    throw new RuntimeError(
      `--stream ${o.stream} is beyond the ${outstreams} outbound streams the association with ${ep} negotiated (0-${
        outstreams - 1
      })`,
    );
  }
  const spread = Math.min(o.streams ?? 64, outstreams);
  if (o.stream === undefined && spread < (o.streams ?? 64)) {
    o.onWarning?.(`${ep} granted ${outstreams} outbound streams; spreading over 0-${spread - 1}`);
  }
  const ppid = o.ppid ?? 1;
  const flags = o.unordered ? SCTP_UNORDERED : 0;
  const pending: Pending[] = [];
  let sent = 0, received = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  const stop = new AbortController();
  const onAbort = () => stop.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });

  const receiver = (async () => {
    while (!stop.signal.aborted) {
      const m = await sock.receive(stop.signal);
      if (m.kind === "eof") {
        if (pending.length > 0) {
          throw new RuntimeError(
            `${ep} ended the association with ${pending.length} echoes missing`,
          );
        }
        return;
      }
      if (m.kind === "notification") {
        const n = m.notification;
        o.onEvent(notificationEvent(n));
        if (n.type === "assoc_change" && n.state !== "COMM_UP") {
          throw new RuntimeError(`association with ${ep} ended: ${n.state}`);
        }
        if (n.type === "send_failed") {
          throw new RuntimeError(`send to ${ep} failed: message not delivered`);
        }
        continue;
      }
      const info = m.info;
      const stream = info?.stream ?? 0;
      const i = pending.findIndex((p) =>
        p.stream === stream && p.data.length === m.data.length &&
        p.data.every((b, j) => b === m.data[j])
      );
      o.onEvent({
        event: "echo",
        bytes: m.data.length,
        stream,
        ssn: info?.ssn ?? 0,
        flags: info?.flags ?? 0,
        ppid: info?.ppid ?? 0,
        assoc: info?.assocId ?? 0,
        data: payloadText(m.data),
      });
      if (i < 0) {
        throw new RuntimeError(
          `unexpected echo from ${ep}: ${m.data.length} bytes on stream ${stream} match nothing sent`,
        );
      }
      const p = pending.splice(i, 1)[0]!;
      if ((info?.ppid ?? 0) !== p.ppid) {
        throw new RuntimeError(
          `echo from ${ep} on stream ${stream} carried ppid ${info?.ppid ?? 0}, sent ${p.ppid}`,
        );
      }
      received++;
      poke();
    }
  })().catch((e) => {
    if (!stop.signal.aborted) failure = asError(e);
    poke();
  });

  let result: SctpSendResult;
  try {
    let next = 0;
    // Waits until at most `limit` echoes are outstanding (or a failure, or the timeout).
    const drain = async (limit: number) => {
      const deadline = Date.now() + o.timeoutMs;
      while (pending.length > limit && !failure && !o.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
      if (failure) throw failure;
      if (pending.length > limit && !o.signal.aborted) {
        throw new RuntimeError(
          `no echo from ${ep} for ${pending.length} of ${sent} messages within ${o.timeoutMs}ms`,
        );
      }
    };
    const window = Math.max(1, o.window ?? 1);
    for await (const data of o.messages) {
      if (failure) break;
      if (data.length === 0) continue;
      await drain(window - 1);
      const stream = o.stream ?? next++ % spread;
      const copy = data.slice();
      pending.push({ data: copy, stream, ppid });
      const opts: { stream: number; ppid: number; flags: number; ttl?: number } = {
        stream,
        ppid,
        flags,
      };
      if (o.ttlMs) opts.ttl = o.ttlMs;
      await sock.send(copy, opts, stop.signal);
      sent++;
    }
    await drain(0);
    result = { sent, received };
    if (o.status) {
      const status = sock.status();
      const paths = sock.peerAddresses().map((a) => {
        try {
          return sock.pathInfo(a.address, a.port);
        } catch {
          return { address: a.address, port: a.port, state: "?", cwnd: 0, srtt: 0, rto: 0, mtu: 0 };
        }
      });
      for (const p of paths) p.address = unmapV4(p.address);
      status.primary.address = unmapV4(status.primary.address);
      result.status = status;
      result.paths = paths;
    }
  } catch (e) {
    if (e instanceof SysError || e instanceof RuntimeError || !o.signal.aborted) throw e;
    result = { sent, received };
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    stop.abort();
    sock.close();
    await receiver;
  }
  return result;
}
