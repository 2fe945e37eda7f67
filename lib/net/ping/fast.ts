/**
 * `ping tcp|udp` through the synchronous libc prober (lib/ffi/ping/): the probes are sent,
 * waited for and received in a Worker, timed there right around send(2) and recv(2), and
 * the outcomes come back here in batches to become the same events and summary the
 * Deno-socket transport (./ping.ts) gives. The source address (`--bind`) and socket
 * options are set on the socket before it connects; a `connected` event (the one `send`
 * has: lib/net/sockopt/) reports the local address and every option as read back.
 *
 * @module
 */
import { formatEndpoint, RuntimeError, SysError, UsageError } from "../../base/errors.ts";
import { ipFamily } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";
import { interfaceIndex } from "../../sys/interfaces.ts";
import { type ProbeOutcome, proberUnavailable, runProber } from "../../ffi/ping/client.ts";
import { type ConnectedEvent, connectedEvent, type SockoptRequest } from "../sockopt/sockopt.ts";
import { maxUdpPayload } from "../echo/client.ts";
import { type PingEvent, type PingSummary, PingTally, type ProbeSchedule } from "./ping.ts";

/** Why the libc prober cannot run here, or null when it can. */
export function fastPingUnavailable(): string | null {
  return proberUnavailable();
}

/** Settings of {@link fastPing}. */
export interface FastPingOptions extends ProbeSchedule {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  family?: 4 | 6 | undefined;
  /** Source address and port, bound before connect (`--bind`). */
  bind?: { address: string; port: number } | undefined;
  /** Socket options set before connect. */
  sockopts?: SockoptRequest | undefined;
  /** Aborting stops the run; the summary still comes. */
  signal: AbortSignal;
  /** Called once the host is resolved and the socket connected, before any probe. */
  onConnected?: (ev: ConnectedEvent) => void;
  /** Receives every probe event, the summary last. */
  onEvent: (ev: PingEvent) => void;
}

/**
 * Resolves `host`, connects the prober's socket (TCP: each address in turn) and runs the
 * probes; resolves to the summary (also emitted). Throws the setup's `SysError`, or, when
 * the peer resets or closes a TCP connection, that error after the summary.
 */
export async function fastPing(o: FastPingOptions): Promise<PingSummary> {
  const family = o.family ?? (o.bind ? ipFamily(o.bind.address) as 4 | 6 : undefined);
  const resolved = await resolveHost(o.host, family);
  if (resolved.length === 0) {
    throw new SysError("getaddrinfo", "EAI_NONAME", { address: o.host });
  }
  if (o.proto === "udp") {
    const a = resolved[0]!;
    const max = maxUdpPayload(a.family);
    if (o.size > max) {
      throw new UsageError(
        `invalid --size "${o.size}": must be 12-${max} (${o.host} is IPv${a.family} ${a.address})`,
      );
    }
  }
  const addresses = resolved.map((a) => {
    const [text, zone] = a.address.split("%");
    const scopeId = zone === undefined || zone === ""
      ? 0
      : /^\d+$/.test(zone)
      ? Number(zone)
      : interfaceIndex(zone);
    return { address: zone === undefined ? a.address : text!, family: a.family, scopeId };
  });
  let tally: PingTally | undefined;
  let address = resolved[0]!.address;
  const session = (Math.random() * 0xffffffff) >>> 0;
  const onOutcomes = (batch: ProbeOutcome[]) => {
    const t = tally!;
    for (const x of batch) {
      switch (x.k) {
        case "reply":
          t.verdict({ kind: "reply", seq: x.seq, rtt: x.rttNs / 1e6 }, x.bytes);
          break;
        case "late":
          t.verdict({ kind: "late", seq: x.seq, rtt: x.rttNs / 1e6 }, 0);
          break;
        case "duplicate":
          t.verdict({ kind: "duplicate", seq: x.seq }, 0);
          break;
        case "corrupt":
          t.verdict({ kind: "corrupt", seq: x.seq, reason: x.reason }, x.bytes);
          break;
        case "timeout":
          t.timeout(x.seq);
          break;
        case "refused":
          t.refused(x.seq);
          break;
      }
    }
  };
  const done = await runProber({
    proto: o.proto,
    addresses,
    port: o.port,
    bind: o.bind,
    sockopts: o.sockopts,
    count: o.count,
    intervalMs: o.intervalMs,
    size: o.size,
    timeoutMs: o.timeoutMs,
    session,
    signal: o.signal,
    onConnected: (c) => {
      address = addresses.find((a) => a.address === c.address) ? c.address : address;
      tally = new PingTally({
        proto: o.proto,
        address,
        port: o.port,
        timeoutMs: o.timeoutMs,
        onEvent: o.onEvent,
      });
      o.onConnected?.(connectedEvent(o.proto, { ...c, address, port: o.port }));
    },
    onOutcomes,
  }).catch((err) => {
    if (o.signal.aborted && err instanceof SysError && err.code === "ECANCELED") return null;
    throw err;
  });
  if (done === null || tally === undefined) {
    throw new RuntimeError(`stopped before ${o.host} answered the connect`);
  }
  tally.sent = done.sent;
  const summary = tally.finish(done.elapsedMs);
  if (done.error) {
    if (done.error.code === "EOF") {
      throw new RuntimeError(`${formatEndpoint(address, o.port)} closed the connection`);
    }
    throw done.error;
  }
  return summary;
}
