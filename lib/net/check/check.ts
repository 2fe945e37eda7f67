/**
 * `check`'s engine: for every target host, every address it resolves to and every
 * transport asked for, one cell (see probe.ts); with `mtu`, one path MTU search per
 * address. Hosts are probed concurrently, at most `parallel` at once, and the cells of a
 * host all at once; each host's events are emitted together, hosts in the order given.
 *
 * @module
 */
import { formatEndpoint, SysError } from "../../base/errors.ts";
import { resolveHost } from "../../sys/resolver.ts";
import type { CellResult, Proto } from "./classify.ts";
import { probeCell, probePath } from "./probe.ts";
import type { CheckTarget } from "./targets.ts";

/** One cell: an address of a host, probed over one transport. */
export interface CellEvent {
  event: "cell";
  host: string;
  port: number;
  address: string;
  family: 4 | 6;
  proto: Proto;
  result: CellResult;
  sent: number;
  received: number;
  /** Median RTT of the echoed probes, ms. */
  rtt_ms: number | null;
  /** Why the cell is not ok; null when it is. */
  reason: string | null;
  /** Who sent the ICMP error, where the kernel tells. */
  from: string | null;
}

/** One path MTU result (`mtu: true`). */
export interface PathEvent {
  event: "path";
  host: string;
  port: number;
  address: string;
  family: 4 | 6;
  /** The kernel's path MTU after the probes (IP_MTU / IPV6_MTU). */
  mtu: number | null;
  /** The largest UDP payload echoed unfragmented. */
  max_payload: number | null;
  /** The router that sent "fragmentation needed" / "packet too big". */
  from: string | null;
  /** Why the path could not be probed, if it could not. */
  error?: string;
}

/** How a host did: every cell ok, some, or none. */
export type HostStatus = "ok" | "partly" | "unreachable";

/** The end of one host's events. */
export interface HostEvent {
  event: "host";
  host: string;
  port: number;
  addresses: string[];
  status: HostStatus;
  /** Why the host could not be probed at all (it did not resolve). */
  error: string | null;
}

/** The last event: hosts by status. */
export interface CheckSummary {
  event: "summary";
  hosts: number;
  ok: number;
  partly: number;
  unreachable: number;
}

/** Every event `runCheck` reports. */
export type CheckEvent = CellEvent | PathEvent | HostEvent | CheckSummary;

/** Options of {@link runCheck}. */
export interface CheckOptions {
  targets: CheckTarget[];
  /** Transports to probe, in column order. */
  protos: Proto[];
  /** Probe only this family's addresses. */
  family?: 4 | 6 | undefined;
  /** Echo probes per cell. */
  count: number;
  /** How long to wait for each answer, ms. */
  timeoutMs: number;
  /** Also search each path's MTU. */
  mtu: boolean;
  /** Hosts probed at once. */
  parallel: number;
  signal: AbortSignal;
  onEvent: (ev: CheckEvent) => void;
}

interface HostReport {
  cells: CellEvent[];
  paths: PathEvent[];
  host: HostEvent;
}

async function checkHost(t: CheckTarget, o: CheckOptions): Promise<HostReport> {
  let addrs: { address: string; family: 4 | 6 }[];
  try {
    addrs = await resolveHost(t.host, o.family);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    return {
      cells: [],
      paths: [],
      host: {
        event: "host",
        host: t.host,
        port: t.port,
        addresses: [],
        status: "unreachable",
        error: e.message,
      },
    };
  }
  const base = { host: t.host, port: t.port };
  const cells = addrs.flatMap((a) =>
    o.protos.map(async (proto): Promise<CellEvent> => {
      const r = await probeCell({
        address: a.address,
        family: a.family,
        port: t.port,
        proto,
        count: o.count,
        timeoutMs: o.timeoutMs,
        signal: o.signal,
      });
      return {
        event: "cell",
        ...base,
        address: a.address,
        family: a.family,
        proto,
        result: r.result,
        sent: r.sent,
        received: r.received,
        rtt_ms: r.rttMs === null ? null : Math.round(r.rttMs * 1000) / 1000,
        reason: r.reason,
        from: r.from,
      };
    })
  );
  const paths = o.mtu
    ? addrs.map(async (a): Promise<PathEvent> => {
      const ev = { event: "path" as const, ...base, address: a.address, family: a.family };
      try {
        const p = await probePath({ ...a, port: t.port, timeoutMs: o.timeoutMs, signal: o.signal });
        return { ...ev, mtu: p.mtu, max_payload: p.maxPayload, from: p.from };
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        return { ...ev, mtu: null, max_payload: null, from: null, error: e.message };
      }
    })
    : [];
  const done = await Promise.all(cells);
  const okCells = done.filter((c) => c.result === "ok").length;
  return {
    cells: done,
    paths: await Promise.all(paths),
    host: {
      event: "host",
      ...base,
      addresses: addrs.map((a) => a.address),
      status: okCells === done.length ? "ok" : okCells > 0 ? "partly" : "unreachable",
      error: null,
    },
  };
}

/**
 * Checks every target and reports cells, paths and a `host` event per host (hosts in the
 * order given), then the summary, which it also returns. When `signal` aborts, the hosts
 * finished so far are reported and the summary counts only them.
 *
 * @example
 * ```ts ignore
 * const summary = await runCheck({
 *   targets: [{ host: "192.0.2.7", port: 7 }],
 *   protos: ["tcp", "udp", "sctp"],
 *   count: 3, timeoutMs: 2000, mtu: true, parallel: 32,
 *   signal: new AbortController().signal,
 *   onEvent: (ev) => console.log(ev), // {event: "cell", result: "ok", ...}, ...
 * });
 * ```
 */
export async function runCheck(o: CheckOptions): Promise<CheckSummary> {
  const reports = o.targets.map(() => Promise.withResolvers<HostReport>());
  // Callers await each report in order; mark them handled so none is "unhandled" meanwhile.
  for (const r of reports) r.promise.catch(() => {});
  let next = 0;
  const worker = async () => {
    while (next < o.targets.length) {
      const i = next++;
      if (o.signal.aborted) {
        reports[i]!.reject(o.signal.reason);
        continue;
      }
      try {
        reports[i]!.resolve(await checkHost(o.targets[i]!, o));
      } catch (e) {
        reports[i]!.reject(e);
      }
    }
  };
  const workers = Array.from({ length: Math.min(o.parallel, o.targets.length) }, worker);
  const summary: CheckSummary = { event: "summary", hosts: 0, ok: 0, partly: 0, unreachable: 0 };
  try {
    for (const r of reports) {
      let rep: HostReport;
      try {
        rep = await r.promise;
      } catch (e) {
        if (o.signal.aborted) break; // interrupted: report the hosts done so far
        throw e;
      }
      for (const c of rep.cells) o.onEvent(c);
      for (const p of rep.paths) o.onEvent(p);
      o.onEvent(rep.host);
      summary.hosts++;
      summary[rep.host.status]++;
    }
  } finally {
    await Promise.allSettled(workers);
  }
  o.onEvent(summary);
  return summary;
}

function fmtRtt(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
}

/** A cell as the matrix shows it: `ok 0.42ms 3/3`, `rejected (ICMP admin-prohibited from 192.0.2.1)`. */
export function cellText(c: CellEvent): string {
  if (c.result === "ok") {
    return `ok ${c.rtt_ms === null ? "" : fmtRtt(c.rtt_ms) + " "}${c.received}/${c.sent}`;
  }
  const why = [c.reason, c.from === null ? null : `from ${c.from}`].filter((x) => x !== null);
  return why.length > 0 ? `${c.result} (${why.join(" ")})` : c.result;
}

/** A path line: `path 192.0.2.7: mtu 1400, max payload 1372, too big from 192.0.2.1`. */
export function pathText(p: PathEvent): string {
  if (p.error !== undefined) return `path ${p.address}: ${p.error}`;
  const parts = [
    `mtu ${p.mtu ?? "unknown"}`,
    `max payload ${p.max_payload ?? "none (no echo came back)"}`,
  ];
  if (p.from !== null) {
    parts.push(`${p.family === 4 ? "frag-needed" : "packet-too-big"} from ${p.from}`);
  }
  return `path ${p.address}: ${parts.join(", ")}`;
}

/** The last line: `3 hosts: 1 ok, 1 partly, 1 unreachable`. */
export function summaryText(s: CheckSummary): string {
  return `${s.hosts} host${s.hosts === 1 ? "" : "s"}: ${s.ok} ok, ${s.partly} partly, ` +
    `${s.unreachable} unreachable`;
}

/** One line for any check event (the matrix in `sockbox check` groups cells by host). */
export function checkEventText(ev: CheckEvent): string {
  switch (ev.event) {
    case "cell":
      return `${ev.address} ${ev.proto} ${cellText(ev)}`;
    case "path":
      return pathText(ev);
    case "host":
      return `${formatEndpoint(ev.host, ev.port)} ${ev.error ?? ev.status}`;
    case "summary":
      return summaryText(ev);
  }
}
