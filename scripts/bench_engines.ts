/**
 * `deno task bench --only engines`: sockbox's two echo engines against the C anchors, in the
 * same run, as ratios. One run of the harness (`scripts/bench/run.sh`: ping-pong,
 * bulk, UDP, idle memory, start-up, every server pinned to CPU 1 and the load client to
 * CPU 0) with these servers:
 *
 * - `c-epoll` / `c-udp`: the C anchors; `c-splice`: a C epoll server that echoes with
 *   splice(2) through a pipe per connection (scripts/bench/anchors/splice_echo.c), the
 *   reference for what splice itself gives on this kernel; `deno-loop`: a bare
 *   `Deno.listen` script (the start-up reference);
 * - `sockbox-deno`: `serve --engine deno`; `sockbox-ffi`: `serve --engine ffi` (its default
 *   worker count, which is 1 on one pinned CPU; over loopback its default copies with
 *   read/write, lib/base/splice.ts); `sockbox-ffi-splice`: the same with `SOCKBOX_SPLICE=1`
 *   (splice(2) for loopback peers too);
 *
 * then three figures run.sh has no mode for, each repeated REPS times, servers alternating:
 * new connections per second (`scripts/connrate.c`: connect, one 64-byte echo, close, from 8
 * threads; the ffi engine also with `-q`, which prints no line per connection, as the C
 * server prints none), `send tcp` streaming 200 MiB from stdin through the C server (from the
 * source tree, and as the bundle) against `nc -N` doing the same, and `--workers 2` against
 * `--workers 1` with 64 connections.
 *
 * Last, start to listening (the first stdout line) of `serve tcp` on both engines, from
 * the source tree and from the bundle, against a bare `Deno.listen` script
 * (scripts/bench/anchors/deno_listen.ts), STARTUP_REPS rounds (default 7) alternating;
 * `-- --startup` runs that table alone.
 *
 * Prints a Markdown table on stdout (progress on stderr): median, min-max, ratio to the
 * anchor, the issue's target and whether the median meets it. QUICK=1: one short rep.
 * REPS=N: repetitions (default 3). Results stay under $TMPDIR/echo-bench/results/.
 *
 * @module
 */
import { parseSummary, repoRoot, sharedBenchDir, type Stat } from "./bench_echo.ts";
import {
  CLIENT_CPU,
  echoloadArgv,
  HOST,
  kv,
  median,
  SERVER_CPU,
  withServer as withPinnedServer,
} from "./bench_util.ts";

const env = (k: string) => Deno.env.get(k);
const QUICK = env("QUICK") === "1";
const REPS = Number(env("REPS") ?? (QUICK ? 1 : 3));
const TMP = env("TMPDIR") ?? "/tmp";
const STAMP = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
const OUT = env("OUT") ?? `${TMP}/echo-bench/results/engines-${STAMP}`;
const REPO = repoRoot();
const DENO = Deno.execPath();
const STREAM_MIB = QUICK ? 32 : 200;
const DUR = QUICK ? 2 : 5;

const log = (s: string) => console.error(`bench engines: ${s}`);

function sockbox(proto: "tcp" | "udp", engine: string, extra = ""): string {
  return `${DENO} run -q -P ${REPO}/main.ts serve ${proto} {PORT} --host {HOST} --engine ${engine}${extra}`;
}

/**
 * Runs run.sh with the engine servers (`tests`: its TESTS; `extra`: more settings, and
 * `dir` under OUT for its results); returns its medians.
 */
async function harness(
  tests = "tcp udp idle",
  extra: Record<string, string> = {},
  dir = "harness",
): Promise<Map<string, Stat>> {
  const vars: Record<string, string> = {
    ...Deno.env.toObject(),
    OUT: `${OUT}/${dir}`,
    HOST,
    DENO,
    REPS: String(REPS),
    TESTS: tests,
    TCP_SERVERS: "c-epoll c-splice deno-loop sockbox-deno sockbox-ffi sockbox-ffi-splice",
    UDP_SERVERS: "c-udp sockbox-deno-udp sockbox-ffi-udp",
    IDLE_SERVERS: "c-epoll sockbox-deno sockbox-ffi",
    TCP_CMD_sockbox_deno: sockbox("tcp", "deno"),
    TCP_CMD_sockbox_ffi: sockbox("tcp", "ffi"),
    TCP_CMD_sockbox_ffi_splice: `env SOCKBOX_SPLICE=1 ${sockbox("tcp", "ffi")}`,
    UDP_CMD_sockbox_deno_udp: sockbox("udp", "deno"),
    UDP_CMD_sockbox_ffi_udp: sockbox("udp", "ffi"),
  };
  if (QUICK) vars.QUICK = "1";
  Object.assign(vars, extra);
  const st = await new Deno.Command("bash", {
    args: [`${sharedBenchDir()}/run.sh`],
    cwd: REPO,
    env: vars,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!st.success) throw new Error(`run.sh failed (exit ${st.code}); logs in ${OUT}/${dir}`);
  return parseSummary(await Deno.readTextFile(`${OUT}/${dir}/summary.txt`));
}

async function run(cmd: string[], stdin?: string): Promise<{ out: string; ms: number }> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: REPO,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn().output();
  const ms = performance.now() - t0;
  if (!o.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(o.stderr).slice(-500)}`);
  }
  return { out: new TextDecoder().decode(o.stdout), ms };
}

/** Own measurements (`bundle`, when built, also streams `send tcp`); each rep's value per contender. */
async function extras(build: string, bundle: string | null): Promise<Map<string, number[]>> {
  const res = new Map<string, number[]>();
  const add = (k: string, v: number) => res.set(k, [...(res.get(k) ?? []), v]);
  const connrate = `${OUT}/connrate`;
  await run([env("CC") ?? "cc", "-O2", "-pthread", "-o", connrate, `${REPO}/scripts/connrate.c`]);
  const tcpServers: Record<string, (port: number) => string[]> = {
    "c-epoll": (p) => [`${build}/epoll_echo`, String(p), HOST],
    "sockbox-ffi": (p) =>
      sockbox("tcp", "ffi").replace("{PORT}", String(p)).replace("{HOST}", HOST).split(" "),
    "sockbox-deno": (p) =>
      sockbox("tcp", "deno").replace("{PORT}", String(p)).replace("{HOST}", HOST).split(" "),
    // -q: no accept and close line per connection (the C server prints none).
    "sockbox-ffi -q": (p) =>
      sockbox("tcp", "ffi", " -q").replace("{PORT}", String(p)).replace("{HOST}", HOST).split(" "),
  };
  const withServer = <T>(
    cpus: string,
    cmd: (p: number) => string[],
    f: (p: number) => Promise<T>,
  ) => withPinnedServer("tcp", cmd, f, { cpus, probe: "echo" });
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, cmd] of Object.entries(tcpServers)) {
      log(`connections/s rep ${rep + 1}: ${name}`);
      const line = await withServer(
        SERVER_CPU,
        cmd,
        async (p) =>
          (await run([
            "taskset",
            "-c",
            CLIENT_CPU,
            connrate,
            "-p",
            String(p),
            "-t",
            "8",
            "-d",
            String(DUR),
          ])).out,
      );
      add(`conn_s ${name}`, kv(line, "conn_s"));
    }
  }
  // send tcp streaming vs nc, both through the C epoll server: sockbox from the source tree
  // and as users run it, the bundle (its start-up is ~20 ms shorter: see the start-up table).
  const file = `${OUT}/stream.bin`;
  await run(["sh", "-c", `head -c ${STREAM_MIB << 20} /dev/urandom > ${file}`]);
  const senders: [string, string][] = [["stream sockbox", `${DENO} run -q -P ${REPO}/main.ts`]];
  if (bundle) senders.push(["stream sockbox bundle", bundle]);
  for (let rep = 0; rep < REPS; rep++) {
    await withServer(SERVER_CPU, tcpServers["c-epoll"]!, async (p) => {
      log(`send tcp vs nc rep ${rep + 1}`);
      for (const [key, sockbox] of senders) {
        const sb = await run([
          "taskset",
          "-c",
          CLIENT_CPU,
          "sh",
          "-c",
          `${sockbox} send tcp ${HOST} ${p} --timeout 30s < ${file} > /dev/null`,
        ]);
        add(key, sb.ms);
      }
      const nc = await run([
        "taskset",
        "-c",
        CLIENT_CPU,
        "sh",
        "-c",
        `nc -N ${HOST} ${p} < ${file} > /dev/null`,
      ]);
      add("stream nc", nc.ms);
    });
  }
  await Deno.remove(file).catch(() => {});
  // --workers 2 vs 1: the server may use both CPUs; so does the client (there is no third).
  for (let rep = 0; rep < REPS; rep++) {
    for (const w of ["1", "2"]) {
      log(`workers ${w} rep ${rep + 1}`);
      const cmd = (p: number) => [...tcpServers["sockbox-ffi"]!(p), "--workers", w];
      const line = await withServer(
        "0,1",
        cmd,
        async (p) =>
          (await run(
            echoloadArgv(build, "pp", p, ["-c", "64", "-s", "64", "-d", String(DUR), "-w", "1"]),
          )).out,
      );
      add(`workers ${w}`, kv(line, "rt_s"));
    }
  }
  return res;
}

/** The start-to-listening contenders: a name and the command, run from the repository root. */
function startupCommands(bundle: string | null): [string, string[]][] {
  const serve = ["serve", "tcp", "0", "--host", HOST, "--engine"];
  const src = [DENO, "run", "-q", "-P", `${REPO}/main.ts`, ...serve];
  const out: [string, string[]][] = [
    [
      "bare Deno.listen",
      [
        DENO,
        "run",
        "-q",
        "--no-config",
        `--allow-net=${HOST}`,
        `${REPO}/scripts/bench/anchors/deno_listen.ts`,
        "0",
        HOST,
      ],
    ],
    ["source, --engine deno", [...src, "deno"]],
    ["source, --engine ffi", [...src, "ffi"]],
  ];
  if (bundle) {
    // The bundle runs as its #! line says (deno run ... --no-config), as users run it.
    const shebang = Deno.readTextFileSync(bundle).split("\n", 1)[0]!;
    // Its words after `env -S`, less the variable assignments and `deno` itself.
    const words = shebang.replace(/^#!\S*env -S /, "").split(" ");
    const run = words.slice(words.findIndex((w) => !w.includes("=")) + 1);
    const cmd = [DENO, ...run, bundle, ...serve];
    out.push(
      ["bundle, --engine deno", [...cmd, "deno"]],
      ["bundle, --engine ffi", [...cmd, "ffi"]],
      // The main thread alone, against the default (here two Workers, started after the
      // line: the first connection waits for them).
      ["bundle, --engine ffi --workers 1", [...cmd, "ffi", "--workers", "1"]],
    );
  }
  return out;
}

/** CPU milliseconds the threads of process `pid` have run so far (Linux schedstat). */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread ended */ }
  }
  return ns / 1e6;
}

/** One start: see {@link timeToListening}. */
interface StartFigures {
  /** Wall ms from spawning to the `listening` line. */
  ms: number;
  /** CPU ms of all the process's threads by then. */
  cpu: number;
  /** Wall ms from the line to the echo of one byte on a new connection. */
  echo: number;
}

/** Wall ms to connect to `port` and have one byte echoed. */
async function firstEcho(port: number): Promise<number> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    await conn.write(new Uint8Array([0x78]));
    const n = await conn.read(new Uint8Array(8));
    if (n !== 1) throw new Error(`first echo: read ${n}`);
    return performance.now() - t0;
  } finally {
    conn.close();
  }
}

/**
 * From spawning `cmd` to its first stdout line (which must say "listening"): the wall
 * milliseconds, and the CPU milliseconds its threads used by then (less sensitive to other
 * load on the machine); then from that line to the first echo on a new connection (a
 * server may say it listens before it serves: the kernel queues connections meanwhile).
 */
async function timeToListening(cmd: string[]): Promise<StartFigures> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: REPO,
    // As run.sh starts servers: a minimal environment, so no variable adds start-up work.
    clearEnv: true,
    env: {
      PATH: env("PATH") ?? "/usr/bin:/bin",
      HOME: env("HOME") ?? "/tmp",
      DENO_NO_UPDATE_CHECK: "1",
      ...(env("DENO_DIR") ? { DENO_DIR: env("DENO_DIR")! } : {}),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let ms = NaN, cpu = NaN, echo = NaN;
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      if (text.includes("\n")) {
        ms = performance.now() - t0;
        cpu = cpuMs(child.pid);
        const port = /:(\d+)\s*$/m.exec(text.slice(0, text.indexOf("\n")))?.[1];
        if (port !== undefined) echo = await firstEcho(Number(port));
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    // Stopped as a user stops a server (SIGINT), not killed: Deno keeps V8's code cache of
    // a module (in DENO_DIR) only from runs that end normally, so after the warm-up rounds
    // every contender starts as it does from the second time on.
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
    await reader.cancel().catch(() => {});
  }
  const kill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 10_000);
  const st = await child.status;
  clearTimeout(kill);
  const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  if (!text.startsWith("listening")) {
    throw new Error(`${cmd.join(" ")}: no "listening" line (exit ${st.code}): ${err || text}`);
  }
  return { ms, cpu, echo };
}

/**
 * Start to listening: each contender in turn, {@link STARTUP_WARMUP} warm-up rounds, then
 * `reps` rounds; returns every round's figures per contender (the same index is the same
 * round).
 */
async function startup(
  reps: number,
  bundle: string | null,
): Promise<Map<string, StartFigures[]>> {
  const cmds = startupCommands(bundle);
  const res = new Map<string, StartFigures[]>();
  for (let round = -STARTUP_WARMUP; round < reps; round++) {
    log(`start to listening round ${round < 0 ? "warm-up" : round + 1}/${reps}`);
    for (const [name, cmd] of cmds) {
      const r = await timeToListening(cmd);
      if (round >= 0) res.set(name, [...(res.get(name) ?? []), r]);
    }
  }
  return res;
}

/** The start-up table: median (min-max), and the median of the per-round ratios to bare. */
function renderStartup(res: Map<string, StartFigures[]>): string {
  const bare = res.get("bare Deno.listen")!;
  const lines = [
    `| start to first stdout line "listening ..." (\`serve tcp 0 --host ${HOST}\`) | wall ms, median (min–max) | wall ratio to bare | CPU ms (all threads), median (min–max) | CPU ratio to bare | target (wall) | met | then to the first echo, wall ms, median (min–max) |`,
    "|---|---:|---:|---:|---:|---|:-:|---:|",
  ];
  const cell = (v: number[]) =>
    `${median(v).toFixed(1)} (${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`;
  for (const [name, v] of res) {
    // Round by round, so the ratio holds when the machine's speed drifts.
    const ratio = median(v.map((x, i) => x.ms / bare[i]!.ms));
    const cpuRatio = median(v.map((x, i) => x.cpu / bare[i]!.cpu));
    const isBare = name === "bare Deno.listen";
    lines.push(
      `| ${name} | ${cell(v.map((x) => x.ms))} | ${ratio.toFixed(2)}× | ${
        cell(v.map((x) => x.cpu))
      } | ${cpuRatio.toFixed(2)}× | ${isBare ? "" : "≤ 1.1× bare"} | ${
        isBare ? "" : ratio <= 1.1 ? "yes" : "no"
      } | ${cell(v.map((x) => x.echo))} |`,
    );
  }
  return lines.join("\n");
}

/** Builds the bundle (`deno task bundle`) and returns its path, or null when that fails. */
async function buildBundle(): Promise<string | null> {
  const r = await new Deno.Command(DENO, {
    args: ["run", "-q", "-A", `${REPO}/scripts/bundle.ts`],
    cwd: REPO,
    stdout: "null",
    stderr: "inherit",
  }).output();
  return r.success ? `${REPO}/dist/sockbox.js` : null;
}

interface Row {
  label: string;
  target: string;
  /** Whether the ratio meets the target. */
  ok: (ratio: number) => boolean;
  /** Contender name -> { med, min, max } of the figure. */
  cells: [string, { med: number; min: number; max: number } | undefined][];
  /** The ratio shown: ffi over its reference. */
  ratio: [string, string];
  decimals: number;
}

function render(rows: Row[], heads: string[]): string {
  const fmt = (v: number, d: number) => v.toFixed(d);
  const lines = [
    `| figure | target (ffi) | ${heads.join(" | ")} | ffi ratio | met |`,
    `|---|---|${heads.map(() => "---:").join("|")}|---:|:-:|`,
  ];
  for (const r of rows) {
    const get = (n: string) => r.cells.find(([k]) => k === n)?.[1];
    const cells = heads.map((h) => {
      const c = get(h);
      if (!c) return "";
      return c.min === c.max
        ? fmt(c.med, r.decimals)
        : `${fmt(c.med, r.decimals)} (${fmt(c.min, r.decimals)}–${fmt(c.max, r.decimals)})`;
    });
    const a = get(r.ratio[0]), b = get(r.ratio[1]);
    const ratio = a && b && b.med !== 0 ? a.med / b.med : NaN;
    lines.push(
      `| ${r.label} | ${r.target} | ${cells.join(" | ")} | ${
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—"
      } | ${Number.isFinite(ratio) && r.target ? (r.ok(ratio) ? "yes" : "no") : ""} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Warm-up rounds before the measured ones: Deno fills a module's code cache over its first
 * few normal runs (measured: one run was not enough for the bundle).
 */
const STARTUP_WARMUP = 3;
/** Start-up rounds: STARTUP_REPS, default 7 (3 with QUICK=1). */
const STARTUP_REPS = Number(env("STARTUP_REPS") ?? (QUICK ? 3 : 7));

/** Builds the bundle once for the rows that run it; null (and a log line) when that fails. */
async function bundleForRows(): Promise<string | null> {
  const bundle = await buildBundle();
  if (!bundle) log("the bundle did not build: its rows are left out");
  return bundle;
}

/** The start-up section (`bundle`: its rows, when built): heading, table, how it was run. */
async function startupSection(bundle: string | null): Promise<string> {
  const res = await startup(STARTUP_REPS, bundle);
  return `## Start to listening (${STARTUP_REPS} rounds, contenders alternating, unpinned)

Each row starts a process and stops the clock at its first stdout line, then stops it with
SIGINT (a normal exit, after which Deno keeps V8's code cache), after ${STARTUP_WARMUP} warm-up
rounds: these are starts after the first few; the very first start of a new build compiles
everything and is slower. The bare script is \`scripts/bench/anchors/deno_listen.ts\`. Ratios are medians of the ratios of each round, so
they hold when the machine's speed drifts; CPU is what the process's threads had used at
that line (/proc/PID/task/*/schedstat), which other load on the machine moves less. The last
column is from that line to the echo of one byte on a connection the bench opens at once: a
server that says it listens before it serves (the kernel queues connections meanwhile) shows
it there. Command: \`deno task bench --only engines -- --startup\`
(that table alone; STARTUP_REPS=N rounds).

${renderStartup(res)}
`;
}

if (import.meta.main && Deno.args.includes("--startup")) {
  console.log(await startupSection(await bundleForRows()));
  Deno.exit(0);
}

if (import.meta.main) {
  await Deno.mkdir(OUT, { recursive: true });
  log(`results in ${OUT}`);
  const bundle = await bundleForRows();
  const startupTable = await startupSection(bundle);
  const stats = await harness();
  // A second idle pass with more connections: the first ones also pay for one-time growth
  // (heap, tables), so the cost of one more idle connection is the slope between the two.
  // Ten times as many: a V8 process's PSS after the same burst of accepts varies by 3-4 MiB
  // from run to run (measured), which moved a slope over 3000 connections by about 1 KiB
  // and moves one over 9000 by about a third of that.
  const idleConns = Number(env("IDLE_CONNS") ?? (QUICK ? 200 : 1000));
  const idleMore = idleConns * 10;
  const more = await harness("idle", { IDLE_CONNS: String(idleMore) }, "harness-idle");
  const build = `${TMP}/echo-bench/build`;
  const own = await extras(build, bundle);
  const s = (name: string, test: string, key: string) => stats.get(`${name} ${test} ${key}`);
  const fromOwn = (k: string) => {
    const v = own.get(k);
    return v ? { med: median(v), min: Math.min(...v), max: Math.max(...v) } : undefined;
  };
  const grew = (st: Map<string, Stat>, name: string) => {
    const b = st.get(`${name} idle before_pss_kb`), a = st.get(`${name} idle after_pss_kb`);
    return a && b ? a.med - b.med : undefined;
  };
  const perConn = (name: string) => {
    const g = grew(stats, name);
    if (g === undefined) return undefined;
    const v = g / idleConns;
    return { med: v, min: v, max: v };
  };
  const perMoreConn = (name: string) => {
    const g = grew(stats, name), g2 = grew(more, name);
    if (g === undefined || g2 === undefined) return undefined;
    const v = (g2 - g) / (idleMore - idleConns);
    return { med: v, min: v, max: v };
  };
  const TCP = [
    "c-epoll",
    "c-splice",
    "deno-loop",
    "sockbox-deno",
    "sockbox-ffi",
    "sockbox-ffi-splice",
  ];
  const row = (
    label: string,
    target: string,
    ok: (r: number) => boolean,
    pick: (n: string) => { med: number; min: number; max: number } | undefined,
    ratio: [string, string],
    decimals = 0,
    names = TCP,
  ): Row => ({ label, target, ok, cells: names.map((n) => [n, pick(n)]), ratio, decimals });
  const ffiC: [string, string] = ["sockbox-ffi", "c-epoll"];
  const rows: Row[] = [
    row(
      "TCP 64 B ping-pong, 64 conns, rt/s",
      "≥ 0.95× C",
      (r) => r >= 0.95,
      (n) => s(n, "pp64", "rt_s"),
      ffiC,
    ),
    row(
      "TCP 64 B ping-pong, 1 conn, p50 µs",
      "≤ 1.1× C",
      (r) => r <= 1.1,
      (n) => s(n, "pp1", "p50_us"),
      ffiC,
      1,
    ),
    row(
      "TCP 64 B ping-pong, 1 conn, p99 µs",
      "≤ 1.5× C",
      (r) => r <= 1.5,
      (n) => s(n, "pp1", "p99_us"),
      ffiC,
      1,
    ),
    row("TCP bulk MiB/s", "≥ 1.2× C", (r) => r >= 1.2, (n) => s(n, "bulk", "mib_s"), ffiC),
    row(
      "TCP bulk MiB/s, sockbox splice(2) (SOCKBOX_SPLICE=1) against the C splice(2) server",
      "",
      () => true,
      (n) => s(n, "bulk", "mib_s"),
      ["sockbox-ffi-splice", "c-splice"],
    ),
    row(
      "TCP bulk MiB/s, C splice(2) server against C read/write",
      "",
      () => true,
      (n) => s(n, "bulk", "mib_s"),
      ["c-splice", "c-epoll"],
    ),
    row(
      "UDP 64 B ping-pong rt/s",
      "≥ 0.95× C",
      (r) => r >= 0.95,
      (n) => s(n === "c-epoll" ? "c-udp" : `${n}-udp`, "udp", "rt_s"),
      ffiC,
      0,
      ["c-epoll", "sockbox-deno", "sockbox-ffi"],
    ),
    row(
      `PSS per idle TCP connection, first ${idleConns} (one-time growth included), KiB`,
      "",
      () => true,
      perConn,
      ["sockbox-ffi", "one"],
      2,
      [
        "c-epoll",
        "sockbox-deno",
        "sockbox-ffi",
      ],
    ),
    row(
      `PSS per idle TCP connection, from ${idleConns} to ${idleMore}, KiB`,
      "≤ 1 KiB",
      (r) => r <= 1,
      perMoreConn,
      ["sockbox-ffi", "one"],
      2,
      [
        "c-epoll",
        "sockbox-deno",
        "sockbox-ffi",
      ],
    ),
    row(
      "TCP start to first echo, ms",
      "≤ 1.1× bare Deno.listen",
      (r) => r <= 1.1,
      (n) => s(n, "startup", "startup_ms"),
      ["sockbox-ffi", "deno-loop"],
      1,
    ),
    row(
      "new connections/s (connect, one 64 B echo, close; 8 threads)",
      "≥ 0.9× C",
      (r) => r >= 0.9,
      (n) => fromOwn(`conn_s ${n}`),
      ffiC,
      0,
      ["c-epoll", "sockbox-deno", "sockbox-ffi"],
    ),
    row(
      "new connections/s, server with -q (no accept or close line, as the C server)",
      "≥ 0.9× C",
      (r) => r >= 0.9,
      (n) => fromOwn(n === "sockbox-ffi" ? "conn_s sockbox-ffi -q" : `conn_s ${n}`),
      ffiC,
      0,
      ["c-epoll", "sockbox-ffi"],
    ),
  ];
  // The PSS rows' ratio is against 1 KiB itself.
  for (const r of rows) {
    if (r.ratio[1] === "one") r.cells.push(["one", { med: 1, min: 1, max: 1 }]);
  }
  const table = render(rows, TCP);
  const f = (x: { med: number; min: number; max: number } | undefined, d = 0) =>
    x ? `${x.med.toFixed(d)} (${x.min.toFixed(d)}–${x.max.toFixed(d)})` : "—";
  const nc = fromOwn("stream nc");
  const streamRow = (label: string, sb: { med: number; min: number; max: number } | undefined) =>
    `| \`send tcp\` streaming ${STREAM_MIB} MiB from stdin through the C server, ${label}, ms | ≤ 1.0× nc | ${
      f(sb)
    } | nc ${f(nc)} | ${sb && nc ? (sb.med / nc.med).toFixed(2) + "×" : "—"} | ${
      sb && nc ? (sb.med / nc.med <= 1 ? "yes" : "no") : ""
    } |`;
  const w1 = fromOwn("workers 1"), w2 = fromOwn("workers 2");
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
  console.log(
    `## Echo engines (${
      QUICK ? "QUICK=1: a smoke test, not a measurement" : `median of ${REPS} reps`
    })

Machine: ${navigator.hardwareConcurrency} CPUs (${
      cpu ?? "?"
    }), kernel ${Deno.osRelease()}, deno ${Deno.version.deno}.
Servers pinned to CPU ${SERVER_CPU}, clients to CPU ${CLIENT_CPU}. Cells: median (min–max over reps).
Command: \`REPS=${REPS} deno task bench --only engines\`; raw results in ${OUT}.

${table}

| figure | target | sockbox | reference | ratio | met |
|---|---|---:|---:|---:|:-:|
${streamRow("source tree", fromOwn("stream sockbox"))}
${streamRow("bundle", fromOwn("stream sockbox bundle"))}
| ffi \`--workers 2\` vs \`--workers 1\`, 64 conns, rt/s (server and client share the 2 CPUs) | ≥ 1.7× | ${
      f(w2)
    } | ${f(w1)} | ${w1 && w2 ? (w2.med / w1.med).toFixed(2) + "×" : "—"} | ${
      w1 && w2 ? (w2.med / w1.med >= 1.7 ? "yes" : "no") : ""
    } |

${startupTable}`,
  );
}
