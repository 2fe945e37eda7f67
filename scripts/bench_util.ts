/**
 * What the benchmark sections that start their own servers share (`bench_ping.ts`,
 * `bench_engines.ts`, `bench_agree.ts`): a pinned server in its own process group, waiting
 * for it to listen or to echo, a client pinned to the other CPU, a fresh port per server,
 * the C programs of scripts/bench/ (build.sh), the last NDJSON `summary` of a sockbox run,
 * and the median.
 *
 * Servers run on CPU {@link SERVER_CPU} and clients on CPU {@link CLIENT_CPU} (taskset(1)),
 * so a client and its server never compete for one CPU.
 *
 * @module
 */
import { repoRoot, sharedBenchDir } from "./bench_echo.ts";

/** The loopback address every section uses. */
export const HOST = "127.0.0.1";
/** The CPU servers are pinned to. */
export const SERVER_CPU = "1";
/** The CPU clients are pinned to. */
export const CLIENT_CPU = "0";

const REPO = repoRoot();

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What a section reads from its environment (set by `deno task bench`). */
export interface SectionSettings {
  /** QUICK=1: one short rep, a smoke test. */
  quick: boolean;
  /** REPS=N (default 3, 1 with QUICK=1). */
  reps: number;
  /** OUT, else $TMPDIR/echo-bench/results/NAME-<UTC time>: where raw results go. */
  out: string;
  /** Progress on stderr, prefixed "bench NAME: ". */
  log: (s: string) => void;
}

/** The settings of section `name` from QUICK, REPS, OUT and TMPDIR. */
export function sectionSettings(name: string): SectionSettings {
  const env = (k: string) => Deno.env.get(k);
  const quick = env("QUICK") === "1";
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  return {
    quick,
    reps: Number(env("REPS") ?? (quick ? 1 : 3)),
    out: env("OUT") ?? `${env("TMPDIR") ?? "/tmp"}/echo-bench/results/${name}-${stamp}`,
    log: (s) => console.error(`bench ${name}: ${s}`),
  };
}

/** A server started in its own process group (setsid(1)), pinned with taskset. */
export class Server {
  readonly child: Deno.ChildProcess;
  #exited = false;
  constructor(cmd: string[], cpus: string = SERVER_CPU) {
    this.child = new Deno.Command("setsid", {
      args: ["taskset", "-c", cpus, ...cmd],
      cwd: REPO,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.child.status.then(() => (this.#exited = true));
  }
  /** Waits until something listens on `port` (ss(8)); throws if the server exits first. */
  async ready(proto: "tcp" | "udp", port: number): Promise<void> {
    for (let i = 0; i < 200 && !this.#exited; i++) {
      const o = await new Deno.Command("ss", {
        args: [proto === "tcp" ? "-Hltn" : "-Hlun", `sport = :${port}`],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (new TextDecoder().decode(o.stdout).trim() !== "") return;
      await sleep(50);
    }
    throw new Error(`nothing listens on ${proto} port ${port}`);
  }
  /** Waits until a 1-byte TCP echo works on `port`; throws if the server exits first. */
  async echoes(port: number): Promise<void> {
    for (let i = 0; i < 200 && !this.#exited; i++) {
      try {
        const c = await Deno.connect({ hostname: HOST, port });
        try {
          await c.write(new Uint8Array([42]));
          const b = new Uint8Array(1);
          if ((await c.read(b)) === 1) return;
        } finally {
          c.close();
        }
      } catch { /* not yet */ }
      await sleep(50);
    }
    throw new Error(`server on port ${port} never answered`);
  }
  /** SIGTERM to the process group, SIGKILL after 3 s; resolves when the leader exited. */
  async stop(): Promise<void> {
    try {
      Deno.kill(-this.child.pid, "SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        Deno.kill(-this.child.pid, "SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await this.child.status;
    clearTimeout(t);
  }
}

/**
 * Servers' ports: below Linux's ephemeral range (ip_local_port_range, 32768-60999 by default)
 * and above run.sh's (BASE_PORT 20000). A port in the ephemeral range can be the local port
 * of a client connection in TIME_WAIT, which makes a listener's bind(2) fail with EADDRINUSE
 * even with SO_REUSEADDR: seen after the connections/s rows had left 14000 of them.
 */
let nextPort = 24000 + Math.floor(Math.random() * 4000);

/** How {@link withServer} starts and waits for its server. */
export interface ServerOptions {
  /** taskset CPU list (default {@link SERVER_CPU}). */
  cpus?: string;
  /** "listen" (default): ss(8) shows the port; "echo": a 1-byte TCP echo came back. */
  probe?: "listen" | "echo";
}

/**
 * Runs `f` with a server `cmd(port)` on a fresh port, stopping the server afterwards; a port
 * someone else holds (the server never gets ready) is skipped, up to 5 attempts.
 */
export async function withServer<T>(
  proto: "tcp" | "udp",
  cmd: (port: number) => string[],
  f: (port: number) => Promise<T>,
  opts: ServerOptions = {},
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const port = nextPort++;
    const s = new Server(cmd(port), opts.cpus ?? SERVER_CPU);
    try {
      if (opts.probe === "echo") await s.echoes(port);
      else await s.ready(proto, port);
    } catch (e) {
      await s.stop();
      if (attempt < 5) continue;
      throw e;
    }
    try {
      return await f(port);
    } finally {
      await s.stop();
    }
  }
}

/** What {@link client} returns: stdout followed by stderr, and the exit code. */
export interface ClientOutput {
  text: string;
  code: number;
}

/**
 * Runs `cmd` pinned to {@link CLIENT_CPU}; resolves to its stdout followed by its stderr.
 * A non-zero exit throws with the end of stderr, unless `allowFailure` (then read `code`).
 */
export async function client(cmd: string[]): Promise<string>;
export async function client(cmd: string[], allowFailure: true): Promise<ClientOutput>;
export async function client(
  cmd: string[],
  allowFailure = false,
): Promise<string | ClientOutput> {
  const o = await new Deno.Command("taskset", {
    args: ["-c", CLIENT_CPU, ...cmd],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(o.stderr);
  const text = new TextDecoder().decode(o.stdout) + err;
  if (allowFailure) return { text, code: o.code };
  if (!o.success) throw new Error(`${cmd.join(" ")} failed: ${err.slice(-500)}`);
  return text;
}

/** Throws naming the first of `tools` that is not on PATH. */
export async function requireTools(section: string, tools: string[]): Promise<void> {
  for (const tool of tools) {
    const ok = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output().then((o) => o.success);
    if (!ok) throw new Error(`${tool} is not installed (the ${section} section needs it)`);
  }
}

/** Compiles the C anchors and echoload (scripts/bench/build.sh) into `dir`. */
export async function buildAnchors(dir: string): Promise<void> {
  const b = await new Deno.Command("bash", {
    args: [`${sharedBenchDir()}/build.sh`, dir],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!b.success) throw new Error("build.sh failed");
}

/**
 * The argv of the C load client built by {@link buildAnchors}: `echoload MODE -h HOST -p PORT
 * ARGS...` (scripts/bench/client/echoload.c).
 */
export function echoloadArgv(build: string, mode: string, port: number, args: string[]): string[] {
  return [`${build}/echoload`, mode, "-h", HOST, "-p", String(port), ...args];
}

/** The argv that runs sockbox from the source tree (as `deno task start` does). */
export function sockboxArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "-q", "-P", `${REPO}/main.ts`, ...args];
}

/** Fills deno's module cache for main.ts, so no measured run pays for compiling. */
export async function warmSockbox(): Promise<void> {
  await new Deno.Command(Deno.execPath(), { args: ["cache", `${REPO}/main.ts`], stdout: "null" })
    .output();
}

/** The last NDJSON line of `text` whose `event` is "summary", parsed. */
export function summary(text: string): Record<string, unknown> {
  const line = text.trim().split("\n").reverse().find((l) => l.includes('"event":"summary"'));
  if (!line) throw new Error(`no summary in: ${text.slice(-300)}`);
  return JSON.parse(line);
}

/** The number after `key=` in echoload's one-line `key=value` output (NaN when absent). */
export function kv(line: string, key: string): number {
  return Number(new RegExp(`\\b${key}=([\\d.]+)`).exec(line)?.[1]);
}
