/**
 * The main-thread side of the bench client: starts one Worker per thread (each connects
 * its share of the connections and blocks in its own epoll_wait(2)), waits until every one
 * is connected, starts them all at one monotonic instant, merges their per-interval
 * counters and histograms, and stops them. The fds stay in the workers: callers see
 * counts, histograms and errors.
 *
 * @module
 */
import { asError, RuntimeError, SysError } from "../../base/errors.ts";
import { Histogram } from "../../base/histogram.ts";
import { dataPlaneUnavailable, usableCpus, workerModuleUrl } from "../engine/pool.ts";
import { monoNs } from "./sys.ts";
import {
  addCounters,
  type BenchMode,
  type BenchWorkerConfig,
  type BenchWorkerMessage,
  CONTROL,
  CONTROL_BYTES,
  type Counters,
  noCounters,
  PHASE,
  splitConns,
  START_INDEX,
} from "./protocol.ts";

export type { BenchMode, Counters } from "./protocol.ts";
export { noCounters } from "./protocol.ts";
export { usableCpus };

/** How to run the client. */
export interface BenchPoolOptions {
  proto: "tcp" | "udp";
  mode: BenchMode;
  /** The server: an IP literal, and a port. */
  address: string;
  port: number;
  /** Connections (UDP: sockets) in all, and threads to spread them over. */
  conns: number;
  threads: number;
  sizeMin: number;
  sizeMax: number;
  /** `rate`: messages per second in all. */
  rate: number;
  timeoutMs: number;
  warmupMs: number;
  durationMs: number;
  intervalMs: number;
  /** Called once every connection is set up, just before the start. */
  onReady?: (info: { connected: number; failed: number; threads: number }) => void;
  /** Called with each complete interval, merged over the threads, in order. */
  onTick?: (index: number, counters: Counters, hist: Histogram) => void;
  /** Stops the run (the counts so far are kept). */
  signal: AbortSignal;
}

/** What a run measured. */
export interface BenchPoolResult {
  connected: number;
  failed: number;
  threads: number;
  /** Everything counted in the measurement window. */
  counters: Counters;
  hist: Histogram;
  /** The measurement window's length, ns (shorter than asked when stopped early). */
  measuredNs: number;
  /** The first error seen while measuring. */
  firstError?: string;
  /** Stopped by the signal before the end. */
  aborted: boolean;
}

/** Why the bench client cannot run here, or null (the same needs as the echo data plane). */
export function benchUnavailable(): string | null {
  return dataPlaneUnavailable();
}

/** The bench worker's module: `worker.ts` beside this file, or the bundle's embedded source. */
function workerUrl(): string {
  return workerModuleUrl("sockbox.bench-worker", new URL("./worker.ts", import.meta.url));
}

/** Runs the client (see the module doc); rejects when nothing could connect. */
export function runBenchPool(o: BenchPoolOptions): Promise<BenchPoolResult> {
  const shares = splitConns(o.conns, o.threads);
  const n = shares.length;
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl = new Int32Array(control, 0, CONTROL.length);
  const ctlTime = new Float64Array(control);
  const counters = noCounters();
  const hist = new Histogram();
  const pending = new Map<number, { counters: Counters; hist: Histogram; got: number }>();
  const workers: (Worker | undefined)[] = [];
  let ready = 0, connected = 0, failed = 0, finished = 0;
  let setupError: { syscall: string; code: string } | undefined;
  let firstError: string | undefined;
  let failure: Error | undefined;
  let started = 0;
  let stoppedAt = 0;

  return new Promise<BenchPoolResult>((resolve, reject) => {
    const stop = () => {
      if (Atomics.load(ctl, CONTROL.phase) === PHASE.stop) return;
      stoppedAt = monoNs();
      Atomics.store(ctl, CONTROL.phase, PHASE.stop);
      Atomics.notify(ctl, CONTROL.phase);
    };
    const onAbort = () => stop();
    o.signal.addEventListener("abort", onAbort, { once: true });

    const settle = () => {
      o.signal.removeEventListener("abort", onAbort);
      if (failure) return reject(failure);
      if (connected === 0) {
        if (o.signal.aborted) return resolve(result());
        const e = setupError ?? { syscall: "connect", code: "ETIMEDOUT" };
        const refused = o.proto === "udp" && e.code === "ECONNREFUSED";
        return reject(
          new SysError(
            e.syscall,
            e.code,
            { address: o.address, port: o.port },
            refused ? "port unreachable: nothing listens there" : undefined,
          ),
        );
      }
      resolve(result());
    };
    const result = (): BenchPoolResult => {
      // Intervals some thread did not finish (a stop) still count in the totals.
      for (const p of pending.values()) {
        addCounters(counters, p.counters);
        hist.merge(p.hist);
      }
      pending.clear();
      const warmEnd = started + o.warmupMs * 1e6;
      const end = warmEnd + o.durationMs * 1e6;
      const last = stoppedAt > 0 ? Math.min(stoppedAt, end) : end;
      return {
        connected,
        failed,
        threads: n,
        counters,
        hist,
        measuredNs: started > 0 ? Math.max(0, last - warmEnd) : 0,
        ...(firstError !== undefined ? { firstError } : {}),
        aborted: o.signal.aborted,
      };
    };
    const exited = (i: number) => {
      const w = workers[i];
      if (w === undefined) return;
      workers[i] = undefined;
      w.terminate();
      if (++finished === n) settle();
    };
    const go = () => {
      o.onReady?.({ connected, failed, threads: n });
      if (connected === 0 || Atomics.load(ctl, CONTROL.phase) === PHASE.stop) {
        stop();
        return;
      }
      started = monoNs();
      ctlTime[START_INDEX] = started;
      Atomics.store(ctl, CONTROL.phase, PHASE.go);
      Atomics.notify(ctl, CONTROL.phase);
    };
    const onMessage = (i: number, m: BenchWorkerMessage) => {
      switch (m.type) {
        case "ready":
          connected += m.connected;
          failed += m.failed;
          if (m.error) setupError ??= m.error;
          if (++ready === n) go();
          return;
        case "tick": {
          let p = pending.get(m.index);
          if (!p) {
            pending.set(m.index, p = { counters: noCounters(), hist: new Histogram(), got: 0 });
          }
          addCounters(p.counters, m.counters);
          p.hist.mergeSparse(m.hist);
          if (++p.got === n) {
            pending.delete(m.index);
            addCounters(counters, p.counters);
            hist.merge(p.hist);
            o.onTick?.(m.index, p.counters, p.hist);
          }
          return;
        }
        case "done":
          addCounters(counters, m.counters);
          hist.mergeSparse(m.hist);
          firstError ??= m.firstError;
          exited(i);
          return;
        case "failed":
          failure ??= new RuntimeError(`bench worker ${i} failed: ${m.error}`);
          stop();
          exited(i);
          return;
      }
    };

    let base = 0;
    for (let i = 0; i < n; i++) {
      const w = new Worker(workerUrl(), { type: "module", name: `sockbox bench ${o.proto} ${i}` });
      workers[i] = w;
      w.onmessage = (e: MessageEvent<BenchWorkerMessage>) => {
        // What the caller's callbacks throw (a closed stdout: BrokenPipe) stops the run,
        // which then rejects with it: thrown in a message handler, it would reach no one.
        try {
          onMessage(i, e.data);
        } catch (err) {
          failure ??= asError(err);
          stop();
        }
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        failure ??= new RuntimeError(`bench worker ${i} failed: ${e.message}`);
        stop();
        exited(i);
      };
      const cfg: BenchWorkerConfig = {
        proto: o.proto,
        mode: o.mode,
        index: i,
        address: o.address,
        port: o.port,
        conns: shares[i]!,
        connBase: base,
        connsTotal: o.conns,
        sizeMin: o.sizeMin,
        sizeMax: o.sizeMax,
        ratePerConn: o.mode === "rate" ? o.rate / o.conns : 0,
        timeoutMs: o.timeoutMs,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        intervalMs: o.intervalMs,
        control,
      };
      base += shares[i]!;
      w.postMessage(cfg);
    }
    if (o.signal.aborted) stop();
  });
}
