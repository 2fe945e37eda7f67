/**
 * Test helpers: run sockbox exactly as users do (`deno task -q start ...`, so with the
 * same permission and unstable flags `deno task compile` bakes in), read its JSON events,
 * and probe capabilities so tests skip by capability, never by hope.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const dec = new TextDecoder();

/** The repository root. */
export const REPO_ROOT: string = ROOT;

/** The command line that starts sockbox: `deno task -q start`. */
export function sockboxCommand(args: string[]): { cmd: string; args: string[] } {
  return { cmd: Deno.execPath(), args: ["task", "-q", "--cwd", ROOT, "start", ...args] };
}

/** Result of a finished sockbox run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Runs sockbox to completion with optional stdin; kills it after `timeoutMs`. */
export async function runSockbox(
  args: string[],
  opts: { stdin?: Uint8Array | string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const { cmd, args: a } = sockboxCommand(args);
  const child = new Deno.Command(cmd, {
    args: a,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  // SIGTERM first: `deno task` forwards it to sockbox; SIGKILL would orphan sockbox.
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
      setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 2000);
    } catch { /* gone */ }
  }, opts.timeoutMs ?? 30_000);
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    )
      .catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

/** Any process whose stdout is JSON lines (sockbox --json, a python peer), read as events. */
export class JsonProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;

  constructor(cmd: string[], opts: { env?: Record<string, string> } = {}) {
    this.child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...opts.env },
    }).spawn();
    this.#lines = lines(this.child.stdout)[Symbol.asyncIterator]();
    this.#stderr = new Response(this.child.stderr).text();
  }

  /** Reads events until one satisfies `pred` (default: any); throws on EOF or timeout. */
  async next(
    pred: (e: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await nextBefore(this.#lines, deadline);
      if (r === "timeout") {
        throw new Error(`timed out waiting for an event; saw ${JSON.stringify(this.events)}`);
      }
      if (r.done) {
        throw new Error(
          `process exited; stderr: ${await this.#stderr}; events: ${JSON.stringify(this.events)}`,
        );
      }
      const ev = JSON.parse(r.value) as Record<string, unknown>;
      this.events.push(ev);
      if (pred(ev)) return ev;
    }
  }

  /**
   * Sends `signal` (SIGTERM by default: `deno task` forwards it to sockbox, while SIGKILL
   * would kill only the task runner), SIGKILL after 5 s if still running, then collects
   * the rest of stdout/stderr and the exit code.
   */
  async stop(
    signal: Deno.Signal = "SIGTERM",
  ): Promise<{ code: number; stderr: string; rest: Record<string, unknown>[] }> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const hard = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    const rest: Record<string, unknown>[] = [];
    try {
      for (;;) {
        const r = await this.#lines.next();
        if (r.done) break;
        const ev = JSON.parse(r.value) as Record<string, unknown>;
        this.events.push(ev);
        rest.push(ev);
      }
      const st = await this.child.status;
      return { code: st.code, stderr: await this.#stderr, rest };
    } finally {
      clearTimeout(hard);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop().catch(() => {});
  }
}

/** A running sockbox process (`deno task -q start ARGS`) whose stdout is read as NDJSON. */
export class SockboxProcess extends JsonProcess {
  constructor(args: string[], opts: { env?: Record<string, string>; wrap?: string[] } = {}) {
    const { cmd, args: a } = sockboxCommand(args);
    super([...(opts.wrap ?? []), cmd, ...a], opts.env ? { env: opts.env } : {});
  }

  /** Waits for the `listening` event and returns its address and port. */
  async listening(): Promise<{ address: string; port: number }> {
    const ev = await this.next((e) => e.event === "listening");
    return { address: ev.address as string, port: ev.port as number };
  }
}

/** The next line of `it`, or "timeout" once `deadline` (a Date.now() value) has passed. */
export async function nextBefore(
  it: AsyncIterator<string>,
  deadline: number,
): Promise<IteratorResult<string> | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      it.next(),
      new Promise<"timeout">((res) => {
        timer = setTimeout(() => res("timeout"), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One address of `ip -j addr show` (the fields the tests compare). */
export interface IpAddr {
  family: string;
  local: string;
  address?: string;
  prefixlen: number;
  broadcast?: string;
  label?: string;
  scope: string;
}

/** One interface of `ip -j addr show` (the fields the tests compare). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
  link_type?: string;
  addr_info?: IpAddr[];
}

/** Splits a byte stream into lines. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}

/** Whether `name` is on PATH. */
export function hasCommand(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Runs a command to completion and returns its output (for peers and probes). */
export async function sh(
  cmd: string,
  args: string[],
  opts: { stdin?: string | Uint8Array } = {},
): Promise<{ code: number; stdout: string; stderr: string; bytes: Uint8Array }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    bytes: out.stdout,
  };
}

/** True when running as root and `unshare -n` works (private network namespaces). */
export const canUnshare: boolean = await (async () => {
  if (Deno.uid() !== 0 || !hasCommand("unshare")) return false;
  try {
    return (await sh("unshare", ["-n", "true"])).code === 0;
  } catch {
    return false;
  }
})();

/** Prints why a test is skipped (to stderr, so the reason shows in the run). */
export function skipReason(test: string, reason: string): void {
  console.error(`skip: ${test}: ${reason}`);
}

/** Whether the host has an IPv6 loopback. */
export const hasIPv6: boolean = (() => {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
})();
