/**
 * `deno task bench --only scale`: how many concurrent TCP connections `sockbox serve tcp`
 * holds and what each costs it in memory, for both engines (`--engine ffi --workers 1` and
 * `--engine deno`). 50000 connections need more open files than an unprivileged host
 * process may have, so the whole run happens in ONE User-Mode Linux boot
 * (scripts/uml/boot.ts), a kernel where the job is root: it sets the hard open-file limit
 * to 1048576 (fs.nr_open) and the soft one to 1024, so the server has to raise its own
 * soft limit at start (the line above the table shows what /proc/PID/limits reported).
 *
 *   deno run -A scripts/bench_scale.ts [--conns N] [--sources N] [--warmup N]
 *                                      [--engines ffi,deno] [--mem-mb MB] [--here] [--json]
 *
 * Per engine, on 127.0.0.1: start the server; open, echo and close WARMUP connections (so
 * its code paths and heap are warm), wait for it to log every close, then read its RSS and
 * PSS (/proc/PID/smaps_rollup): the baseline. Then the C client (`scripts/scale_client.c`,
 * compiled with `cc` on the host into a temporary directory) opens CONNS connections from
 * SOURCES addresses 127.0.0.2, 127.0.0.3, ... (IP_BIND_ADDRESS_NO_PORT, so no source's
 * ephemeral port range is the limit), echoes 16 bytes on each (every byte checked) and holds
 * them all; at that peak the server's RSS, PSS and open fds are read. Per connection =
 * (peak - baseline) / connections held. Then the client checks every connection is still
 * open, closes them all, and the server must log a close for each and count them in its
 * summary (WARMUP + CONNS) after SIGINT. RSS after the closes shows what the server kept.
 *
 * `--here` runs on this kernel instead of in UML (needs an open-file limit above the count
 * for the client and the server each). QUICK=1 in the environment (deno task bench --quick)
 * opens 5000 connections instead of 50000. UML is slow at this (70-140 new connections a
 * second there; thousands on the host kernel): the full run took 29 minutes on a loaded
 * 2-CPU machine, the quick one 3. Prints a Markdown table on stdout, progress on
 * stderr. Exit status: 0 when every engine held every connection and counted every one, 1
 * otherwise (the table still shows how far each got), 2 for bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runInUml, umlUnavailableReason } from "./uml/boot.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CLIENT_SRC = `${ROOT}scripts/scale_client.c`;
/**
 * Seconds the client may take to open every connection (its -t): in UML on a loaded 2-CPU
 * machine 50000 took 526 s (ffi) and 710 s (deno).
 */
const OPEN_S = 2400;
/** The hard open-file limit the UML job sets (Linux's default fs.nr_open). */
const UML_NOFILE = 1048576;

/** A server engine under test. */
export type Engine = "ffi" | "deno";

/** Resident and proportional set size of a process, KiB (smaps_rollup's Rss and Pss). */
export interface Mem {
  rss_kb: number;
  pss_kb: number;
}

/** What one engine's run measured. */
export interface ScaleRow {
  engine: Engine;
  /** The server's command line after `main.ts`. */
  args: string[];
  /** Connections asked for. */
  target: number;
  /** Connections the client opened and got the echo back on. */
  held: number;
  /** Of those, still open with nothing unread when the client closed them. */
  alive: number;
  /** The client's failures by kind, e.g. "ECONNREFUSED:3" ("" when none). */
  errors: string;
  /** Seconds to open and echo on every connection. */
  open_s: number;
  /** The server's open fds at the peak (/proc/PID/fd). */
  fds_peak: number;
  /** The server's soft open-file limit while it ran (/proc/PID/limits). */
  nofile_soft: number | null;
  /** Warm-up connections opened and closed before the baseline. */
  warmup: number;
  /** Right after the server printed its listening line. */
  mem_start: Mem;
  /** After the warm-up: the baseline. */
  mem_base: Mem;
  /** With every connection held. */
  mem_peak: Mem;
  /** After every connection closed. */
  mem_after: Mem;
  /** Close lines the server printed (warm-up included). */
  closes: number;
  /** Connections the server's summary line counted (warm-up included); null: no summary. */
  summary_connections: number | null;
}

/** Reads Rss and Pss (kB) out of /proc/PID/smaps_rollup text (pure). */
export function parseSmapsRollup(text: string): Mem {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!m) throw new Error(`no ${key} line in smaps_rollup`);
    return Number(m[1]);
  };
  return { rss_kb: kb("Rss"), pss_kb: kb("Pss") };
}

/** The soft "Max open files" limit out of /proc/PID/limits text (pure); null if absent. */
export function parseNofileSoft(text: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** The client's `opened ...` or `closed ...` line as key/value strings (pure). */
export function parseClientLine(line: string): { kind: string; fields: Map<string, string> } {
  const [kind = "", ...words] = line.trim().split(/\s+/);
  const fields = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq > 0) fields.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return { kind, fields };
}

/** Connections a `summary tcp: N connections, ...` line counts (pure); null if not one. */
export function parseSummaryConnections(line: string): number | null {
  const m = /^summary tcp: (\d+) connections?\b/.exec(line);
  return m ? Number(m[1]) : null;
}

/** Bytes of memory per held connection between two readings (pure); null when none held. */
export function perConnBytes(base_kb: number, peak_kb: number, held: number): number | null {
  return held > 0 ? Math.round(((peak_kb - base_kb) * 1024) / held) : null;
}

/** True when a row held every connection and the server counted every one (pure). */
export function rowComplete(r: ScaleRow): boolean {
  return r.held === r.target && r.alive === r.target &&
    r.summary_connections === r.target + r.warmup && r.closes === r.target + r.warmup;
}

const mib = (kb: number) => (kb / 1024).toFixed(1);

/** The Markdown table, one row per engine (pure). */
export function scaleTable(rows: ScaleRow[]): string {
  const head = [
    "engine",
    "connections held",
    "fds at peak",
    "RSS base -> peak MiB",
    "RSS/conn B",
    "PSS/conn B",
    "time to open s",
    "RSS after close MiB",
    "summary count",
  ];
  const body = rows.map((r) => [
    `${r.engine}${r.engine === "ffi" ? " --workers 1" : ""}`,
    r.held === r.target ? String(r.held) : `${r.held} of ${r.target}` +
      (r.errors ? ` (${r.errors})` : ""),
    String(r.fds_peak),
    `${mib(r.mem_base.rss_kb)} -> ${mib(r.mem_peak.rss_kb)}`,
    String(perConnBytes(r.mem_base.rss_kb, r.mem_peak.rss_kb, r.held) ?? "-"),
    String(perConnBytes(r.mem_base.pss_kb, r.mem_peak.pss_kb, r.held) ?? "-"),
    r.open_s.toFixed(1),
    mib(r.mem_after.rss_kb),
    r.summary_connections === null
      ? "none"
      : `${r.summary_connections}${r.warmup ? ` (${r.warmup} warm-up + ${r.target})` : ""}`,
  ]);
  const right = head.map((_, i) => i > 0);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!)).join(" | ")} |`;
  const rule = `| ${
    w.map((n, i) => right[i] ? "-".repeat(n - 1) + ":" : "-".repeat(n)).join(" | ")
  } |`;
  return [fmt(head), rule, ...body.map(fmt)].join("\n");
}

const log = (s: string) => console.error(`bench scale: ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `onLine` for every line of `stream`; resolves at its end. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const p of parts) onLine(p);
  }
  if (rest) onLine(rest);
}

/** Waits until `cond()` holds, polling; throws `what` after `ms`. */
async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(what());
    await sleep(50);
  }
}

const procMem = async (pid: number) =>
  parseSmapsRollup(await Deno.readTextFile(`/proc/${pid}/smaps_rollup`));

/** One run of the C client: opens `n`, reports, waits for `release`, closes. */
class Client {
  readonly child: Deno.ChildProcess;
  opened: Map<string, string> | null = null;
  closed: Map<string, string> | null = null;
  readonly done: Promise<unknown>;
  stderr = "";

  constructor(bin: string, port: number, n: number, sources: number) {
    this.child = new Deno.Command(bin, {
      args: ["-p", String(port), "-n", String(n), "-A", String(sources), "-t", String(OPEN_S)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.done = Promise.all([
      eachLine(this.child.stdout, (l) => {
        const { kind, fields } = parseClientLine(l);
        if (kind === "opened") this.opened = fields;
        if (kind === "closed") this.closed = fields;
      }),
      eachLine(this.child.stderr, (l) => {
        this.stderr += l + "\n";
        log(l);
      }),
    ]);
  }

  async waitOpened(ms: number): Promise<Map<string, string>> {
    await until(
      () => this.opened !== null,
      ms,
      () => `client never finished opening: ${this.stderr}`,
    );
    return this.opened!;
  }

  /** Lets the client check and close its connections; resolves to its `closed` line. */
  async release(): Promise<Map<string, string>> {
    const w = this.child.stdin.getWriter();
    await w.write(new TextEncoder().encode("close\n"));
    await w.close();
    await this.child.status;
    await this.done;
    if (!this.closed) throw new Error(`client printed no "closed" line: ${this.stderr}`);
    return this.closed;
  }
}

/** Measures one engine on this kernel. */
export async function measureEngine(
  engine: Engine,
  o: { conns: number; sources: number; warmup: number; client: string },
): Promise<ScaleRow> {
  const args = ["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", engine];
  if (engine === "ffi") args.push("--workers", "1");
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-P", "--config", `${ROOT}deno.json`, `${ROOT}main.ts`, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let port = 0, closes = 0, summary: number | null = null, errText = "";
  const output = Promise.all([
    eachLine(server.stdout, (l) => {
      if (l.startsWith("close ")) closes++;
      else if (port === 0) {
        const m = /^listening tcp 127\.0\.0\.1:(\d+)$/.exec(l);
        if (m) port = Number(m[1]);
      } else summary ??= parseSummaryConnections(l);
    }),
    eachLine(server.stderr, (l) => {
      errText += l + "\n";
      log(`server: ${l}`);
    }),
  ]);
  const pid = server.pid;
  try {
    await until(() => port !== 0, 120_000, () => `server never listened: ${errText}`);
    const nofile = parseNofileSoft(await Deno.readTextFile(`/proc/${pid}/limits`));
    log(`${engine}: listening on ${port}, soft open-file limit ${nofile}`);
    const memStart = await procMem(pid);
    if (o.warmup > 0) {
      const warm = new Client(o.client, port, o.warmup, o.sources);
      const f = await warm.waitOpened((OPEN_S + 120) * 1000);
      await warm.release();
      if (f.get("ok") !== String(o.warmup)) throw new Error(`warm-up failed: ${warm.stderr}`);
      await until(
        () => closes >= o.warmup,
        120_000,
        () => `server logged ${closes} warm-up closes`,
      );
      await sleep(1000);
    }
    const memBase = await procMem(pid);
    log(`${engine}: baseline RSS ${mib(memBase.rss_kb)} MiB; opening ${o.conns} connections`);
    const client = new Client(o.client, port, o.conns, o.sources);
    const opened = await client.waitOpened((OPEN_S + 120) * 1000);
    const memPeak = await procMem(pid);
    let fdsPeak = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fdsPeak++;
    const held = Number(opened.get("ok") ?? 0);
    log(`${engine}: ${held} held (${opened.get("secs")}s), RSS ${mib(memPeak.rss_kb)} MiB`);
    const closed = await client.release();
    const total = o.warmup + held;
    await until(() => closes >= total, 600_000, () => `server logged ${closes} of ${total} closes`)
      .catch((e) => log((e as Error).message));
    await sleep(1000);
    const memAfter = await procMem(pid);
    server.kill("SIGINT");
    await server.status;
    await output;
    return {
      engine,
      args,
      target: o.conns,
      held,
      alive: Number(closed.get("alive") ?? 0),
      errors: opened.get("errors") ?? "",
      open_s: Number(opened.get("secs") ?? NaN),
      fds_peak: fdsPeak,
      nofile_soft: nofile,
      warmup: o.warmup,
      mem_start: memStart,
      mem_base: memBase,
      mem_peak: memPeak,
      mem_after: memAfter,
      closes,
      summary_connections: summary,
    };
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

/** Compiles the C client into `dir`; resolves to its path. */
async function buildClient(dir: string): Promise<string> {
  const bin = `${dir}/scale_client`;
  const out = await new Deno.Command(Deno.env.get("CC") ?? "cc", {
    args: ["-O2", "-Wall", "-o", bin, CLIENT_SRC],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`cc scripts/scale_client.c failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return bin;
}

/** Options of one run. */
export interface ScaleOptions {
  conns: number;
  sources: number;
  warmup: number;
  engines: Engine[];
  memMb: number;
}

/** Measures every engine on this kernel, one after the other. */
export async function benchScaleHere(o: ScaleOptions, client: string): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const engine of o.engines) rows.push(await measureEngine(engine, { ...o, client }));
  return rows;
}

/** Runs the whole measurement in one UML boot; resolves to its rows and the boot time. */
export async function benchScaleInUml(
  o: ScaleOptions,
): Promise<{ rows: ScaleRow[]; uml_s: number }> {
  const why = umlUnavailableReason();
  if (why) throw new Error(`cannot boot User-Mode Linux: ${why}`);
  const dir = await Deno.makeTempDir({ prefix: "sockbox-bench-scale-" });
  try {
    const client = await buildClient(dir);
    const out = `${dir}/rows.json`;
    const uml = await runInUml(
      `ulimit -Hn ${UML_NOFILE} && ulimit -Sn 1024 || exit 1\n` +
        // Forks are slow in UML: the system's deno itself first, not a version manager's shim.
        "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH\n" +
        `deno run -A scripts/bench_scale.ts --inner '${out}' --client '${client}' ` +
        `--conns ${o.conns} --sources ${o.sources} --warmup ${o.warmup} ` +
        `--engines ${o.engines.join(",")} >'${dir}/log.txt' 2>&1`,
      { cwd: ROOT, timeoutMs: 7_200_000, memMb: o.memMb },
    );
    const text = await Deno.readTextFile(out).catch(() => null);
    if (text === null || uml.jobStatus !== 0) {
      const logText = await Deno.readTextFile(`${dir}/log.txt`).catch(() => "");
      throw new Error(
        `scale bench in UML failed (UML exit ${uml.code}, job exit ${uml.jobStatus ?? "none"}${
          uml.timedOut ? ", timed out" : ""
        }):\n${logText.slice(-4000)}\n${uml.console.slice(-1500)}`,
      );
    }
    return { rows: JSON.parse(text) as ScaleRow[], uml_s: uml.ms / 1000 };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function positive(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`bench_scale: invalid --${name} "${v}": must be an integer >= ${min}`);
    Deno.exit(2);
  }
  return n;
}

if (import.meta.main) {
  const quick = Deno.env.get("QUICK") === "1";
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        conns: { type: "string", default: quick ? "5000" : "50000" },
        sources: { type: "string", default: "4" },
        warmup: { type: "string", default: "1000" },
        engines: { type: "string", default: "ffi,deno" },
        "mem-mb": { type: "string", default: "4096" },
        here: { type: "boolean" },
        json: { type: "boolean" },
        inner: { type: "string" },
        client: { type: "string" },
      },
    }));
  } catch (e) {
    console.error(`bench_scale: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const engines = values.engines.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const e of engines) {
    if (e !== "ffi" && e !== "deno") {
      console.error(`bench_scale: invalid --engines "${values.engines}": must list ffi, deno`);
      Deno.exit(2);
    }
  }
  const o: ScaleOptions = {
    conns: positive("conns", values.conns),
    sources: positive("sources", values.sources),
    warmup: positive("warmup", values.warmup, 0),
    engines: engines as Engine[],
    memMb: positive("mem-mb", values["mem-mb"], 256),
  };
  try {
    if (values.inner) {
      if (!values.client) throw new Error("--inner needs --client");
      const rows = await benchScaleHere(o, values.client);
      await Deno.writeTextFile(values.inner, JSON.stringify(rows));
      Deno.exit(0);
    }
    let rows: ScaleRow[], where: string;
    if (values.here) {
      const dir = await Deno.makeTempDir({ prefix: "sockbox-bench-scale-" });
      try {
        rows = await benchScaleHere(o, await buildClient(dir));
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
      where = "this kernel";
    } else {
      const r = await benchScaleInUml(o);
      rows = r.rows;
      where = `User-Mode Linux, ${o.memMb} MiB, 1 CPU, booted and run in ${r.uml_s.toFixed(0)}s`;
    }
    if (values.json) console.log(JSON.stringify({ where, options: o, rows }));
    else {
      const limits = [...new Set(rows.map((r) => r.nofile_soft))].join(", ");
      const last = `127.0.0.${o.sources + 1}`;
      console.log(
        `${o.conns} concurrent TCP connections to \`sockbox serve tcp\` on 127.0.0.1 (${where}); ` +
          `C client from ${o.sources === 1 ? "127.0.0.2" : `127.0.0.2 to ${last}`}, ` +
          `16-byte echo on each; per connection = (peak - baseline after ${o.warmup} warm-up ` +
          `connections) / held; server's soft RLIMIT_NOFILE while it ran: ${limits}` +
          (values.here ? "" : " (raised by the server itself from the 1024 the job set)"),
      );
      console.log("");
      console.log(scaleTable(rows));
    }
    Deno.exit(rows.every(rowComplete) ? 0 : 1);
  } catch (e) {
    console.error(`bench_scale: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
