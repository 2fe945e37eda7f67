/**
 * `ping tcp|udp` through the synchronous libc prober (lib/ffi/ping/): the probes are sent,
 * waited for and received in a Worker, timed there right around send(2) and recv(2), and
 * the outcomes come back here in batches to become the same events and summary the
 * Deno-socket transport (./ping.ts) gives. The source address (`--bind`) and socket
 * options are set on the socket before it connects; a `connected` event (the one `send`
 * has: lib/net/sockopt/) reports the local address and every option as read back. What
 * does no I/O (outcomes to events, addresses, the run's end) is in ./fast_events.ts.
 *
 * @module
 */
import { RuntimeError, SysError } from "../../base/errors.ts";
import { ipFamily } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";
import { interfaceIndex } from "../../sys/interfaces.ts";
import { proberUnavailable, runProber } from "../../ffi/ping/client.ts";
import { type ConnectedEvent, connectedEvent, type SockoptRequest } from "../sockopt/sockopt.ts";
import { maxUdpPayload } from "../echo/client.ts";
import { type PingEvent, type PingSummary, PingTally, type ProbeSchedule } from "./ping.ts";
import {
  connectedAddress,
  finishRun,
  proberAddresses,
  tallyOutcomes,
  udpSizeError,
} from "./fast_events.ts";

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
    const tooBig = udpSizeError(o.size, maxUdpPayload(a.family), o.host, a);
    if (tooBig) throw tooBig;
  }
  const addresses = proberAddresses(resolved, interfaceIndex);
  let tally: PingTally | undefined;
  let address = resolved[0]!.address;
  const session = (Math.random() * 0xffffffff) >>> 0;
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
      address = connectedAddress(addresses, c.address, address);
      tally = new PingTally({
        proto: o.proto,
        address,
        port: o.port,
        timeoutMs: o.timeoutMs,
        onEvent: o.onEvent,
      });
      o.onConnected?.(connectedEvent(o.proto, { ...c, address, port: o.port }));
    },
    onOutcomes: (batch) => tallyOutcomes(tally!, batch),
  }).catch((err) => {
    if (o.signal.aborted && err instanceof SysError && err.code === "ECANCELED") return null;
    throw err;
  });
  if (done === null || tally === undefined) {
    throw new RuntimeError(`stopped before ${o.host} answered the connect`);
  }
  const { summary, error } = finishRun(tally, done, address, o.port);
  if (error) throw error;
  return summary;
}
