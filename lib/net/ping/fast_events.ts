/**
 * The pure half of `ping tcp|udp` through the libc prober (./fast.ts): the addresses the
 * prober is given, the probe size a UDP peer can take, the address the events name, what
 * each batch of prober outcomes becomes (ping events and the running counts of a
 * {@link PingTally}), and how a run ends. Nothing here resolves a name, opens a socket or
 * starts a Worker.
 *
 * @module
 */
import { formatEndpoint, RuntimeError, type SysError, UsageError } from "../../base/errors.ts";
import type { ProbeOutcome, ProberAddress, ProberDone } from "../../ffi/ping/client.ts";
import type { PingSummary, PingTally } from "./ping.ts";

/** An address as the resolver gives it (`fe80::1%eth0` carries its zone). */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * The prober's form of each resolved address, in order: the zone of a link-local IPv6
 * address (RFC 4007 `%zone`) is cut off and becomes its scope id, a number as it is, a
 * name through `interfaceIndex` (if_nametoindex(3)); without a zone the scope id is 0.
 *
 * @example
 * ```ts
 * import { proberAddresses } from "./fast_events.ts";
 * proberAddresses([{ address: "fe80::1%3", family: 6 }], () => 0);
 * // [{ address: "fe80::1", family: 6, scopeId: 3 }]
 * ```
 */
export function proberAddresses(
  resolved: readonly ResolvedAddress[],
  interfaceIndex: (name: string) => number,
): ProberAddress[] {
  return resolved.map((a) => {
    const [text, zone] = a.address.split("%");
    const scopeId = zone === undefined || zone === ""
      ? 0
      : /^\d+$/.test(zone)
      ? Number(zone)
      : interfaceIndex(zone);
    return { address: zone === undefined ? a.address : text!, family: a.family, scopeId };
  });
}

/**
 * The usage error for a UDP probe of `size` bytes larger than `max`, the largest payload
 * to `to` (see `maxUdpPayload`), or null when it fits.
 */
export function udpSizeError(
  size: number,
  max: number,
  host: string,
  to: ResolvedAddress,
): UsageError | null {
  if (size <= max) return null;
  return new UsageError(
    `invalid --size "${size}": must be 12-${max} (${host} is IPv${to.family} ${to.address})`,
  );
}

/**
 * The address the events and the summary name once the prober has connected to
 * `connected`: that address when it is one of `addresses` (the prober's, zones cut off),
 * else `fallback`.
 */
export function connectedAddress(
  addresses: readonly ProberAddress[],
  connected: string,
  fallback: string,
): string {
  return addresses.some((a) => a.address === connected) ? connected : fallback;
}

/**
 * Reports each outcome of `batch` through `tally`, in order: its event and its count.
 * Round trips come in ns and are reported in ms; a `sent` outcome is neither an event nor
 * counted (the number sent comes with the run's end, see {@link finishRun}).
 *
 * @example
 * ```ts
 * import { PingTally } from "./ping.ts";
 * import { tallyOutcomes } from "./fast_events.ts";
 * const tally = new PingTally({
 *   proto: "udp", address: "127.0.0.1", port: 7, timeoutMs: 1000, onEvent: console.log,
 * });
 * tallyOutcomes(tally, [{ k: "reply", seq: 1, bytes: 64, rttNs: 215_400 }]);
 * // { event: "reply", seq: 1, bytes: 64, rtt_ms: 0.215, from: "127.0.0.1", port: 7 }
 * ```
 */
export function tallyOutcomes(tally: PingTally, batch: readonly ProbeOutcome[]): void {
  for (const x of batch) {
    switch (x.k) {
      case "reply":
        tally.verdict({ kind: "reply", seq: x.seq, rtt: x.rttNs / 1e6 }, x.bytes);
        break;
      case "late":
        tally.verdict({ kind: "late", seq: x.seq, rtt: x.rttNs / 1e6 }, 0);
        break;
      case "duplicate":
        tally.verdict({ kind: "duplicate", seq: x.seq }, 0);
        break;
      case "corrupt":
        tally.verdict({ kind: "corrupt", seq: x.seq, reason: x.reason }, x.bytes);
        break;
      case "timeout":
        tally.timeout(x.seq);
        break;
      case "refused":
        tally.refused(x.seq);
        break;
      case "sent":
        break;
    }
  }
}

/**
 * Ends a run the prober reports as `done`: emits the summary through `tally` and returns
 * it with the error to throw after it: a peer's close of the TCP connection (errno-less
 * `EOF`) as `ADDRESS:PORT closed the connection`, any other error as it came, or null.
 */
export function finishRun(
  tally: PingTally,
  done: ProberDone,
  address: string,
  port: number,
): { summary: PingSummary; error: RuntimeError | SysError | null } {
  tally.sent = done.sent;
  const summary = tally.finish(done.elapsedMs);
  if (!done.error) return { summary, error: null };
  if (done.error.code === "EOF") {
    return {
      summary,
      error: new RuntimeError(`${formatEndpoint(address, port)} closed the connection`),
    };
  }
  return { summary, error: done.error };
}
