/**
 * The probes behind `check`: one cell (an address and a transport) is a connection (TCP,
 * SCTP) or a connected UDP socket, `count` echo probes checked byte for byte, and, when
 * something fails, the reason the kernel can give (see classify.ts); one path is the UDP
 * path MTU search (see mtu.ts). Every socket has its error queue on (IP_RECVERR), so an
 * ICMP error names its code and sender.
 *
 * @module
 */
import { SysError } from "../../base/errors.ts";
import { summarize } from "../../base/stats.ts";
import { payloadText } from "../../base/text.ts";
import { ProbeSocket } from "../../ffi/probe.ts";
import {
  type CallError,
  type CellResult,
  classify,
  type Failure,
  isIcmp,
  isTooBig,
  type Proto,
  type QueuedError,
} from "./classify.ts";
import { type MtuOutcome, MtuSearch } from "./mtu.ts";

/** What one cell probes. */
export interface CellOptions {
  address: string;
  family: 4 | 6;
  port: number;
  proto: Proto;
  /** Echo probes to send (each waits up to `timeoutMs` for its echo). */
  count: number;
  /** How long to wait for an answer: the handshake, each echo. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** What one cell found. */
export interface CellOutcome {
  result: CellResult;
  /** Probes sent. */
  sent: number;
  /** Probes echoed byte for byte. */
  received: number;
  /** Median round-trip time of the echoed probes, ms; null when none came back. */
  rttMs: number | null;
  /** Why the cell is not ok (null when it is). */
  reason: string | null;
  /** Who sent the ICMP error, when the kernel tells. */
  from: string | null;
}

/** What one path MTU search found. */
export interface PathOutcome {
  /** The kernel's path MTU after the probes (IP_MTU / IPV6_MTU), or null. */
  mtu: number | null;
  /** The largest UDP payload echoed with don't-fragment set, or null. */
  maxPayload: number | null;
  /** The router that said "fragmentation needed" / "packet too big", or null. */
  from: string | null;
}

/** UDP datagrams are paced this far apart at most (less when the timeout is shorter). */
const UDP_INTERVAL_MS = 200;
/** The first, small, MTU probe. */
const MTU_FLOOR = 64;
const enc = new TextEncoder();
const TIMEOUT = Symbol("timeout");

function session(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Probe `seq`'s bytes: printable text ending in a newline, padded to `size` if asked. */
export function probePayload(id: string, proto: string, seq: number, size = 0): Uint8Array {
  const head = enc.encode(`sockbox check ${id} ${proto} ${seq}\n`);
  if (size <= head.length) return head;
  const out = new Uint8Array(size);
  out.fill(0x2e); // "."
  out.set(head.subarray(0, head.length - 1));
  out[size - 1] = 0x0a;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fmtMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Waits for `ready` (a readiness wait of the socket) until `deadline` (a performance.now()
 * value); false when the deadline came first. Rejects when `signal` aborts.
 */
async function readyBefore(
  ready: (signal: AbortSignal) => Promise<void>,
  deadline: number,
  signal: AbortSignal,
): Promise<boolean> {
  const ms = deadline - performance.now();
  if (ms <= 0) return false;
  signal.throwIfAborted();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(TIMEOUT), ms);
  const onAbort = () => ac.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await ready(ac.signal);
    return true;
  } catch (e) {
    if (ac.signal.reason === TIMEOUT && !signal.aborted) return false;
    throw e;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** {@link readyBefore} for reading: data, EOF or an error. */
function readableBefore(
  sock: ProbeSocket,
  deadline: number,
  signal: AbortSignal,
): Promise<boolean> {
  return readyBefore((s) => sock.readable(s), deadline, signal);
}

function callError(e: unknown): CallError {
  if (e instanceof SysError) return { syscall: e.syscall, code: e.code };
  throw e;
}

/** The first ICMP error queued (or else the first local one), if any. */
function firstQueued(sock: ProbeSocket): QueuedError | null {
  const all = sock.errors();
  return all.find(isIcmp) ?? all[0] ?? null;
}

function failed(f: Failure, sent: number, received = 0): CellOutcome {
  return { result: f.result, sent, received, rttMs: null, reason: f.reason, from: f.from };
}

function localOf(sock: ProbeSocket): string | undefined {
  try {
    return sock.localAddress();
  } catch {
    return undefined;
  }
}

/**
 * Probes one cell: opens the socket, connects, sends `count` echo probes one after the
 * other (UDP: paced, and matched by content) and classifies the result.
 *
 * @example
 * ```ts ignore
 * const r = await probeCell({
 *   address: "192.0.2.7", family: 4, port: 7, proto: "udp",
 *   count: 3, timeoutMs: 2000, signal: AbortSignal.timeout(10_000),
 * });
 * // { result: "rejected", reason: "ICMP admin-prohibited", from: "192.0.2.1", sent: 1, ... }
 * ```
 */
export async function probeCell(o: CellOptions): Promise<CellOutcome> {
  let sock: ProbeSocket;
  try {
    sock = ProbeSocket.open(o.family, o.proto);
  } catch (e) {
    return failed(classify(o.proto, callError(e), null), 0);
  }
  try {
    return o.proto === "udp" ? await probeUdp(sock, o) : await probeStream(sock, o);
  } finally {
    sock.close();
  }
}

async function connect(sock: ProbeSocket, o: CellOptions): Promise<Failure | null> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(TIMEOUT), o.timeoutMs);
  const onAbort = () => ac.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await sock.connect(o.address, o.port, ac.signal);
    return null;
  } catch (e) {
    if (ac.signal.reason === TIMEOUT && !o.signal.aborted) {
      const q = firstQueued(sock);
      const f = classify(o.proto, null, q, localOf(sock));
      return q ? f : { ...f, reason: `no answer within ${fmtMs(o.timeoutMs)}` };
    }
    if (o.signal.aborted) throw e;
    return classify(o.proto, callError(e), firstQueued(sock), localOf(sock));
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onAbort);
  }
}

/** TCP and SCTP: a connection, then each probe waits for its echo. */
async function probeStream(sock: ProbeSocket, o: CellOptions): Promise<CellOutcome> {
  const refused = await connect(sock, o);
  if (refused) return failed(refused, 0);
  const id = session();
  const rtts: number[] = [];
  const buf = new Uint8Array(4096);
  let sent = 0;
  let notEcho: string | null = null;
  for (let seq = 0; seq < o.count && notEcho === null; seq++) {
    const probe = probePayload(id, o.proto, seq);
    const t0 = performance.now();
    try {
      let off = 0;
      while (off < probe.length) {
        const n = sock.trySend(probe.subarray(off));
        if (n !== null) off += n;
        else if (!(await readyBefore((s) => sock.writable(s), t0 + o.timeoutMs, o.signal))) break;
      }
      if (off < probe.length) {
        notEcho = `the probe could not be sent within ${
          fmtMs(o.timeoutMs)
        } (the peer reads nothing)`;
        break;
      }
      sent++;
      // TCP may split or join the echo; an SCTP message arrives whole.
      const got = new Uint8Array(probe.length);
      let have = 0;
      const deadline = t0 + o.timeoutMs;
      while (have < probe.length) {
        const r = sock.tryRecv(buf);
        if (r === null) {
          if (await readableBefore(sock, deadline, o.signal)) continue;
          notEcho = have === 0
            ? `nothing came back within ${fmtMs(o.timeoutMs)}`
            : `only ${have} of ${probe.length} bytes came back: ${
              JSON.stringify(payloadText(got.subarray(0, have), 60))
            }`;
          break;
        }
        if (r.notification) continue;
        if (r.eof) {
          notEcho = have === 0
            ? "closed without echoing"
            : `closed after ${have} of ${probe.length} bytes`;
          break;
        }
        const take = Math.min(r.data.length, probe.length - have);
        got.set(r.data.subarray(0, take), have);
        have += take;
        const extra = r.data.length > take ||
          (o.proto === "sctp" && r.data.length !== probe.length);
        if (!sameBytes(got.subarray(0, have), probe.subarray(0, have)) || extra) {
          notEcho = `answered ${JSON.stringify(payloadText(r.data, 60))}`;
          break;
        }
      }
      if (notEcho === null) rtts.push(performance.now() - t0);
    } catch (e) {
      if (o.signal.aborted) throw e;
      const f = classify(o.proto, callError(e), firstQueued(sock), localOf(sock));
      if (rtts.length > 0) break;
      return failed(f, sent);
    }
  }
  if (rtts.length === 0) {
    return failed({ result: "not-echo", reason: notEcho ?? "no echo", from: null }, sent);
  }
  return ok(sent, rtts);
}

function ok(sent: number, rtts: number[]): CellOutcome {
  return {
    result: "ok",
    sent,
    received: rtts.length,
    rttMs: summarize(rtts)!.p50,
    reason: null,
    from: null,
  };
}

/**
 * UDP: `count` datagrams, one every UDP_INTERVAL_MS, each matched by content; then wait up
 * to the timeout after the last one. An ICMP error ends the cell at once.
 */
async function probeUdp(sock: ProbeSocket, o: CellOptions): Promise<CellOutcome> {
  try {
    await sock.connect(o.address, o.port, o.signal);
  } catch (e) {
    if (o.signal.aborted) throw e;
    return failed(classify("udp", callError(e), null), 0);
  }
  const id = session();
  const probes = Array.from({ length: o.count }, (_, seq) => probePayload(id, "udp", seq));
  const sentAt: number[] = [];
  const rtts = new Map<number, number>();
  const interval = Math.min(UDP_INTERVAL_MS, o.timeoutMs);
  const buf = new Uint8Array(65536);
  let stray: Uint8Array | null = null;
  let deadline = 0;
  try {
    for (;;) {
      const now = performance.now();
      if (sentAt.length < o.count && (sentAt.length === 0 || now >= sentAt.at(-1)! + interval)) {
        const seq = sentAt.length;
        if (sock.trySend(probes[seq]!) !== null) {
          sentAt.push(performance.now());
          deadline = sentAt.at(-1)! + o.timeoutMs;
        }
      }
      for (;;) {
        const r = sock.tryRecv(buf);
        if (r === null) break;
        const seq = probes.findIndex((p) => sameBytes(p, r.data));
        if (seq >= 0 && seq < sentAt.length) {
          if (!rtts.has(seq)) rtts.set(seq, performance.now() - sentAt[seq]!);
        } else stray ??= r.data.slice();
      }
      const q = firstQueued(sock);
      if (q && isIcmp(q) && rtts.size === 0) {
        return failed(classify("udp", null, q, localOf(sock)), sentAt.length);
      }
      if (rtts.size === o.count) break;
      const wake = sentAt.length < o.count ? sentAt.at(-1)! + interval : deadline;
      if (!(await readableBefore(sock, wake, o.signal)) && sentAt.length === o.count) break;
    }
  } catch (e) {
    if (o.signal.aborted) throw e;
    // A pending error (ECONNREFUSED, EHOSTUNREACH) surfaced in send or recv.
    const f = classify("udp", callError(e), firstQueued(sock), localOf(sock));
    if (rtts.size === 0) return failed(f, sentAt.length);
  }
  if (rtts.size > 0) return ok(sentAt.length, [...rtts.values()]);
  if (stray) {
    return failed(
      {
        result: "not-echo",
        reason: `answered ${JSON.stringify(payloadText(stray, 60))}`,
        from: null,
      },
      sentAt.length,
    );
  }
  return failed(
    { result: "filtered", reason: `no answer within ${fmtMs(o.timeoutMs)}`, from: null },
    sentAt.length,
  );
}

/** What one path search probes. */
export interface PathOptions {
  address: string;
  family: 4 | 6;
  port: number;
  /** How long to wait for each probe's echo. */
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Finds the largest UDP payload that is echoed with don't-fragment set, the kernel's path
 * MTU afterwards, and the router that said "too big".
 *
 * @example
 * ```ts ignore
 * const p = await probePath({
 *   address: "192.0.2.7", family: 4, port: 7, timeoutMs: 2000, signal: AbortSignal.timeout(60_000),
 * });
 * // { mtu: 1400, maxPayload: 1372, from: "192.0.2.1" }
 * ```
 */
export async function probePath(o: PathOptions): Promise<PathOutcome> {
  using sock = ProbeSocket.open(o.family, "udp");
  await sock.connect(o.address, o.port, o.signal);
  sock.probePathMtu();
  const header = o.family === 4 ? 28 : 48;
  // The largest UDP payload: IPv4's total length and IPv6's payload length are 16 bits.
  const ceiling = o.family === 4 ? 65507 : 65527;
  const search = new MtuSearch({ floor: MTU_FLOOR, ceiling, header });
  const id = session();
  const buf = new Uint8Array(65536);
  let seq = 0;
  for (let size = search.next(); size !== null; size = search.next()) {
    search.record(size, await mtuProbe(sock, probePayload(id, "mtu", seq++, size), buf, o));
  }
  let mtu: number | null = null;
  try {
    mtu = sock.pathMtu();
  } catch {
    // Not connected any more (the route went away): no path MTU to report.
  }
  return { mtu, maxPayload: search.maxPayload, from: search.from };
}

async function mtuProbe(
  sock: ProbeSocket,
  probe: Uint8Array,
  buf: Uint8Array,
  o: PathOptions,
): Promise<MtuOutcome> {
  sock.errors(); // what earlier probes left behind
  // "Too big" (from a router, or from this host for a datagram beyond the interface MTU)
  // carries the MTU to try next; any other error means this size says nothing.
  const queued = (): MtuOutcome | null => {
    const all = sock.errors();
    const big = all.find(isTooBig);
    if (big) {
      return {
        kind: "too-big",
        mtu: big.info || undefined,
        from: isIcmp(big) ? big.offender : null,
      };
    }
    return all.length > 0 ? { kind: "lost" } : null;
  };
  try {
    if (sock.trySend(probe) === null) return { kind: "lost" };
  } catch (e) {
    if (o.signal.aborted) throw e;
    return queued() ?? { kind: "lost" };
  }
  const deadline = performance.now() + o.timeoutMs;
  for (;;) {
    try {
      for (;;) {
        const r = sock.tryRecv(buf);
        if (r === null) break;
        if (sameBytes(r.data, probe)) return { kind: "echo" };
      }
    } catch (e) {
      if (o.signal.aborted) throw e;
      // A pending error: the queued entry below says what it was.
    }
    const q = queued();
    if (q) return q;
    if (!(await readableBefore(sock, deadline, o.signal))) return { kind: "lost" };
  }
}
