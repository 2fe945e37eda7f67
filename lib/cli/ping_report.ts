/**
 * What every `ping` variant (tcp, udp, sctp) shares on the command line: the schedule
 * flags `-c`, `-i`, `-s`, `--timeout`, and the one way a ping run is shown.
 *
 * @module
 */
import { formatEndpoint, RuntimeError } from "../base/errors.ts";
import { plural } from "../base/text.ts";
import { parseDuration, parseInteger } from "./args.ts";
import { type Reporter, type Sink, writeAllSync } from "./output.ts";
import {
  MIN_PROBE,
  pingEventText,
  type PingOptions,
  type PingSummary,
  type ProbeSchedule,
  type ProbeTransport,
  runPing,
} from "../net/ping/ping.ts";

/** The parseArgs definitions of the schedule flags, shared by every `ping` variant. */
export const SCHEDULE_FLAGS = {
  count: { type: "string", short: "c" },
  interval: { type: "string", short: "i" },
  size: { type: "string", short: "s" },
  timeout: { type: "string" },
} as const;

/**
 * Parses the schedule flags (defaults: count unlimited, 1s interval, 64 bytes, 2s timeout);
 * `maxSize` is the protocol's largest probe.
 */
export function parseSchedule(
  v: { count?: string; interval?: string; size?: string; timeout?: string },
  maxSize: number,
): ProbeSchedule {
  return {
    count: v.count === undefined ? Infinity : parseInteger("--count", v.count, 1, 1_000_000_000),
    intervalMs: v.interval === undefined
      ? 1000
      : parseDuration("--interval", v.interval, 0, 3_600_000),
    size: v.size === undefined ? 64 : parseInteger("--size", v.size, MIN_PROBE, maxSize),
    timeoutMs: v.timeout === undefined ? 2000 : parseDuration("--timeout", v.timeout, 1, 3_600_000),
  };
}

/** Emits the `start` event: `PING host (addr:port) proto: N bytes per probe`. */
export function emitPingStart(
  out: Reporter,
  host: string,
  o: { proto: string; address: string; port: number; size: number },
): void {
  out.emit(
    { event: "start", proto: o.proto, host, address: o.address, port: o.port, size: o.size },
    (e) =>
      `PING ${host} (${formatEndpoint(e.address, e.port)}) ${e.proto}: ${e.size} bytes per probe`,
  );
}

/** Throws a `RuntimeError` when no echo came back at all; else resolves to exit code 0. */
export function pingExitCode(summary: PingSummary): number {
  if (summary.received === 0 && summary.sent > 0) {
    const where = formatEndpoint(summary.address, summary.port);
    throw new RuntimeError(
      summary.refused > 0
        ? `no echo from ${where}: ${summary.refused} of ${
          plural(summary.sent, "probe")
        } refused (port unreachable: nothing listens there)`
        : `no echo from ${where}`,
    );
  }
  return 0;
}

/**
 * Runs a ping the way the `ping` command shows it: a `start` line (`PING host (addr:port)
 * proto: N bytes per probe`), one line per event, the summary; throws a `RuntimeError`
 * when no echo came back at all. Resolves to the exit code (0).
 */
export async function pingAndReport(
  transport: ProbeTransport,
  out: Reporter,
  host: string,
  o: Omit<PingOptions, "onEvent">,
): Promise<number> {
  emitPingStart(out, host, o);
  const summary = await runPing(transport, { ...o, onEvent: (ev) => out.emit(ev, pingEventText) });
  return pingExitCode(summary);
}

/**
 * A sink that gathers the writes made in one turn of the event loop and passes them on in
 * one write, at the next microtask checkpoint: a batch of probe events from the ffi
 * prober becomes one write(2), not one per line (the process's threads may share one CPU:
 * a write per line would compete with the probes it reports). A write that fails there (a
 * closed stdout: BrokenPipe) would be thrown where no caller waits, so it is kept and thrown
 * by the next write instead, to the code that made it.
 */
export function coalescingSink(sink: Sink): Sink {
  let parts: Uint8Array[] = [];
  let size = 0;
  let failed: unknown = null;
  const flush = () => {
    const all = new Uint8Array(size);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    parts = [];
    size = 0;
    try {
      writeAllSync(sink, all);
    } catch (err) {
      failed ??= err;
    }
  };
  return {
    writeSync(p) {
      if (failed !== null) throw failed;
      if (size === 0) queueMicrotask(flush);
      parts.push(p.slice());
      size += p.length;
      return p.length;
    },
    write(p) {
      try {
        return Promise.resolve(this.writeSync!(p));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}
