/**
 * The entry module of a bench client Worker. Its first message is a
 * {@link BenchWorkerConfig}; it connects, posts `ready`, waits for the main thread's go,
 * runs the TCP or UDP loop (blocking in synchronous libc calls on this thread), posts a
 * `tick` per interval and finally `done`. A failure is posted as `failed`.
 *
 * @module
 */
import { TcpBenchLoop } from "./tcp.ts";
import { UdpBenchLoop } from "./udp.ts";
import type { BenchWorkerConfig, BenchWorkerMessage } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<BenchWorkerConfig>) => void) | null;
  postMessage(m: BenchWorkerMessage): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  scope.onmessage = null;
  const cfg = e.data;
  const post = (m: BenchWorkerMessage) => scope.postMessage(m);
  let loop;
  try {
    loop = cfg.proto === "tcp" ? new TcpBenchLoop(cfg, post) : new UdpBenchLoop(cfg, post);
    post(loop.setup());
    loop.run();
    post(loop.done());
  } catch (err) {
    post({ type: "failed", error: (err as Error).message ?? String(err) });
  } finally {
    loop?.close();
  }
  scope.close();
};
