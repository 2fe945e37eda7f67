/**
 * TCP and UDP echo servers on either engine, with the same options, events and summary:
 *
 * - `ffi`: the data plane in lib/ffi/engine/: Worker threads that block in epoll_wait(2)
 *   (TCP) or recvmmsg(2) (UDP) and make every read and write synchronously through libc,
 *   one SO_REUSEPORT socket per worker, splice(2) for bulk TCP streams, recvmmsg/sendmmsg
 *   batches for UDP. It also sees TCP urgent data (`urgent` events), and with `-6` it sets
 *   IPV6_V6ONLY, so the kernel itself refuses IPv4 peers. Linux only, needs `--allow-ffi`.
 * - `deno`: `Deno.listen` / `Deno.listenDatagram` (./server.ts): portable, and the
 *   fallback wherever the ffi engine cannot run. It cannot see urgent data.
 *
 * Both apply the same admission rules (lib/base/gate.ts: --allow/--deny, --max-per-ip,
 * --rate, --max-bytes), drain the same way when the signal aborts (`drainMs`) and give a
 * running summary (`snapshot`). On the ffi engine the counts and token buckets per source
 * live in one table the workers share (lib/ffi/engine/admission.ts), so the limits hold
 * across workers, and each worker publishes its running totals in shared memory.
 *
 * The `listening` event names the engine. The data plane (lib/ffi/engine/pool.ts and its
 * loops) loads only when the ffi engine serves, so `--engine deno` does not pay for it.
 *
 * @module
 */
import { DEFAULT_DRAIN_MS } from "../../base/drain.ts";
import { RuntimeError } from "../../base/errors.ts";
import { type RefusalReason, Refusals } from "../../base/refusals.ts";
import { admissionSpec, limitsTcp } from "../../base/gate.ts";
import { DEFAULT_REFLECT_GUARD } from "../../base/reflect.ts";
import type { SpliceMode } from "../../base/splice.ts";
import { dataPlaneUnavailable, usableCpus } from "../../ffi/engine/available.ts";
import type { Totals } from "../../ffi/engine/pool.ts";
import {
  bindCandidates,
  type EchoEvent,
  type EchoServer,
  type EchoServerOptions,
  serveTcp,
  serveUdp,
} from "./server.ts";

type Summary = Extract<EchoEvent, { event: "summary" }>;

/** An engine's name. */
export type EchoEngine = "ffi" | "deno";

/** Options of {@link serveEcho}: the echo server's, plus the engine and its workers. */
export interface EchoEngineOptions extends EchoServerOptions {
  /** `ffi`, `deno`, or `auto` (default): ffi where it can run, deno otherwise. */
  engine?: EchoEngine | "auto" | undefined;
  /** ffi: worker threads (default: the CPUs this process may run on). */
  workers?: number | undefined;
  /**
   * ffi, tcp: which streaming peers are served with splice(2) instead of read(2)/write(2)
   * (default `auto`: all but loopback peers; lib/base/splice.ts).
   */
  splice?: SpliceMode | undefined;
}

/** A running echo server and the engine serving it. */
export interface EngineServer extends EchoServer {
  engine: EchoEngine;
}

/** Why the ffi engine cannot run here, or null when it can. */
export function ffiEngineUnavailable(): string | null {
  return dataPlaneUnavailable();
}

/** The engine `auto` picks here. */
export function defaultEngine(): EchoEngine {
  return dataPlaneUnavailable() === null ? "ffi" : "deno";
}

/** The CPUs this process may run on (the ffi engine's default worker count). */
export function defaultWorkers(): number {
  return dataPlaneUnavailable() === null ? usableCpus() : 1;
}

/**
 * Starts a TCP or UDP echo server on the engine asked for (see the module doc).
 *
 * @example
 * ```ts
 * import { serveEcho } from "./ffi_server.ts";
 * const ac = new AbortController();
 * const srv = await serveEcho("tcp", { host: "127.0.0.1", port: 0, signal: ac.signal });
 * console.log(srv.engine, srv.port); // "ffi" 40123 on Linux with --allow-ffi
 * ac.abort();
 * await srv.finished;
 * ```
 */
export async function serveEcho(
  proto: "tcp" | "udp",
  opts: EchoEngineOptions,
): Promise<EngineServer> {
  const asked = opts.engine ?? "auto";
  if (asked === "ffi") {
    const why = dataPlaneUnavailable();
    if (why !== null) throw new RuntimeError(`the ffi engine cannot run here: ${why}`);
  }
  const engine = asked === "auto" ? defaultEngine() : asked;
  if (engine === "ffi") return { ...(await serveFfi(proto, opts)), engine };
  const emit = opts.onEvent;
  const onEvent = emit &&
    ((ev: EchoEvent) =>
      emit(ev.event === "listening" ? { ...ev, engine: "deno", urgent: false } : ev));
  const start = proto === "tcp" ? serveTcp : serveUdp;
  return { ...(await start({ ...opts, onEvent })), engine };
}

async function serveFfi(proto: "tcp" | "udp", opts: EchoEngineOptions): Promise<EchoServer> {
  const { startDataPlane } = await import("../../ffi/engine/pool.ts");
  const emit = opts.onEvent ?? (() => {});
  const v6only = (opts.family === 6 && opts.host === undefined) ||
    opts.socketOptions?.v6only === true;
  const dp = startDataPlane({
    proto,
    candidates: bindCandidates(opts),
    port: opts.port,
    v6only,
    rejectMapped: v6only,
    admission: proto === "udp"
      ? admissionSpec({
        ...opts.admission,
        reflect: opts.admission?.reflect ?? DEFAULT_REFLECT_GUARD,
      })
      : limitsTcp(opts.admission)
      ? admissionSpec(opts.admission!)
      : undefined,
    drainMs: opts.drainMs ?? DEFAULT_DRAIN_MS,
    workers: Math.max(1, opts.workers ?? usableCpus()),
    maxConns: proto === "tcp" ? opts.maxConns ?? 0 : 0,
    idleTimeoutMs: proto === "tcp" ? opts.idleTimeoutMs ?? 0 : 0,
    verbose: opts.verbose ?? false,
    quiet: opts.quiet ?? false,
    splice: opts.splice ?? "auto",
    onEvents: opts.onEvents ?? ((events) => {
      for (const ev of events) emit(ev);
    }),
    sockopts: opts.socketOptions,
  });
  emit({
    event: "listening",
    proto,
    address: dp.address,
    port: dp.port,
    family: dp.address.includes(":") ? 6 : 4,
    engine: "ffi",
    workers: dp.workers,
    urgent: proto === "tcp",
    ...(dp.options ? { options: dp.options } : {}),
  });
  const started = performance.now();
  const stop = () => dp.stop();
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });
  // The same fields as the Deno.listen engine's summary: refusals by reason (in the
  // order every summary lists them), and for TCP the accepts peers aborted.
  const summaryOf = (t: Totals): Summary => {
    const refusals = new Refusals();
    for (const [k, n] of Object.entries(t.refused ?? {}) as [RefusalReason, number][]) {
      refusals.add(k, n);
    }
    if (t.max_conns) refusals.add("max-conns", t.max_conns);
    return {
      event: "summary" as const,
      proto,
      connections: t.connections,
      datagrams: t.datagrams,
      bytes_in: t.bytes_in,
      bytes_out: t.bytes_out,
      duration_ms: Math.round(performance.now() - started),
      ...(proto === "tcp" ? { aborted: t.aborted } : {}),
      ...(refusals.total ? { refused: refusals.toJSON() } : {}),
    };
  };
  const finished = dp.finished.finally(() => opts.signal.removeEventListener("abort", stop))
    .then((t) => {
      const summary = summaryOf(t);
      emit(summary);
      return summary;
    });
  // The workers publish their running totals in shared memory after every step: a
  // snapshot reads them, with no message to a thread that is blocked in a system call.
  const snapshot = () => Promise.resolve({ ...summaryOf(dp.snapshot()), running: true as const });
  return { address: dp.address, port: dp.port, finished, snapshot };
}
