/**
 * The argv fuzzer's inner loop, run by tests/fuzz_argv_test.ts inside a private network
 * namespace (`unshare -n`), so a fuzzed multicast, broadcast or beacon goes nowhere.
 * Builds seeded random command lines from sockbox's own commands, words, flags and a pool
 * of edge values, runs each in-process through `main` with a signal that aborts after a
 * moment (servers and pings stop), and prints one JSON line per case that broke a rule:
 * an exit code other than 0, 1, 2 (or 130/143 after the abort), "internal error", a stack
 * trace, or no return within 5 s of the abort.
 *
 * Usage: deno run -A tests/fuzz/argv_runner.ts SEED CASES MAX_MS (the same seed and
 * number of cases replay the same command lines; MAX_MS stops early on a slow machine)
 *
 * @module
 */
import { COMMANDS, main } from "../../main.ts";
import { memoryIo } from "../../lib/cli/test_util.ts";
import type { Command } from "../../lib/cli/command.ts";

/** mulberry32: a small seeded PRNG, so a failing seed replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES = [
  "",
  "0",
  "1",
  "-1",
  "7",
  "65535",
  "65536",
  "99999999999999999999",
  "1.5",
  "0x10",
  "127.0.0.1",
  "::1",
  "[::1]",
  "[::1]:7",
  "127.0.0.1:0",
  "fe80::1%lo",
  "224.0.0.251",
  "ff02::1",
  "255.255.255.255",
  "10.0.0.0/8",
  "::/0",
  "localhost",
  "lo",
  "nosuchif0",
  "500ms",
  "1s",
  "0s",
  "-5s",
  "off",
  "all",
  "ef",
  "af99",
  "1,2,3",
  "default,8080",
  "%",
  "\u0000",
  "é",
  "x".repeat(300),
  "--",
  "-",
  "-v",
  "--json",
];

function words(name: string, cmd: Command): string[] {
  return cmd.entries ? Object.keys(cmd.entries) : [name];
}

const [seedText, casesText, maxText] = Deno.args;
const seed = Number(seedText ?? 1), maxCases = Number(casesText ?? 2000);
const budgetMs = Number(maxText ?? 60_000);
const rand = prng(seed);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
const names = Object.keys(COMMANDS);
const loaded = new Map<string, Command>();
const started = performance.now();
let cases = 0;
const codes: Record<string, number> = {};
while (cases < maxCases && performance.now() - started < budgetMs) {
  const name = pick(names);
  let cmd = loaded.get(name);
  if (!cmd) loaded.set(name, cmd = await COMMANDS[name]!());
  const flags = Object.entries(cmd.flags);
  const argv = [name];
  if (cmd.entries && rand() < 0.9) argv.push(pick(words(name, cmd)));
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.55 && flags.length) {
      const [flag, spec] = pick(flags);
      const dash = spec.short && rand() < 0.3 ? `-${spec.short}` : `--${flag}`;
      if (spec.type === "string") {
        if (rand() < 0.2) argv.push(`${dash}=${pick(VALUES)}`);
        else argv.push(dash, pick(VALUES));
      } else argv.push(dash);
    } else if (r < 0.9) argv.push(pick(VALUES));
    else argv.push(`--${pick(["nope", "help", "h", "verbose", "json"])}`);
  }
  if (argv.includes("--help") || argv.includes("-h")) continue; // help is covered elsewhere
  const ac = new AbortController();
  const io = memoryIo([], ac.signal);
  const timer = setTimeout(() => ac.abort("SIGINT"), 300);
  let code: number | "hang";
  let hang: ReturnType<typeof setTimeout> | undefined;
  try {
    code = await Promise.race([
      main(argv, io),
      new Promise<"hang">((res) => hang = setTimeout(() => res("hang"), 5300)),
    ]);
  } finally {
    clearTimeout(timer);
    clearTimeout(hang);
  }
  cases++;
  codes[String(code)] = (codes[String(code)] ?? 0) + 1;
  const stderr = io.stderr.text();
  const bad = code === "hang"
    ? "no return within 5s of the abort"
    : ![0, 1, 2, 130, 143].includes(code)
    ? `exit ${code}`
    : /internal error/.test(stderr)
    ? "internal error"
    : /^\s+at .*:\d+:\d+\)?$/m.test(stderr)
    ? "stack trace"
    : null;
  if (bad) console.log(JSON.stringify({ bad, argv, code, stderr: stderr.slice(0, 400) }));
  if (code === "hang") break; // the process may be wedged: stop here
}
console.log(JSON.stringify({ done: true, seed, cases, codes }));
Deno.exit(0);
