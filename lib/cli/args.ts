/**
 * Argument helpers shared by every command: one parser over parseArgs (./parse_args.ts,
 * which reads arguments as `node:util` parseArgs does) that turns its errors into
 * {@link UsageError}, and number/duration parsers that name the
 * option in their message (`invalid --count "x": must be an integer 1-1000000`).
 *
 * @module
 */
// Types only: importing node:util itself would cost every command ~20 ms of start-up.
import type { parseArgs as nodeParseArgs, ParseArgsConfig } from "node:util";
import { UsageError } from "../base/errors.ts";
import { parseArgs } from "./parse_args.ts";
import { ipFamily, stripBrackets } from "../base/ip.ts";

/** parseArgs option specs: the flags a parser accepts. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` with `options`; unknown flags and missing values become `UsageError`s. */
export function parseFlags<T extends FlagSpec>(
  args: string[],
  options: T,
): {
  values: ReturnType<typeof nodeParseArgs<{ options: T; allowPositionals: true }>>["values"];
  positionals: string[];
} {
  try {
    const r = parseArgs({
      args: normalizeArgs(args, options),
      options,
      allowPositionals: true,
      strict: true,
    });
    return {
      values: r.values as ReturnType<
        typeof nodeParseArgs<{ options: T; allowPositionals: true }>
      >["values"],
      positionals: r.positionals,
    };
  } catch (err) {
    const e = err as Error & { code?: string };
    const flag = /'(-[^']*)'/.exec(e.message)?.[1] ?? /"(-[^"]*)"/.exec(e.message)?.[1];
    switch (e.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(`unknown option "${flag ?? e.message}"`);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(
          flag && /argument missing|ambiguous/.test(e.message)
            ? `option "${firstFlag(flag)}" needs a value`
            : `option "${firstFlag(flag ?? "")}" takes no value`,
        );
      default:
        throw new UsageError(e.message);
    }
  }
}

/**
 * Rewrites the two spellings `node:util` parseArgs reads differently from getopt(3):
 * a negative number after a flag that takes a value (`--max-conns -5`, `-c -1`,
 * `--idle-timeout -1s`) is that flag's value, not a flag of its own; and `-c=3` means
 * `-c 3`. Both become `--name=value`, so the value reaches the range check. Arguments
 * after `--` are left alone.
 *
 * @example
 * ```ts
 * import { normalizeArgs } from "./args.ts";
 * normalizeArgs(["-c", "-1", "-i=2s"], {
 *   count: { type: "string", short: "c" },
 *   interval: { type: "string", short: "i" },
 * }); // ["--count=-1", "--interval=2s"]
 * ```
 */
export function normalizeArgs(args: string[], options: FlagSpec): string[] {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) {
    if (spec.short !== undefined) byShort.set(spec.short, name);
  }
  const takesValue = (name: string | undefined): name is string =>
    name !== undefined && Object.hasOwn(options, name) && options[name]!.type === "string";
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const short = /^-([^-])(=(.*))?$/s.exec(a);
    const name = a.startsWith("--") && !a.includes("=")
      ? a.slice(2)
      : short
      ? byShort.get(short[1]!)
      : undefined;
    if (!takesValue(name)) {
      out.push(a);
      continue;
    }
    if (short?.[2] !== undefined) {
      out.push(`--${name}=${short[3]}`);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && /^-\.?[0-9]/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

function firstFlag(s: string): string {
  // node reports "-p, --port <value>"; name the long form as users type it.
  const long = /--[\w-]+/.exec(s)?.[0];
  return long ?? s.split(",")[0]!.trim();
}

/** Parses an integer in [min, max]; `name` is the option as typed (`--count`, `PORT`). */
export function parseInteger(name: string, value: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid ${name} "${value}": must be ${min}-${max}`);
  }
  return n;
}

/**
 * Parses a port to listen on, 0-65535 (0 asks the kernel for a free port).
 *
 * @example
 * ```ts
 * import { parsePort } from "./args.ts";
 * parsePort("PORT", "7007"); // 7007; "70000" throws UsageError('invalid PORT "70000": must be 0-65535')
 * ```
 */
export function parsePort(name: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  return parseInteger(name, value, 0, 65535);
}

/**
 * Parses a port to send or connect to, 1-65535: port 0 is no destination (a kernel
 * refuses to connect(2) to it), so it is a usage error before anything is sent.
 *
 * @example
 * ```ts
 * import { parseDestPort } from "./args.ts";
 * parseDestPort("PORT", "7"); // 7; "0" throws UsageError('invalid PORT "0": must be 1-65535')
 * ```
 */
export function parseDestPort(name: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  return parseInteger(name, value, 1, 65535);
}

/** Checks a HOST argument: present and not empty (a name or an address is resolved later). */
export function parseHost(name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  if (value.trim() === "") {
    throw new UsageError(`invalid ${name} "${value}": must be a host name or address`);
  }
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds: `500ms`, `2s`, `1.5s`, `1m`, `1h`; a bare number
 * means seconds. Must be within [minMs, maxMs].
 *
 * @example
 * ```ts
 * import { parseDuration } from "./args.ts";
 * parseDuration("--timeout", "1.5s"); // 1500
 * ```
 */
export function parseDuration(
  name: string,
  value: string,
  minMs = 0,
  maxMs = 7 * 24 * 3_600_000,
): number {
  // A sign is read so that "-1s" gets the range message, as "-1" does for numbers.
  const m = /^(-?[0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(value);
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? "s"]! : NaN;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    throw new UsageError(
      `invalid ${name} "${value}": must be a duration like 500ms, 2s or 1m` +
        (m ? ` between ${fmtMs(minMs)} and ${fmtMs(maxMs)}` : ""),
    );
  }
  return ms;
}

function fmtMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Returns 4, 6 or undefined from `-4`/`-6`, rejecting both at once. */
export function parseFamily(v4: boolean | undefined, v6: boolean | undefined): 4 | 6 | undefined {
  if (v4 && v6) throw new UsageError("-4 cannot be used with -6");
  return v4 ? 4 : v6 ? 6 : undefined;
}

/**
 * The address a server binds from `--host` (an IPv4 or IPv6 address, brackets allowed),
 * or undefined for the wildcard; `--host` cannot be used with `-4` or `-6` (`family`),
 * which pick the wildcard's family instead.
 */
export function parseBindHost(
  value: string | undefined,
  family: 4 | 6 | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  const host = stripBrackets(value);
  if (ipFamily(host) === 0) {
    throw new UsageError(`invalid --host "${value}": must be an IPv4 or IPv6 address`);
  }
  if (family !== undefined) throw new UsageError(`--host cannot be used with -${family}`);
  return host;
}

/** Throws if there are more positionals than `max`. */
export function noExtra(positionals: string[], max: number): void {
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument "${positionals[max]}"`);
  }
}
