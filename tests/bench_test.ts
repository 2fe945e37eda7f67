/**
 * The benchmark harness's pure parts: it runs sockbox with the same flags as
 * `deno task start`, its argument parser rejects bad input with one line, and its table
 * renderers say how many reps each figure is over, never rank a run that did not
 * complete, and compare like with like.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { parseBenchArgs } from "../scripts/bench.ts";
import {
  type Contender,
  parseSummary,
  ratioTable,
  sockboxCommands,
  type Stat,
} from "../scripts/bench_echo.ts";
import { type SctpBenchRow, sctpBenchTable, sctpRow, trialOrder } from "../scripts/bench_sctp.ts";
import { ifacesTable } from "../scripts/bench_ifaces.ts";
import { bulkMibS, renderAgree } from "../scripts/bench_agree.ts";
import { kv, median, sockboxArgv } from "../scripts/bench_util.ts";
import { UsageError } from "../lib/base/errors.ts";

/**
 * The start task less its `DENO_NO_UPDATE_CHECK=1 `: the bench's servers and clients get that
 * variable from the `bench` task's environment, which they inherit.
 */
function startCommand(): string {
  for (const task of [config.tasks.start, config.tasks.bench]) {
    assert.match(task, /^DENO_NO_UPDATE_CHECK=1 deno /);
  }
  return config.tasks.start.replace(/^DENO_NO_UPDATE_CHECK=1 /, "");
}

Deno.test("bench runs sockbox exactly as deno task start does", () => {
  const start = startCommand(); // deno run -q -P main.ts
  const cmds = sockboxCommands("/repo", "deno");
  assert.equal(cmds.tcp, "deno run -q -P /repo/main.ts serve tcp {PORT} --host {HOST}");
  assert.equal(cmds.udp, "deno run -q -P /repo/main.ts serve udp {PORT} --host {HOST}");
  assert.ok(cmds.tcp.startsWith(start.replace(" main.ts", " /repo/main.ts")));
});

Deno.test("bench --only picks known sections in order and rejects others", () => {
  assert.deepEqual(parseBenchArgs([]).sections, ["echo"]);
  assert.deepEqual(parseBenchArgs(["--only", "sctp,echo", "--only", "ifaces"]).sections, [
    "echo",
    "ifaces",
    "sctp",
  ]);
  assert.throws(() => parseBenchArgs(["--only", "disk"]), (e: unknown) =>
    e instanceof UsageError &&
    e.message ===
      'invalid --only "disk": must be one of echo, ifaces, sctp, engines, scale, ping, agree');
  assert.deepEqual(parseBenchArgs(["--", "-x"]).passThrough, ["-x"]);
});

Deno.test("bench reads run.sh's summary lines", () => {
  const s = parseSummary("sockbox pp1 rt_s 15025 14000 16000 5\nnoise line\n");
  assert.deepEqual(s.get("sockbox pp1 rt_s"), { med: 15025, min: 14000, max: 16000, n: 5 });
  assert.equal(s.size, 1);
});

const COLS: Contender[] = [
  { label: "C (anchor)", tcp: "c", udp: "c-udp" },
  { label: "node", tcp: "node", udp: "node-udp" },
  { label: "sockbox", tcp: "sb", udp: "sb-udp" },
];

function stats(lines: string[]): Map<string, Stat> {
  return parseSummary(lines.join("\n"));
}

/** The table's row whose label starts with `label`, split into cells. */
function row(table: string, label: string): string[] {
  const line = table.split("\n").find((l) => l.startsWith(`| ${label} |`));
  assert.ok(line, `no row ${label} in\n${table}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}

Deno.test("echo table shows the median, the ratio to the anchor and the reps of every cell", () => {
  const t = ratioTable(
    stats([
      "c pp1 rt_s 20000 19000 21000 5",
      "node pp1 rt_s 15000 14000 16000 5",
      "sb pp1 rt_s 10000 9000 11000 5",
      "c idle before_rss_kb 2048 2048 2048 3",
      "node idle before_rss_kb 40960 40960 40960 3",
      "sb idle before_rss_kb 81920 81920 81920 3",
    ]),
    { conns: ["1"], idleConns: 200, tests: ["tcp", "idle"], contenders: COLS },
  );
  assert.deepEqual(row(t, "TCP 1 conn 64 B ping-pong rt/s"), [
    "TCP 1 conn 64 B ping-pong rt/s",
    "↑",
    "20000 n=5",
    "15000 (0.75×) n=5",
    "10000 (0.50×) n=5",
    "0.67×",
  ]);
  // The idle rows run fewer reps than the load rows; the table says so per cell.
  assert.deepEqual(row(t, "idle RSS MiB (no connections)").slice(2), [
    "2.0 n=3",
    "40.0 (20×) n=3",
    "80.0 (40×) n=3",
    "2.00×",
  ]);
  // Not measured at all: a dash, no ratio.
  assert.deepEqual(row(t, "TCP bulk MiB/s").slice(2), ["—", "—", "—", "—"]);
});

Deno.test("echo table gives no ratio to a stalled bulk run or a server that failed some starts", () => {
  const t = ratioTable(
    stats([
      "c bulk mib_s 900 880 920 5",
      "c bulk complete 1 1 1 5",
      "node bulk mib_s 600 590 610 5",
      "node bulk complete 1 1 1 5",
      "sb bulk mib_s 12 10 14 5",
      "sb bulk complete 0 0 1 5",
      "sb bulk idle_s 0 0 4 5",
      "sb pp1 rt_s 10000 9000 11000 3",
      "sb start failed 1 1 1 2",
      "c pp1 rt_s 20000 19000 21000 5",
      "c-udp udp rt_s 30000 29000 31000 5",
      "node-udp ustart failed 1 1 1 5",
    ]),
    { conns: ["1"], idleConns: 200, tests: ["tcp", "udp"], contenders: COLS },
  );
  assert.deepEqual(row(t, "TCP bulk MiB/s").slice(2), [
    "900 n=5",
    "600 (0.67×) n=5",
    "12 (stalled, failed to start in 2 of 7 reps) n=5",
    "—",
  ]);
  assert.deepEqual(row(t, "TCP 1 conn 64 B ping-pong rt/s").slice(2), [
    "20000 n=5",
    "—",
    "10000 (failed to start in 2 of 5 reps) n=3",
    "—",
  ]);
  assert.deepEqual(row(t, "UDP 64 B ping-pong rt/s").slice(2), [
    "30000 n=5",
    "failed to start",
    "—",
    "—",
  ]);
});

Deno.test("sctp table: median and range over the trials, no ratio for incomplete bulk", () => {
  const base = sctpRow("socat", [
    { rtt_per_s: 1000, p50_us: 900, p99_us: 1500, bulk_mib_s: 50, bulk_sent: 10, bulk_got: 10 },
    { rtt_per_s: 1200, p50_us: 800, p99_us: 1400, bulk_mib_s: 40, bulk_sent: 10, bulk_got: 10 },
    { rtt_per_s: 1100, p50_us: 850, p99_us: 1450, bulk_mib_s: 45, bulk_sent: 10, bulk_got: 10 },
  ]);
  assert.deepEqual(base.rtt_per_s, { med: 1100, min: 1000, max: 1200 });
  assert.equal(base.trials, 3);
  assert.equal(base.bulk_incomplete, 0);
  const lossy = sctpRow("sockbox", [
    { rtt_per_s: 2200, p50_us: 400, p99_us: 700, bulk_mib_s: 90, bulk_sent: 10, bulk_got: 7 },
    { rtt_per_s: 2200, p50_us: 400, p99_us: 700, bulk_mib_s: 90, bulk_sent: 10, bulk_got: 10 },
    { rtt_per_s: 2200, p50_us: 400, p99_us: 700, bulk_mib_s: 90, bulk_sent: 10, bulk_got: 10 },
  ]);
  const rows: SctpBenchRow[] = [base, lossy];
  const lines = sctpBenchTable(rows).split("\n").map((l) => l.split(/\s{2,}/));
  assert.deepEqual(lines[0], [
    "server",
    "trials",
    "64B rtt/s",
    "vs socat",
    "p50 us",
    "p99 us",
    "bulk MiB/s",
    "vs socat",
  ]);
  assert.deepEqual(lines[1], [
    "socat",
    "3",
    "1100 (1000-1200)",
    "1.00x",
    "850 (800-900)",
    "1450 (1400-1500)",
    "45.00 (40.00-50.00)",
    "1.00x",
  ]);
  assert.deepEqual(lines[2], [
    "sockbox",
    "3",
    "2200",
    "2.00x",
    "400",
    "700",
    "90.00 (incomplete in 1 of 3)",
    "-",
  ]);
});

Deno.test("sctp trials rotate the server order so none is always measured first", () => {
  assert.deepEqual([0, 1, 2].map((t) => trialOrder(3, t)), [[0, 1, 2], [1, 2, 0], [2, 0, 1]]);
});

Deno.test("ifaces table compares enumeration with enumeration and process with process", () => {
  const t = ifacesTable({
    count: 61,
    enumerate: 10,
    ipEnumerate: 4,
    ipProcess: 25,
    sockboxProcess: 750,
  }).split("\n");
  assert.equal(t[0], "### ifaces: 61 interfaces (30 veth pairs + lo)");
  const cells = (l: string) => l.split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cells(t[2]!), ["measurement", "sockbox", "`ip` (iproute2)", "sockbox / ip"]);
  assert.match(t[4]!, /^\| one enumeration inside a running process /);
  assert.deepEqual(cells(t[4]!).slice(1), ["10.000 ms", "4.000 ms", "2.50×"]);
  assert.match(t[5]!, /^\| whole process, start to exit /);
  assert.deepEqual(cells(t[5]!).slice(1), ["750.000 ms", "25.000 ms", "30.00×"]);
  assert.equal(t.length, 6);
});

Deno.test("bench sections run sockbox from the source tree as deno task start does", () => {
  const argv = sockboxArgv(["bench", "tcp"]);
  assert.equal(argv[0], Deno.execPath());
  assert.equal(
    argv.slice(1).join(" ").replace(/ \/\S*main\.ts/, " main.ts"),
    `${startCommand().replace(/^deno /, "")} bench tcp`,
  );
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(kv("mode=pp rt=10 rt_s=5.5 p50_us=7", "rt_s"), 5.5);
  assert.ok(Number.isNaN(kv("mode=pp rt=10", "rt_s")));
});

Deno.test("agree table: medians, ranges, ratio of sockbox to echoload and the target", () => {
  const res = new Map([
    ["tcp rt_s c", [50000, 52000, 51000]],
    ["tcp rt_s sockbox", [40000, 41000, 42000]],
    ["tcp p50 c", [700, 720, 710]],
    ["tcp p50 sockbox", [710]],
    ["stream mib_s c", [1000, 1000, 1000]],
    ["stream mib_s sockbox", [850, 900, 800]],
  ]);
  const rows = renderAgree(res).split("\n");
  const row = (prefix: string) => rows.find((r) => r.startsWith(`| ${prefix}`))?.split(" | ");
  // 41000 / 51000 = 0.804: below 0.85, not met; each rep's own ratio beside it.
  assert.deepEqual(row("TCP ping-pong, 64 conns, 64 B: round trips/s")?.slice(1), [
    "51000 (50000–52000)",
    "41000 (40000–42000)",
    "0.804×",
    "0.80, 0.79, 0.82",
    "≥ 0.85×",
    "no |",
  ]);
  // One value: no range; 710 / 710 = 1.00 within 1.2x.
  assert.deepEqual(row("TCP ping-pong, 64 conns, 64 B: p50")?.slice(1), [
    "710.0 (700.0–720.0)",
    "710.0",
    "1.000×",
    "",
    "≤ 1.2×",
    "yes |",
  ]);
  // Exactly 0.85 meets the target.
  assert.equal(row("TCP stream")?.at(-1), "yes |");
  // A figure with no values has no ratio and no verdict.
  assert.deepEqual(row("UDP ping-pong, 64 sockets, 64 B: round trips/s")?.slice(1), [
    "—",
    "—",
    "—",
    "",
    "≥ 0.85×",
    " |",
  ]);
});

Deno.test("agree reads a time-capped echoload bulk run and rejects a corrupt or stalled one", () => {
  const line = (bad: number, idle: string) =>
    `mode=bulk mib=1000000 sent_mib=1443.5 rcvd_mib=1439.8 secs=2.000 mib_s=719.8 complete=0 idle_s=${idle} eof=0 bad_chunks=${bad}\n`;
  assert.equal(bulkMibS(line(0, "0.00")), 719.8);
  assert.throws(() => bulkMibS(line(2, "0.00")), /corrupted/);
  assert.throws(() => bulkMibS(line(0, "1.50")), /stalled/);
  assert.throws(() => bulkMibS("echoload: connect: Connection refused\n"), /no bulk result/);
});
