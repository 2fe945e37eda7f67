/**
 * The main-thread side of the `ping tcp|udp` prober: starts the Worker (./worker.ts),
 * hands it the run's settings, relays its batches of outcomes, stops it when the signal
 * aborts (through a shared word it checks between waits), and resolves once it is done.
 * The socket stays in the Worker: callers see addresses, options and outcomes.
 *
 * @module
 */
import { RuntimeError, SysError } from "../../base/errors.ts";
import { dataPlaneUnavailable, workerModuleUrl } from "../engine/pool.ts";
import type { SockoptState } from "../sockopt.ts";
import {
  type ProbeOutcome,
  type ProberConfig,
  type ProberError,
  type ProberMessage,
  STOP,
} from "./protocol.ts";

export type { ProbeOutcome, ProberAddress } from "./protocol.ts";

/** Why the prober cannot run here (the echo data plane's needs), or null. */
export function proberUnavailable(): string | null {
  return dataPlaneUnavailable();
}

/** What the prober connected. */
export interface ProberConnected {
  /** The peer address that connected. */
  address: string;
  /** The socket's own address and port. */
  local: { address: string; port: number };
  /** Every option as getsockopt(2) reads it back. */
  options: SockoptState;
}

/** How a prober run ended. */
export interface ProberDone {
  /** Probes sent. */
  sent: number;
  /** The run's length, ms. */
  elapsedMs: number;
  /** What ended it early (the connection reset or closed by the peer), if anything. */
  error?: SysError;
}

/** The settings of {@link runProber}. */
export interface ProberOptions extends Omit<ProberConfig, "control"> {
  /** Called once connected, before the first probe. */
  onConnected: (c: ProberConnected) => void;
  /** Called with each batch of outcomes, in order. */
  onOutcomes: (batch: ProbeOutcome[]) => void;
  /** Stops the run (connecting or probing); what was seen so far is kept. */
  signal: AbortSignal;
}

const toSysError = (e: ProberError) =>
  new SysError(e.syscall, e.code, { address: e.address, port: e.port }, e.detail);

/** The prober's module: `worker.ts` beside this file, or the bundle's embedded source. */
function workerUrl(): string {
  return workerModuleUrl("sockbox.ping-worker", new URL("./worker.ts", import.meta.url));
}

/**
 * Runs the probes in a Worker (see the module doc). Rejects with the `SysError` of the
 * setup (`connect ECONNREFUSED 127.0.0.1:7`, `bind EADDRINUSE ...`) when it fails.
 */
export function runProber(o: ProberOptions): Promise<ProberDone> {
  const control = new SharedArrayBuffer(STOP.length * 4);
  const stopWord = new Int32Array(control);
  const { onConnected, onOutcomes, signal, ...rest } = o;
  const cfg: ProberConfig = { ...rest, control };
  return new Promise<ProberDone>((resolve, reject) => {
    const w = new Worker(workerUrl(), { type: "module", name: `sockbox ping ${o.proto}` });
    const stop = () => Atomics.store(stopWord, STOP.stop, 1);
    signal.addEventListener("abort", stop, { once: true });
    let settled = false;
    const end = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", stop);
      w.terminate();
      f();
    };
    // What the caller's callbacks throw (a closed stdout: BrokenPipe) ends the run with that
    // error: thrown here, in a message handler, it would reach no one.
    const report = (f: () => void) => {
      if (settled) return;
      try {
        f();
      } catch (err) {
        stop();
        end(() => reject(err));
      }
    };
    w.onmessage = (e: MessageEvent<ProberMessage>) => {
      const m = e.data;
      switch (m.type) {
        case "connected":
          return report(() =>
            onConnected({ address: m.address, local: m.local, options: m.options })
          );
        case "outcomes":
          return report(() => onOutcomes(m.outcomes));
        case "setup-failed":
          return end(() => reject(toSysError(m.error)));
        case "done":
          return end(() =>
            resolve({
              sent: m.sent,
              elapsedMs: m.elapsedNs / 1e6,
              ...(m.error ? { error: toSysError(m.error) } : {}),
            })
          );
        case "failed":
          return end(() => reject(new RuntimeError(`ping prober failed: ${m.error}`)));
      }
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      end(() => reject(new RuntimeError(`ping prober failed: ${e.message}`)));
    };
    if (signal.aborted) stop();
    w.postMessage(cfg);
  });
}
