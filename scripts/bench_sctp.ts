/**
 * SCTP echo benchmark: `sockbox serve sctp` (one-to-one and one-to-many) against socat's
 * SCTP echo (`SCTP-LISTEN:...,fork PIPE`), with the same python3 client for every
 * server: 64-byte ping-pong (round trips/s, p50, p99) and bulk (MiB/s echoed, 16 KiB
 * messages, many in flight). Where this kernel has no SCTP, the whole run happens in ONE
 * User-Mode Linux boot (scripts/uml/). Prints a table with ratios against socat.
 *
 *   deno run -A scripts/bench_sctp.ts [--rounds N] [--bulk-secs S] [--trials N] [--json]
 *
 * Every server is started once; the trials are interleaved across the servers (in a
 * rotated order) and each figure is the median over the trials with its range. Bulk checks
 * that every byte sent came back; a server that lost some is marked, not ranked.
 *
 * QUICK=1 in the environment (deno task bench --quick) makes it a smoke run.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SctpSocket } from "../lib/ffi/sctp.ts";
import { summarize } from "../lib/base/stats.ts";
import { runInUml, umlUnavailableReason } from "./uml/boot.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** One figure over the trials: median, smallest and largest. */
export interface Spread {
  med: number;
  min: number;
  max: number;
}

/** One measured server. */
export interface SctpBenchRow {
  server: string;
  /** Trials measured (interleaved with the other servers'). */
  trials: number;
  rtt_per_s: Spread;
  p50_us: Spread;
  p99_us: Spread;
  bulk_mib_s: Spread;
  /** Trials whose bulk phase got back fewer bytes than it sent (0: every byte came back). */
  bulk_incomplete: number;
}

const dec = new TextDecoder();

/** Starts a process and waits for the line on `stream` that `re` matches. */
async function start(
  cmd: string,
  args: string[],
  re: RegExp,
  stream: "stdout" | "stderr",
): Promise<{ child: Deno.ChildProcess; port: number; done: Promise<unknown> }> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const watched = stream === "stdout" ? child.stdout : child.stderr;
  const other = stream === "stdout" ? child.stderr : child.stdout;
  const reader = watched.getReader();
  let text = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) throw new Error(`${cmd} exited before it was ready: ${text}`);
      text += dec.decode(r.value);
      const m = re.exec(text);
      if (m) {
        const done = Promise.all([
          (async () => {
            while (!(await reader.read()).done) { /* drain */ }
          })(),
          new Response(other).arrayBuffer(),
        ]);
        return { child, port: Number(m[1]), done };
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * The client is python3's socket module, the same for every server, so the numbers
 * measure the servers (and no sockbox code on the client side). One run is one trial:
 * ROUNDS round trips of 64 bytes on a new association (after 50 warm-up rounds), then
 * 16 KiB messages sent for SECS seconds while a thread reads the echoes; it reports every
 * RTT, the bytes sent and the bytes echoed back, and the time to the last echo.
 */
const PY_CLIENT = String.raw`
import json, socket, sys, threading, time
port, rounds, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def conn():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    s.setsockopt(132, 3, 1)  # SCTP_NODELAY
    s.connect(("127.0.0.1", port))
    return s
msg = b"a" * 64
s = conn()
rtts = []
for i in range(rounds + 50):
    t0 = time.perf_counter()
    s.sendall(msg)
    got = 0
    while got < 64:
        got += len(s.recv(65536))
    if i >= 50:
        rtts.append((time.perf_counter() - t0) * 1e6)
s.close()
s = conn()
s.settimeout(30)
chunk = b"b" * 16384
state = {"sent": 0, "got": 0, "done": False}
def reader():
    try:
        while not state["done"] or state["got"] < state["sent"]:
            d = s.recv(65536)
            if not d:
                break
            state["got"] += len(d)
    except OSError:
        pass
t0 = time.perf_counter()
th = threading.Thread(target=reader)
th.start()
while time.perf_counter() - t0 < secs:
    s.sendall(chunk)
    state["sent"] += len(chunk)
state["done"] = True
th.join(60)
dt = time.perf_counter() - t0
s.close()
print(json.dumps({"rtts": rtts, "bulk_sent": state["sent"], "bulk_got": state["got"], "bulk_s": dt}))
`;

/** What one trial against one server measured. */
export interface SctpTrial {
  rtt_per_s: number;
  p50_us: number;
  p99_us: number;
  bulk_mib_s: number;
  bulk_sent: number;
  bulk_got: number;
}

async function trial(
  name: string,
  port: number,
  rounds: number,
  secs: number,
): Promise<SctpTrial> {
  const out = await new Deno.Command("python3", {
    args: ["-c", PY_CLIENT, String(port), String(rounds), String(secs)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`bench client against ${name}: ${dec.decode(out.stderr)}`);
  const r = JSON.parse(dec.decode(out.stdout)) as {
    rtts: number[];
    bulk_sent: number;
    bulk_got: number;
    bulk_s: number;
  };
  const s = summarize(r.rtts)!;
  const total = r.rtts.reduce((a, b) => a + b, 0);
  return {
    rtt_per_s: Math.round(r.rtts.length / (total / 1e6)),
    p50_us: Math.round(s.p50),
    p99_us: Math.round(s.p99),
    bulk_mib_s: Math.round((r.bulk_got / 1048576 / r.bulk_s) * 100) / 100,
    bulk_sent: r.bulk_sent,
    bulk_got: r.bulk_got,
  };
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const med = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { med, min: s[0]!, max: s.at(-1)! };
}

/** Folds one server's trials into its row (pure). */
export function sctpRow(server: string, trials: SctpTrial[]): SctpBenchRow {
  const of = (k: keyof SctpTrial) => spread(trials.map((t) => t[k]));
  return {
    server,
    trials: trials.length,
    rtt_per_s: of("rtt_per_s"),
    p50_us: of("p50_us"),
    p99_us: of("p99_us"),
    bulk_mib_s: of("bulk_mib_s"),
    bulk_incomplete: trials.filter((t) => t.bulk_got !== t.bulk_sent).length,
  };
}

/** The order servers are measured in for trial `t`: rotated, so no server is always first. */
export function trialOrder(servers: number, t: number): number[] {
  return Array.from({ length: servers }, (_, i) => (i + t) % servers);
}

/**
 * Runs the benchmark on this kernel (needs SCTP): every server is started once and kept
 * up, and the trials are interleaved (trial 1 on each server, then trial 2 on each, in a
 * rotated order), so a slow patch of the machine hits every server alike.
 */
export async function benchSctpHere(
  rounds: number,
  secs: number,
  trials = 3,
): Promise<SctpBenchRow[]> {
  const deno = Deno.execPath();
  const servers: [string, string, string[], RegExp, "stdout" | "stderr"][] = [
    [
      "socat SCTP-LISTEN,fork PIPE",
      "socat",
      ["-d", "-d", "SCTP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr", "PIPE"],
      /listening on .*:(\d+)/,
      "stderr",
    ],
    ...(["one-to-one", "one-to-many"] as const).map((style): [
      string,
      string,
      string[],
      RegExp,
      "stdout" | "stderr",
    ] => [
      `sockbox serve sctp --style ${style}`,
      deno,
      [
        "run",
        "-q",
        "-P",
        "--config",
        `${ROOT}deno.json`,
        `${ROOT}main.ts`,
        "serve",
        "sctp",
        "0",
        "--host",
        "127.0.0.1",
        "--style",
        style,
        "--json",
      ],
      /"port":(\d+)/,
      "stdout",
    ]),
  ];
  const running: Awaited<ReturnType<typeof start>>[] = [];
  try {
    for (const [, cmd, args, re, stream] of servers) {
      running.push(await start(cmd, args, re, stream));
    }
    const results: SctpTrial[][] = servers.map(() => []);
    for (let t = 0; t < trials; t++) {
      for (const i of trialOrder(servers.length, t)) {
        results[i]!.push(await trial(servers[i]![0], running[i]!.port, rounds, secs));
      }
    }
    return servers.map(([name], i) => sctpRow(name, results[i]!));
  } finally {
    for (const srv of running) {
      srv.child.kill("SIGTERM");
      await srv.child.status;
      await srv.done;
    }
  }
}

function fmtSpread(s: Spread, digits = 0): string {
  const f = (x: number) => x.toFixed(digits);
  return s.min === s.max ? f(s.med) : `${f(s.med)} (${f(s.min)}-${f(s.max)})`;
}

function ratio(v: number, base: number): string {
  return base > 0 && Number.isFinite(v) ? `${(v / base).toFixed(2)}x` : "-";
}

/**
 * Formats rows as a table: each figure is the median over the trials with the range in
 * parentheses, and ratios are against the first (socat) row. A server whose bulk phase
 * lost bytes gets "incomplete" instead of a throughput ratio.
 */
export function sctpBenchTable(rows: SctpBenchRow[]): string {
  const base = rows[0]!;
  const head = [
    "server",
    "trials",
    "64B rtt/s",
    "vs socat",
    "p50 us",
    "p99 us",
    "bulk MiB/s",
    "vs socat",
  ];
  const baseBulkOk = base.bulk_incomplete === 0;
  const body = rows.map((r) => [
    r.server,
    String(r.trials),
    fmtSpread(r.rtt_per_s),
    ratio(r.rtt_per_s.med, base.rtt_per_s.med),
    fmtSpread(r.p50_us),
    fmtSpread(r.p99_us),
    fmtSpread(r.bulk_mib_s, 2) +
    (r.bulk_incomplete ? ` (incomplete in ${r.bulk_incomplete} of ${r.trials})` : ""),
    r.bulk_incomplete || !baseBulkOk ? "-" : ratio(r.bulk_mib_s.med, base.bulk_mib_s.med),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd())
    .join("\n");
}

/**
 * Runs the benchmark natively when the kernel has SCTP, otherwise in one UML boot.
 * Returns the rows and where they were measured.
 */
export async function benchSctp(
  rounds = 2000,
  secs = 3,
  trials = 3,
): Promise<{ where: string; rows: SctpBenchRow[] }> {
  if (SctpSocket.available()) {
    return { where: "native", rows: await benchSctpHere(rounds, secs, trials) };
  }
  const why = umlUnavailableReason();
  if (why) throw new Error(`this kernel has no SCTP and ${why}`);
  const dir = await Deno.makeTempDir({ prefix: "sockbox-bench-sctp-" });
  try {
    const out = `${dir}/rows.json`;
    const uml = await runInUml(
      // UML's default SCTP send buffer is 16 KiB, one bulk message: every message would
      // wait for a delayed SACK. Give every server and the client 1 MiB, like a tuned host.
      `sysctl -qw net.sctp.sctp_wmem='4096 1048576 4194304'\n` +
        // Forks are slow in UML: python3 itself first, not a version manager's shim.
        "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH\n" +
        `deno run -A scripts/bench_sctp.ts --inner '${out}' --rounds ${rounds} --bulk-secs ${secs} ` +
        `--trials ${trials} ` +
        `>'${dir}/log.txt' 2>&1`,
      { cwd: ROOT, timeoutMs: 600_000 },
    );
    const text = await Deno.readTextFile(out).catch(() => null);
    if (text === null || uml.jobStatus !== 0) {
      const log = await Deno.readTextFile(`${dir}/log.txt`).catch(() => "");
      throw new Error(
        `SCTP bench in UML failed (UML exit ${uml.code}, job exit ${uml.jobStatus ?? "none"}${
          uml.timedOut ? ", timed out" : ""
        }): ${log}`,
      );
    }
    return { where: "User-Mode Linux", rows: JSON.parse(text) as SctpBenchRow[] };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    const quick = Deno.env.get("QUICK") === "1";
    const { values } = parseArgs({
      options: {
        inner: { type: "string" },
        rounds: { type: "string", default: quick ? "200" : "2000" },
        "bulk-secs": { type: "string", default: quick ? "1" : "3" },
        trials: { type: "string", default: "3" },
        json: { type: "boolean" },
      },
    });
    const rounds = Number(values.rounds);
    const secs = Number(values["bulk-secs"]);
    const trials = Number(values.trials);
    if (
      !Number.isInteger(rounds) || rounds < 1 || !(secs > 0) || !Number.isInteger(trials) ||
      trials < 1
    ) {
      throw new Error(
        "--rounds and --trials must be positive integers and --bulk-secs a positive number",
      );
    }
    if (values.inner) {
      const rows = await benchSctpHere(rounds, secs, trials);
      await Deno.writeTextFile(values.inner, JSON.stringify(rows));
    } else {
      const { where, rows } = await benchSctp(rounds, secs, trials);
      if (values.json) console.log(JSON.stringify({ where, rows }));
      else {
        console.log(
          `SCTP echo over loopback (${where}; ${trials} interleaved trials per server, each ` +
            `${rounds} round trips and ${secs}s bulk; median (min-max); client: python3)`,
        );
        console.log(sctpBenchTable(rows));
      }
      if (rows.some((r) => r.bulk_incomplete > 0)) {
        console.error("bench_sctp: some bulk runs did not get every byte back");
        Deno.exit(1);
      }
    }
  } catch (e) {
    console.error(`bench_sctp: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
