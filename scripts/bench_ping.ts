/**
 * `deno task bench --only ping`: the latency of `sockbox ping` and of `sockbox bench
 * --conns 1` against sockperf, in the same run, as ratios of the median p50 round trip.
 * sockperf's client drops a reply still marked as a client's message, so it cannot use a
 * plain echo server; the C echo anchors of scripts/bench/ (`udp_echo`, a recvfrom/sendto
 * loop; `epoll_echo`) take a `sockperf` argument that clears that mark in each echo, and
 * sockperf then runs against the very server sockbox runs against. Every server is pinned
 * to CPU 1 and every client to CPU 0 (taskset), and the contenders alternate within each
 * rep:
 *
 * - `sockperf ping-pong -m 64 -t DUR --full-rtt [--tcp]` against the C anchor in sockperf
 *   mode (the client-to-client comparison the target is judged by) and against `sockperf
 *   server` (its own server, for reference); sockperf prints half the round trip unless told
 *   `--full-rtt` (sockperf(1)); here it is the whole round trip, as ping's;
 * - `sockbox ping udp|tcp -i 0 -c COUNT -s 64` (the ffi engine), and the same with
 *   `--engine deno` for reference;
 * - `sockbox bench udp|tcp --conns 1 --size 64 --duration DUR`;
 * - the C load client of scripts/bench/ (`echoload udp|pp -c 1 -s 64`) against the same C
 *   servers.
 *
 * Prints a Markdown table on stdout (progress on stderr): median p50 over the reps, min-max,
 * the ratios to sockperf's medians (same server, own server) and to the C client's, and
 * whether the median ratio to sockperf on the same server meets the target (1.15x).
 * QUICK=1: one short rep. REPS=N: repetitions (default 3).
 * Needs sockperf, taskset, ss and a C compiler.
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

const { quick: QUICK, reps: REPS, out: OUT, log } = sectionSettings("ping");
const DUR = QUICK ? 2 : 5;
const COUNT = QUICK ? 2000 : 5000;
/** The target: sockbox's p50 within this factor of sockperf's. */
const TARGET = 1.15;

/** sockperf's p50 round trip, µs (`percentile 50.000 = X` with --full-rtt). */
export function sockperfP50(text: string): number {
  const m = /percentile 50\.000 =\s+([\d.]+)/.exec(text);
  if (!m) throw new Error(`no p50 in sockperf output: ${text.slice(-300)}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  await requireTools("ping", ["sockperf", "taskset", "setsid", "ss"]);
  await Deno.mkdir(OUT, { recursive: true });
  const build = `${OUT}/build`;
  await buildAnchors(build);
  const sockbox = sockboxArgv;
  await warmSockbox();

  const res = new Map<string, number[]>();
  const add = (k: string, v: number) => res.set(k, [...(res.get(k) ?? []), v]);
  const anchor = (proto: "tcp" | "udp", ...mode: string[]) => (p: number) =>
    proto === "udp"
      ? [`${build}/udp_echo`, String(p), HOST, ...mode]
      : [`${build}/epoll_echo`, String(p), HOST, ...mode];
  for (let rep = 1; rep <= REPS; rep++) {
    for (const proto of ["udp", "tcp"] as const) {
      const tcp = proto === "tcp" ? ["--tcp"] : [];
      const sockperfClient = async (p: number) =>
        sockperfP50(
          await client([
            "sockperf",
            "ping-pong",
            "-i",
            HOST,
            "-p",
            String(p),
            "-m",
            "64",
            "-t",
            String(DUR),
            "--full-rtt",
            ...tcp,
          ]),
        );
      log(`${proto} rep ${rep}: sockperf`);
      add(
        `${proto} sockperf`,
        await withServer(
          proto,
          (p) => ["sockperf", "server", "-i", HOST, "-p", String(p), ...tcp],
          sockperfClient,
        ),
      );
      log(`${proto} rep ${rep}: sockperf against the C echo server`);
      add(
        `${proto} sockperf C`,
        await withServer(proto, anchor(proto, "sockperf"), sockperfClient),
      );
      for (const engine of ["ffi", "deno"]) {
        log(`${proto} rep ${rep}: sockbox ping --engine ${engine}`);
        add(
          `${proto} ping ${engine}`,
          await withServer(proto, anchor(proto), async (p) => {
            const s = summary(
              await client(sockbox([
                "ping",
                proto,
                HOST,
                String(p),
                "-i",
                "0",
                "-c",
                String(COUNT),
                "-s",
                "64",
                "--engine",
                engine,
                "--json",
              ])),
            );
            return (s.p50_ms as number) * 1000;
          }),
        );
      }
      log(`${proto} rep ${rep}: echoload (C client, same C server)`);
      add(
        `${proto} echoload`,
        await withServer(proto, anchor(proto), async (p) => {
          const out = await client(
            echoloadArgv(build, proto === "udp" ? "udp" : "pp", p, [
              ...["-c", "1", "-s", "64", "-d", String(DUR), "-w", "1"],
            ]),
          );
          const p50 = kv(out, "p50_us");
          if (!Number.isFinite(p50)) {
            throw new Error(`no p50 in echoload output: ${out.slice(-300)}`);
          }
          return p50;
        }),
      );
      log(`${proto} rep ${rep}: sockbox bench --conns 1`);
      add(
        `${proto} bench`,
        await withServer(proto, anchor(proto), async (p) => {
          const s = summary(
            await client(sockbox([
              "bench",
              proto,
              HOST,
              String(p),
              "--conns",
              "1",
              "--size",
              "64",
              "--duration",
              `${DUR}s`,
              "--json",
            ])),
          );
          return (s.latency_us as { p50: number }).p50;
        }),
      );
    }
  }
  await Deno.writeTextFile(`${OUT}/raw.json`, JSON.stringify(Object.fromEntries(res), null, 1));
  const rows = [
    "| proto | client (server) | p50 µs median | min-max | vs sockperf, same C server | vs sockperf, own server | vs C client | target (same server) |",
    "|---|---|---:|---:|---:|---:|---:|---|",
  ];
  const names: [string, string][] = [
    ["sockperf", "sockperf ping-pong --full-rtt (sockperf server)"],
    ["sockperf C", "sockperf ping-pong --full-rtt (C echo, sockperf mode)"],
    ["echoload", "C client: echoload, 1 conn (C echo)"],
    ["ping ffi", "sockbox ping -i 0 (C echo)"],
    ["ping deno", "sockbox ping --engine deno (C echo)"],
    ["bench", "sockbox bench --conns 1 (C echo)"],
  ];
  for (const proto of ["udp", "tcp"]) {
    const own = median(res.get(`${proto} sockperf`) ?? [NaN]);
    const same = median(res.get(`${proto} sockperf C`) ?? [NaN]);
    const cref = median(res.get(`${proto} echoload`) ?? [NaN]);
    for (const [k, label] of names) {
      const xs = res.get(`${proto} ${k}`) ?? [];
      if (xs.length === 0) continue;
      const med = median(xs);
      const target = k === "ping ffi" || k === "bench"
        ? `${TARGET}x: ${med / same <= TARGET ? "met" : "not met"}`
        : "";
      rows.push(
        `| ${proto} | ${label} | ${med.toFixed(1)} | ${Math.min(...xs).toFixed(1)}-${
          Math.max(...xs).toFixed(1)
        } | ${(med / same).toFixed(2)}x | ${(med / own).toFixed(2)}x | ${
          (med / cref).toFixed(2)
        }x | ${target} |`,
      );
    }
  }
  console.log(
    `## ping latency vs sockperf (64 B, loopback, server on CPU ${SERVER_CPU}, client on CPU ${CLIENT_CPU}, ${REPS} reps)\n\n${
      rows.join("\n")
    }\n\nRaw values: ${OUT}/raw.json\n`,
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`bench ping: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
