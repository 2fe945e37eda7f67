/**
 * The life cycle of `sockbox serve tcp|udp` on both engines (`--engine ffi` and
 * `--engine deno`): SIGTERM drains (in-flight echoes finish, `--drain DUR` bounds it, the
 * listener closes at once), `--drain 0` closes at once, SIGHUP prints the summary so far
 * and the server keeps serving. The peers are python3 clients that read slowly or never.
 *
 * An artifact run (`deno task test:bundle`) runs these on the default engine (ffi) only:
 * the deno engine's drain is the same code in the artifact, and the engine matrix stays
 * with `deno task test` (scripts/test_artifact.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ARTIFACT_RUN,
  delay,
  JsonProcess,
  requires,
  SockboxProcess,
  TextProcess,
} from "./helpers.ts";
import { sockboxCommand } from "./helpers.ts";

type Ev = Record<string, unknown>;

const ENGINES = ARTIFACT_RUN ? ["ffi"] as const : ["ffi", "deno"] as const;

/**
 * python3 TCP peer. `slow PORT N`: sends N random bytes at once, reads them back 1 KiB
 * every 10 ms (a 4 KiB receive buffer, so the echo backs up), prints `{"reading":1}`
 * after the first 8 KiB and at the end whether every byte came back and EOF followed.
 * `mute PORT`: sends without end and never reads. `echo PORT TEXT`: one echo.
 */
const PY_PEER = String.raw`
import json, os, socket, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
if mode == "slow":
    n = int(sys.argv[3])
    data = os.urandom(n)
    threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
    got = bytearray()
    told = False
    while len(got) < n:
        b = s.recv(1024)
        if not b:
            break
        got += b
        if len(got) >= 8192 and not told:
            print(json.dumps({"reading": 1}), flush=True)
            told = True
        time.sleep(0.01)
    s.settimeout(10)
    try:
        eof = s.recv(1) == b""
    except Exception as e:
        eof = str(e)
    print(json.dumps({"got": len(got), "same": bytes(got) == data, "eof": eof}), flush=True)
elif mode == "mute":
    def pump():
        chunk = b"x" * 65536
        try:
            while True:
                s.sendall(chunk)
        except OSError:
            pass
    threading.Thread(target=pump, daemon=True).start()
    print(json.dumps({"connected": 1}), flush=True)
    time.sleep(600)
elif mode == "echo":
    text = sys.argv[3].encode()
    s.sendall(text)
    got = b""
    while len(got) < len(text):
        got += s.recv(65536)
    print(json.dumps({"echo": got.decode()}), flush=True)
    s.close()
`;

const peer = (args: string[]) => new JsonProcess(["python3", "-c", PY_PEER, ...args]);

/** One TCP echo of `text` by python3 (a fresh connection). */
async function echoOnce(port: number, text: string): Promise<void> {
  await using p = peer(["echo", String(port), text]);
  const ev = await p.next((e) => "echo" in e, 20_000);
  assert.equal(ev.echo, text);
}

/** One UDP echo of `text` by python3. */
async function udpEchoOnce(port: number, text: string): Promise<void> {
  const code = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
print(s.recvfrom(65536)[0].decode(), flush=True)
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", code, String(port), text],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), `${text}\n`);
}

/** Whether a TCP connect to 127.0.0.1:`port` is refused or reset (nothing serves it). */
async function refused(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused) return true;
    // A connect that raced the stop: it reached the backlog of a listener shut down before
    // it was accepted, and the kernel reset it. Not served either.
    if (e instanceof Deno.errors.ConnectionReset) return true;
    throw e;
  }
}

/** `serve ARGS --engine ENGINE --json`, once listening, with its port. */
async function serve(
  engine: string,
  args: string[],
): Promise<SockboxProcess & { readonly port: number }> {
  const p = new SockboxProcess(["serve", ...args, "--engine", engine, "--json"]);
  const { port } = await p.listening();
  return Object.assign(p, { port });
}

/** A `mute` peer of `p`, once `p` has accepted it: it sends without end and never reads. */
async function mutePeer(p: SockboxProcess & { readonly port: number }): Promise<JsonProcess> {
  const client = peer(["mute", String(p.port)]);
  try {
    await client.next((e) => e.connected === 1, 30_000);
    await p.next((e) => e.event === "accept");
  } catch (err) {
    await client.stop("SIGKILL");
    throw err;
  }
  return client;
}

/** Sends SIGHUP and returns the summary it prints, which must be marked running. */
async function runningSummary(p: SockboxProcess): Promise<Ev> {
  p.child.kill("SIGHUP");
  const s = await p.next((e) => e.event === "summary");
  assert.equal(s.running, true);
  return s;
}

/** Stops `p` with SIGTERM (exit 0) and returns its one last summary, not marked running. */
async function finalSummary(p: SockboxProcess): Promise<Ev> {
  const { code, rest } = await p.stop("SIGTERM");
  assert.equal(code, 0);
  const last = rest.filter((e) => e.event === "summary");
  assert.equal(last.length, 1, JSON.stringify(rest));
  assert.equal(last[0]!.running, undefined);
  return last[0]!;
}

for (const engine of ENGINES) {
  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine}: SIGTERM lets a slow reader get all 64 KiB back, exit 0`,
    async fn() {
      await using p = await serve(engine, ["tcp", "0", "--sndbuf", "4096"]);
      await using client = peer(["slow", String(p.port), "65536"]);
      await client.next((e) => e.reading === 1, 30_000);
      await p.next((e) => e.event === "accept");
      const stopped = p.stop("SIGTERM");
      const result = await client.next((e) => "got" in e, 30_000);
      assert.deepEqual(result, { got: 65536, same: true, eof: true });
      const { code, rest } = await stopped;
      assert.equal(code, 0);
      const all = p.events;
      const close = all.find((e) => e.event === "close");
      assert.ok(close, JSON.stringify(all));
      assert.equal(close.bytes_in, 65536);
      assert.equal(close.bytes_out, 65536);
      assert.equal(close.bytes_dropped, undefined);
      const summary = rest.find((e) => e.event === "summary") ?? all.at(-1)!;
      assert.equal(summary.event, "summary");
      assert.equal(summary.bytes_out, 65536);
      assert.equal(summary.running, undefined);
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} --drain 1s: a peer that never reads is cut after ~1s ` +
      `with its unechoed bytes dropped`,
    async fn() {
      await using p = await serve(engine, ["tcp", "0", "--drain", "1s", "--sndbuf", "4096"]);
      await using _client = await mutePeer(p);
      await delay(300); // the server reads, echoes, and blocks on the full peer
      const t0 = performance.now();
      const { code } = await p.stop("SIGTERM");
      const ms = performance.now() - t0;
      assert.equal(code, 0);
      assert.ok(ms >= 900, `exited after ${ms.toFixed(0)}ms, before the 1s drain`);
      assert.ok(ms < 6000, `exited after ${ms.toFixed(0)}ms`);
      const close = p.events.find((e) => e.event === "close") as Ev;
      assert.ok(close, JSON.stringify(p.events));
      assert.equal(close.reason, "shutdown");
      assert.ok((close.bytes_dropped as number) > 0, JSON.stringify(close));
      assert.equal(close.bytes_in, (close.bytes_out as number) + (close.bytes_dropped as number));
      assert.equal(p.events.at(-1)!.event, "summary");
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine}: the listener closes right after SIGTERM, while ` +
      `connections drain`,
    async fn() {
      // The mute peer holds the drain open for all of --drain; the listener must go first.
      await using p = await serve(engine, ["tcp", "0", "--drain", "1500ms", "--sndbuf", "4096"]);
      await using _client = await mutePeer(p);
      assert.equal(await refused(p.port), false);
      const t0 = performance.now();
      const exited = p.child.status.then(() => performance.now() - t0);
      p.child.kill("SIGTERM");
      let closedAt = -1;
      while (performance.now() - t0 < 1200) {
        if (await refused(p.port)) {
          closedAt = performance.now() - t0;
          break;
        }
        await delay(25);
      }
      assert.ok(closedAt >= 0, "a new connect was still accepted 1.2s after SIGTERM");
      // The drain ends the process by itself. No second SIGTERM before that: one that comes
      // 300 ms or more after the first was taken is a forced stop (main.ts), and a server
      // serving on its main thread takes a signal only between steps of its loop.
      const exitMs = await exited;
      const { code } = await p.stop("SIGTERM");
      assert.equal(code, 0);
      assert.ok(closedAt < exitMs, `refused at ${closedAt}ms, exited at ${exitMs}ms`);
      assert.ok(exitMs >= 1400, `exited at ${exitMs.toFixed(0)}ms, before the 1.5s drain`);
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} --drain 0 closes every connection at once`,
    async fn() {
      await using p = await serve(engine, ["tcp", "0", "--drain", "0", "--sndbuf", "4096"]);
      await using _client = await mutePeer(p);
      await delay(300);
      const t0 = performance.now();
      const { code } = await p.stop("SIGTERM");
      const ms = performance.now() - t0;
      assert.equal(code, 0);
      assert.ok(ms < 2000, `exited after ${ms.toFixed(0)}ms`);
      const close = p.events.find((e) => e.event === "close") as Ev;
      assert.ok(close, JSON.stringify(p.events));
      assert.equal(close.reason, "shutdown");
      assert.ok((close.duration_ms as number) < 5000);
      assert.equal(
        close.bytes_in,
        (close.bytes_out as number) + ((close.bytes_dropped ?? 0) as number),
      );
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine}: SIGHUP twice prints two running summaries and ` +
      `serving goes on`,
    async fn() {
      await using p = await serve(engine, ["tcp", "0"]);
      await echoOnce(p.port, "hello");
      await p.next((e) => e.event === "close");
      for (let i = 0; i < 2; i++) {
        const s = await runningSummary(p);
        assert.equal(s.connections, 1);
        assert.equal(s.bytes_in, 5);
        assert.equal(s.bytes_out, 5);
      }
      await echoOnce(p.port, "again");
      const last = await finalSummary(p);
      assert.equal(last.connections, 2);
      assert.equal(last.bytes_in, 10);
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve udp --engine ${engine}: SIGHUP prints a running summary, SIGTERM the last one`,
    async fn() {
      await using p = await serve(engine, ["udp", "0", "--host", "127.0.0.1"]);
      await udpEchoOnce(p.port, "ping");
      const s = await runningSummary(p);
      assert.equal(s.datagrams, 1);
      assert.equal(s.bytes_out, 4);
      await udpEchoOnce(p.port, "pong");
      const last = await finalSummary(p);
      assert.equal(last.datagrams, 2);
    },
  }));
}

Deno.test(requires(["python3"], {
  name: "serve tcp marks the SIGHUP summary line as running in text mode",
  async fn() {
    const cmd = sockboxCommand(["serve", "tcp", "0", "--host", "127.0.0.1"]);
    await using srv = new TextProcess([cmd.cmd, ...cmd.args]);
    const m = await srv.out.until(/^listening tcp 127\.0\.0\.1:(\d+)$/m);
    const port = Number((m as RegExpExecArray)[1]);
    await echoOnce(port, "hi");
    await srv.out.until(/^close /m);
    srv.child.kill("SIGHUP");
    await srv.out.until(/^summary tcp \(running\): 1 connection, in=2 out=2 bytes, /m);
    const { code, stdout } = await srv.stop("SIGTERM");
    assert.equal(code, 0);
    assert.match(stdout, /^summary tcp: 1 connection, in=2 out=2 bytes, /m);
  },
}));

Deno.test(requires(["python3"], {
  name: "serve all prints a running summary per protocol on SIGHUP and drains on SIGTERM",
  async fn() {
    await using p = new SockboxProcess(["serve", "all", "0", "--drain", "2s", "--json"]);
    const tcp = await p.next((e) => e.event === "listening" && e.proto === "tcp");
    await p.next((e) => e.event === "listening" && e.proto === "udp");
    const port = tcp.port as number;
    await echoOnce(port, "hello");
    await p.next((e) => e.event === "close");
    p.child.kill("SIGHUP");
    const s = await p.next((e) => e.event === "summary" && e.proto === "tcp");
    assert.deepEqual([s.running, s.connections, s.bytes_in], [true, 1, 5]);
    const u = await p.next((e) => e.event === "summary" && e.proto === "udp");
    assert.equal(u.running, true);
    const { code, rest } = await p.stop("SIGTERM");
    assert.equal(code, 0);
    const last = rest.filter((e) => e.event === "summary");
    assert.ok(last.length >= 2, JSON.stringify(rest));
    assert.ok(last.every((e) => e.running === undefined), JSON.stringify(last));
  },
}));
