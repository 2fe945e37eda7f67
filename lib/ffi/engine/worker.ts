/**
 * The entry module of an echo data-plane Worker. Its first message is a
 * {@link WorkerConfig}; it then runs the TCP or UDP loop, blocking in synchronous libc
 * calls on this thread (the main thread's event loop is not involved), posts events in
 * batches, and finally posts its totals. A failure is posted as `failed`.
 *
 * @module
 */
import { runTcpWorker } from "./tcp_echo.ts";
import { runUdpWorker } from "./udp_echo.ts";
import type { WorkerConfig, WorkerEvent, WorkerMessage } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerConfig>) => void) | null;
  postMessage(m: WorkerMessage): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  scope.onmessage = null;
  const cfg = e.data;
  const post = (events: WorkerEvent[]) => scope.postMessage({ type: "events", events });
  try {
    const totals = cfg.proto === "tcp" ? runTcpWorker(cfg, post) : runUdpWorker(cfg, post);
    scope.postMessage({ type: "done", totals });
  } catch (err) {
    scope.postMessage({ type: "failed", error: (err as Error).message ?? String(err) });
  }
  scope.close();
};
