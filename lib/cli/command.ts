/**
 * The shapes of sockbox's commands, and the one way a command picks its second word.
 *
 * Every command file exports a {@link CommandModule} checked with `satisfies`, and hands
 * it to {@link command}, which hides the option type so one table can hold them all (the
 * way iproute2's `cmds[]` holds `do_ipaddr`, `do_iproute`, ...). Commands with a second
 * level (`serve tcp|udp|sctp`, `mcast listen|send|ping`) are a {@link wordTable}: the first
 * word that is not a flag or a flag's value picks the entry, wherever the flags put it.
 *
 * @module
 */
import { UsageError } from "../base/errors.ts";
import { type FlagSpec, normalizeArgs, parseFlags } from "./args.ts";
import { parseArgs } from "./parse_args.ts";
import type { Io } from "./output.ts";

export type { FlagSpec };

/** A command module: its texts, its flags, a pure parser and a runner. */
export interface CommandModule<O> {
  /** One line for `sockbox help`. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Every flag `parse` accepts (also used to find a word table's word and for completions). */
  flags: FlagSpec;
  /** Pure: turns argv (after the command's words) into options, or throws `UsageError`. */
  parse(args: string[]): O;
  /** Runs the command; resolves to the exit code. */
  run(options: O, io: Io): Promise<number>;
}

/** A command with its option type hidden, as the dispatch tables hold it. */
export interface Command {
  /** One line for `sockbox help`. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  /** Every flag the command accepts. */
  readonly flags: FlagSpec;
  /** The second-level entries (protocols or verbs), when the command has them. */
  readonly entries?: Readonly<Record<string, Command>>;
  /** Parses `args` and runs; resolves to the exit code. */
  exec(args: string[], io: Io): Promise<number>;
}

/** Wraps a typed module as a table entry: parse, then run, with no cast. */
export function command<O>(m: CommandModule<O>): Command {
  return {
    summary: m.summary,
    usage: m.usage,
    flags: m.flags,
    exec: async (args, io) => await m.run(m.parse(args), io),
  };
}

/**
 * What several entries of a protocol table share: one usage, flag set and runner, and a
 * parser told which word picked it (`send tcp` and `send udp` differ only in that word and
 * their summaries).
 */
export interface SharedModule<P extends string, O> {
  /** The full `--help` text, the same for every entry. */
  usage: string;
  /** Every flag `parse` accepts. */
  flags: FlagSpec;
  /** Pure: turns argv (after the command's words) into options for protocol `proto`. */
  parse(proto: P, args: string[]): O;
  /** Runs the command; resolves to the exit code. */
  run(options: O, io: Io): Promise<number>;
}

/**
 * The module of entry `proto`: `shared`, with its own summary, parsing for `proto`.
 *
 * @example
 * ```ts ignore
 * const TCP_UDP = { usage, flags: FLAGS, parse: parseServe, run: runServe };
 * export const serveTcpModule = protocolModule("tcp", "run a TCP echo server", TCP_UDP);
 * ```
 */
export function protocolModule<P extends string, O>(
  proto: P,
  summary: string,
  shared: SharedModule<P, O>,
): CommandModule<O> {
  return {
    summary,
    usage: shared.usage,
    flags: shared.flags,
    parse: (args) => shared.parse(proto, args),
    run: shared.run,
  };
}

/** What a table shows of an entry before its module loads: its texts and flags. */
export interface CommandSpec {
  /** One line for `sockbox help`. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  /** Every flag the entry accepts (a word table finds its word with them). */
  readonly flags: FlagSpec;
}

/**
 * A table entry whose module loads when it first runs: `spec` holds what help, completions
 * and word tables read (from a light module both the table and the entry's module import),
 * so a command that runs another entry of the same table never loads this one's code
 * (`serve tcp` skips the SCTP server's).
 *
 * @example
 * ```ts ignore
 * const sctp = lazyCommand(SERVE_SCTP, async () => command((await import("./sctp.ts")).serveSctpModule));
 * ```
 */
export function lazyCommand(spec: CommandSpec, load: () => Promise<Command>): Command {
  let loaded: Promise<Command> | undefined;
  return {
    summary: spec.summary,
    usage: spec.usage,
    flags: spec.flags,
    exec: async (args, io) => await (await (loaded ??= load())).exec(args, io),
  };
}

/** What a word table is made of. */
export interface WordTableSpec {
  /** One line for `sockbox help`. */
  summary: string;
  /** The full `--help` text of the command (all entries). */
  usage: string;
  /** What the word is called in messages: "protocol", "subcommand". */
  kind: string;
  /** The entries, by word, in the order usage texts list them. */
  entries: Record<string, Command>;
  /** The message when no word is given; default `missing KIND (a, b, c)`. */
  missing?: string;
  /** The message for a word not in the table; default `unknown KIND "w": must be a, b or c`. */
  unknown?: (word: string) => string;
}

/**
 * Finds the first positional word of `args`, given every flag any entry accepts (so a
 * flag's value is never taken for the word). Returns its index, or -1.
 *
 * @example
 * ```ts
 * import { firstWord } from "./command.ts";
 * firstWord(["--timeout", "2s", "sctp", "127.0.0.1"], { timeout: { type: "string" } }); // 2
 * ```
 */
export function firstWord(args: string[], flags: FlagSpec): number {
  const { tokens } = parseArgs({
    args,
    options: flags,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens!) {
    if (t.kind === "positional") return t.index;
    if (t.kind === "option-terminator") return t.index + 1 < args.length ? t.index + 1 : -1;
  }
  return -1;
}

/**
 * Merges the flags of several entries: the first spec of a name wins, and takes the
 * `short` letter of a later spec of the same name when it has none.
 */
export function mergeFlags(specs: Iterable<FlagSpec>): FlagSpec {
  const out: FlagSpec = {};
  for (const s of specs) {
    for (const [k, v] of Object.entries(s)) {
      const have = out[k];
      if (have === undefined) out[k] = v;
      else if (have.short === undefined && v.short !== undefined) {
        out[k] = { ...have, short: v.short };
      }
    }
  }
  return out;
}

/** Words as a message lists them: `tcp, udp or sctp`. */
function orList(words: string[]): string {
  return words.length < 2
    ? (words[0] ?? "")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/**
 * A command whose first positional word picks one of `entries`; the word may follow
 * flags (`send --timeout 2s sctp HOST PORT`). The chosen entry parses the rest.
 *
 * @example
 * ```ts ignore
 * const serve = wordTable({ summary, usage, kind: "protocol", entries: { tcp, udp, sctp } });
 * await serve.exec(["--host", "::1", "tcp", "7"], io);
 * ```
 */
export function wordTable(spec: WordTableSpec): WordTable {
  const words = Object.keys(spec.entries);
  const flags = mergeFlags(Object.values(spec.entries).map((e) => e.flags));
  const pick = (given: string[]): Picked => {
    // `--max-conns -5 tcp` and `-c=3`: read as the entry's parser will read them.
    const args = normalizeArgs(given, flags);
    const i = firstWord(args, flags);
    const word = i < 0 ? undefined : args[i]!;
    const entry = word !== undefined && Object.hasOwn(spec.entries, word)
      ? spec.entries[word]
      : undefined;
    if (!entry) {
      // A bad flag is the first thing to report, as when one parser saw every argument.
      parseFlags(args, flags);
      throw new UsageError(
        word === undefined
          ? spec.missing ?? `missing ${spec.kind} (${words.join(", ")})`
          : spec.unknown?.(word) ?? `unknown ${spec.kind} "${word}": must be ${orList(words)}`,
      );
    }
    return { word: word!, entry, rest: [...args.slice(0, i), ...args.slice(i + 1)] };
  };
  return {
    summary: spec.summary,
    usage: spec.usage,
    flags,
    entries: spec.entries,
    pick,
    exec: async (args, io) => {
      const p = pick(args);
      return await p.entry.exec(p.rest, io);
    },
  };
}

/**
 * The table of a protocol command (`serve`, `send`, `ping`): a {@link wordTable} of kind
 * "protocol" whose messages read `missing protocol (tcp, udp, sctp)` and
 * `unknown protocol "icmp": must be tcp or udp or sctp`.
 */
export function protocolTable(
  spec: Omit<WordTableSpec, "kind" | "missing" | "unknown">,
): WordTable {
  const words = Object.keys(spec.entries);
  return wordTable({
    ...spec,
    kind: "protocol",
    unknown: (word) => `unknown protocol "${word}": must be ${words.join(" or ")}`,
  });
}

/** A command with a second level: {@link wordTable}'s result. */
export interface WordTable extends Command {
  /** The entries, by word. */
  readonly entries: Readonly<Record<string, Command>>;
  /** Finds the word and its entry (or throws `UsageError`), without running anything. */
  pick(args: string[]): Picked;
}

/** The entry a word table picked, and the arguments left for it. */
export interface Picked {
  /** The word as typed. */
  word: string;
  /** The entry it names. */
  entry: Command;
  /** `args` without the word. */
  rest: string[];
}
