/**
 * Output for every command: stdout carries data (human lines, or one JSON object per line
 * with `--json`), stderr carries diagnostics. Every event is built once as an object and
 * rendered either as a human line or as NDJSON, so tests and scripts can rely on both.
 *
 * @module
 */
// A type only: importing node:util itself would cost every command ~20 ms of start-up.
import type { styleText } from "node:util";
import { RuntimeError, SysError, toSysError } from "../base/errors.ts";

/** A byte sink such as `Deno.stdout`. */
export interface Sink {
  /** Writes some of `p` at once; returns how many bytes were written. */
  writeSync?(p: Uint8Array): number;
  /** Writes some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** What a command may touch: its output streams, stdin, and a signal that asks it to stop. */
export interface Io {
  /** Data: human lines or NDJSON. */
  stdout: Sink;
  /** Diagnostics (`sockbox: ...`). */
  stderr: Sink;
  /** Input for commands that read messages or a stream. */
  stdin: ReadableStream<Uint8Array>;
  /** Aborted on SIGINT/SIGTERM (or by a test): stop, print a summary, return. */
  signal: AbortSignal;
  /**
   * Servers: calls `listener` on every SIGHUP (main.ts) until the returned function is
   * called; absent where hang-ups cannot be caught (then SIGHUP keeps its default).
   */
  onHangup?: (listener: () => void) => () => void;
  /** Whether stdout is a terminal (colour is used only then, and never with NO_COLOR). */
  isTerminal?: boolean;
}

/**
 * The exit code of a run a signal stopped: 128 + the signal's number, as shells report
 * it (130 for SIGINT, 143 for SIGTERM). `reason` is the signal's name (main.ts aborts
 * `Io.signal` with it); anything else counts as SIGINT.
 *
 * @example
 * ```ts
 * import { signalExitCode } from "./output.ts";
 * signalExitCode("SIGTERM"); // 143
 * ```
 */
export function signalExitCode(reason: unknown): number {
  return reason === "SIGTERM" ? 143 : 130;
}

/** The exit code for a command stopped by `signal` (see {@link signalExitCode}). */
export function interruptedCode(signal: AbortSignal): number {
  return signalExitCode(signal.reason);
}

/** The Deno run-time flag each unstable API needs. */
const UNSTABLE_FLAGS: Record<string, string> = {
  listenDatagram: "--unstable-net",
};

/**
 * The error to show when Deno itself lacks what sockbox asked of it, or null: a missing
 * permission (`NotCapable`, whose message already names the `--allow-*` flag) passes as
 * is; an unstable API that is absent (`Deno.listenDatagram is not a function`) becomes a
 * {@link RuntimeError} naming the flag that enables it.
 *
 * @example
 * ```ts
 * import { denoCapabilityError } from "./output.ts";
 * const e = denoCapabilityError(new TypeError("Deno.listenDatagram is not a function"));
 * e?.message; // "missing unstable API: Deno.listenDatagram (UDP) is not available, run again with the --unstable-net flag"
 * ```
 */
export function denoCapabilityError(err: unknown): Error | null {
  if (!(err instanceof Error)) return null;
  if (err.name === "NotCapable") return err;
  const m = /\bDeno\.(\w+) is not a function/.exec(err.message);
  if (!(err instanceof TypeError) || !m) return null;
  const api = m[1]!;
  const flag = UNSTABLE_FLAGS[api] ?? "an --unstable-* flag";
  const what = api === "listenDatagram" ? " (UDP)" : "";
  return new RuntimeError(
    `missing unstable API: Deno.${api}${what} is not available, run again with the ${flag} flag`,
    { cause: err },
  );
}

/** Every event has a name; `ts` is added when it is written. */
export interface Event {
  /** What happened, e.g. "listening", "echo", "summary". */
  event: string;
}

const enc = new TextEncoder();

/**
 * Writes all of `data` to `sink`, synchronously when the sink allows it. A failed write
 * throws as {@link outputError} says; `what` names the stream in that error.
 */
export function writeAllSync(sink: Sink, data: Uint8Array, what = "stdout"): void {
  if (!sink.writeSync) {
    void sink.write(data);
    return;
  }
  let off = 0;
  try {
    while (off < data.length) off += sink.writeSync(data.subarray(off));
  } catch (err) {
    throw outputError(err, what);
  }
}

/** Writes all of `data` to `sink` (errors as {@link writeAllSync}). */
export async function writeAll(sink: Sink, data: Uint8Array, what = "stdout"): Promise<void> {
  let off = 0;
  try {
    while (off < data.length) off += await sink.write(data.subarray(off));
  } catch (err) {
    throw outputError(err, what);
  }
}

/**
 * What a failed write of our own output throws: a closed pipe (BrokenPipe) as it is, which
 * main turns into exit 141 with nothing printed, as a process killed by SIGPIPE would end;
 * any other system error as a {@link SysError} naming the stream (`write ENOSPC (stdout)`).
 */
export function outputError(err: unknown, what: string): unknown {
  if ((err as { name?: unknown } | null)?.name === "BrokenPipe") return err;
  // The errno as every other failed call gets it (lib/base/errors.ts); an error that has
  // none, or is ours already, stays as it is.
  const sys = toSysError(err, "write");
  if (sys === err || !(sys instanceof SysError) || sys.code === "EUNKNOWN") return err;
  return new SysError("write", sys.code, {}, what, { cause: err });
}

/** A `node:util` styleText format, e.g. "red" or ["bold", "green"]. */
export type Style = Parameters<typeof styleText>[0];

/** SGR codes (ECMA-48) of each format, open and close, as `node:util` inspect.colors. */
const SGR: Readonly<Record<string, readonly [number, number]>> = {
  reset: [0, 0],
  bold: [1, 22],
  dim: [2, 22],
  italic: [3, 23],
  underline: [4, 24],
  blink: [5, 25],
  inverse: [7, 27],
  hidden: [8, 28],
  strikethrough: [9, 29],
  doubleunderline: [21, 24],
  black: [30, 39],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  white: [37, 39],
  bgBlack: [40, 49],
  bgRed: [41, 49],
  bgGreen: [42, 49],
  bgYellow: [43, 49],
  bgBlue: [44, 49],
  bgMagenta: [45, 49],
  bgCyan: [46, 49],
  bgWhite: [47, 49],
  framed: [51, 54],
  overlined: [53, 55],
  gray: [90, 39],
  redBright: [91, 39],
  greenBright: [92, 39],
  yellowBright: [93, 39],
  blueBright: [94, 39],
  magentaBright: [95, 39],
  cyanBright: [96, 39],
  whiteBright: [97, 39],
  bgGray: [100, 49],
  bgRedBright: [101, 49],
  bgGreenBright: [102, 49],
  bgYellowBright: [103, 49],
  bgBlueBright: [104, 49],
  bgMagentaBright: [105, 49],
  bgCyanBright: [106, 49],
  bgWhiteBright: [107, 49],
};

/**
 * `s` in `format`, as `node:util` styleText writes it for a terminal: each format's open
 * code before, its close code after, and a close code inside `s` (not at its end)
 * re-opened (bold and dim share one close code, so theirs is kept and followed by the
 * open code).
 *
 * @example
 * ```ts
 * import { styled } from "./output.ts";
 * styled("red", "fail"); // "\x1b[31mfail\x1b[39m"
 * ```
 */
export function styled(format: Style, s: string): string {
  let open = "", close = "", text = s;
  for (const f of (Array.isArray(format) ? format : [format]) as string[]) {
    if (f === "none") continue;
    const codes = SGR[f];
    if (codes === undefined) throw new TypeError(`unknown text style "${f}"`);
    const [o, c] = [`\x1b[${codes[0]}m`, `\x1b[${codes[1]}m`];
    open += o;
    close = c + close;
    text = reopen(text, c, codes[0] === 1 || codes[0] === 2 ? c + o : o);
  }
  return `${open}${text}${close}`;
}

/** `text` with each `close` code replaced by `by`, except one that ends `text`. */
function reopen(text: string, close: string, by: string): string {
  let out = "", from = 0;
  for (let i = text.indexOf(close); i >= 0; i = text.indexOf(close, from)) {
    if (i + close.length >= text.length) break;
    out += text.slice(from, i) + by;
    from = i + close.length;
  }
  return out + text.slice(from);
}

/**
 * Milliseconds since the Unix epoch from the monotonic clock: the wall-clock time the
 * process started plus `performance.now()`, so a step of the system clock (NTP) cannot
 * make one event look older than the one before it.
 */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Renders events as text or NDJSON on stdout, and diagnostics on stderr. */
export class Reporter {
  /** Whether events are written as NDJSON (`--json`). */
  readonly json: boolean;
  readonly #io: Io;
  readonly #color: boolean;

  readonly #now: () => number;
  #lastTs = 0;
  /** Lines held by {@link batch} (null: not batching). */
  #held: string | null = null;

  /**
   * Renders to `io`; as NDJSON when `opts.json`. `opts.now` is the clock the `ts` fields
   * read (default: the monotonic {@link monotonicNow}).
   */
  constructor(
    io: Io,
    opts: { json?: boolean | undefined; now?: (() => number) | undefined } = {},
  ) {
    this.#io = io;
    this.json = opts.json ?? false;
    this.#now = opts.now ?? monotonicNow;
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
      const { event, ts: _, ...rest } = ev as E & { ts?: unknown };
      // One clock, never read backwards: lines are in the order they happened.
      this.#lastTs = Math.max(this.#lastTs, this.#now());
      const ts = new Date(Math.floor(this.#lastTs)).toISOString();
      this.line(JSON.stringify({ event, ts, ...rest }));
      return;
    }
    const line = typeof text === "function" ? text(ev) : text;
    if (line !== null) this.line(line);
  }

  /**
   * Runs `f` and writes the stdout lines it produces together, in one write(2), when it
   * returns (or throws): for events that arrive in batches, such as a server's accept and
   * close lines, one system call instead of one per line. A diagnostic written meanwhile
   * first writes out the lines held before it, so stdout and stderr keep their order when
   * they go to the same place.
   */
  batch(f: () => void): void {
    if (this.#held !== null) return f();
    this.#held = "";
    try {
      f();
    } finally {
      this.#release();
    }
  }

  /** Writes one raw line to stdout (held while a {@link batch} runs). */
  line(s: string): void {
    if (this.#held !== null) this.#held += s + "\n";
    else writeAllSync(this.#io.stdout, enc.encode(s + "\n"));
  }

  /** Writes one diagnostic line to stderr (never in JSON; stderr is for people). */
  warn(s: string): void {
    if (this.#held) {
      this.#release();
      this.#held = "";
    }
    writeAllSync(this.#io.stderr, enc.encode(`sockbox: ${s}\n`), "stderr");
  }

  /** Writes the held lines out and stops holding. */
  #release(): void {
    const held = this.#held;
    this.#held = null;
    if (held) writeAllSync(this.#io.stdout, enc.encode(held));
  }

  /** Colours `s` when writing human output to a terminal. */
  style(format: Style, s: string): string {
    return this.#color ? styled(format, s) : s;
  }
}
