/**
 * Test helpers: run sockbox exactly as users do (`deno task -q start ...`, so with the
 * same permission and unstable flags `deno task compile` bakes in), read its output with
 * deadlines, kill whole process groups, and skip by capability with the reason printed,
 * or fail instead of skipping when `SOCKBOX_REQUIRE_ALL=1` (as `.ci/run` sets it).
 *
 * Every child is spawned `detached` (its own process group and session), so that a
 * SIGKILL to the group reaches sockbox itself and not only the `deno task` wrapper. A
 * polite signal goes to the group leader, which forwards it (`deno task` does); the group
 * is killed when that does not end it, and once more after it exits, so no process it
 * started outlives the test. When `SOCKBOX_TEST_PGIDS` names a file, the id of every
 * group is appended to it, so a runner that times out can kill what the suite left.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const dec = new TextDecoder();
const enc = new TextEncoder();

/** The repository root. */
export const REPO_ROOT: string = ROOT;

/**
 * `SOCKBOX_TEST_ENGINE=deno`, `=ffi` or e.g. `="ffi --workers 1"`: every `serve tcp|udp`
 * these tests start runs on that engine (tests/serve_engines_test.ts runs the serve tests
 * again on the engines the default run did not use).
 */
const TEST_ENGINE = Deno.env.get("SOCKBOX_TEST_ENGINE");

/**
 * `SOCKBOX_BIN`: what the tests run instead of the source tree, as words separated by
 * spaces: a compiled binary, the bundle, or a command such as `deno run -q -A dist/sockbox.js`
 * (scripts/test_artifact.ts sets it for `deno task test:bundle` and `test:compiled`).
 */
const BIN = Deno.env.get("SOCKBOX_BIN")?.trim().split(/\s+/).filter((w) => w !== "") ?? [];

/** Whether the tests run an artifact (`SOCKBOX_BIN`) rather than the source tree. */
export const ARTIFACT_RUN: boolean = BIN.length > 0;

/** The command line that starts sockbox: `$SOCKBOX_BIN`, else `deno task -q start`. */
export function sockboxCommand(args: string[]): { cmd: string; args: string[] } {
  const engine = TEST_ENGINE && args[0] === "serve" &&
      (args.includes("tcp") || args.includes("udp")) && !args.includes("--engine")
    ? ["--engine", ...TEST_ENGINE.split(" ")]
    : [];
  if (BIN.length) return { cmd: BIN[0]!, args: [...BIN.slice(1), ...args, ...engine] };
  return {
    cmd: Deno.execPath(),
    args: ["task", "-q", "--cwd", ROOT, "start", ...args, ...engine],
  };
}

/** The sockbox command line quoted for `sh -c` scripts. */
export function sockboxShell(): string {
  const { cmd, args } = sockboxCommand([]);
  return [cmd, ...args].map(shellQuote).join(" ");
}

/** Quotes one word for `sh`. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- capabilities -------------------------------------------------------------------

/** True when every capability skip must fail instead (`.ci/run` sets it). */
export const REQUIRE_ALL: boolean = Deno.env.get("SOCKBOX_REQUIRE_ALL") === "1";

/** Whether `name` is an executable file on PATH. */
export function hasCommand(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch { /* not here */ }
  }
  return false;
}

function succeeds(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const COMMANDS = {
  python3: "python3",
  socat: "socat",
  nc: "nc (netcat-openbsd)",
  ip: "ip (iproute2)",
  ss: "ss (iproute2)",
  getent: "getent",
  nft: "nft (nftables)",
  script: "script (util-linux, for a pseudo-terminal)",
  strace: "strace (for fault injection)",
} as const;

/** What a test may need from the machine. */
export type Capability =
  | keyof typeof COMMANDS
  | "root"
  | "netns"
  | "mountns"
  | "ipnetns"
  | "ipv6";

const PROBES: Record<Capability, () => string | null> = {
  ...Object.fromEntries(
    Object.entries(COMMANDS).map((
      [name, what],
    ) => [name, () => hasCommand(name) ? null : `${what} is not installed`]),
  ) as Record<keyof typeof COMMANDS, () => string | null>,
  root: () => Deno.uid() === 0 ? null : "needs root",
  netns: () =>
    Deno.uid() !== 0
      ? "private network namespaces need root"
      : succeeds("unshare", ["-n", "true"])
      ? null
      : "unshare -n (a private network namespace) does not work here",
  mountns: () =>
    Deno.uid() !== 0
      ? "private mount namespaces need root"
      : succeeds("unshare", ["-m", "true"])
      ? null
      : "unshare -m (a private mount namespace) does not work here",
  ipnetns: () => {
    if (Deno.uid() !== 0) return "ip netns needs root";
    if (!hasCommand("ip")) return "ip (iproute2) is not installed";
    const name = `sbx-probe-${Deno.pid}`;
    if (!succeeds("ip", ["netns", "add", name])) return "ip netns add does not work here";
    return succeeds("ip", ["netns", "del", name]) ? null : "ip netns del does not work here";
  },
  ipv6: () => {
    try {
      Deno.listen({ hostname: "::1", port: 0 }).close();
      return null;
    } catch {
      return "this host has no IPv6 loopback (::1)";
    }
  },
};

const probed = new Map<Capability, string | null>();

/** Why `cap` is missing here, or null when it is present (probed once, then cached). */
export function missing(cap: Capability): string | null {
  if (!probed.has(cap)) probed.set(cap, PROBES[cap]());
  return probed.get(cap)!;
}

/** The reasons the first missing capabilities of `caps` are missing, or null. */
export function missingAny(caps: readonly Capability[]): string | null {
  const why = [...new Set(caps.map(missing).filter((r): r is string => r !== null))];
  return why.length ? why.join("; ") : null;
}

/** Whether the host has an IPv6 loopback. */
export const hasIPv6: boolean = missing("ipv6") === null;

/**
 * A test definition that runs only where `caps` are present. Where one is missing, the
 * test is ignored with the reason in its name (`NAME (skipped: REASON) ... ignored`), or,
 * under `SOCKBOX_REQUIRE_ALL=1`, it runs and fails with that reason.
 *
 * ```ts
 * Deno.test(requires(["python3", "ipv6"], { name: "an IPv6 peer", async fn() {} }));
 * ```
 */
export function requires(
  caps: readonly Capability[],
  def: Deno.TestDefinition,
): Deno.TestDefinition;
/** The same, with the test function apart: `requires(caps, { name }, async () => {...})`. */
export function requires(
  caps: readonly Capability[],
  def: Omit<Deno.TestDefinition, "fn">,
  fn: Deno.TestDefinition["fn"],
): Deno.TestDefinition;
export function requires(
  caps: readonly Capability[],
  def: Omit<Deno.TestDefinition, "fn"> & { fn?: Deno.TestDefinition["fn"] },
  fn?: Deno.TestDefinition["fn"],
): Deno.TestDefinition {
  const full = { ...def, fn: fn ?? def.fn! } as Deno.TestDefinition;
  const why = missingAny(caps);
  return why === null ? full : skipped(full, why);
}

/** `def` made into a skip with `reason` (or a failure under `SOCKBOX_REQUIRE_ALL=1`). */
export function skipped(def: Deno.TestDefinition, reason: string): Deno.TestDefinition {
  if (REQUIRE_ALL) {
    return {
      ...def,
      ignore: false,
      fn() {
        throw new Error(`cannot run here: ${reason} (SOCKBOX_REQUIRE_ALL=1 forbids skipping)`);
      },
    };
  }
  // `deno test -q` (what `deno task test` runs) shows no test output at all, so the reason
  // goes into the name, which every reporter prints: "NAME (skipped: REASON) ... ignored".
  return { ...def, name: `${def.name} (skipped: ${reason})`, ignore: true };
}

// --- processes ----------------------------------------------------------------------

const PGID_LOG = Deno.env.get("SOCKBOX_TEST_PGIDS");

/**
 * Spawns `cmd` as the leader of a new process group (and session), records the group id
 * in `$SOCKBOX_TEST_PGIDS` when set, and returns the child.
 */
export function spawnGroup(
  cmd: string,
  args: string[],
  opts: {
    stdin?: "piped" | "null" | undefined;
    stdout?: "piped" | "null";
    stderr?: "piped" | "null";
    env?: Record<string, string> | undefined;
    cwd?: string;
  } = {},
): Deno.ChildProcess {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin ?? "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
    env: { NO_COLOR: "1", ...opts.env },
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    detached: true,
  }).spawn();
  if (PGID_LOG) {
    try {
      Deno.writeTextFileSync(PGID_LOG, `${child.pid}\n`, { append: true });
    } catch { /* the runner's log is a convenience */ }
  }
  return child;
}

/** Sends `signal` to every process of group `pgid`; false when none is left. */
export function killGroup(pgid: number, signal: Deno.Signal = "SIGKILL"): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Asks `child` (a group leader from {@link spawnGroup}) to stop with `signal`, kills the
 * whole group after `graceMs`, and kills whatever is left of the group once the leader
 * has exited. Resolves to the leader's status.
 */
export async function stopGroup(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 5000,
): Promise<Deno.CommandStatus> {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
  const hard = setTimeout(() => killGroup(child.pid), graceMs);
  try {
    return await child.status;
  } finally {
    clearTimeout(hard);
    killGroup(child.pid);
  }
}

/** Result of a finished sockbox run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
  /** True when the run was stopped because it exceeded its time limit. */
  timedOut: boolean;
}

/**
 * Runs `cmd` to completion with optional stdin. After `timeoutMs` (default 60 s) it is
 * sent SIGTERM, and its group SIGKILL 2 s later; the result says `timedOut`.
 */
export async function run(
  cmd: string,
  args: string[],
  opts: {
    stdin?: Uint8Array | string;
    timeoutMs?: number;
    env?: Record<string, string>;
    cwd?: string;
  } = {},
): Promise<RunResult> {
  const child = spawnGroup(cmd, args, {
    stdin: opts.stdin === undefined ? "null" : "piped",
    env: opts.env,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  let timedOut = false;
  let hard: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    hard = setTimeout(() => killGroup(child.pid), 2000);
  }, opts.timeoutMs ?? 60_000);
  try {
    const output = child.output();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(typeof opts.stdin === "string" ? enc.encode(opts.stdin) : opts.stdin)
        .catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await output;
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      stdoutBytes: out.stdout,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(hard);
    killGroup(child.pid);
  }
}

/** Runs sockbox (`deno task -q start ARGS`) to completion; see {@link run}. */
export function runSockbox(
  args: string[],
  opts: { stdin?: Uint8Array | string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const { cmd, args: a } = sockboxCommand(args);
  return run(cmd, a, opts);
}

/**
 * Runs a command to completion (for peers and probes) and returns its output; throws when
 * it runs longer than `timeoutMs` (default 60 s), after killing its process group.
 */
export async function sh(
  cmd: string,
  args: string[],
  opts: { stdin?: string | Uint8Array; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string; bytes: Uint8Array }> {
  const r = await run(cmd, args, opts);
  if (r.timedOut) {
    throw new Error(
      `${cmd} ${args.join(" ")} ran longer than ${opts.timeoutMs ?? 60_000}ms; ` +
        `stdout: ${r.stdout.slice(-2000)}; stderr: ${r.stderr.slice(-2000)}`,
    );
  }
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, bytes: r.stdoutBytes };
}

// --- reading output with deadlines --------------------------------------------------

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

/** The next value of `it`, or "timeout" once `deadline` (a Date.now() value) has passed. */
export async function nextBefore<T>(
  it: AsyncIterator<T>,
  deadline: number,
): Promise<IteratorResult<T> | "timeout"> {
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

/**
 * Accumulates the text of a stream and waits, with a deadline, for it to contain
 * something; EOF before that is an error, never a silent spin.
 */
export class TextReader {
  text = "";
  #it: AsyncIterator<string>;
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#it = stream.pipeThrough(new TextDecoderStream())[Symbol.asyncIterator]();
  }

  /** Reads until the text so far matches `want`; returns the match. */
  async until(want: string | RegExp, timeoutMs = 15_000): Promise<RegExpExecArray | string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (typeof want === "string") {
        if (this.text.includes(want)) return want;
      } else {
        const m = want.exec(this.text);
        if (m) return m;
      }
      if (this.#done) {
        throw new Error(`output ended before ${String(want)}; got: ${this.text.slice(-2000)}`);
      }
      const r = await nextBefore(this.#it, deadline);
      if (r === "timeout") {
        throw new Error(
          `no ${String(want)} within ${timeoutMs}ms; got: ${this.text.slice(-2000)}`,
        );
      }
      if (r.done) this.#done = true;
      else this.text += r.value;
    }
  }

  /** Reads to EOF (within `timeoutMs`) and returns the whole text. */
  async rest(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#done) {
      const r = await nextBefore(this.#it, deadline);
      if (r === "timeout") throw new Error(`output did not end within ${timeoutMs}ms`);
      if (r.done) this.#done = true;
      else this.text += r.value;
    }
    return this.text;
  }

  /** Stops reading (the stream is cancelled). */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#it.return?.();
  }
}

/**
 * A long-running process whose stdout is plain text (sockbox without --json, a peer):
 * `out.until(...)` waits with a deadline, `stop()` signals it and collects the rest.
 */
export class TextProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly out: TextReader;
  readonly #stderr: Promise<string>;
  #stopped: Promise<{ code: number; stdout: string; stderr: string }> | null = null;

  /** `read` picks the stream `out` reads (stdout by default); the other is collected. */
  constructor(
    cmd: string[],
    opts: {
      env?: Record<string, string>;
      stdin?: "piped" | "null";
      read?: "stdout" | "stderr";
    } = {},
  ) {
    this.child = spawnGroup(cmd[0]!, cmd.slice(1), { env: opts.env, stdin: opts.stdin });
    const [watched, other] = opts.read === "stderr"
      ? [this.child.stderr, this.child.stdout]
      : [this.child.stdout, this.child.stderr];
    this.out = new TextReader(watched);
    this.#stderr = new Response(other).text();
  }

  /** Waits up to `timeoutMs` for the process to end by itself, then stops it with SIGTERM. */
  async finish(timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      this.child.status.then(() => true),
      new Promise<false>((r) => timer = setTimeout(() => r(false), timeoutMs)),
    ]).finally(() => clearTimeout(timer));
    const r = await this.stop("SIGTERM");
    if (!ended) throw new Error(`process did not end within ${timeoutMs}ms: ${r.stdout}`);
    return r;
  }

  /**
   * Sends `signal`, then collects the watched stream to EOF (`stdout`), the other one
   * (`stderr`) and the exit code.
   */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<{ code: number; stdout: string; stderr: string }> {
    this.#stopped ??= (async () => {
      const status = stopGroup(this.child, signal);
      const stdout = await this.out.rest(20_000).catch(() => this.out.text);
      return { code: (await status).code, stdout, stderr: await this.#stderr };
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop().catch(() => {});
  }
}

/** Any process whose stdout is JSON lines (sockbox --json, a python peer), read as events. */
export class JsonProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;
  #stopped: Promise<{ code: number; stderr: string; rest: Record<string, unknown>[] }> | null =
    null;

  constructor(cmd: string[], opts: { env?: Record<string, string> } = {}) {
    this.child = spawnGroup(cmd[0]!, cmd.slice(1), { env: opts.env });
    this.#lines = lines(this.child.stdout)[Symbol.asyncIterator]();
    this.#stderr = new Response(this.child.stderr).text();
  }

  #parse(line: string): Record<string, unknown> {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`not a JSON line: ${JSON.stringify(line)}`);
    }
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
        throw new Error(
          `timed out after ${timeoutMs}ms waiting for an event; saw ${JSON.stringify(this.events)}`,
        );
      }
      if (r.done) {
        throw new Error(
          `process exited; stderr: ${await this.#stderr}; events: ${JSON.stringify(this.events)}`,
        );
      }
      const ev = this.#parse(r.value);
      this.events.push(ev);
      if (pred(ev)) return ev;
    }
  }

  /**
   * Sends `signal` (SIGTERM by default) to the group leader, which `deno task` forwards to
   * sockbox; kills the whole group after 5 s if it is still running; then collects the rest
   * of stdout/stderr and the exit code. Calling it again returns the first result.
   */
  stop(
    signal: Deno.Signal = "SIGTERM",
  ): Promise<{ code: number; stderr: string; rest: Record<string, unknown>[] }> {
    this.#stopped ??= (async () => {
      const status = stopGroup(this.child, signal);
      const rest: Record<string, unknown>[] = [];
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await nextBefore(this.#lines, deadline);
        if (r === "timeout" || r.done) break;
        const ev = this.#parse(r.value);
        this.events.push(ev);
        rest.push(ev);
      }
      return { code: (await status).code, stderr: await this.#stderr, rest };
    })();
    return this.#stopped;
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

/** Parses NDJSON output into events. */
export function jsonLines(s: string): Record<string, unknown>[] {
  return s.split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l) as Record<string, unknown>
  );
}

// --- ports and peers ----------------------------------------------------------------

/**
 * A UDP port nothing is bound to, below Linux's ephemeral range (32768-60999 by default):
 * a port the kernel just handed out and took back could be handed to the client's own
 * socket next, which then sends to itself and reads its own datagram (seen once in CI).
 */
export function closedUdpPort(): number {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* taken: try another */ }
  }
}

const PY_HOLD = String.raw`
import signal, socket, sys
kind, proto = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0),
               "sctp": (socket.SOCK_STREAM, 132)}[sys.argv[1]]
s = socket.socket(socket.AF_INET, kind, proto)
s.bind(("127.0.0.1", 0))
print('{"port": %d}' % s.getsockname()[1], flush=True)
signal.pause()  # hold the port until the test stops this process
`;

/**
 * A port on 127.0.0.1 that is bound by a python3 process and never answers: TCP or SCTP
 * bound without listen(2) (a connect is refused), or a UDP socket that reads nothing.
 * Holding the port keeps anyone else from taking it while the test runs. Needs python3.
 */
export async function silentPort(proto: "tcp" | "udp" | "sctp"): Promise<
  { port: number } & AsyncDisposable
> {
  const p = new JsonProcess(["python3", "-c", PY_HOLD, proto]);
  const ev = await p.next((e) => typeof e.port === "number");
  return { port: ev.port as number, [Symbol.asyncDispose]: () => p[Symbol.asyncDispose]() };
}

const PY_ECHO = String.raw`
import json, socket, sys, threading
proto, host, mode = sys.argv[1:4]
af = socket.AF_INET6 if ":" in host else socket.AF_INET
def say(**kw):
    print(json.dumps(kw), flush=True)
if proto == "udp":
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.bind((host, 0))
    if af == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
        s.setsockopt(socket.IPPROTO_IP, 13, 1)  # IP_RECVTOS
    say(port=s.getsockname()[1])
    n, seen = 0, set()
    while True:
        d, anc, _, a = s.recvmsg(65536, 256)
        if a[:2] not in seen:
            seen.add(a[:2])
            got = {t: c[0] for (l, t, c) in anc}  # IP_TTL = 2, IP_TOS = 1
            say(peer=a[0], peer_port=a[1], ttl=got.get(2), tos=got.get(1))
        n += 1
        if mode == "drop3" and n % 3 == 0:
            continue
        s.sendto(d, a)
else:
    s = socket.socket(af, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(64)
    say(port=s.getsockname()[1])
    def serve(c, a):
        say(peer=a[0], peer_port=a[1])
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()
    while True:
        c, a = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()
`;

/**
 * A python3 echo server on `host` (127.0.0.1 unless given; an address with a colon is
 * IPv6): TCP echoes every connection, UDP every datagram (up to 65536 bytes) to its
 * sender, or, in mode `drop3`, all but every third. Its events: `{"port": N}` once bound,
 * then `{"peer": ADDR, "peer_port": N}` for each connection (TCP) or each new source (UDP,
 * over IPv4 with the `ttl` and `tos` its first datagram arrived with: ip(7) IP_RECVTTL,
 * IP_RECVTOS). Dispose of it to stop it. Needs python3.
 */
export async function pyEchoPeer(
  proto: "tcp" | "udp",
  opts: { host?: string; mode?: "echo" | "drop3" } = {},
): Promise<JsonProcess & { readonly port: number }> {
  const argv = ["python3", "-c", PY_ECHO, proto, opts.host ?? "127.0.0.1", opts.mode ?? "echo"];
  const p = new JsonProcess(argv);
  try {
    const ev = await p.next((e) => typeof e.port === "number");
    return Object.assign(p, { port: ev.port as number });
  } catch (err) {
    await p.stop("SIGKILL");
    throw err;
  }
}

/**
 * Python 3 source of `recv_to_eof(s, limit=None)`, for a peer's script: what socket `s`
 * reads until EOF (or until it holds `limit` bytes), and the OSError that ended the
 * reading early, or None.
 */
export const PY_RECV_TO_EOF: string = String.raw`
def recv_to_eof(s, limit=None):
    got = b""
    try:
        while limit is None or len(got) < limit:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError as e:
        return got, e
    return got, None
`;

/** A socat echo server's protocol and family. */
export type SocatKind = "tcp4" | "tcp6" | "udp4" | "udp6";

/**
 * Starts a socat echo server on a port the kernel picks and learns that port from socat
 * itself: its "listening on" log line (TCP), or `ss -p` for the socket its own pid holds
 * (UDP, where socat logs port 0). Needs socat and ss.
 */
export async function socatEcho(kind: SocatKind): Promise<{ port: number } & AsyncDisposable> {
  const addr = {
    tcp4: "TCP4-LISTEN:0,bind=127.0.0.1,fork",
    tcp6: "TCP6-LISTEN:0,bind=[::1],fork",
    udp4: "UDP4-RECVFROM:0,bind=127.0.0.1,fork",
    udp6: "UDP6-RECVFROM:0,bind=[::1],fork",
  }[kind];
  // PIPE echoes through one pipe socat both writes and reads: a write larger than the
  // pipe's free room blocks socat on itself (socat(1), PIPE). TCP: blocks of PIPE_BUF
  // (4096, pipe(7)), which fit whenever select(2) calls the pipe writable. UDP: one
  // datagram at a time, up to 64 KiB, through an empty pipe.
  const block = kind.startsWith("tcp") ? "4096" : "65536";
  const p = new TextProcess(["socat", "-d", "-d", "-b", block, addr, "PIPE"], {
    read: "stderr",
  });
  try {
    let port: number;
    if (kind.startsWith("tcp")) {
      const m = await p.out.until(/listening on AF=\d+ \S*:(\d+)/) as RegExpExecArray;
      port = Number(m[1]);
    } else {
      await p.out.until("receiving on");
      port = await udpPortOf(p.child.pid);
    }
    return { port, [Symbol.asyncDispose]: () => p[Symbol.asyncDispose]() };
  } catch (e) {
    await p.stop("SIGKILL");
    throw e;
  }
}

/** The local port of the UDP socket process `pid` holds (from `ss -H -uanp`). */
async function udpPortOf(pid: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await sh("ss", ["-H", "-uanp"]);
    const line = r.stdout.split("\n").find((l) => l.includes(`pid=${pid},`));
    const m = line && /\s(?:\S+):(\d+)\s+\S+\s+users:/.exec(line);
    if (m) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no UDP socket of pid ${pid}: ${r.stdout}`);
    await delay(50);
  }
}

/** An ISO 8601 UTC time as `Date.toISOString()` writes it. */
export const ISO_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

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
