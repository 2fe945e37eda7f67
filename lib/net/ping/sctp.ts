/**
 * Probes over one SCTP association, for `ping sctp`: each probe is one message on a
 * chosen stream with a chosen payload protocol identifier (sctp_sendmsg(3)); the
 * messages that come back are the echoes. Notifications are skipped, except an
 * assoc_change that ends the association (RFC 6458, section 6.1.1), which fails the run.
 *
 * @module
 */
import { formatEndpoint, RuntimeError } from "../../base/errors.ts";
import { resolveHost } from "../../sys/resolver.ts";
import { connectSctp } from "../sctp/client.ts";
import type { ProbeTransport } from "./ping.ts";

/** Where and how {@link openSctpTransport} sends probes. */
export interface SctpProbeTarget {
  /** Host name or address; its first address is used. */
  host: string;
  /** The echo server's port. */
  port: number;
  /** Use only IPv4 or only IPv6 addresses of `host`. */
  family?: 4 | 6 | undefined;
  /** Local addresses to bind (the first bound, the rest added with sctp_bindx(3)). */
  binds: string[];
  /** The stream every probe goes on; must be below the streams the peer grants. */
  stream: number;
  /** The payload protocol identifier of every probe. */
  ppid: number;
  /** Limit (ms) for the association to come up. */
  timeoutMs: number;
  /** Aborting stops the connect. */
  signal: AbortSignal;
}

/**
 * Resolves `host`, opens one association to its first address, checks that `stream` is
 * among the outbound streams it negotiated, and resolves to the probe transport and the
 * address it talks to.
 */
export async function openSctpTransport(
  o: SctpProbeTarget,
): Promise<{ transport: ProbeTransport; address: string }> {
  const address = (await resolveHost(o.host, o.family))[0]!.address;
  const where = formatEndpoint(address, o.port);
  const { sock, status } = await connectSctp({
    addresses: [address],
    port: o.port,
    binds: o.binds,
    streams: Math.max(64, o.stream + 1),
    timeoutMs: o.timeoutMs,
    signal: o.signal,
  });
  if (o.stream >= status.outstreams) {
    sock.close();
    throw new RuntimeError(
      `--stream ${o.stream} is beyond the ${status.outstreams} outbound streams the association with ${where} negotiated (0-${
        status.outstreams - 1
      })`,
    );
  }
  const stop = new AbortController();
  const transport: ProbeTransport = {
    async send(probe) {
      await sock.send(probe, { stream: o.stream, ppid: o.ppid }, stop.signal);
    },
    async *frames() {
      while (!stop.signal.aborted) {
        const m = await sock.receive(stop.signal);
        if (m.kind === "eof") return;
        if (m.kind === "notification") {
          const n = m.notification;
          if (n.type === "assoc_change" && "state" in n && n.state !== "COMM_UP") {
            throw new RuntimeError(`association with ${where} ended: ${n.state}`);
          }
          continue;
        }
        yield m.data.slice();
      }
    },
    close() {
      stop.abort();
      sock.close();
    },
  };
  return { transport, address };
}
