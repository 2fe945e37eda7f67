/**
 * Output for every command: stdout carries data (human lines, or one JSON object per line
 * with `--json`), stderr carries diagnostics. Every event is built once as an object and
 * rendered either as a human line or as NDJSON, so tests and scripts can rely on both.
 *
 * @module
 */
import { styleText } from "node:util";

/** A byte sink such as `Deno.stdout`. */
export interface Sink {
  writeSync?(p: Uint8Array): number;
  write(p: Uint8Array): Promise<number>;
}

/** What a command may touch: its output streams, stdin, and a signal that asks it to stop. */
export interface Io {
  stdout: Sink;
  stderr: Sink;
  stdin: ReadableStream<Uint8Array>;
  /** Aborted on SIGINT/SIGTERM (or by a test): stop, print a summary, return. */
  signal: AbortSignal;
  /** Whether stdout is a terminal (colour is used only then, and never with NO_COLOR). */
  isTerminal?: boolean;
}

/** Every event has a name; `ts` is added when it is written. */
export interface Event {
  event: string;
}

const enc = new TextEncoder();

/** Writes all of `data` to `sink`, synchronously when the sink allows it. */
export function writeAllSync(sink: Sink, data: Uint8Array): void {
  if (!sink.writeSync) {
    void sink.write(data);
    return;
  }
  let off = 0;
  while (off < data.length) off += sink.writeSync(data.subarray(off));
}

/** Writes all of `data` to `sink`. */
export async function writeAll(sink: Sink, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await sink.write(data.subarray(off));
}

type Style = Parameters<typeof styleText>[0];

/** Renders events as text or NDJSON on stdout, and diagnostics on stderr. */
export class Reporter {
  readonly json: boolean;
  readonly #io: Io;
  readonly #color: boolean;

  constructor(io: Io, opts: { json?: boolean | undefined } = {}) {
    this.#io = io;
    this.json = opts.json ?? false;
    let noColor = true;
    try {
      noColor = Deno.env.get("NO_COLOR") !== undefined;
    } catch {
      // No env permission: stay plain.
    }
    this.#color = !this.json && (io.isTerminal ?? false) && !noColor;
  }

  /**
   * Emits one event: as JSON (`{"event":...,"ts":...,...}`) with `--json`, otherwise as
   * the line `text` renders. A `text` of `null` means the event has no human form.
   */
  emit<E extends Event>(ev: E, text: ((e: E) => string | null) | string | null): void {
    if (this.json) {
      const { event, ...rest } = ev;
      this.line(JSON.stringify({ event, ts: new Date().toISOString(), ...rest }));
      return;
    }
    const line = typeof text === "function" ? text(ev) : text;
    if (line !== null) this.line(line);
  }

  /** Writes one raw line to stdout. */
  line(s: string): void {
    writeAllSync(this.#io.stdout, enc.encode(s + "\n"));
  }

  /** Writes one diagnostic line to stderr (never in JSON; stderr is for people). */
  warn(s: string): void {
    writeAllSync(this.#io.stderr, enc.encode(`sockbox: ${s}\n`));
  }

  /** Colours `s` when writing human output to a terminal. */
  style(format: Style, s: string): string {
    return this.#color ? styleText(format, s, { validateStream: false }) : s;
  }
}
