/**
 * An in-memory probe transport, for in-process tests of ping runs and of their reports.
 *
 * @module
 */
import type { ProbeTransport } from "./ping.ts";

/**
 * A transport in memory: `reply(probe, seq)` says what comes back at once for the
 * `seq`-th probe sent (nothing, the probe, the probe twice, other bytes, or `"refused"`,
 * the peer host's refusal).
 */
export function memoryTransport(
  reply: (probe: Uint8Array, seq: number) => (Uint8Array | "refused")[],
): ProbeTransport {
  const queue: (Uint8Array | "refused")[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  let seq = 0;
  return {
    send(probe) {
      queue.push(...reply(probe, ++seq));
      wake?.();
      return Promise.resolve();
    },
    async *frames() {
      while (!closed) {
        const f = queue.shift();
        if (f) yield f;
        else await new Promise<void>((r) => (wake = r));
      }
    },
    close() {
      closed = true;
      wake?.();
    },
  };
}
