/**
 * In-memory streams for in-process tests of commands and the Reporter.
 *
 * @module
 */
import assert from "node:assert/strict";
import { UsageError } from "../base/errors.ts";
import type { Io, Sink } from "./output.ts";

/** A sink that keeps what is written; `text()` decodes it. */
export interface MemorySink extends Sink {
  /** Everything written so far, as UTF-8 text. */
  text(): string;
}

/** A sink that records every write in memory. */
export function memorySink(): MemorySink {
  const chunks: Uint8Array[] = [];
  const dec = new TextDecoder();
  return {
    writeSync(p) {
      chunks.push(p.slice());
      return p.length;
    },
    write(p) {
      chunks.push(p.slice());
      return Promise.resolve(p.length);
    },
    text: () => chunks.map((c) => dec.decode(c, { stream: true })).join("") + dec.decode(),
  };
}

/** An `Io` on memory sinks, with `stdin` holding `input` and a signal the test controls. */
export function memoryIo(
  input: Uint8Array[] = [],
  signal: AbortSignal = new AbortController().signal,
): Io & { stdout: MemorySink; stderr: MemorySink } {
  return {
    stdout: memorySink(),
    stderr: memorySink(),
    stdin: ReadableStream.from(input),
    signal,
    isTerminal: false,
  };
}

/** Asserts that `fn` throws a `UsageError` with exactly `message`. */
export function assertUsageError(fn: () => unknown, message: string, note?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `${note ?? ""}: not a UsageError: ${e}`);
    assert.equal(e.message, message, note);
    return true;
  });
}
