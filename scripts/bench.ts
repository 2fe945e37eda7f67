/**
 * `deno task bench`: sockbox's benchmarks. Runs the echo benchmark (`bench_echo.ts`) by
 * default; `--only` picks sections. The others live in `scripts/bench_<name>.ts`
 * (`ifaces`, `sctp`, `engines`, `scale`, `ping`, `agree`); each is run, when present, as
 * `deno run -q -A scripts/bench_<name>.ts [ARGS after --]` from the repository root with
 * `QUICK=1` in its environment for `--quick`, and is expected to print Markdown on stdout.
 * A missing section script is reported and skipped.
 *
 * ```sh
 * deno task bench                      # echo benchmark, full (about 10-20 minutes)
 * deno task bench --quick              # smoke run (about 2 minutes)
 * deno task bench --only echo,sctp --reps 3
 * ```
 *
 * Exit status: 0 when every section ran, 1 when one failed, 2 for bad arguments.
 *
 * @module
 */
import { noExtra, parseFlags } from "../lib/cli/args.ts";
import { UsageError } from "../lib/base/errors.ts";
import {
  ECHO_FLAGS,
  ECHO_USAGE,
  type EchoBenchOptions,
  echoOptions,
  renderEcho,
  repoRoot,
  runEchoBench,
} from "./bench_echo.ts";

/** Benchmark sections, in the order they run. */
export const SECTIONS = ["echo", "ifaces", "sctp", "engines", "scale", "ping", "agree"] as const;
/** A section name. */
export type Section = typeof SECTIONS[number];

export const USAGE = `Usage: deno task bench [--only LIST] [--quick] [ECHO OPTIONS] [-- ARGS]

Runs sockbox's benchmarks and prints Markdown tables on stdout (progress on stderr).

Options:
  --only LIST      sections to run, comma-separated: ${SECTIONS.join(", ")} (default: echo);
                   may be repeated. The others run scripts/bench_<name>.ts, skipped with
                   a note when the script is missing (scale: 50000 concurrent TCP
                   connections per serve engine inside User-Mode Linux; agree: sockbox
                   bench against the C load client echoload, same C server)
  --quick          smoke run of every selected section (QUICK=1 in their environment)
  -h, --help       this text
  -- ARGS          passed to the section scripts

${ECHO_USAGE}`;

/** Parsed `bench` arguments. */
export interface BenchArgs {
  sections: Section[];
  quick: boolean;
  echo: EchoBenchOptions;
  /** Arguments for the section scripts (after `--`). */
  passThrough: string[];
  help: boolean;
}

/** Parses `bench` arguments (pure); throws `UsageError` with a one-line message. */
export function parseBenchArgs(args: string[]): BenchArgs {
  const dash = args.indexOf("--");
  const own = dash === -1 ? args : args.slice(0, dash);
  const passThrough = dash === -1 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseFlags(own, {
    ...ECHO_FLAGS,
    only: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  noExtra(positionals, 0);
  const sections: Section[] = [];
  for (const word of (values.only ?? ["echo"]).flatMap((s) => s.split(","))) {
    const name = word.trim();
    if (name === "") continue;
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new UsageError(`invalid --only "${name}": must be one of ${SECTIONS.join(", ")}`);
    }
    if (!sections.includes(name as Section)) sections.push(name as Section);
  }
  if (sections.length === 0) throw new UsageError(`invalid --only "": must name a section`);
  sections.sort((a, b) => SECTIONS.indexOf(a) - SECTIONS.indexOf(b));
  return {
    sections,
    quick: values.quick ?? false,
    echo: echoOptions(values),
    passThrough,
    help: values.help ?? false,
  };
}

/** Runs one section script (`scripts/bench_<name>.ts`); resolves to its exit code or null. */
async function runSectionScript(name: Section, a: BenchArgs): Promise<number | null> {
  const repo = repoRoot();
  const script = `${repo}/scripts/bench_${name}.ts`;
  try {
    await Deno.stat(script);
  } catch {
    return null;
  }
  const env: Record<string, string> = {};
  if (a.quick) env.QUICK = "1";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", script, ...a.passThrough],
    cwd: repo,
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

/** Runs the selected sections in order; resolves to the exit code. */
export async function bench(a: BenchArgs): Promise<number> {
  let failed = 0;
  for (const name of a.sections) {
    console.error(`bench: ${name}`);
    if (name === "echo") {
      try {
        const result = await runEchoBench(a.echo);
        const md = renderEcho(result, a.echo);
        await Deno.writeTextFile(`${result.out}/bench.md`, md);
        console.log(md);
      } catch (e) {
        console.error(`bench: echo: ${(e as Error).message}`);
        failed++;
      }
      continue;
    }
    const code = await runSectionScript(name, a);
    if (code === null) {
      console.error(`bench: ${name}: scripts/bench_${name}.ts not present, skipped`);
    } else if (code !== 0) {
      console.error(`bench: ${name}: scripts/bench_${name}.ts exited with ${code}`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  let a: BenchArgs;
  try {
    a = parseBenchArgs(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (a.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  Deno.exit(await bench(a));
}
