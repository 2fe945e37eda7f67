/**
 * `deno task bench --only agree`: does `sockbox bench` measure what the C load client of
 * scripts/bench/ (`echoload`) measures, against the same C server? Each rep starts one C
 * server per case, pinned to CPU 1, and runs both clients against it in turn, pinned to
 * CPU 0, the order alternating from rep to rep:
 *
 * - TCP ping-pong against `epoll_echo`: `echoload pp -c 64 -s 64 -w 1 -d DUR` vs `sockbox
 *   bench tcp HOST PORT --conns 64 --size 64 --warmup 1s --duration DUR`: round trips/s
 *   and p50;
 * - UDP ping-pong against `udp_echo` (a blocking recvfrom/sendto loop): `echoload udp -c 64
 *   -s 64 -w 1 -d DUR -t 200` vs `sockbox bench udp ... --conns 64 --size 64 --warmup 1s
 *   --timeout 200ms`: round trips/s and p50;
 * - TCP stream against `epoll_echo`: `echoload bulk` (one connection, 64 KiB writes, reading
 *   the echo back concurrently, no warm-up, capped at DUR) vs `sockbox bench tcp ... --mode
 *   stream --conns 1 --size 65536 --warmup 0 --duration DUR`: echoed MiB/s.
 *
 * sockbox runs from the source tree (`deno run -q -P main.ts`, as `deno task start`) with
 * `--threads 1`, the one client CPU. Targets: round trips/s and MiB/s at least 0.85x
 * echoload's, p50 at most 1.2x echoload's (ratios of the medians over the reps).
 *
 * Prints a Markdown table on stdout (progress on stderr): each figure's median (min-max)
 * for both clients, the ratio of the medians (what the target is judged on), the ratio in
 * each rep (both clients against the same server, minutes apart at most), the target and
 * whether it is met. QUICK=1: one short rep.
 * REPS=N: repetitions (default 3). Results stay under $TMPDIR/echo-bench/results/.
 * Needs taskset, setsid, ss and a C compiler.
 *
 * @module
 */
import {
  buildAnchors,
  client,
  CLIENT_CPU,
  echoloadArgv,
  HOST,
  kv,
  median,
  requireTools,
  sectionSettings,
  SERVER_CPU,
  sockboxArgv,
  summary,
  warmSockbox,
  withServer,
} from "./bench_util.ts";

const { quick: QUICK, reps: REPS, out: OUT, log } = sectionSettings("agree");
const DUR = QUICK ? 2 : 5;
const CONNS = 64;
const SIZE = 64;
const UDP_TIMEOUT_MS = 200;
const STREAM_WRITE = 65536;

/** One measured figure: its label, unit, target and how a ratio (sockbox / C) meets it. */
export interface Figure {
  key: string;
  label: string;
  target: string;
  ok: (ratio: number) => boolean;
  decimals: number;
}

/** The figures of the table, in order. */
export const FIGURES: Figure[] = [
  {
    key: "tcp rt_s",
    label: `TCP ping-pong, ${CONNS} conns, ${SIZE} B: round trips/s`,
    target: "≥ 0.85×",
    ok: (r) => r >= 0.85,
    decimals: 0,
  },
  {
    key: "tcp p50",
    label: `TCP ping-pong, ${CONNS} conns, ${SIZE} B: p50 µs`,
    target: "≤ 1.2×",
    ok: (r) => r <= 1.2,
    decimals: 1,
  },
  {
    key: "udp rt_s",
    label: `UDP ping-pong, ${CONNS} sockets, ${SIZE} B: round trips/s`,
    target: "≥ 0.85×",
    ok: (r) => r >= 0.85,
    decimals: 0,
  },
  {
    key: "udp p50",
    label: `UDP ping-pong, ${CONNS} sockets, ${SIZE} B: p50 µs`,
    target: "≤ 1.2×",
    ok: (r) => r <= 1.2,
    decimals: 1,
  },
  {
    key: "stream mib_s",
    label: "TCP stream, 1 conn, 64 KiB writes: echoed MiB/s",
    target: "≥ 0.85×",
    ok: (r) => r >= 0.85,
    decimals: 0,
  },
];

/** Every rep's value, per `"<figure key> <client>"` (client: "c" or "sockbox"). */
export type Results = Map<string, number[]>;

/** The Markdown table of `res` (pure). */
export function renderAgree(res: Results): string {
  const cell = (xs: number[] | undefined, d: number) => {
    if (!xs || xs.length === 0) return "—";
    const med = median(xs).toFixed(d);
    return xs.length === 1
      ? med
      : `${med} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  };
  const lines = [
    "| figure | echoload (C) | sockbox bench | ratio | per rep | target | met |",
    "|---|---:|---:|---:|---:|---|:-:|",
  ];
  for (const f of FIGURES) {
    const c = res.get(`${f.key} c`), s = res.get(`${f.key} sockbox`);
    const ratio = c && s && c.length && s.length ? median(s) / median(c) : NaN;
    const fin = Number.isFinite(ratio);
    // The same rep ran both clients against the same server, one after the other.
    const perRep = c && s && c.length === s.length && c.length > 1
      ? s.map((x, i) => (x / c[i]!).toFixed(2)).join(", ")
      : "";
    lines.push(
      `| ${f.label} | ${cell(c, f.decimals)} | ${cell(s, f.decimals)} | ${
        fin ? `${ratio.toFixed(3)}×` : "—"
      } | ${perRep} | ${f.target} | ${fin ? (f.ok(ratio) ? "yes" : "no") : ""} |`,
    );
  }
  return lines.join("\n");
}

/** Parses echoload's bulk line; a time-capped run (complete=0) is fine, a bad chunk is not. */
export function bulkMibS(text: string): number {
  const line = text.split("\n").find((l) => l.startsWith("mode=bulk"));
  if (!line) throw new Error(`no bulk result in echoload output: ${text.slice(-300)}`);
  if (kv(line, "bad_chunks") !== 0) throw new Error(`echoload bulk saw corrupted echoes: ${line}`);
  if (kv(line, "idle_s") > 1) throw new Error(`echoload bulk: the echo stalled: ${line}`);
  return kv(line, "mib_s");
}

async function main(): Promise<void> {
  await requireTools("agree", ["taskset", "setsid", "ss"]);
  await Deno.mkdir(OUT, { recursive: true });
  log(`results in ${OUT}`);
  const build = `${OUT}/build`;
  await buildAnchors(build);
  await warmSockbox();
  const res: Results = new Map();
  const add = (k: string, v: number) => {
    if (!Number.isFinite(v)) throw new Error(`${k}: no value`);
    res.set(k, [...(res.get(k) ?? []), v]);
  };
  const raw: string[] = [];
  const echoload = (mode: string, port: number, args: string[]) =>
    echoloadArgv(build, mode, port, args);
  const sockbox = (proto: string, port: number, args: string[]) =>
    sockboxArgv([
      "bench",
      proto,
      HOST,
      String(port),
      "--threads",
      "1",
      "--duration",
      `${DUR}s`,
      "--json",
      ...args,
    ]);
  const epoll = (p: number) => [`${build}/epoll_echo`, String(p), HOST];
  const udpEcho = (p: number) => [`${build}/udp_echo`, String(p), HOST];
  const pp = ["-c", String(CONNS), "-s", String(SIZE), "-d", String(DUR), "-w", "1"];
  const sbPp = ["--conns", String(CONNS), "--size", String(SIZE), "--warmup", "1s"];

  for (let rep = 1; rep <= REPS; rep++) {
    // Odd reps run the C client first, even reps sockbox first.
    const order = <T>(c: () => Promise<T>, s: () => Promise<T>) =>
      rep % 2 ? c().then(s) : s().then(c);

    log(`tcp ping-pong rep ${rep}`);
    await withServer("tcp", epoll, (p) =>
      order(
        async () => {
          const out = await client(echoload("pp", p, pp));
          raw.push(`rep=${rep} tcp c ${out.trim()}`);
          add("tcp rt_s c", kv(out, "rt_s"));
          add("tcp p50 c", kv(out, "p50_us"));
        },
        async () => {
          const s = summary(await client(sockbox("tcp", p, sbPp)));
          raw.push(`rep=${rep} tcp sockbox ${JSON.stringify({ ...s, histogram: undefined })}`);
          add("tcp rt_s sockbox", s.round_trips_per_s as number);
          add("tcp p50 sockbox", (s.latency_us as { p50: number }).p50);
        },
      ));

    log(`udp ping-pong rep ${rep}`);
    await withServer("udp", udpEcho, (p) =>
      order(
        async () => {
          const out = await client(echoload("udp", p, [...pp, "-t", String(UDP_TIMEOUT_MS)]));
          raw.push(`rep=${rep} udp c ${out.trim()}`);
          add("udp rt_s c", kv(out, "rt_s"));
          add("udp p50 c", kv(out, "p50_us"));
        },
        async () => {
          const s = summary(
            await client(sockbox("udp", p, [...sbPp, "--timeout", `${UDP_TIMEOUT_MS}ms`])),
          );
          raw.push(`rep=${rep} udp sockbox ${JSON.stringify({ ...s, histogram: undefined })}`);
          add("udp rt_s sockbox", s.round_trips_per_s as number);
          add("udp p50 sockbox", (s.latency_us as { p50: number }).p50);
        },
      ));

    log(`tcp stream rep ${rep}`);
    await withServer("tcp", epoll, (p) =>
      order(
        async () => {
          // -m far beyond what DUR moves: the time cap ends the run (exit 1, complete=0).
          const { text } = await client(
            echoload("bulk", p, ["-m", "1000000", "-d", String(DUR)]),
            true,
          );
          raw.push(`rep=${rep} stream c ${text.trim()}`);
          add("stream mib_s c", bulkMibS(text));
        },
        async () => {
          const s = summary(
            await client(sockbox("tcp", p, [
              "--mode",
              "stream",
              "--conns",
              "1",
              "--size",
              String(STREAM_WRITE),
              "--warmup",
              "0",
            ])),
          );
          raw.push(`rep=${rep} stream sockbox ${JSON.stringify({ ...s, histogram: undefined })}`);
          add("stream mib_s sockbox", s.mib_per_s as number);
        },
      ));
  }
  await Deno.writeTextFile(`${OUT}/raw.txt`, raw.join("\n") + "\n");
  await Deno.writeTextFile(`${OUT}/results.json`, JSON.stringify(Object.fromEntries(res)));
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
  console.log(
    `## sockbox bench vs echoload (${
      QUICK ? "QUICK=1: a smoke test, not a measurement" : `median of ${REPS} reps`
    })

Machine: ${navigator.hardwareConcurrency} CPUs (${cpu ?? "?"}), kernel ${Deno.osRelease()},
deno ${Deno.version.deno}. C servers (scripts/bench/anchors: epoll_echo, udp_echo) pinned to
CPU ${SERVER_CPU}, both clients to CPU ${CLIENT_CPU}, sockbox with \`--threads 1\`; ${DUR} s
measured per run, the clients alternating against the same server. Cells: median (min–max
over reps); ratio: sockbox's median over echoload's (the verdict); per rep: sockbox over
echoload within each rep. Raw results in ${OUT}.
Command: \`REPS=${REPS} deno task bench --only agree\`.

${renderAgree(res)}
`,
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`bench agree: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
