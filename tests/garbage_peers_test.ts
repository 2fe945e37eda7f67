/**
 * Peers that answer garbage, written in python3 so nothing of sockbox's own code builds the
 * bytes: `bench` against servers that answer random, short, oversized and half-right
 * echoes (all counted as mismatches, never as round trips; exit 1, one stderr line),
 * `ping` against servers that answer random bytes or slip garbage between correct echoes
 * (counted corrupt, never as replies), and a beacon flooded with random datagrams inside a
 * private network namespace (each one dropped and counted; the beacon still answers). The
 * echo servers themselves get random bytes in tests/serve_test.ts and
 * tests/serve_engines_test.ts; mutated (rather than random) echoes are in
 * tests/network_fuzz_test.ts.
 */
import assert from "node:assert/strict";
import { type Capability, jsonLines, JsonProcess, requires, runSockbox } from "./helpers.ts";
import { Lan, randomPort, TermSockbox } from "./netns.ts";

type Ev = Record<string, unknown>;

/**
 * The python3 peers. argv: MODE SEED. Each prints {"port": N} once it is bound to
 * 127.0.0.1, then serves until killed.
 *   udp-garbage     answers each datagram with one of: random bytes (0-100), the datagram
 *                   cut short, the datagram with random bytes after it, its first 12 bytes
 *                   then the rest inverted (a right header, a wrong payload), nothing at all
 *                   (0 bytes)
 *   udp-slipped     answers each datagram with random bytes, the datagram with its last
 *                   byte inverted, then the exact datagram (two bad frames, one good)
 *   tcp-garbage     answers each read with random bytes of the same length, shorter or
 *                   longer; closes every 25th connection read
 *   tcp-random      answers each read with random bytes of the same length
 */
const PY_PEER = String.raw`
import os, random, socket, sys, threading
mode, rng = sys.argv[1], random.Random(int(sys.argv[2]))
lock = threading.Lock()
def rand(n):
    with lock:
        return bytes(rng.getrandbits(8) for _ in range(n))
def pick(n):
    with lock:
        return rng.randrange(n)
def bad_datagram(d):
    k = pick(5)
    if k == 0: return rand(pick(101))
    if k == 1: return d[:pick(len(d))]
    if k == 2: return d + rand(1 + pick(64))
    if k == 3: return d[:12] + bytes(b ^ 0xFF for b in d[12:]) if len(d) > 12 else rand(len(d) + 1)
    return b""
if mode.startswith("udp"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print('{"port": %d}' % s.getsockname()[1], flush=True)
    while True:
        d, a = s.recvfrom(65536)
        if mode == "udp-garbage":
            s.sendto(bad_datagram(d), a)
        else:
            s.sendto(rand(pick(101)), a)
            s.sendto(d[:-1] + bytes([d[-1] ^ 0xFF]), a)
            s.sendto(d, a)
def serve(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with c:
        while True:
            try:
                d = c.recv(65536)
            except OSError:
                return
            if not d:
                return
            n = len(d)
            if mode == "tcp-garbage":
                k = pick(4)
                n = n if k < 2 else pick(n) if k == 2 else n + 1 + pick(64)
            try:
                c.sendall(rand(n))
            except OSError:
                return
            if mode == "tcp-garbage" and pick(25) == 0:
                return
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0))
l.listen(64)
print('{"port": %d}' % l.getsockname()[1], flush=True)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

const SEED = Deno.env.get("SOCKBOX_FUZZ_SEED") ?? "20261129";

async function peer(mode: string): Promise<{ port: number } & AsyncDisposable> {
  const p = new JsonProcess(["python3", "-c", PY_PEER, mode, SEED]);
  const ev = await p.next((e) => typeof e.port === "number");
  return { port: ev.port as number, [Symbol.asyncDispose]: () => p[Symbol.asyncDispose]() };
}

/** Runs sockbox to the end with --json; its events, the last summary, exit code and stderr. */
async function sockbox(
  args: string[],
): Promise<{ code: number; stderr: string; events: Ev[]; s: Ev }> {
  const r = await runSockbox([...args, "--json"], { timeoutMs: 60_000 });
  assert.equal(r.timedOut, false, `${args.join(" ")} timed out`);
  const events = jsonLines(r.stdout);
  const s = events.findLast((e) => e.event === "summary");
  assert.ok(s, `no summary (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  return { code: r.code, stderr: r.stderr, events, s };
}

/** `ping PROTO 127.0.0.1 PORT -c COUNT -i 0 ARGS...` through {@link sockbox}. */
function pingBurst(proto: "tcp" | "udp", port: number, count: number, args: string[]) {
  return sockbox([
    "ping",
    proto,
    "127.0.0.1",
    String(port),
    "-c",
    String(count),
    "-i",
    "0",
    ...args,
  ]);
}

const BENCH = ["--conns", "2", "--threads", "1", "--duration", "1s", "--warmup", "0"];

for (const proto of ["udp", "tcp"] as const) {
  Deno.test(requires(["python3"], {
    name: `bench ${proto} against a server that answers garbage: all mismatches, exit 1`,
    async fn() {
      await using srv = await peer(`${proto}-garbage`);
      const r = await sockbox([
        "bench",
        proto,
        "127.0.0.1",
        String(srv.port),
        ...BENCH,
        "--timeout",
        "100ms",
      ]);
      const s = r.s, what = JSON.stringify(s);
      assert.equal(s.round_trips, 0, what);
      assert.equal(s.bytes, 0, what);
      assert.ok((s.mismatches as number) >= 10, what);
      assert.ok((s.sent as number) >= (s.mismatches as number) / 2, what);
      if (proto === "udp") assert.equal(s.late, 0, `random bytes passed for a header: ${what}`);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `sockbox: ${s.mismatches} echoes from 127.0.0.1:${srv.port} differed from what was sent\n`,
      );
    },
  }));
}

for (const engine of ["ffi", "deno"]) {
  Deno.test(requires(["python3"], {
    name:
      `ping udp --engine ${engine} against a server that answers garbage: every frame corrupt, none a reply`,
    async fn() {
      await using srv = await peer("udp-garbage");
      const r = await pingBurst("udp", srv.port, 10, ["--timeout", "100ms", "--engine", engine]);
      const s = r.s, what = JSON.stringify(s);
      assert.deepEqual([s.sent, s.received, s.lost, s.late, s.duplicates], [10, 0, 10, 0, 0], what);
      const corrupt = r.events.filter((e) => e.event === "corrupt");
      assert.equal(s.corrupt, corrupt.length);
      assert.equal(corrupt.length, 10, `one bad frame per probe: ${what}`);
      assert.ok(!r.events.some((e) => e.event === "reply"));
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `sockbox: no echo from 127.0.0.1:${srv.port}\n`);
    },
  }));

  Deno.test(requires(["python3"], {
    name:
      `ping udp --engine ${engine} with two bad frames before each correct echo: all replies, all bad counted`,
    async fn() {
      await using srv = await peer("udp-slipped");
      const r = await pingBurst("udp", srv.port, 30, ["--engine", engine]);
      const s = r.s, what = JSON.stringify(s);
      assert.deepEqual([s.sent, s.received, s.lost, s.corrupt], [30, 30, 0, 60], what);
      const replies = r.events.filter((e) => e.event === "reply").map((e) => e.seq);
      assert.deepEqual(replies, Array.from({ length: 30 }, (_, i) => i + 1));
      // The inverted last byte keeps magic, session and seq: named, with the reason.
      const near = r.events.filter((e) => e.event === "corrupt" && e.seq !== null);
      assert.equal(near.length, 30, what);
      assert.ok(near.every((e) => e.reason === "echo differs from probe"), JSON.stringify(near[0]));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
    },
  }));
}

Deno.test(requires(["python3"], {
  name: "ping tcp against a server that answers random bytes: corrupt, lost, exit 1",
  async fn() {
    await using srv = await peer("tcp-random");
    const r = await pingBurst("tcp", srv.port, 5, ["--timeout", "200ms"]);
    const s = r.s;
    assert.deepEqual([s.sent, s.received, s.lost, s.corrupt], [5, 0, 5, 5], JSON.stringify(s));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `sockbox: no echo from 127.0.0.1:${srv.port}\n`);
  },
}));

// --- a beacon flooded with random datagrams -------------------------------------------

const LAN: Capability[] = ["ipnetns", "python3"];

/**
 * argv: PORT COUNT SEED. Sends COUNT datagrams to 127.0.0.1:PORT (1 ms apart, so the
 * beacon's socket buffer never overflows): random bytes, and beacon headers ("SBXB",
 * version 1, any type and flags, any length) followed by random bytes or broken JSON.
 */
const PY_FLOOD = String.raw`
import random, socket, struct, sys, time
port, count, rng = int(sys.argv[1]), int(sys.argv[2]), random.Random(int(sys.argv[3]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def rand(n): return bytes(rng.getrandbits(8) for _ in range(n))
bodies = [b'{"name": ', b'{"nonce": 1}', b'[]', b'{"name": "x", "seq": "NaN"}', b'\xff\xfe']
for i in range(count):
    k = rng.randrange(3)
    if k == 0:
        d = rand(rng.randrange(200))
    else:
        body = rand(rng.randrange(100)) if k == 1 else rng.choice(bodies)
        n = len(body) if rng.random() < 0.5 else rng.randrange(65536)
        d = b"SBXB" + bytes([1, rng.randrange(6), rng.randrange(3), 0]) + struct.pack(">H", n) + body
    s.sendto(d, ("127.0.0.1", port))
    time.sleep(0.001)
print('{"sent": %d}' % count, flush=True)
`;

/** What the beacon on host 0 reports it dropped (asked by `hosts`, which must find it). */
async function droppedTotal(
  lan: Lan,
  port: string,
  key: string,
): Promise<{ total: number; dropped: Record<string, number> }> {
  const q = await lan.sockbox(0, ["hosts", "--port", port, "--key", key, "--json"]);
  assert.equal(q.code, 0, q.stderr);
  const evs = jsonLines(q.stdout);
  assert.deepEqual(evs.filter((e) => e.event === "host").map((e) => e.name), ["alpha"]);
  const dropped = evs.at(-1)!.dropped as Record<string, number>;
  return { total: Object.values(dropped).reduce((a, b) => a + b, 0), dropped };
}

Deno.test(requires(LAN, {
  name: "a beacon --key drops and counts 300 random datagrams and still answers",
  async fn() {
    await using lan = await Lan.create(1);
    const dir = await Deno.makeTempDir({ prefix: "sbxg-key" });
    try {
      const key = `${dir}/k.key`;
      await Deno.writeTextFile(key, "correct horse battery staple\n");
      const port = String(randomPort());
      await using alpha = new TermSockbox(
        [
          "beacon",
          "--interval",
          "200ms",
          "--json",
          "--name",
          "alpha",
          "--port",
          port,
          "--key",
          key,
        ],
        { wrap: lan.wrap(0) },
      );
      await alpha.next((e) => e.event === "listening");
      const before = await droppedTotal(lan, port, key);
      const flood = await lan.exec(0, "python3", ["-c", PY_FLOOD, port, "300", SEED]);
      assert.equal(flood.code, 0, flood.stderr);
      // Every datagram is dropped as malformed, unsigned or forged, and counted.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const after = await droppedTotal(lan, port, key);
        const n = after.total - before.total;
        if (n === 300) {
          assert.ok(after.dropped.malformed! > 0, JSON.stringify(after.dropped));
          break;
        }
        assert.ok(
          n < 300 && Date.now() < deadline,
          `${n} of 300 counted: ${JSON.stringify(after)}`,
        );
      }
      const st = await alpha.stop();
      assert.equal(st.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));
