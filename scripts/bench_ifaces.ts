/**
 * Benchmark: `sockbox ifaces` against `ip -j addr show` on a network namespace with 60
 * interfaces (30 veth pairs, each end up with an IPv4 and an IPv6 address).
 *
 * Prints a Markdown table: the enumeration timed inside the process (listInterfaces(),
 * median of many runs), and whole-process runs of `sockbox ifaces --json` and
 * `ip -j addr show` (median of 5), with ratios to iproute2's whole run, so Deno's start-up
 * cost is visible. Needs root and `ip netns`. Run: `deno run -A scripts/bench_ifaces.ts`.
 *
 * @module
 */
import { listInterfaces } from "../lib/sys/interfaces.ts";

const PAIRS = 30;
const INNER_RUNS = 200;
const PROCESS_RUNS = 5;
const ROOT = new URL("../", import.meta.url).pathname;

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
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function timeProcess(cmd: string, args: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    const t0 = performance.now();
    await run(cmd, args);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Measures inside the namespace; prints one JSON object. */
async function inner(): Promise<void> {
  let count = 0;
  for (let i = 0; i < 20; i++) count = listInterfaces().length; // warm up (JIT, dlopen)
  const times: number[] = [];
  for (let i = 0; i < INNER_RUNS; i++) {
    const t0 = performance.now();
    listInterfaces();
    times.push(performance.now() - t0);
  }
  const ip = await timeProcess("ip", ["-j", "addr", "show"]);
  const sockbox = await timeProcess(Deno.execPath(), [
    "task",
    "-q",
    "--cwd",
    ROOT,
    "start",
    "ifaces",
    "--json",
  ]);
  console.log(JSON.stringify({ count, enumerate: median(times), ip, sockbox }));
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
    const r = JSON.parse(out) as { count: number; enumerate: number; ip: number; sockbox: number };
    const ms = (x: number) => `${x.toFixed(2)} ms`;
    const ratio = (x: number) => `${(x / r.ip).toFixed(2)}×`;
    console.log(`### ifaces: ${r.count} interfaces (${PAIRS} veth pairs + lo)\n`);
    console.log("| measurement | median | vs `ip -j addr show` |");
    console.log("|---|---:|---:|");
    console.log(
      `| listInterfaces() inside the process (${INNER_RUNS} runs) | ${ms(r.enumerate)} | ${
        ratio(r.enumerate)
      } |`,
    );
    console.log(
      `| \`ip -j addr show\`, whole process (${PROCESS_RUNS} runs) | ${ms(r.ip)} | 1.00× |`,
    );
    console.log(
      `| \`sockbox ifaces --json\`, whole process via deno task (${PROCESS_RUNS} runs) | ${
        ms(r.sockbox)
      } | ${ratio(r.sockbox)} |`,
    );
    if (r.enumerate >= r.ip) {
      console.log("\nWARNING: the enumeration was not faster than iproute2's whole run");
    }
  } finally {
    await run("ip", ["netns", "del", ns]).catch(() => {});
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--inner")) await inner();
  else await main();
}
