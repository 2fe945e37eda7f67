/**
 * Benchmark: `sockbox ifaces` against `ip -j addr show` on a network namespace with 60
 * interfaces (30 veth pairs, each end up with an IPv4 and an IPv6 address), like against
 * like:
 *
 * - one enumeration inside a running process: `listInterfaces()` in a warm Deno process
 *   (median of many runs) against iproute2 enumerating in one `ip -batch` process, its
 *   start-up cancelled out: (time of N `addr show` - time of 1) / (N - 1), median of 5;
 * - the whole process, start to exit: `deno run -P main.ts ifaces --json` (no `deno task`
 *   wrapper) against `ip -j addr show`, median of 5, so Deno's start-up cost shows.
 *
 * Each comparison is a ratio to iproute2's figure of the same kind. Needs root and
 * `ip netns`. Run: `deno run -A scripts/bench_ifaces.ts`.
 *
 * @module
 */
import { listInterfaces } from "../lib/sys/interfaces.ts";

const PAIRS = 30;
const INNER_RUNS = 200;
const PROCESS_RUNS = 5;
const BATCH = 200;
const ROOT = new URL("../", import.meta.url).pathname;

/** What the inner run measured, in ms. */
export interface IfacesBench {
  /** Interfaces enumerated. */
  count: number;
  /** listInterfaces() in a warm process, median. */
  enumerate: number;
  /** One `addr show` inside a running `ip -batch`, start-up cancelled out, median. */
  ipEnumerate: number;
  /** `ip -j addr show`, whole process, median. */
  ipProcess: number;
  /** `deno run -P main.ts ifaces --json`, whole process, median. */
  sockboxProcess: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await output;
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function timeProcess(cmd: string, args: string[], stdin?: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    const t0 = performance.now();
    await run(cmd, args, stdin);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Measures inside the namespace; prints one JSON object ({@link IfacesBench}). */
async function inner(): Promise<void> {
  let count = 0;
  for (let i = 0; i < 20; i++) count = listInterfaces().length; // warm up (JIT, dlopen)
  const times: number[] = [];
  for (let i = 0; i < INNER_RUNS; i++) {
    const t0 = performance.now();
    listInterfaces();
    times.push(performance.now() - t0);
  }
  const one = await timeProcess("ip", ["-j", "-batch", "-"], "addr show\n");
  const many = await timeProcess("ip", ["-j", "-batch", "-"], "addr show\n".repeat(BATCH));
  const result: IfacesBench = {
    count,
    enumerate: median(times),
    ipEnumerate: Math.max(0, (many - one) / (BATCH - 1)),
    ipProcess: await timeProcess("ip", ["-j", "addr", "show"]),
    sockboxProcess: await timeProcess(Deno.execPath(), [
      "run",
      "-q",
      "-P",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}main.ts`,
      "ifaces",
      "--json",
    ]),
  };
  console.log(JSON.stringify(result));
}

/** The Markdown table for a result (pure). */
export function ifacesTable(r: IfacesBench): string {
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  const ratio = (x: number, base: number) => base > 0 ? `${(x / base).toFixed(2)}×` : "—";
  return [
    `### ifaces: ${r.count} interfaces (${PAIRS} veth pairs + lo)`,
    "",
    "| measurement | sockbox | `ip` (iproute2) | sockbox / ip |",
    "|---|---:|---:|---:|",
    `| one enumeration inside a running process (sockbox: listInterfaces(), median of ${INNER_RUNS}; ip: per \`addr show\` in one \`ip -batch\` of ${BATCH}, start-up cancelled out, median of ${PROCESS_RUNS}) | ${
      ms(r.enumerate)
    } | ${ms(r.ipEnumerate)} | ${ratio(r.enumerate, r.ipEnumerate)} |`,
    `| whole process, start to exit (\`deno run -P main.ts ifaces --json\` vs \`ip -j addr show\`, median of ${PROCESS_RUNS}) | ${
      ms(r.sockboxProcess)
    } | ${ms(r.ipProcess)} | ${ratio(r.sockboxProcess, r.ipProcess)} |`,
  ].join("\n");
}

/** Sets up the namespace, measures inside it, prints the table, removes the namespace. */
export async function main(): Promise<void> {
  const ns = `sockbox-bench-${Deno.pid}`;
  await run("ip", ["netns", "add", ns]);
  try {
    const batch = ["link set lo up"];
    for (let i = 0; i < PAIRS; i++) {
      batch.push(`link add a${i} type veth peer name b${i}`);
      batch.push(`link set a${i} up`, `link set b${i} up`);
      batch.push(`addr add 10.${i}.0.1/24 dev a${i}`, `addr add 10.${i}.0.2/24 dev b${i}`);
      batch.push(`addr add fd00:${i}::1/64 dev a${i} nodad`);
      batch.push(`addr add fd00:${i}::2/64 dev b${i} nodad`);
    }
    await run("ip", ["-n", ns, "-batch", "-"], batch.join("\n") + "\n");
    const out = await run("ip", [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--inner",
    ]);
    console.log(ifacesTable(JSON.parse(out) as IfacesBench));
  } finally {
    await run("ip", ["netns", "del", ns]);
  }
}

if (import.meta.main) {
  try {
    if (Deno.args.includes("--inner")) await inner();
    else await main();
  } catch (e) {
    console.error(`bench_ifaces: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
