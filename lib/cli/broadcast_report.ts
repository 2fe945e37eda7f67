/**
 * How `send udp --broadcast` is shown: every event of the broadcast engine as a line (or
 * NDJSON with `--json`), and its exit code, which reads as a unicast send's does.
 *
 * @module
 */
import { RuntimeError } from "../base/errors.ts";
import { interruptedCode, type Io, Reporter } from "./output.ts";
import {
  broadcastEventText,
  type BroadcastOptions,
  runBroadcast,
} from "../net/broadcast/broadcast.ts";

/** Parsed `send udp --broadcast` arguments. */
export type BroadcastCommandOptions = Omit<BroadcastOptions, "signal" | "onEvent"> & {
  json: boolean;
};

/**
 * Runs the broadcast and prints what happens. Resolves to 0 when at least one reply came
 * back; no reply within the timeout is a failure (exit 1), as a unicast send with no echo
 * is; a signal that stops it first gives 130 (SIGINT) or 143 (SIGTERM).
 */
export async function broadcastAndReport(o: BroadcastCommandOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: o.json });
  const { json: _, ...opts } = o;
  const summary = await runBroadcast({
    ...opts,
    signal: io.signal,
    onEvent: (ev) => out.emit(ev, broadcastEventText),
  });
  if (io.signal.aborted) return interruptedCode(io.signal);
  if (summary.sent > 0 && summary.replies === 0) {
    throw new RuntimeError(`no reply to the broadcast within ${o.timeoutMs}ms`);
  }
  return 0;
}
