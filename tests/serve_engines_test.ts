/**
 * `sockbox serve tcp|udp` on both engines: the whole serve suite once more on the engine
 * the default run did not use, then what only the ffi engine does (splice and its
 * read/write fallback, recvmmsg batches, workers on SO_REUSEPORT sockets, IPV6_V6ONLY,
 * TCP urgent data), against python3 peers and `sockbox send`.
 */
import assert from "node:assert/strict";
import {
  ARTIFACT_RUN,
  delay,
  JsonProcess,
  PY_RECV_TO_EOF,
  REPO_ROOT,
  requires,
  runSockbox,
  sh,
  shellQuote,
  skipped,
  SockboxProcess,
  sockboxShell,
} from "./helpers.ts";

const py = (code: string) => sh("python3", ["-c", code], { timeoutMs: 120_000 });

/** Whether the ffi engine runs here (Linux, FFI allowed: what `deno task start` grants). */
const ffiRuns = Deno.build.os === "linux";

/** A test that needs the ffi engine (and `caps`). */
function ffiTest(
  caps: Parameters<typeof requires>[0],
  def: Omit<Deno.TestDefinition, "fn">,
  fn: Deno.TestDefinition["fn"],
): Deno.TestDefinition {
  if (!ffiRuns) return skipped({ ...def, fn }, "the ffi engine runs on Linux only");
  return requires(caps, def, fn);
}

/** A sockbox server and its `listening` event; disposing of it stops the process. */
interface Server extends AsyncDisposable {
  p: SockboxProcess;
  port: number;
  listening: Record<string, unknown>;
}

async function serve(
  args: string[],
  env?: Record<string, string>,
  wrap?: string[],
): Promise<Server> {
  const p = new SockboxProcess(["serve", ...args, "--json"], {
    ...(env ? { env } : {}),
    ...(wrap ? { wrap } : {}),
  });
  const listening = await p.next((e) => e.event === "listening");
  return {
    p,
    port: listening.port as number,
    listening,
    [Symbol.asyncDispose]: () => p[Symbol.asyncDispose](),
  };
}

/**
 * The serve suite once more with SOCKBOX_TEST_ENGINE set. The default run used the ffi
 * engine with one worker per CPU: Workers where there are several CPUs, the main thread
 * where there is one; the other ffi mode runs here too. This matrix checks the engines,
 * which are the same code in an artifact: an artifact run (`deno task test:bundle`) runs
 * each test once, on the default engine, and leaves the matrix to `deno task test`.
 * The two runs go side by side (every test there takes port 0): the suite mostly waits
 * on its peers, so together they take little longer than one.
 */
const usableCpus = navigator.hardwareConcurrency;
const MATRIX = ["deno", usableCpus > 1 ? "ffi --workers 1" : "ffi --workers 2"];
if (!ARTIFACT_RUN) {
  Deno.test(requires(["python3", "socat", "nc"], {
    name: `the serve suite passes with --engine ${MATRIX.join(" and with --engine ")}`,
    ignore: !ffiRuns,
    async fn() {
      const runs = await Promise.all(MATRIX.map(async (engine) => {
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["test", "-q", "-A", "tests/serve_test.ts"],
          cwd: REPO_ROOT,
          env: { SOCKBOX_TEST_ENGINE: engine, NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
        return { engine, code: r.code, out };
      }));
      for (const { engine, code, out } of runs) {
        assert.equal(code, 0, `--engine ${engine}: ${out.slice(-4000)}`);
        assert.match(out, /ok \| \d+ passed/, `--engine ${engine}`);
      }
    },
  }));
}

// --- 200 MiB through `send tcp` stdin, on each engine and on the read/write fallback ---

/** A stream to send: a temporary file and the sha256 of its bytes. */
interface Input {
  path: string;
  sha: string;
}

/** `bytes` random bytes in a new temporary file (name starting `prefix`). */
async function randomFile(bytes: number, prefix: string): Promise<Input> {
  const path = await Deno.makeTempFile({ prefix });
  const r = await sh("sh", [
    "-c",
    `head -c ${bytes} /dev/urandom > ${shellQuote(path)} && sha256sum < ${shellQuote(path)}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return { path, sha: r.stdout.split(" ")[0]! };
}

let bigFile: Input | undefined;
async function bigInput(): Promise<Input> {
  return bigFile ??= await randomFile(200 * 1024 * 1024, "sockbox-200m-");
}

/**
 * Streams `input` from `send tcp`'s stdin through the server `s`; the client must exit 0
 * with the echo byte-exact (sha256), or the test fails with what the server saw and said
 * (its events, with the close's reason, counts and error; its exit and stderr).
 */
async function streamThrough(s: Server, input: Input, timeoutMs: number): Promise<void> {
  const r = await sh("sh", [
    "-c",
    `${sockboxShell()} send tcp 127.0.0.1 ${s.port} --timeout 30s < ${
      shellQuote(input.path)
    } | sha256sum`,
  ], { timeoutMs });
  const sha = r.stdout.split(" ")[0];
  if (r.code === 0 && sha === input.sha) return;
  const end = await s.p.stop();
  assert.fail(
    `client exit ${r.code}, sha256 ${sha} (want ${input.sha}): ${r.stderr}` +
      `\nserver exit ${end.code}, events ${JSON.stringify(s.p.events)}, stderr: ${end.stderr}`,
  );
}

// Over loopback the ffi engine copies with read/write unless SOCKBOX_SPLICE=1 (see
// lib/base/splice.ts). An artifact run streams through splice only; the read/write path
// and the deno engine are the matrix, left to `deno task test`.
for (
  const [label, args, env] of [
    ["ffi engine with SOCKBOX_SPLICE=1 (splice)", ["--engine", "ffi"], { SOCKBOX_SPLICE: "1" }],
    ...(ARTIFACT_RUN ? [] : [
      ["ffi engine, loopback default (read/write)", ["--engine", "ffi"], undefined],
      ["deno engine", ["--engine", "deno"], undefined],
    ] as const),
  ] as const
) {
  const def = {
    name: `serve tcp, ${label}: 200 MiB from send tcp stdin come back byte-exact (sha256)`,
  };
  const fn = async () => {
    const input = await bigInput();
    await using s = await serve(["tcp", "0", "--host", "127.0.0.1", ...args], env);
    await streamThrough(s, input, 300_000);
    const cl = await s.p.next((e) => e.event === "close", 30_000);
    assert.deepEqual([cl.bytes_in, cl.bytes_out, cl.reason], [200 << 20, 200 << 20, "eof"]);
  };
  Deno.test(args[1] === "ffi" ? ffiTest([], def, fn) : { ...def, fn });
}

// --- splice(2) failing for a reason that is not the peer's ------------------------------

// strace(1) makes the kernel's answer to one splice(2) call of the server ENOENT (fault
// injection: `-e inject=splice:error=ENOENT:when=N`, the Nth call only, on a real socket and a
// real pipe). The connection must go on with read/write, writing out what the pipe holds,
// and lose nothing; closing it with "send ENOENT" reset the peer mid-stream. Calls into the
// pipe and out of it alternate, so consecutive N fail one of each, which `-y` shows (the
// failed call's first fd is the socket or the pipe).
Deno.test(ffiTest(["strace"], {
  name:
    "serve tcp (ffi), SOCKBOX_SPLICE=1: a splice(2) into or out of the pipe that fails (strace fault injection) loses no byte",
}, async () => {
  const size = 16 << 20;
  const input = await randomFile(size, "sockbox-16m-");
  const log = await Deno.makeTempFile({ prefix: "sockbox-strace-" });
  try {
    const seen = new Set<string>();
    for (let when = 20; when < 30 && seen.size < 2; when++) {
      const strace = ["strace", "-f", "--seccomp-bpf", "-qq", "-y", "-I1", "-o", log];
      strace.push("-e", "trace=splice", "-e", `inject=splice:error=ENOENT:when=${when}`);
      const s = await serve(
        ["tcp", "0", "--host", "127.0.0.1", "--engine", "ffi", "--workers", "1"],
        { SOCKBOX_SPLICE: "1" },
        strace,
      );
      let injected: string[];
      try {
        await streamThrough(s, input, 120_000);
        const cl = await s.p.next((e) => e.event === "close", 30_000);
        assert.deepEqual([cl.bytes_in, cl.bytes_out, cl.reason], [size, size, "eof"]);
      } finally {
        await s.p.stop(); // strace (-I1) passes SIGTERM on to the server and ends with it
        injected = (await Deno.readTextFile(log)).split("\n").filter((l) =>
          l.includes("(INJECTED)")
        );
      }
      assert.equal(injected.length, 1, `injected at call ${when}: ${injected.join("\n")}`);
      const into = /splice\(\d+<socket:/.test(injected[0]!);
      assert.ok(into || /splice\(\d+<pipe/.test(injected[0]!), injected[0]);
      seen.add(into ? "into the pipe" : "out of the pipe");
    }
    assert.deepEqual([...seen].sort(), ["into the pipe", "out of the pipe"]);
  } finally {
    await Deno.remove(input.path).catch(() => {});
    await Deno.remove(log).catch(() => {});
  }
}));

Deno.test({
  name: "(cleanup of the 200 MiB input)",
  async fn() {
    if (bigFile) await Deno.remove(bigFile.path).catch(() => {});
  },
});

// --- UDP: recvmmsg batches ---------------------------------------------------------

Deno.test(ffiTest(["python3"], {
  name: "serve udp (ffi): a burst of 1000 datagrams from 4 sockets, each echoed once to its sender",
}, async () => {
  await using s = await serve(["udp", "0", "--host", "127.0.0.1", "--engine", "ffi"]);
  const r = await py(`
import socket
socks = []
for k in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(3)
    socks.append(s)
for i in range(250):
    for k, s in enumerate(socks):
        s.sendto(b"%d:%d" % (k, i), ("127.0.0.1", ${s.port}))
ok = True
for k, s in enumerate(socks):
    got = []
    try:
        while len(got) < 250:
            got.append(s.recv(100))
        s.settimeout(0.2)
        got.append(s.recv(100))  # one more would be a duplicate
    except socket.timeout:
        pass
    want = sorted(b"%d:%d" % (k, i) for i in range(250))
    if sorted(got) != want:
        ok = False
        print("socket", k, "got", len(got), "echoes,", len(set(got)), "distinct")
print("all" if ok else "missing")
`);
  assert.equal(r.stdout.trim().split("\n").at(-1), "all", r.stdout + r.stderr);
  const { rest } = await s.p.stop();
  const summary = rest.find((e) => e.event === "summary")!;
  assert.equal(summary.datagrams, 1000);
}));

// --- workers ----------------------------------------------------------------------

/** The TCP sockets listening on 127.0.0.1:`port` (`ss -Hltn`). */
async function listeners(port: number): Promise<number> {
  const r = await sh("ss", ["-Hltn", `sport = :${port}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.includes(`127.0.0.1:${port}`)).length;
}

Deno.test(ffiTest(["python3", "ss"], {
  name: "serve tcp --workers 2: two SO_REUSEPORT sockets listening, 64 concurrent connections, " +
    "all echoed",
}, async () => {
  await using s = await serve(["tcp", "0", "--host", "127.0.0.1", "--workers", "2"]);
  assert.deepEqual([s.listening.engine, s.listening.workers], ["ffi", 2]);
  assert.equal(await listeners(s.port), 2, "not one listening socket per worker");
  const r = await py(`
import socket, selectors
sel = selectors.DefaultSelector()
want = {}
for i in range(64):
    c = socket.create_connection(("127.0.0.1", ${s.port}), timeout=10)
    msg = (b"conn %02d " % i) * 100
    want[c] = [msg, b""]
for c, (msg, _) in want.items():
    c.sendall(msg)
    sel.register(c, selectors.EVENT_READ)
left = 64
while left:
    for key, _ in sel.select(timeout=10) or [(None, None)]:
        if key is None:
            raise SystemExit("timed out with %d left" % left)
        c = key.fileobj
        want[c][1] += c.recv(65536)
        if len(want[c][1]) >= len(want[c][0]):
            sel.unregister(c)
            left -= 1
print(sum(got == msg for msg, got in want.values()))
`);
  assert.equal(r.stdout.trim(), "64", r.stderr);
  const { rest } = await s.p.stop();
  assert.equal(rest.find((e) => e.event === "summary")!.connections, 64);
}));

Deno.test(ffiTest([], {
  name: "serve tcp --workers 3 stopped as soon as it listens: exit 0 and a summary, " +
    "whether or not its Workers had started",
}, async () => {
  for (const wait of [0, 400]) {
    await using s = await serve(["tcp", "0", "--host", "127.0.0.1", "--workers", "3"]);
    await delay(wait);
    const { code, stderr, rest } = await s.p.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    assert.equal(rest.find((e) => e.event === "summary")?.connections, 0, JSON.stringify(rest));
  }
}));

Deno.test(ffiTest(["ipv6"], {
  name: "serve tcp -4 and -6 share a port (IPV6_V6ONLY); a second server there gets EADDRINUSE",
}, async () => {
  await using six = await serve(["tcp", "0", "-6", "--workers", "2"]);
  await using four = await serve(["tcp", String(six.port), "-4", "--workers", "2"]);
  assert.equal(four.listening.address, "0.0.0.0");
  const v4 = await runSockbox(["send", "tcp", "127.0.0.1", String(six.port), "four"]);
  assert.equal(v4.stdout, "Received 4 bytes: four\n", v4.stderr);
  const v6 = await runSockbox(["send", "tcp", "::1", String(six.port), "six"]);
  assert.equal(v6.stdout, "Received 3 bytes: six\n", v6.stderr);
  assert.equal((await four.p.next((e) => e.event === "accept")).peer, "127.0.0.1");
  assert.equal((await six.p.next((e) => e.event === "accept")).peer, "::1");
  for (const workers of ["1", "2"]) {
    const again = await runSockbox(["serve", "tcp", String(six.port), "-6", "--workers", workers]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `sockbox: bind EADDRINUSE [::]:${six.port}\n`);
  }
}));

// --- urgent data ------------------------------------------------------------------

const PY_URGENT = (port: number) => `
import socket, time
s = socket.create_connection(("127.0.0.1", ${port}), timeout=10)
s.sendall(b"abc"); time.sleep(0.1)
s.send(b"!", socket.MSG_OOB); time.sleep(0.1)
s.sendall(b"def"); s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b: break
    got += b
print(got.decode())
`;

Deno.test(ffiTest(["python3"], {
  name: "serve tcp (ffi) reports urgent data from python3 (MSG_OOB) with its offset, unechoed",
}, async () => {
  await using s = await serve(["tcp", "0", "--host", "127.0.0.1", "--engine", "ffi"]);
  assert.equal(s.listening.urgent, true);
  const r = await py(PY_URGENT(s.port));
  assert.equal(r.stdout, "abcdef\n", r.stderr);
  const u = await s.p.next((e) => e.event === "urgent");
  assert.deepEqual([u.byte, u.offset], [33, 3]);
  const cl = await s.p.next((e) => e.event === "close");
  assert.deepEqual([cl.bytes_in, cl.bytes_out, cl.reason], [6, 6, "eof"]);
}));

Deno.test(requires(["python3"], {
  name: "serve tcp (deno) says it cannot see urgent data, and does not echo it",
}, async () => {
  await using s = await serve(["tcp", "0", "--host", "127.0.0.1", "--engine", "deno"]);
  assert.deepEqual([s.listening.engine, s.listening.urgent], ["deno", false]);
  const r = await py(PY_URGENT(s.port));
  assert.equal(r.stdout, "abcdef\n", r.stderr);
  await s.p.next((e) => e.event === "close");
  const { rest } = await s.p.stop();
  assert.equal([...s.p.events, ...rest].some((e) => e.event === "urgent"), false);
}));

Deno.test(ffiTest([], {
  name: "send tcp --urgent sends its byte after the echoes; serve (ffi) reports it",
}, async () => {
  await using s = await serve(["tcp", "0", "--host", "127.0.0.1", "--engine", "ffi"]);
  const r = await runSockbox([
    ...["send", "tcp", "127.0.0.1", String(s.port), "hello", "world", "--urgent", "200"],
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "Received 5 bytes: hello\nReceived 5 bytes: world\nSent urgent byte 200\n",
  );
  const u = await s.p.next((e) => e.event === "urgent");
  assert.deepEqual([u.byte, u.offset], [200, 10]);
  const cl = await s.p.next((e) => e.event === "close");
  assert.deepEqual([cl.bytes_in, cl.bytes_out], [10, 10]);
}));

// --- no leaks ---------------------------------------------------------------------

/**
 * The sockbox process under `deno task` (its child whose command line runs main.ts), or
 * the process itself when it is not `deno task` (SOCKBOX_BIN: a binary or the bundle).
 */
function sockboxPid(taskPid: number): number {
  const own = Deno.readTextFileSync(`/proc/${taskPid}/cmdline`).split("\0");
  if (!own.includes("task")) return taskPid;
  for (let i = 0; i < 50; i++) {
    const kids = Deno.readTextFileSync(`/proc/${taskPid}/task/${taskPid}/children`).trim();
    for (const k of kids.split(/\s+/).filter(Boolean)) {
      const cmd = Deno.readTextFileSync(`/proc/${k}/cmdline`);
      if (cmd.includes("main.ts")) return Number(k);
    }
  }
  throw new Error(`no sockbox process under ${taskPid}`);
}

function fds(pid: number): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`));
    } catch { /* closed meanwhile */ }
  }
  return out.sort();
}

// SOCKBOX_SPLICE=1: a pipe per streaming connection; the loopback default: none.
for (const splice of [true, false]) {
  Deno.test(ffiTest(["python3"], {
    name: splice
      ? "serve tcp (ffi), SOCKBOX_SPLICE=1: a peer resetting mid-splice leaves no fd or pipe behind"
      : "serve tcp (ffi): a loopback peer streams without a pipe (read/write), and its reset leaves no fd behind",
  }, async () => {
    await using s = await serve(
      ["tcp", "0", "--host", "127.0.0.1", "--workers", "1"],
      splice ? { SOCKBOX_SPLICE: "1" } : undefined,
    );
    const pid = sockboxPid(s.p.child.pid);
    // Once the worker serves, the fd table is at its idle size.
    const warm = await runSockbox(["send", "tcp", "127.0.0.1", String(s.port), "warm"]);
    assert.equal(warm.code, 0, warm.stderr);
    await s.p.next((e) => e.event === "close");
    const idle = fds(pid);
    const peer = new Deno.Command("python3", {
      args: [
        "-c",
        `
import os, socket, struct, sys, threading
s = socket.create_connection(("127.0.0.1", ${s.port}), timeout=10)
# Closed by the process's exit below: with a zero linger time that is a reset (tcp(7)).
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
def read():
    try:
        while s.recv(1 << 16):
            pass
    except OSError:
        pass
def write():
    try:
        while True:
            s.sendall(chunk)
    except OSError:
        pass
chunk = b"x" * 65536
threading.Thread(target=read, daemon=True).start()
# 8 MiB echoed first: the server has read whole buffers (and, splicing, opened its pipe).
for _ in range(128):
    s.sendall(chunk)
threading.Thread(target=write, daemon=True).start()
print("streaming", 128 * len(chunk), flush=True)
sys.stdin.readline()
print("reset", flush=True)
os._exit(0)  # mid-stream: both threads are still sending and reading
`,
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    // The first line, whole (a read may return part of it).
    let first = "";
    for (let r = await lines.read(); !r.done; r = await lines.read()) {
      first += r.value;
      if (first.includes("\n")) break;
    }
    assert.match(first, /^streaming \d+\n/);
    const busy = fds(pid);
    const pipes = (l: string[]) => l.filter((f) => f.startsWith("pipe:")).length;
    if (splice) assert.ok(pipes(busy) > pipes(idle), `no splice pipe while streaming: ${busy}`);
    else assert.equal(pipes(busy), pipes(idle), `a pipe while streaming over loopback: ${busy}`);
    const w = peer.stdin.getWriter();
    await w.write(new TextEncoder().encode("\n"));
    await w.close();
    for (
      let r = await lines.read();
      !r.done && !r.value.includes("reset");
      r = await lines.read()
    ) {
      /* until the reset, or EOF (never a spin on a finished stream) */
    }
    await lines.cancel();
    await peer.status;
    const cl = await s.p.next((e) => e.event === "close");
    assert.equal(cl.reason, "error", JSON.stringify(cl));
    assert.deepEqual(fds(pid), idle);
  }));
}

// --- where the ffi engine cannot run, and the one-file bundle ---------------------------
// Both run main.ts or build the bundle from the source tree, whatever SOCKBOX_BIN names:
// an artifact run (which is the bundle's own test) leaves them to `deno task test`.

/** `serve tcp 0 --host 127.0.0.1 --json` run by `sockbox` (main.ts under deno, or the bundle). */
const serveTcpJson = (sockbox: string[]) =>
  new JsonProcess([...sockbox, "serve", "tcp", "0", "--host", "127.0.0.1", "--json"]);

if (!ARTIFACT_RUN) {
  Deno.test({
    name: "without --allow-ffi serve picks the deno engine, and --engine ffi says why not",
    async fn() {
      const base = [Deno.execPath(), "run", "-q", "--no-config", "--allow-net", "--unstable-net"];
      const main = `${REPO_ROOT}main.ts`;
      const denied = await sh(base[0]!, [
        ...base.slice(1),
        main,
        "serve",
        "tcp",
        "0",
        "--engine",
        "ffi",
      ]);
      assert.equal(denied.code, 1);
      assert.equal(
        denied.stderr,
        "sockbox: the ffi engine cannot run here: FFI is not permitted (--allow-ffi)\n",
      );
      await using p = serveTcpJson([...base, main]);
      const ev = await p.next();
      assert.deepEqual([ev.event, ev.engine, ev.urgent], ["listening", "deno", false]);
    },
  });
}

if (!ARTIFACT_RUN) {
  Deno.test(ffiTest([], {
    name: "the one-file bundle runs the ffi engine: its worker travels inside the bundle",
  }, async () => {
    const b = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "bundle"],
      cwd: REPO_ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(b.code, 0, new TextDecoder().decode(b.stderr));
    // Copied away from the source tree: nothing beside it, no deno.json above it.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.copyFile(`${REPO_ROOT}dist/sockbox.js`, `${dir}/sockbox.js`);
      await Deno.chmod(`${dir}/sockbox.js`, 0o755);
      await using p = serveTcpJson([`${dir}/sockbox.js`]);
      const ev = await p.next();
      assert.deepEqual([ev.event, ev.engine], ["listening", "ffi"]);
      const r = await runSockbox(["send", "tcp", "127.0.0.1", String(ev.port), "bundled"]);
      assert.equal(r.stdout, "Received 7 bytes: bundled\n", r.stderr);
      assert.equal((await p.next((e) => e.event === "close")).bytes_in, 7);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));
}

// --- the stop on each ffi mode (the main-thread loop and Workers) ----------------------

for (const workers of ["1", "2"]) {
  Deno.test(ffiTest(["python3"], {
    name: `serve tcp --engine ffi --workers ${workers}: SIGTERM stops listening at once, ` +
      "a slow reader still gets all it sent, then the summary",
  }, async () => {
    await using s = await serve([
      ...["tcp", "0", "--host", "127.0.0.1", "--engine", "ffi", "--workers", workers],
      ...["--sndbuf", "4096"],
    ]);
    // The peer fills the echo path (small buffers, it does not read), asks for the stop
    // (SIGTERM to the server's process group), then tries a new connection and reads.
    const r = await py(`
import os, signal, socket, time
${PY_RECV_TO_EOF}
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${s.port}))
data = os.urandom(65536)
s.setblocking(False)
sent, t = 0, time.time()
while sent < len(data) and time.time() - t < 10:
    try:
        sent += s.send(data[sent:])
    except BlockingIOError:
        time.sleep(0.01)
time.sleep(0.3)
os.killpg(${s.p.child.pid}, signal.SIGTERM)
t = time.time()
refused = False
while time.time() - t < 10 and not refused:  # the listener goes within the drain
    try:
        socket.create_connection(("127.0.0.1", ${s.port}), timeout=1).close()
        time.sleep(0.05)
    except OSError:
        refused = True
s.setblocking(True)
s.settimeout(10)
got, err = recv_to_eof(s)
if err:
    raise err
print(sent, len(got), got == data[:sent], refused)
`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "65536 65536 True True\n");
    const close = await s.p.next((e) => e.event === "close" && e.bytes_in === 65536);
    assert.deepEqual([close.reason, close.bytes_out, close.bytes_dropped], [
      "shutdown",
      65536,
      undefined,
    ]);
    const summary = await s.p.next((e) => e.event === "summary");
    assert.equal(summary.running, undefined);
    // It exits by itself after the summary: one more SIGTERM now (stop()) could reach
    // `deno task` as it exits and end it with 143 instead.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      s.p.child.status,
      new Promise<null>((r) => timer = setTimeout(() => r(null), 15_000)),
    ]).finally(() => clearTimeout(timer));
    assert.equal(exited?.code, 0, "exit status after the summary");
  }));
}

Deno.test(ffiTest(["python3"], {
  name: "serve tcp --engine ffi --max-bytes holds exactly on a bulk stream (no splice past it)",
}, async () => {
  await using s = await serve([
    ...["tcp", "0", "--host", "127.0.0.1", "--engine", "ffi", "--max-bytes", "100000"],
  ]);
  const r = await py(`
import socket, threading
s = socket.create_connection(("127.0.0.1", ${s.port}))
def send():
    try:
        s.sendall(b"m" * 1000000)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
threading.Thread(target=send, daemon=True).start()
got = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
except OSError:
    pass
print(got)
`);
  assert.equal(r.code, 0, r.stderr);
  // The peer is still sending when the cap is reached: the lingering close (FIN, then read
  // and drop until the peer's EOF) gives it the whole capped echo and EOF, not a reset.
  assert.equal(Number(r.stdout), 100000);
  const close = await s.p.next((e) => e.event === "close");
  assert.equal(close.reason, "max-bytes");
  assert.equal(close.bytes_out, 100000);
  assert.equal(close.bytes_in, 100000 + (close.bytes_dropped as number));
  const { rest } = await s.p.stop();
  assert.deepEqual(rest.at(-1)!.refused, { "max-bytes": 1 });
}));
