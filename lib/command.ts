/**
 * The shape every `lib/commands/<name>.ts` module has, so `main.ts` can dispatch through
 * one table and tests can run commands in-process.
 *
 * @module
 */
import type { Io } from "./output.ts";

/** A subcommand module. */
export interface CommandModule<O = unknown> {
  /** One line for `sockbox help`. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Pure: turns argv (after the command name) into options, or throws `UsageError`. */
  parse(args: string[]): O;
  /** Runs the command; resolves to the exit code. */
  run(options: O, io: Io): Promise<number>;
}

/** Any command module, as the dispatch table holds them (options stay opaque there). */
export interface AnyCommand {
  summary: string;
  usage: string;
  parse(args: string[]): unknown;
  run(options: never, io: Io): Promise<number>;
}
