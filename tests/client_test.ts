/**
 * `sockbox send` and `sockbox ping` against socat echo servers (a peer nobody here wrote),
 * over IPv4 and IPv6, and every bad-input case with its exit code and exact stderr line.
 */
import assert from "node:assert/strict";
import { hasCommand, hasIPv6, lines, runSockbox, sh } from "./helpers.ts";

const haveSocat = hasCommand("socat");

/** Starts a socat echo server and waits until its port accepts. */
async function socatEcho(kind: "tcp4" | "tcp6" | "udp4" | "udp6"): Promise<{
  port: number;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  for (let attempt = 0;; attempt++) {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const addr = {
      tcp4: `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`,
      tcp6: `TCP6-LISTEN:${port},bind=[::1],reuseaddr,fork`,
      udp4: `UDP4-RECVFROM:${port},bind=127.0.0.1,reuseaddr,fork`,
      udp6: `UDP6-RECVFROM:${port},bind=[::1],reuseaddr,fork`,
    }[kind];
    const child = new Deno.Command("socat", {
      args: ["-d", "-b", "65536", addr, "PIPE"],
      stderr: "piped",
      stdout: "null",
    })
      .spawn();
    const stderr = lines(child.stderr)[Symbol.asyncIterator]();
    const dispose = async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      while (!(await stderr.next()).done) { /* drain */ }
    };
    // socat -d prints nothing on success for listen; wait for the port to be bound.
    const ok = await waitBound(kind, port);
    if (ok) return { port, [Symbol.asyncDispose]: dispose };
    await dispose();
    if (attempt > 3) throw new Error("socat did not start");
  }
}

async function waitBound(kind: string, port: number): Promise<boolean> {
  const proto = kind.startsWith("tcp") ? "-ltn" : "-lun";
  for (let i = 0; i < 100; i++) {
    const r = await sh("ss", ["-H", proto, `sport = :${port}`]);
    if (r.stdout.trim() !== "") return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}

Deno.test({
  name: "send tcp gets each message echoed by a socat TCP4 and TCP6 server",
  ignore: !haveSocat,
  async fn() {
    await using s4 = await socatEcho("tcp4");
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(s4.port), "hello", "two words"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Received 5 bytes: hello\nReceived 9 bytes: two words\n");
    if (hasIPv6) {
      await using s6 = await socatEcho("tcp6");
      const r6 = await runSockbox(["send", "tcp", "::1", String(s6.port), "v6", "--json"]);
      assert.equal(r6.code, 0, r6.stderr);
      const evs = r6.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(evs.map((e) => e.event), ["connect", "echo"]);
      assert.equal(evs[1].bytes, 2);
      assert.equal(evs[1].data, "v6");
      assert.equal(evs[1].from, "::1");
    }
  },
});

Deno.test({
  name: "send tcp with no MSG streams stdin through a socat server and checks every byte",
  ignore: !haveSocat,
  async fn() {
    await using s = await socatEcho("tcp4");
    const data = new Uint8Array(300_000);
    for (let i = 0; i < data.length; i += 65536) {
      crypto.getRandomValues(data.subarray(i, i + 65536));
    }
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(s.port)], { stdin: data });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdoutBytes.length, data.length);
    assert.ok(r.stdoutBytes.every((b, i) => b === data[i]));
  },
});

Deno.test({
  name: "send udp sends one datagram per stdin line to socat UDP4/UDP6-RECVFROM",
  ignore: !haveSocat,
  async fn() {
    await using s4 = await socatEcho("udp4");
    const r = await runSockbox(["send", "udp", "127.0.0.1", String(s4.port)], {
      stdin: "one\n\ntwo\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Received 3 bytes: one\nReceived 3 bytes: two\n");
    if (hasIPv6) {
      await using s6 = await socatEcho("udp6");
      const r6 = await runSockbox(["send", "udp", "::1", String(s6.port), "x".repeat(9000)]);
      assert.equal(r6.code, 0, r6.stderr);
      assert.match(r6.stdout, /^Received 9000 bytes: x+/);
    }
  },
});

Deno.test({
  name: "ping tcp and udp against socat report every probe and the percentiles",
  ignore: !haveSocat,
  async fn() {
    const kinds: ("tcp4" | "tcp6" | "udp4" | "udp6")[] = ["tcp4", "udp4"];
    if (hasIPv6) kinds.push("tcp6", "udp6");
    for (const kind of kinds) {
      await using s = await socatEcho(kind);
      const host = kind.endsWith("6") ? "::1" : "127.0.0.1";
      const r = await runSockbox([
        "ping",
        kind.slice(0, 3),
        host,
        String(s.port),
        "-c",
        "5",
        "-i",
        "20ms",
        "-s",
        "100",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const evs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const replies = evs.filter((e) => e.event === "reply");
      assert.deepEqual(replies.map((e) => e.seq), [1, 2, 3, 4, 5], kind);
      assert.ok(replies.every((e) => e.bytes === 100 && e.rtt_ms > 0));
      const sum = evs.at(-1);
      assert.equal(sum.event, "summary");
      assert.equal(sum.sent, 5);
      assert.equal(sum.received, 5);
      assert.equal(sum.loss_pct, 0);
      assert.ok(sum.min_ms <= sum.p50_ms && sum.p50_ms <= sum.p90_ms && sum.p90_ms <= sum.max_ms);
    }
  },
});

/** A UDP server on 127.0.0.1 that answers each datagram with `reply(datagram)`. */
function udpResponder(reply: (d: Uint8Array) => Uint8Array): AsyncDisposable & { port: number } {
  const srv = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    try {
      for (;;) {
        const [d, a] = await srv.receive();
        await srv.send(reply(d), a);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (srv.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      srv.close();
      await loop;
    },
  };
}

Deno.test("ping text output has per-probe lines and a ping(8)-style summary", async () => {
  await using srv = udpResponder((d) => d);
  const port = srv.port;
  const r = await runSockbox(["ping", "udp", "127.0.0.1", String(port), "-c", "3", "-i", "0"]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split("\n");
  assert.equal(out[0], `PING 127.0.0.1 (127.0.0.1:${port}) udp: 64 bytes per probe`);
  assert.match(
    out[1]!,
    new RegExp(`^64 bytes from 127\\.0\\.0\\.1:${port}: seq=1 time=\\d+\\.\\d{3} ms$`),
  );
  assert.equal(out[4], `--- 127.0.0.1:${port} udp ping statistics ---`);
  assert.match(out[5]!, /^3 probes sent, 3 received, 0% loss, time \d+ms$/);
  assert.match(out[6]!, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);
  assert.match(out[7]!, /^rtt p50\/p90\/p99 = [\d.]+\/[\d.]+\/[\d.]+ ms$/);
});

Deno.test("ping detects a server that changes the echo", async () => {
  await using srv = udpResponder((d) => {
    const copy = d.slice();
    copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
    return copy;
  });
  const port = srv.port;
  const r = await runSockbox([
    "ping",
    "udp",
    "127.0.0.1",
    String(port),
    "-c",
    "2",
    "-i",
    "0",
    "--timeout",
    "300ms",
    "--json",
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `sockbox: no echo from 127.0.0.1:${port}\n`);
  const evs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(evs.filter((e) => e.event === "corrupt").length, 2);
  assert.equal(evs.at(-1).corrupt, 2);
});

Deno.test("send reports a different echo and a missing echo as errors", async () => {
  await using srv = udpResponder((d) => d.slice().reverse());
  const port = srv.port;
  const r = await runSockbox(["send", "udp", "127.0.0.1", String(port), "abc"]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `sockbox: echo mismatch from 127.0.0.1:${port}: byte 0 differs (sent 3 bytes)\n`,
  );
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const sp = (silent.addr as Deno.NetAddr).port;
  const r2 = await runSockbox([
    "send",
    "udp",
    "127.0.0.1",
    String(sp),
    "abc",
    "--timeout",
    "200ms",
  ]);
  silent.close();
  assert.equal(r2.code, 1);
  assert.equal(r2.stderr, `sockbox: recvfrom ETIMEDOUT 127.0.0.1:${sp} (no echo within 200ms)\n`);
});

Deno.test("send tcp reports a server that closes before echoing everything", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const srv = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(100);
    await c.read(buf);
    await c.write(new TextEncoder().encode("he"));
    c.close();
  })();
  const r = await runSockbox(["send", "tcp", "127.0.0.1", String(port), "hello"]);
  await srv;
  l.close();
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `sockbox: echo incomplete from 127.0.0.1:${port}: sent 5 bytes, got 2 before the connection closed\n`,
  );
});

const BAD: [string[], number, string][] = [
  [["frobnicate"], 2, 'sockbox: unknown command "frobnicate" (try "sockbox help")'],
  [["serve", "tcp", "70000"], 2, 'sockbox: invalid PORT "70000": must be 0-65535'],
  [["serve", "tcp"], 2, "sockbox: missing PORT"],
  [["serve", "tcp", "x7"], 2, 'sockbox: invalid PORT "x7": must be 0-65535'],
  [["serve", "icmp", "7"], 2, 'sockbox: unknown protocol "icmp": must be tcp or udp or sctp'],
  [["serve", "tcp", "0", "--bogus"], 2, 'sockbox: unknown option "--bogus"'],
  [["serve", "udp", "0", "--max-conns", "3"], 2, "sockbox: --max-conns cannot be used with udp"],
  [
    ["serve", "tcp", "0", "--max-conns", "0"],
    2,
    'sockbox: invalid --max-conns "0": must be 1-1000000',
  ],
  [
    ["serve", "tcp", "0", "--idle-timeout", "soon"],
    2,
    'sockbox: invalid --idle-timeout "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [["serve", "tcp", "0", "-4", "-6"], 2, "sockbox: -4 cannot be used with -6"],
  [
    ["serve", "tcp", "0", "--host", "nowhere"],
    2,
    'sockbox: invalid --host "nowhere": must be an IPv4 or IPv6 address',
  ],
  [["send", "tcp", "127.0.0.1"], 2, "sockbox: missing PORT"],
  [["send", "tcp"], 2, "sockbox: missing HOST"],
  [["send", "udp", "h", "1", "--timeout", "-1s"], 2, 'sockbox: option "--timeout" needs a value'],
  [
    ["send", "udp", "h", "1", "--timeout", "0"],
    2,
    'sockbox: invalid --timeout "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [["ping", "tcp", "h", "1", "-c", "0"], 2, 'sockbox: invalid --count "0": must be 1-1000000000'],
  [
    ["ping", "udp", "h", "1", "-s", "70000"],
    2,
    'sockbox: invalid --size "70000": must be 12-65507',
  ],
  [
    ["ping", "tcp", "h", "1", "-i", "fast"],
    2,
    'sockbox: invalid --interval "fast": must be a duration like 500ms, 2s or 1m',
  ],
  [["send", "tcp", "127.0.0.1", "1", "x"], 1, "sockbox: connect ECONNREFUSED 127.0.0.1:1"],
  [
    ["send", "tcp", "no-such-host.invalid", "7", "x"],
    1,
    "sockbox: getaddrinfo EAI_NONAME no-such-host.invalid (Name or service not known)",
  ],
];

for (const [args, code, line] of BAD) {
  Deno.test(`bad input: sockbox ${args.join(" ")} exits ${code}`, async () => {
    const r = await runSockbox(args);
    assert.equal(r.code, code);
    assert.equal(r.stderr.split("\n")[0], line);
    assert.equal(r.stderr.split("\n").length, 2, `one line only: ${r.stderr}`);
  });
}

Deno.test("serve reports an address in use with the address", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const r = await runSockbox(["serve", "tcp", String(port), "--host", "127.0.0.1"]);
  l.close();
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `sockbox: listen EADDRINUSE 127.0.0.1:${port}\n`);
});

Deno.test("help, --help and --version print to stdout and exit 0", async () => {
  const h = await runSockbox(["help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^sockbox \d+\.\d+\.\d+: test sockets from one binary/);
  for (const c of ["serve", "send", "ping"]) {
    const a = await runSockbox(["help", c]);
    const b = await runSockbox([c, "--help"]);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, new RegExp(`^Usage: sockbox ${c} `));
  }
  const v = await runSockbox(["--version"]);
  assert.match(v.stdout, /^sockbox \d+\.\d+\.\d+\n$/);
});
