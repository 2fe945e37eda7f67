/**
 * The argument parser of `node:util` (`util.parseArgs`, see the Node.js "Utilities"
 * documentation), rewritten so the CLI does not load Node.js compatibility at start-up:
 * importing `node:util` costs a Deno process about 20 ms, a third of a bare
 * `Deno.listen` script's whole start. It reads the same options (`type`, `short`,
 * `multiple`, `default`) and the same spellings: `--name value`, `--name=value`, `-n value`,
 * `-nvalue`, boolean groups `-abc`, and `--` ending the options. With `strict` it throws
 * the same errors, with the same `code` and message as Node.js (`parse_args_test.ts`
 * beside this file compares the two on every spelling), so lib/cli/args.ts maps them to
 * usage errors exactly as it did.
 *
 * @module
 */

/** One option: `type`, its one-letter `short` form, `multiple`, `default`. */
export interface OptionSpec {
  /** `string` options take a value; `boolean` options do not. */
  type: "string" | "boolean";
  /** The one-letter form, without its dash. */
  short?: string | undefined;
  /** Collect every use in an array. */
  multiple?: boolean | undefined;
  /** The value when the option is not given. */
  default?: string | boolean | string[] | boolean[] | undefined;
}

/** The options a parser accepts, by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** What `argv` was split into (`tokens: true` in `node:util`). */
export type Token =
  | {
    kind: "option";
    /** The long name. */
    name: string;
    /** The name as typed: `--name` or `-n`. */
    rawName: string;
    /** Where it starts in the arguments. */
    index: number;
    /** Its value, if one was given. */
    value: string | undefined;
    /** Whether the value was in the same argument (`--name=value`, `-nvalue`). */
    inlineValue: boolean | undefined;
  }
  | { kind: "positional"; index: number; value: string }
  | { kind: "option-terminator"; index: number };

/** A parse error: `code` is Node.js's `ERR_PARSE_ARGS_UNKNOWN_OPTION` or `..._INVALID_OPTION_VALUE`. */
export class ParseArgsError extends TypeError {
  /** Node.js's error code. */
  readonly code: string;
  /** An error with Node.js's `code` and message. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "TypeError";
    this.code = code;
  }
}

const own = (specs: OptionSpecs, name: string): OptionSpec | undefined =>
  Object.hasOwn(specs, name) ? specs[name] : undefined;

function longForShort(short: string, specs: OptionSpecs): string {
  for (const [name, spec] of Object.entries(specs)) if (spec.short === short) return name;
  return short;
}

const takesValue = (specs: OptionSpecs, name: string) => own(specs, name)?.type === "string";

/** Splits `args` into tokens the way `node:util` parseArgs does (no checks). */
export function argsToTokens(args: readonly string[], specs: OptionSpecs): Token[] {
  const tokens: Token[] = [];
  let index = -1;
  let groupCount = 0;
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const next = rest[0];
    if (groupCount > 0) groupCount--;
    else index++;
    if (arg === "--") {
      tokens.push({ kind: "option-terminator", index });
      for (const value of rest) tokens.push({ kind: "positional", index: ++index, value });
      break;
    }
    const lone = arg.length === 2 && arg[0] === "-" && arg[1] !== "-";
    const dashed = arg.length > 2 && arg[0] === "-" && arg[1] !== "-";
    const long = arg.length > 2 && arg.startsWith("--");
    if (lone || (long && !arg.includes("=", 3))) {
      // -f or --name, alone or followed by its VALUE
      const name = lone ? longForShort(arg[1]!, specs) : arg.slice(2);
      let value: string | undefined;
      let inlineValue: boolean | undefined;
      if (takesValue(specs, name) && next !== undefined) {
        value = rest.shift();
        inlineValue = false;
      }
      tokens.push({ kind: "option", name, rawName: arg, index, value, inlineValue });
      if (value !== undefined) index++;
    } else if (dashed && !takesValue(specs, longForShort(arg[1]!, specs))) {
      // -abc is -a -b -c; a string option in the middle takes the rest: -abfFILE
      const expanded: string[] = [];
      for (let i = 1; i < arg.length; i++) {
        const short = arg[i]!;
        if (!takesValue(specs, longForShort(short, specs)) || i === arg.length - 1) {
          expanded.push(`-${short}`);
        } else {
          expanded.push(`-${arg.slice(i)}`);
          break;
        }
      }
      rest.unshift(...expanded);
      groupCount = expanded.length;
    } else if (dashed || long) {
      // -fVALUE or --name=VALUE
      const cut = dashed ? 2 : arg.indexOf("=");
      const rawName = arg.slice(0, cut);
      tokens.push({
        kind: "option",
        name: dashed ? longForShort(arg[1]!, specs) : rawName.slice(2),
        rawName,
        index,
        value: arg.slice(dashed ? cut : cut + 1),
        inlineValue: true,
      });
    } else {
      tokens.push({ kind: "positional", index, value: arg });
    }
  }
  return tokens;
}

function checkOption(
  token: Extract<Token, { kind: "option" }>,
  specs: OptionSpecs,
  allowPositionals: boolean,
): void {
  const spec = own(specs, token.name);
  if (spec === undefined) {
    const hint = allowPositionals
      ? `. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${
        JSON.stringify(token.rawName)
      }`
      : "";
    throw new ParseArgsError(
      "ERR_PARSE_ARGS_UNKNOWN_OPTION",
      `Unknown option '${token.rawName}'${hint}`,
    );
  }
  const names = `${spec.short ? `-${spec.short}, ` : ""}--${token.name}`;
  if (spec.type === "string" && typeof token.value !== "string") {
    throw new ParseArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${names} <value>' argument missing`,
    );
  }
  if (spec.type === "boolean" && token.value !== undefined) {
    throw new ParseArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${names}' does not take an argument`,
    );
  }
  const v = token.value;
  if (!token.inlineValue && v !== undefined && v.length > 1 && v[0] === "-") {
    const example = token.rawName.startsWith("--")
      ? `'${token.rawName}=-XYZ'`
      : `'--${token.name}=-XYZ' or '${token.rawName}-XYZ'`;
    throw new ParseArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${token.rawName}' argument is ambiguous.
Did you forget to specify the option argument for '${token.rawName}'?
To specify an option argument starting with a dash use ${example}.`,
    );
  }
}

/** The parsed values: one per option given (arrays for `multiple`), `true` for booleans. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Parses `args` as `node:util` parseArgs does with the same config; `strict` (default
 * true) throws {@link ParseArgsError} for unknown options and missing or extra values.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./parse_args.ts";
 * parseArgs({ args: ["-c", "3", "host"], options: { count: { type: "string", short: "c" } }, allowPositionals: true });
 * // { values: { count: "3" }, positionals: ["host"], tokens: undefined }
 * ```
 */
export function parseArgs(config: {
  args: readonly string[];
  options: OptionSpecs;
  strict?: boolean;
  allowPositionals?: boolean;
  tokens?: boolean;
}): { values: ParsedValues; positionals: string[]; tokens: Token[] | undefined } {
  const strict = config.strict ?? true;
  const allowPositionals = config.allowPositionals ?? !strict;
  const specs = config.options;
  const tokens = argsToTokens(config.args, specs);
  const values: ParsedValues = Object.create(null);
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "option") {
      if (strict) checkOption(t, specs, allowPositionals);
      if (t.name === "__proto__") continue;
      const v = t.value ?? true;
      if (own(specs, t.name)?.multiple) {
        const have = values[t.name];
        if (Array.isArray(have)) have.push(v);
        else values[t.name] = [v];
      } else {
        values[t.name] = v;
      }
    } else if (t.kind === "positional") {
      if (!allowPositionals) {
        throw new ParseArgsError(
          "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
          `Unexpected argument '${t.value}'. This command does not take positional arguments`,
        );
      }
      positionals.push(t.value);
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.default !== undefined && values[name] === undefined) {
      values[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
    }
  }
  return { values, positionals, tokens: config.tokens ? tokens : undefined };
}
