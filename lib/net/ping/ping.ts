/**
 * Echo ping: probes with a sequence number go to an echo server, each echo is checked
 * byte for byte and timed, and a ping(8)-style summary with percentiles comes out.
 * The probe logic is transport-independent; TCP and UDP transports are here, and other
 * protocols (SCTP) can supply their own {@link ProbeTransport}.
 *
 * Probe layout (SIZE bytes, SIZE >= 12): "SBXP", session id (u32 BE), sequence (u32 BE),
 * then a filler derived from the sequence number.
 *
 * @module
 */
import { ms3, summarize } from "../../base/stats.ts";
import { makeProbe, ProbeBook, type ProbeVerdict } from "../../base/probe_book.ts";
import { formatEndpoint, toSysError, UsageError } from "../../base/errors.ts";
import { plural } from "../../base/text.ts";
import { resolveHost } from "../../sys/resolver.ts";
import {
  connectTcp,
  isRefused,
  maxUdpPayload,
  openUdpPeer,
  sameAddress,
  UdpClient,
  type UdpPeer,
} from "../echo/client.ts";

/** When and how big probes are: `-c`, `-i`, `-s`, `--timeout` of every `ping`. */
export interface ProbeSchedule {
  /** Probes to send; Infinity = until the signal aborts. */
  count: number;
  /** Pause between probes (ms); 0 sends the next as soon as the last is answered or lost. */
  intervalMs: number;
  /** Probe size in bytes, at least {@link MIN_PROBE}. */
  size: number;
  /** A probe not answered within this many ms is lost. */
  timeoutMs: number;
}

export { makeProbe, MIN_PROBE } from "../../base/probe_book.ts";

/**
 * What a transport yields for a probe the peer's host refused (UDP: an ICMP port
 * unreachable reached the connected socket): the oldest unanswered probe is `refused`.
 */
export const REFUSED = "refused" as const;

/** How probes travel: send one, and yield every echoed frame. */
export interface ProbeTransport {
  /** Sends one probe. */
  send(probe: Uint8Array): Promise<void>;
  /**
   * Every frame that comes back, in arrival order, and {@link REFUSED} for each refusal
   * the peer's host reports; ends when the peer closes.
   */
  frames(): AsyncIterable<Uint8Array | "refused">;
  /** Releases the socket; `frames()` then ends. */
  close(): void;
}

/** Events a ping run reports. */
export type PingEvent =
  | { event: "reply"; seq: number; bytes: number; rtt_ms: number; from: string; port: number }
  | { event: "timeout"; seq: number; timeout_ms: number }
  | { event: "late"; seq: number; rtt_ms: number }
  | { event: "duplicate"; seq: number }
  | { event: "refused"; seq: number; from: string; port: number }
  | { event: "corrupt"; seq: number | null; bytes: number; reason: string }
  | PingSummary;

/** The closing statistics. */
export interface PingSummary {
  /** Always "summary". */
  event: "summary";
  /** The transport: "tcp", "udp", "sctp". */
  proto: string;
  /** The address probed. */
  address: string;
  /** The port probed. */
  port: number;
  /** Probes sent. */
  sent: number;
  /** Probes answered in time. */
  received: number;
  /** Probes not answered in time (late ones included); refused ones are not lost. */
  lost: number;
  /** Probes the peer's host refused (ICMP port unreachable): nothing listens there. */
  refused: number;
  /** Echoes that came after their timeout. */
  late: number;
  /** Echoes of a probe already answered. */
  duplicates: number;
  /** Frames that were not an exact echo of one of our probes. */
  corrupt: number;
  /** `lost` as a percentage of `sent`, one decimal. */
  loss_pct: number;
  /** Wall time of the run. */
  time_ms: number;
  /** Shortest round trip (absent when nothing came back). */
  min_ms?: number;
  /** Mean round trip. */
  avg_ms?: number;
  /** Longest round trip. */
  max_ms?: number;
  /** Mean deviation of the round trips, as ping(8) reports it. */
  mdev_ms?: number;
  /** Median round trip. */
  p50_ms?: number;
  /** 90th percentile round trip. */
  p90_ms?: number;
  /** 99th percentile round trip. */
  p99_ms?: number;
}

/** Parameters of a ping run. */
export interface PingOptions extends ProbeSchedule {
  /** The transport's name, for the summary. */
  proto: string;
  /** The address probed, for events and the summary. */
  address: string;
  /** The port probed. */
  port: number;
  /** Aborting stops sending; the run then waits for nothing and summarizes. */
  signal: AbortSignal;
  /** Receives every event, the summary last. */
  onEvent: (ev: PingEvent) => void;
}

/**
 * Runs probes over `transport` and returns the summary (also emitted).
 *
 * @example
 * ```ts
 * import { connectTcp } from "../echo/client.ts";
 * import { runPing, tcpTransport } from "./ping.ts";
 * const t = await connectTcp("127.0.0.1", 7, { timeoutMs: 2000 });
 * const summary = await runPing(tcpTransport(t.conn, 64, t), {
 *   proto: "tcp", address: t.address, port: t.port, count: 5, intervalMs: 100, size: 64,
 *   timeoutMs: 2000, signal: new AbortController().signal, onEvent: console.log,
 * });
 * console.log(summary.p99_ms);
 * ```
 */
export async function runPing(transport: ProbeTransport, o: PingOptions): Promise<PingSummary> {
  const session = (Math.random() * 0xffffffff) >>> 0;
  const book = new ProbeBook(o.size, session);
  const tally = new PingTally(o);
  const timers = new Map<number, ReturnType<typeof setTimeout>>();
  let settle: (() => void) | null = null;
  const started = performance.now();

  let closing = false;
  let receiverError: unknown = null;
  const settled = () => {
    settle?.();
    settle = null;
  };
  const done = (seq: number) => {
    clearTimeout(timers.get(seq));
    timers.delete(seq);
  };

  const receiver = (async () => {
    try {
      for await (const frame of transport.frames()) {
        const now = performance.now();
        if (frame === REFUSED) {
          const seq = book.refuse();
          if (seq === null) continue;
          done(seq);
          tally.refused(seq);
          settled();
          continue;
        }
        const v = book.frame(frame, now);
        if (v.kind === "reply") done(v.seq);
        tally.verdict(v, frame.length);
        if (v.kind === "reply") settled();
      }
    } catch (err) {
      if (!o.signal.aborted && !closing) throw err;
    }
  })();
  receiver.catch((e) => {
    receiverError = e;
    settled();
  });

  const sleep = (ms: number) =>
    new Promise<void>((res) => {
      const t = setTimeout(done, ms);
      function done() {
        o.signal.removeEventListener("abort", done);
        clearTimeout(t);
        res();
      }
      o.signal.addEventListener("abort", done, { once: true });
    });

  try {
    for (let seq = 1; seq <= o.count && !o.signal.aborted; seq++) {
      if (receiverError) throw receiverError;
      const probe = makeProbe(o.size, session, seq);
      const timer = setTimeout(() => {
        timers.delete(seq);
        if (!book.timeout(seq)) return;
        tally.timeout(seq);
        settled();
      }, o.timeoutMs);
      timers.set(seq, timer);
      book.sent(seq, performance.now());
      tally.sent++;
      await transport.send(probe);
      if (seq === o.count) break;
      if (o.intervalMs > 0) await sleep(o.intervalMs);
      else {
        while (book.inFlight.has(seq) && !o.signal.aborted && !receiverError) {
          await new Promise<void>((r) => (settle = r));
        }
      }
    }
    // Wait for the last answers (or their timeouts).
    while (book.inFlight.size > 0 && !o.signal.aborted && !receiverError) {
      await new Promise<void>((r) => (settle = r));
    }
    if (receiverError) throw receiverError;
  } finally {
    for (const t of timers.values()) clearTimeout(t);
    closing = true;
    transport.close();
    await receiver.catch(() => {});
  }
  return tally.finish(performance.now() - started);
}

/**
 * Turns what a ping run sees into events and counts them: every transport (./fast.ts
 * too) reports through one of these, so events and the summary are built in one place.
 */
export class PingTally {
  /** Probes sent. */
  sent = 0;
  readonly rtts: number[] = [];
  #late = 0;
  #dups = 0;
  #corrupt = 0;
  #refused = 0;
  readonly #o: Pick<PingOptions, "proto" | "address" | "port" | "timeoutMs" | "onEvent">;

  /** Emits through `o.onEvent`. */
  constructor(o: Pick<PingOptions, "proto" | "address" | "port" | "timeoutMs" | "onEvent">) {
    this.#o = o;
  }

  /** A probe that came back as `v` (`bytes` long); `rtt` in ms. */
  verdict(v: ProbeVerdict, bytes: number): void {
    const o = this.#o;
    switch (v.kind) {
      case "reply":
        this.rtts.push(v.rtt);
        o.onEvent({
          event: "reply",
          seq: v.seq,
          bytes,
          rtt_ms: ms3(v.rtt),
          from: o.address,
          port: o.port,
        });
        return;
      case "late":
        this.#late++;
        o.onEvent({ event: "late", seq: v.seq, rtt_ms: ms3(v.rtt) });
        return;
      case "duplicate":
        this.#dups++;
        o.onEvent({ event: "duplicate", seq: v.seq });
        return;
      case "corrupt":
        this.#corrupt++;
        o.onEvent({ event: "corrupt", seq: v.seq, bytes, reason: v.reason });
        return;
      case "ignored":
        return;
    }
  }

  /** Probe `seq` was not answered in time. */
  timeout(seq: number): void {
    this.#o.onEvent({ event: "timeout", seq, timeout_ms: this.#o.timeoutMs });
  }

  /** Probe `seq` was refused by the peer's host. */
  refused(seq: number): void {
    this.#refused++;
    this.#o.onEvent({ event: "refused", seq, from: this.#o.address, port: this.#o.port });
  }

  /** Emits and returns the summary of a run that took `elapsedMs`. */
  finish(elapsedMs: number): PingSummary {
    const o = this.#o;
    const sent = this.sent;
    const lost = sent - this.rtts.length - this.#refused;
    const s = summarize(this.rtts);
    const summary: PingSummary = {
      event: "summary",
      proto: o.proto,
      address: o.address,
      port: o.port,
      sent,
      received: this.rtts.length,
      lost,
      refused: this.#refused,
      late: this.#late,
      duplicates: this.#dups,
      corrupt: this.#corrupt,
      loss_pct: sent ? Math.round((lost / sent) * 1000) / 10 : 0,
      time_ms: Math.round(elapsedMs),
    };
    if (s) {
      Object.assign(summary, {
        min_ms: ms3(s.min),
        avg_ms: ms3(s.avg),
        max_ms: ms3(s.max),
        mdev_ms: ms3(s.mdev),
        p50_ms: ms3(s.p50),
        p90_ms: ms3(s.p90),
        p99_ms: ms3(s.p99),
      });
    }
    o.onEvent(summary);
    return summary;
  }
}

/** Probes over a connected TCP stream: each echo frame is `size` bytes. */
export function tcpTransport(
  conn: Deno.Conn,
  size: number,
  ep: { address: string; port: number },
): ProbeTransport {
  return {
    async send(probe) {
      try {
        let off = 0;
        while (off < probe.length) off += await conn.write(probe.subarray(off));
      } catch (err) {
        throw toSysError(err, "send", ep);
      }
    },
    async *frames() {
      const buf = new Uint8Array(size);
      for (;;) {
        let got = 0;
        while (got < size) {
          let r: number | null;
          try {
            r = await conn.read(buf.subarray(got));
          } catch (err) {
            throw toSysError(err, "recv", ep);
          }
          if (r === null) return;
          got += r;
        }
        yield buf;
      }
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * Probes over a {@link UdpPeer} (a connected UDP socket where libc is reachable): each
 * datagram from the peer is an echo; an ICMP port unreachable is yielded as
 * {@link REFUSED}, whether the wait for an echo or the next send sees it.
 */
export function udpPeerTransport(peer: UdpPeer): ProbeTransport {
  let closed = false;
  let refusedOnSend = 0;
  return {
    async send(probe) {
      try {
        await peer.send(probe);
      } catch (err) {
        if (!isRefused(err)) throw err;
        // The refusal of an earlier probe, reported here: note it, then send this one.
        refusedOnSend++;
        await peer.send(probe);
      }
    },
    async *frames() {
      while (!closed) {
        for (; refusedOnSend > 0; refusedOnSend--) yield REFUSED;
        let d: Uint8Array | null;
        try {
          d = await peer.receive(250);
        } catch (err) {
          if (closed) return;
          if (!isRefused(err)) throw err;
          yield REFUSED;
          continue;
        }
        if (d !== null) yield d;
      }
    },
    close() {
      closed = true;
      peer.close();
    },
  };
}

/** Probes over UDP: datagrams from the target are the echoes, others are ignored. */
export function udpTransport(
  client: UdpClient,
  ep: { address: string; port: number },
): ProbeTransport {
  let closed = false;
  return {
    send: (probe) => client.send(probe, ep.address, ep.port),
    async *frames() {
      while (!closed) {
        const d = await client.receive(1000);
        if (d === null) continue;
        if (!sameAddress(d.address, ep.address) || d.port !== ep.port) continue;
        yield d.data;
      }
    },
    close() {
      closed = true;
      client.close();
    },
  };
}

/** Where {@link openTransport} sends probes. */
export interface TransportTarget {
  /** The transport. */
  proto: "tcp" | "udp";
  /** Host name or address. */
  host: string;
  /** The echo server's port. */
  port: number;
  /** Use only IPv4 or only IPv6 addresses of `host`. */
  family?: 4 | 6 | undefined;
  /** Probe size in bytes (TCP reads echoes in frames of this size). */
  size: number;
  /** Limit (ms) for the TCP connect. */
  timeoutMs: number;
  /** Aborting stops a TCP connect in progress. */
  signal: AbortSignal;
  /** TCP: opens the connection instead of a plain connect (TLS: lib/net/tls/client.ts). */
  connect?: (() => Promise<{ conn: Deno.Conn; address: string; port: number }>) | undefined;
}

/**
 * Opens the transport a `ping tcp|udp` run uses: TCP connects to the first address of
 * `host` that accepts; UDP binds a socket for the first address. Resolves to the
 * transport and the address it talks to.
 */
export async function openTransport(
  o: TransportTarget,
): Promise<{ transport: ProbeTransport; address: string }> {
  if (o.proto === "tcp") {
    const t = o.connect ? await o.connect() : await connectTcp(o.host, o.port, {
      family: o.family,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
    });
    return {
      transport: tcpTransport(t.conn, o.size, { address: t.address, port: o.port }),
      address: t.address,
    };
  }
  const a = (await resolveHost(o.host, o.family))[0]!;
  const max = maxUdpPayload(a.family);
  if (o.size > max) {
    // The family is known only now, for a name: the same message the parser gives a literal.
    throw new UsageError(
      `invalid --size "${o.size}": must be 12-${max} (${o.host} is IPv${a.family} ${a.address})`,
    );
  }
  return {
    transport: udpPeerTransport(openUdpPeer(a.address, a.family, o.port)),
    address: a.address,
  };
}

/** The human line for a ping event. */
export function pingEventText(ev: PingEvent): string {
  switch (ev.event) {
    case "reply":
      return `${ev.bytes} bytes from ${formatEndpoint(ev.from, ev.port)}: seq=${ev.seq} time=${
        ev.rtt_ms.toFixed(3)
      } ms`;
    case "timeout":
      return `no echo for seq=${ev.seq} within ${ev.timeout_ms}ms`;
    case "late":
      return `late echo for seq=${ev.seq} after ${ev.rtt_ms.toFixed(3)} ms (counted as lost)`;
    case "duplicate":
      return `duplicate echo for seq=${ev.seq}`;
    case "refused":
      return `seq=${ev.seq} refused by ${
        formatEndpoint(ev.from, ev.port)
      } (port unreachable: nothing listens there)`;
    case "corrupt":
      return `bad echo${
        ev.seq === null ? "" : ` for seq=${ev.seq}`
      } (${ev.bytes} bytes): ${ev.reason}`;
    case "summary": {
      const lines = [
        `--- ${formatEndpoint(ev.address, ev.port)} ${ev.proto} ping statistics ---`,
        `${plural(ev.sent, "probe")} sent, ${ev.received} received, ${ev.loss_pct}% loss` +
        (ev.refused ? `, ${ev.refused} refused` : "") +
        (ev.late ? `, ${ev.late} late` : "") +
        (ev.duplicates ? `, ${plural(ev.duplicates, "duplicate")}` : "") +
        (ev.corrupt ? `, ${ev.corrupt} corrupt` : "") + `, time ${ev.time_ms}ms`,
      ];
      if (ev.min_ms !== undefined) {
        const f = (x: number | undefined) => (x ?? 0).toFixed(3);
        lines.push(
          `rtt min/avg/max/mdev = ${f(ev.min_ms)}/${f(ev.avg_ms)}/${f(ev.max_ms)}/${
            f(ev.mdev_ms)
          } ms`,
          `rtt p50/p90/p99 = ${f(ev.p50_ms)}/${f(ev.p90_ms)}/${f(ev.p99_ms)} ms`,
        );
      }
      return lines.join("\n");
    }
  }
}
