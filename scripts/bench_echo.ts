/**
 * Echo benchmark: `sockbox serve tcp|udp` against a C epoll/recvfrom echo server, Node's
 * `net`/`dgram`, plain Deno and socat, all measured in the same run by the harness in
 * scripts/bench/ (`run.sh`; `build.sh` compiles its C anchors and load client with the
 * system's `cc` at run time). This file only configures that harness
 * through its environment knobs, runs it, and turns its medians into one Markdown table where
 * every figure is also shown as a ratio against the C anchor measured in the same run.
 *
 * Run it through `deno task bench` (see `scripts/bench.ts`), or directly:
 *
 * ```sh
 * deno run -q -A scripts/bench_echo.ts --quick
 * REPS=3 deno run -q -A scripts/bench_echo.ts --host ::1
 * ```
 *
 * Every run.sh knob (REPS, DUR, CONNS, TCP_SERVERS, BULK_MIB, IDLE_CONNS, ...) can be set in
 * the environment and wins over the defaults chosen here.
 *
 * @module
 */
import { noExtra, parseFlags, parseInteger } from "../lib/cli/args.ts";
import { UsageError } from "../lib/base/errors.ts";

/** A column of the ratio table: one implementation, as its TCP and UDP run.sh names. */
export interface Contender {
  /** Column heading. */
  label: string;
  /** run.sh server name for the TCP and idle tests (absent: not measured). */
  tcp?: string;
  /** run.sh server name for the UDP test (absent: not measured). */
  udp?: string;
}

/** The columns, anchor first. `sockbox` must stay last (the vs-node column reads it). */
export const CONTENDERS: readonly Contender[] = [
  { label: "C (anchor)", tcp: "c-epoll", udp: "c-udp" },
  { label: "node", tcp: "node", udp: "node-udp" },
  { label: "deno", tcp: "deno-loop", udp: "deno-udp" },
  { label: "socat", tcp: "socat-pipe", udp: "socat-udp" },
  { label: "sockbox", tcp: "sockbox", udp: "sockbox-udp" },
];

/** Options for {@link runEchoBench}. */
export interface EchoBenchOptions {
  /** Smoke run (run.sh QUICK=1: 1 rep, short runs, 200 idle connections). */
  quick: boolean;
  /** Repetitions of the tcp/udp runs (run.sh REPS); undefined keeps run.sh's default. */
  reps?: number | undefined;
  /** Loopback address every server binds: `127.0.0.1` or `::1`. */
  host: string;
  /** run.sh TESTS: any of tcp, udp, idle, iperf3, sockperf. */
  tests: string[];
  /** Results directory (run.sh OUT); raw.txt, summary.txt, report.md, bench.md go there. */
  out: string;
  /** Directory holding run.sh. */
  sharedDir: string;
  /** The repository root (holds main.ts and deno.json). */
  repo: string;
}

/** What a finished run produced. */
export interface EchoBenchResult {
  /** The ratio table (Markdown). */
  table: string;
  /** run.sh's own report (Markdown: spreads, machine, exact commands). */
  report: string;
  /** The results directory. */
  out: string;
}

/** A median line of run.sh's summary.txt. */
export interface Stat {
  med: number;
  min: number;
  max: number;
  n: number;
}

/** The repository root, found from this file's location. */
export function repoRoot(): string {
  return new URL("..", import.meta.url).pathname.replace(/\/$/, "");
}

/** Where the harness lives: `$SOCKBOX_BENCH_DIR`, else `<repo>/scripts/bench`. */
export function sharedBenchDir(): string {
  return Deno.env.get("SOCKBOX_BENCH_DIR") ??
    new URL("./bench", import.meta.url).pathname;
}

/**
 * The sockbox server commands as run.sh wants them ({PORT} and {HOST} are filled in by it):
 * exactly what `deno task start serve ...` runs, minus the task wrapper process, so that
 * run.sh's memory probe (`echoload mem -g`, the launched process group and its leader) sees
 * the sockbox process itself.
 */
export function sockboxCommands(repo: string, deno: string): { tcp: string; udp: string } {
  const base = `${shellQuote(deno)} run -q -P ${shellQuote(`${repo}/main.ts`)} serve`;
  return {
    tcp: `${base} tcp {PORT} --host {HOST}`,
    udp: `${base} udp {PORT} --host {HOST}`,
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Parses run.sh's summary.txt (`server test key median min max n` per line). */
export function parseSummary(text: string): Map<string, Stat> {
  const stats = new Map<string, Stat>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 7) continue;
    const [server, test, key, med, min, max, n] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    stats.set(`${server} ${test} ${key}`, {
      med: Number(med),
      min: Number(min),
      max: Number(max),
      n: Number(n),
    });
  }
  return stats;
}

/** A row of the ratio table. */
interface Metric {
  /** Row label. */
  label: string;
  /** `up`: higher is better; `down`: lower is better. */
  better: "up" | "down";
  /** Which run.sh name of the contender this row reads. */
  kind: "tcp" | "udp";
  test: string;
  key: string;
  /** Divides the raw value (kB → MiB). */
  scale?: number;
  decimals: number;
}

function metrics(conns: string[], idleConns: number, tests: string[]): Metric[] {
  const rows: Metric[] = [];
  if (tests.includes("tcp")) {
    rows.push({
      label: "TCP start-to-listening ms",
      better: "down",
      kind: "tcp",
      test: "startup",
      key: "startup_ms",
      decimals: 1,
    });
    for (const c of conns) {
      const what = `TCP ${c} conn${c === "1" ? "" : "s"} 64 B ping-pong`;
      rows.push(
        {
          label: `${what} rt/s`,
          better: "up",
          kind: "tcp",
          test: `pp${c}`,
          key: "rt_s",
          decimals: 0,
        },
        {
          label: `${what} p50 µs`,
          better: "down",
          kind: "tcp",
          test: `pp${c}`,
          key: "p50_us",
          decimals: 1,
        },
        {
          label: `${what} p99 µs`,
          better: "down",
          kind: "tcp",
          test: `pp${c}`,
          key: "p99_us",
          decimals: 1,
        },
      );
    }
    rows.push(
      {
        label: "TCP bulk MiB/s",
        better: "up",
        kind: "tcp",
        test: "bulk",
        key: "mib_s",
        decimals: 0,
      },
      {
        label: "TCP peak RSS after the runs MiB (VmHWM)",
        better: "down",
        kind: "tcp",
        test: "mem",
        key: "leader_hwm_kb",
        scale: 1024,
        decimals: 1,
      },
    );
  }
  if (tests.includes("udp")) {
    rows.push(
      {
        label: "UDP start-to-listening ms",
        better: "down",
        kind: "udp",
        test: "ustartup",
        key: "startup_ms",
        decimals: 1,
      },
      {
        label: "UDP 64 B ping-pong rt/s",
        better: "up",
        kind: "udp",
        test: "udp",
        key: "rt_s",
        decimals: 0,
      },
      {
        label: "UDP 64 B ping-pong p50 µs",
        better: "down",
        kind: "udp",
        test: "udp",
        key: "p50_us",
        decimals: 1,
      },
      {
        label: "UDP 64 B ping-pong p99 µs",
        better: "down",
        kind: "udp",
        test: "udp",
        key: "p99_us",
        decimals: 1,
      },
    );
  }
  if (tests.includes("idle")) {
    rows.push(
      {
        label: "idle RSS MiB (no connections)",
        better: "down",
        kind: "tcp",
        test: "idle",
        key: "before_rss_kb",
        scale: 1024,
        decimals: 1,
      },
      {
        label: `RSS with ${idleConns} idle conns MiB`,
        better: "down",
        kind: "tcp",
        test: "idle",
        key: "after_rss_kb",
        scale: 1024,
        decimals: 1,
      },
      {
        label: `PSS with ${idleConns} idle conns MiB`,
        better: "down",
        kind: "tcp",
        test: "idle",
        key: "after_pss_kb",
        scale: 1024,
        decimals: 1,
      },
    );
  }
  return rows;
}

function fmtNum(v: number, decimals: number): string {
  return v.toFixed(decimals);
}

function fmtRatio(v: number, anchor: number | undefined): string {
  if (anchor === undefined || anchor === 0 || !Number.isFinite(v)) return "";
  const r = v / anchor;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** Settings the table needs to label its rows. */
export interface TableConfig {
  conns: string[];
  idleConns: number;
  tests: string[];
  contenders?: readonly Contender[];
}

/**
 * The ratio table: one row per figure, one column per contender with its median, the ratio
 * to the first contender (the anchor) in parentheses, and `n=K`, the number of reps the
 * median is over (tcp/udp rows run REPS reps, idle rows run.sh's AUX_REPS), plus a
 * sockbox-vs-node column. A cell whose run did not complete (bulk stalled or capped,
 * connections stalled, idle connections refused) or whose server failed to start in some
 * reps says so and gets no ratio: such a number is not comparable.
 */
export function ratioTable(stats: Map<string, Stat>, cfg: TableConfig): string {
  const cols = cfg.contenders ?? CONTENDERS;
  const get = (name: string | undefined, test: string, key: string) =>
    name === undefined ? undefined : stats.get(`${name} ${test} ${key}`);
  const lines = [
    `| figure | better | ${cols.map((c) => c.label).join(" | ")} | sockbox / node |`,
    `|---|:-:|${cols.map(() => "---:").join("|")}|---:|`,
  ];
  for (const m of metrics(cfg.conns, cfg.idleConns, cfg.tests)) {
    const scale = m.scale ?? 1;
    /** The cell's median and why it is not comparable (empty when it is). */
    const measure = (c: Contender | undefined) => {
      const name = c?.[m.kind];
      const s = get(name, m.test, m.key);
      if (name === undefined || s === undefined) return undefined;
      const notes: string[] = [];
      if (m.test === "bulk" && get(name, "bulk", "complete")?.min === 0) {
        notes.push((get(name, "bulk", "idle_s")?.max ?? 0) > 1 ? "stalled" : "capped");
      }
      if (m.test === "idle") {
        const ok = get(name, "idle", "ok")?.min;
        if (ok !== undefined && ok < cfg.idleConns) notes.push(`${ok} ok`);
      }
      if (m.test.startsWith("pp")) {
        const stalled = get(name, m.test, "stalled_conns")?.max ?? 0;
        if (stalled > 0) notes.push(`${stalled} stalled`);
      }
      const failed = get(name, startTest(m), "failed")?.n ?? 0;
      if (failed > 0) notes.push(`failed to start in ${failed} of ${failed + s.n} reps`);
      return { v: s.med / scale, n: s.n, notes };
    };
    const anchor = measure(cols[0]);
    const anchorV = anchor?.notes.length === 0 ? anchor.v : undefined;
    const cells = cols.map((c, i) => {
      const name = c[m.kind];
      if (name === undefined) return "";
      const x = measure(c);
      if (x === undefined) {
        return get(name, startTest(m), "failed") ? "failed to start" : "—";
      }
      let cell = fmtNum(x.v, m.decimals);
      if (x.notes.length) cell += ` (${x.notes.join(", ")})`;
      else if (i > 0) {
        const r = fmtRatio(x.v, anchorV);
        if (r) cell += ` (${r})`;
      }
      return `${cell} n=${x.n}`;
    });
    const node = measure(cols.find((c) => c.label === "node"));
    const mine = measure(cols.at(-1));
    const vsNode = mine === undefined || node === undefined || mine.notes.length ||
        node.notes.length
      ? "—"
      : fmtRatio(mine.v, node.v) || "—";
    lines.push(
      `| ${m.label} | ${m.better === "up" ? "↑" : "↓"} | ${cells.join(" | ")} | ${vsNode} |`,
    );
  }
  return lines.join("\n");
}

/** The run.sh test that records a failed start for a metric's test. */
function startTest(m: Metric): string {
  return m.kind === "udp" ? "ustart" : m.test === "idle" ? "istart" : "start";
}

/** A one-line failure of the benchmark itself (printed as `bench: ...`, exit 1). */
export class BenchError extends Error {
  override name = "BenchError";
}

async function which(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v "$1" >/dev/null 2>&1`, "sh", cmd],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The run.sh environment for these options (explicit environment settings win). */
export function harnessEnv(opts: EchoBenchOptions, deno: string): Record<string, string> {
  const env = Deno.env.toObject();
  const set = (k: string, v: string) => {
    if (env[k] === undefined) env[k] = v;
  };
  const cmds = sockboxCommands(opts.repo, deno);
  const names = (kind: "tcp" | "udp") =>
    CONTENDERS.map((c) => c[kind]).filter((n): n is string => n !== undefined).join(" ");
  if (opts.quick) env.QUICK = "1";
  if (opts.reps !== undefined) env.REPS = String(opts.reps);
  env.HOST = opts.host;
  env.OUT = opts.out;
  env.DENO = deno;
  set("TESTS", opts.tests.join(" "));
  set("TCP_SERVERS", names("tcp"));
  set("IDLE_SERVERS", names("tcp"));
  set("UDP_SERVERS", names("udp"));
  set("TCP_CMD_sockbox", cmds.tcp);
  set("UDP_CMD_sockbox_udp", cmds.udp);
  return env;
}

/**
 * Runs the echo benchmark: checks the harness and its tools, warms Deno's module cache (so
 * the first start-up is not a cold compile), runs run.sh with progress on stderr, then builds
 * the ratio table from its medians.
 */
export async function runEchoBench(opts: EchoBenchOptions): Promise<EchoBenchResult> {
  const runSh = `${opts.sharedDir}/run.sh`;
  if (!(await exists(runSh))) {
    throw new BenchError(
      `benchmark harness not found: ${runSh} (SOCKBOX_BENCH_DIR must name a directory holding run.sh)`,
    );
  }
  for (const tool of ["bash", Deno.env.get("CC") ?? "cc", "taskset", "node", "socat"]) {
    if (!(await which(tool))) {
      throw new BenchError(`${tool} is required by ${runSh} and is not installed`);
    }
  }
  const deno = Deno.execPath();

  // Warm-up: sockbox and the Deno anchors must start from a warm module cache, like users'
  // second run. This also proves sockbox starts at all before spending minutes.
  const warm = await new Deno.Command(deno, {
    args: ["run", "-q", "-P", "main.ts", "--version"],
    cwd: opts.repo,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!warm.success) {
    const why = new TextDecoder().decode(warm.stderr).trim().split("\n")[0] ?? "";
    throw new BenchError(`sockbox does not start: ${why}`);
  }
  await new Deno.Command(deno, {
    args: [
      "cache",
      "--no-config",
      `${opts.sharedDir}/anchors/deno_tcp_echo.ts`,
      `${opts.sharedDir}/anchors/deno_udp_echo.ts`,
    ],
    stdout: "null",
    stderr: "null",
  }).output();

  const env = harnessEnv(opts, deno);
  await Deno.mkdir(opts.out, { recursive: true });
  const status = await new Deno.Command("bash", {
    args: [runSh],
    cwd: opts.repo,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).output();
  const report = await Deno.readTextFile(`${opts.out}/report.md`).catch(() => "");
  if (!status.success || report === "") {
    throw new BenchError(`${runSh} failed (exit ${status.code}); logs in ${opts.out}`);
  }
  const stats = parseSummary(await Deno.readTextFile(`${opts.out}/summary.txt`));
  const table = ratioTable(stats, {
    conns: (env.CONNS ?? "1 64").trim().split(/\s+/),
    idleConns: Number(env.IDLE_CONNS ?? (opts.quick ? 200 : 1000)),
    tests: (env.TESTS ?? "").trim().split(/\s+/),
  });
  return { table, report, out: opts.out };
}

/** Renders the result as the Markdown the bench prints and keeps in `bench.md`. */
export function renderEcho(result: EchoBenchResult, opts: EchoBenchOptions): string {
  const n = opts.reps ?? Deno.env.get("REPS");
  const reps = opts.quick
    ? `QUICK=1${n === undefined ? "" : `, REPS=${n}`}: a smoke test, not a measurement`
    : `medians; REPS=${n ?? 5} for tcp/udp rows, fewer for idle rows`;
  return `## Echo servers (${opts.host}, ${reps})

Each cell: the median over the reps that produced the figure, the ratio to the C anchor measured
in the same run in parentheses (c-epoll for TCP, the recvfrom/sendto loop for UDP), and n=, the
number of reps (the idle rows use run.sh's AUX_REPS, at most REPS). ↑: higher is better, so a
ratio below 1 means slower than C; ↓: lower is better. "sockbox / node" divides the sockbox figure
by node's. A cell that did not complete every rep (stalled, capped, refused connections, failed
to start in some reps) says so instead of a ratio. Ratios are the figures to compare across runs
and machines; absolute numbers are not.

${result.table}

Raw results, server logs and run.sh's full report: ${result.out}

<details><summary>run.sh report (spreads, machine, exact commands)</summary>

${result.report.trim()}

</details>
`;
}

/** `bench_echo.ts` flags (also accepted by `scripts/bench.ts`). */
export const ECHO_FLAGS = {
  quick: { type: "boolean" },
  reps: { type: "string" },
  host: { type: "string" },
  tests: { type: "string" },
  out: { type: "string" },
} as const;

export const ECHO_USAGE = `Echo options:
  --quick          smoke run (run.sh QUICK=1: 1 rep, 2 s runs, 200 idle connections)
  --reps N         repetitions of the tcp/udp runs (1-50; run.sh default 5, about 3 min each)
  --host ADDR      loopback address to bind: 127.0.0.1 (default) or ::1
  --tests LIST     run.sh tests, comma- or space-separated: tcp,udp,idle (default),
                   iperf3, sockperf
  --out DIR        results directory (default $TMPDIR/echo-bench/results/sockbox-STAMP)
Every run.sh knob set in the environment (DUR, CONNS, BULK_MIB, IDLE_CONNS, TCP_SERVERS,
STEAL_MAX, ...) wins over these defaults; see scripts/bench/run.sh.`;

/** Turns parsed flag values into options (pure), or throws a one-line `UsageError`. */
export function echoOptions(v: {
  quick?: boolean | undefined;
  reps?: string | undefined;
  host?: string | undefined;
  tests?: string | undefined;
  out?: string | undefined;
}): EchoBenchOptions {
  const reps = v.reps === undefined ? undefined : parseInteger("--reps", v.reps, 1, 50);
  const host = v.host ?? "127.0.0.1";
  if (host !== "127.0.0.1" && host !== "::1") {
    throw new UsageError(`invalid --host "${host}": must be 127.0.0.1 or ::1`);
  }
  const known = ["tcp", "udp", "idle", "iperf3", "sockperf"];
  const tests = (v.tests ?? "tcp,udp,idle").split(/[\s,]+/).filter((t) => t !== "");
  const bad = tests.find((t) => !known.includes(t));
  if (bad !== undefined || tests.length === 0) {
    throw new UsageError(`invalid --tests "${v.tests}": must list ${known.join(", ")}`);
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return {
    quick: v.quick ?? false,
    reps,
    host,
    tests,
    out: v.out ?? `${tmp}/echo-bench/results/sockbox-${stamp}`,
    sharedDir: sharedBenchDir(),
    repo: repoRoot(),
  };
}

if (import.meta.main) {
  let opts: EchoBenchOptions;
  try {
    const { values, positionals } = parseFlags(Deno.args, {
      ...ECHO_FLAGS,
      help: { type: "boolean", short: "h" },
    });
    noExtra(positionals, 0);
    if (values.help) {
      console.log(`Usage: deno run -q -A scripts/bench_echo.ts [OPTIONS]\n\n${ECHO_USAGE}`);
      Deno.exit(0);
    }
    opts = echoOptions(values);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(2);
  }
  try {
    const result = await runEchoBench(opts);
    const md = renderEcho(result, opts);
    await Deno.writeTextFile(`${result.out}/bench.md`, md);
    console.log(md);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
