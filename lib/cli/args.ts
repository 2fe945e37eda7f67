/**
 * Argument helpers shared by every command: one parser over `node:util` parseArgs that
 * turns its errors into {@link UsageError}, and number/duration parsers that name the
 * option in their message (`invalid --count "x": must be an integer 1-1000000`).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../base/errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` with `options`; unknown flags and missing values become `UsageError`s. */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
): {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>["values"];
  positionals: string[];
} {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
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
 * Parses a port number, 0-65535 (0 asks the kernel for a free port).
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
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(value);
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

/** Protocol names a command accepts, checked with a uniform message. */
export function parseProto<P extends string>(value: string | undefined, allowed: readonly P[]): P {
  if (value === undefined) throw new UsageError(`missing protocol (${allowed.join(", ")})`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`unknown protocol "${value}": must be ${allowed.join(" or ")}`);
  }
  return value as P;
}

/** Returns 4, 6 or undefined from `-4`/`-6`, rejecting both at once. */
export function parseFamily(v4: boolean | undefined, v6: boolean | undefined): 4 | 6 | undefined {
  if (v4 && v6) throw new UsageError("-4 cannot be used with -6");
  return v4 ? 4 : v6 ? 6 : undefined;
}

/** Throws if there are more positionals than `max`. */
export function noExtra(positionals: string[], max: number): void {
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument "${positionals[max]}"`);
  }
}

/**
 * If the first word that is not a flag is `word` (e.g. `sctp`), returns the arguments
 * without it, so a protocol with its own flags can parse them; otherwise null.
 */
export function afterProtoWord(args: string[], word: string): string[] | null {
  const i = args.findIndex((a) => !a.startsWith("-"));
  if (i < 0 || args[i] !== word) return null;
  return [...args.slice(0, i), ...args.slice(i + 1)];
}
