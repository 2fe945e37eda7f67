/**
 * The entry module of the `ping tcp|udp` prober Worker. Its first message is a
 * {@link ProberConfig}; it connects and posts `connected` (or `setup-failed`), runs the
 * probes (blocking in synchronous libc calls on this thread, ./prober.ts), posting batches
 * of outcomes, and finally `done`. An unexpected failure is posted as `failed`.
 *
 * @module
 */
import { Prober } from "./prober.ts";
import type { ProberConfig, ProberMessage } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ProberConfig>) => void) | null;
  postMessage(m: ProberMessage): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  scope.onmessage = null;
  const post = (m: ProberMessage) => scope.postMessage(m);
  let prober: Prober | undefined;
  try {
    prober = new Prober(e.data, post);
    const ready = prober.setup();
    post(ready);
    if (ready.type === "connected") post(prober.run());
  } catch (err) {
    post({ type: "failed", error: (err as Error)?.message ?? String(err) });
  } finally {
    prober?.close();
  }
  scope.close();
};
