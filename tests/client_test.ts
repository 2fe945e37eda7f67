/**
 * `sockbox send` and `sockbox ping` against socat echo servers (a peer nobody here wrote)
 * and python3 responders, over IPv4 and IPv6 (each IPv6 half its own test), every
 * bad-input case with its exit code and exact stderr line, and name lookups in a private
 * mount and network namespace whose resolver files are ours (nothing leaves the machine).
 */
import assert from "node:assert/strict";
import {
  jsonLines,
  JsonProcess,
  requires,
  runSockbox,
  silentPort,
  socatEcho,
  type SocatKind,
  SockboxProcess,
  sockboxShell,
} from "./helpers.ts";
import { inPrivateHost, LOOPBACK_HOSTS } from "./netns.ts";

Deno.test(requires(["socat", "ss"], {
  name: "send tcp gets each message echoed by a socat TCP4 server",
  async fn() {
    await using s4 = await socatEcho("tcp4");
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(s4.port), "hello", "two words"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Received 5 bytes: hello\nReceived 9 bytes: two words\n");
  },
}));

Deno.test(requires(["socat", "ss", "ipv6"], {
  name: "send tcp gets a message echoed by a socat TCP6 server (JSON)",
  async fn() {
    await using s6 = await socatEcho("tcp6");
    const r6 = await runSockbox(["send", "tcp", "::1", String(s6.port), "v6", "--json"]);
    assert.equal(r6.code, 0, r6.stderr);
    const evs = jsonLines(r6.stdout);
    assert.deepEqual(evs.map((e) => e.event), ["connect", "echo", "done"].slice(0, evs.length));
    const echo = evs.find((e) => e.event === "echo")!;
    assert.equal(echo.bytes, 2);
    assert.equal(echo.data, "v6");
    assert.equal(echo.from, "::1");
    assert.equal(echo.port, s6.port);
  },
}));

Deno.test(requires(["socat", "ss"], {
  name: "send tcp with no MSG streams stdin through a socat server and checks every byte",
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
}));

Deno.test(requires(["socat", "ss"], {
  name: "send udp sends one datagram per stdin line to socat UDP4-RECVFROM",
  async fn() {
    await using s4 = await socatEcho("udp4");
    const r = await runSockbox(["send", "udp", "127.0.0.1", String(s4.port)], {
      stdin: "one\n\ntwo\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Received 3 bytes: one\nReceived 3 bytes: two\n");
  },
}));

Deno.test(requires(["socat", "ss", "ipv6"], {
  name: "send udp gets a 9000-byte datagram echoed by socat UDP6-RECVFROM",
  async fn() {
    await using s6 = await socatEcho("udp6");
    const r6 = await runSockbox(["send", "udp", "::1", String(s6.port), "x".repeat(9000)]);
    assert.equal(r6.code, 0, r6.stderr);
    assert.match(r6.stdout, /^Received 9000 bytes: x+/);
  },
}));

async function pingSocat(kinds: SocatKind[]): Promise<void> {
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
    const evs = jsonLines(r.stdout);
    const replies = evs.filter((e) => e.event === "reply");
    assert.deepEqual(replies.map((e) => e.seq), [1, 2, 3, 4, 5], kind);
    assert.ok(replies.every((e) => e.bytes === 100 && (e.rtt_ms as number) > 0));
    const sum = evs.at(-1)!;
    assert.equal(sum.event, "summary");
    assert.deepEqual(
      [sum.sent, sum.received, sum.lost, sum.loss_pct, sum.late, sum.duplicates],
      [5, 5, 0, 0, 0, 0],
    );
    const [min, p50, p90, max] = [sum.min_ms, sum.p50_ms, sum.p90_ms, sum.max_ms] as number[];
    assert.ok(min! <= p50! && p50! <= p90! && p90! <= max!);
  }
}

Deno.test(requires(["socat", "ss"], {
  name: "ping tcp and udp against socat over IPv4 report every probe and the percentiles",
  fn: () => pingSocat(["tcp4", "udp4"]),
}));

Deno.test(requires(["socat", "ss", "ipv6"], {
  name: "ping tcp and udp against socat over IPv6 report every probe and the percentiles",
  fn: () => pingSocat(["tcp6", "udp6"]),
}));

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
  for (const seq of [1, 2, 3]) {
    assert.match(
      out[seq]!,
      new RegExp(`^64 bytes from 127\\.0\\.0\\.1:${port}: seq=${seq} time=\\d+\\.\\d{3} ms$`),
    );
  }
  assert.equal(out[4], `--- 127.0.0.1:${port} udp ping statistics ---`);
  assert.match(out[5]!, /^3 probes sent, 3 received, 0% loss, time \d+ms$/);
  assert.match(out[6]!, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);
  assert.match(out[7]!, /^rtt p50\/p90\/p99 = [\d.]+\/[\d.]+\/[\d.]+ ms$/);
  assert.equal(out.length, 9);
});

/**
 * python3 UDP echo that answers probe 1 twice (a duplicate) and probe 2 after 600 ms (late
 * for a 300 ms --timeout); the probe's sequence number is bytes 8-11, big-endian.
 */
const PY_UNRELIABLE = String.raw`
import json, socket, struct, threading
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(json.dumps({"port": s.getsockname()[1]}), flush=True)
while True:
    d, a = s.recvfrom(65536)
    seq = struct.unpack(">I", d[8:12])[0]
    if seq == 2:
        threading.Timer(0.6, s.sendto, (d, a)).start()
        continue
    s.sendto(d, a)
    if seq == 1:
        s.sendto(d, a)
    print(json.dumps({"echoed": seq}), flush=True)
`;

Deno.test(requires(["python3"], {
  name: "ping reports late and duplicate echoes from a python3 responder and counts them",
  async fn() {
    await using py = new JsonProcess(["python3", "-c", PY_UNRELIABLE]);
    const port = (await py.next((e) => typeof e.port === "number")).port as number;
    const args = ["ping", "udp", "127.0.0.1", String(port), "-c", "4", "-i", "500ms"];
    // JSON and text side by side (the responder answers each by its own address).
    const [r, t] = await Promise.all([
      runSockbox([...args, "--timeout", "300ms", "--json"]),
      runSockbox([...args, "--timeout", "300ms"]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const evs = jsonLines(r.stdout);
    const seen = evs.filter((e) => e.event !== "start").map((e) => `${e.event}:${e.seq ?? ""}`);
    assert.deepEqual(seen.filter((x) => x.startsWith("reply")), ["reply:1", "reply:3", "reply:4"]);
    assert.deepEqual(seen.filter((x) => /^(late|duplicate|timeout):/.test(x)), [
      "duplicate:1",
      "timeout:2",
      "late:2",
    ]);
    const late = evs.find((e) => e.event === "late")!;
    assert.ok((late.rtt_ms as number) >= 300, `late after ${late.rtt_ms} ms`);
    const sum = evs.at(-1)!;
    assert.deepEqual(
      [sum.event, sum.sent, sum.received, sum.lost, sum.late, sum.duplicates, sum.loss_pct],
      ["summary", 4, 3, 1, 1, 1, 25],
    );
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^duplicate echo for seq=1$/m);
    assert.match(t.stdout, /^late echo for seq=2 after \d+\.\d{3} ms \(counted as lost\)$/m);
    assert.match(t.stdout, /^4 probes sent, 3 received, 25% loss, 1 late, 1 duplicate, time/m);
  },
}));

Deno.test("ping without -c runs until SIGINT, then prints the summary and exits 0", async () => {
  await using srv = udpResponder((d) => d);
  await using p = new SockboxProcess([
    "ping",
    "udp",
    "127.0.0.1",
    String(srv.port),
    "-i",
    "50ms",
    "--json",
  ]);
  await p.next((e) => e.event === "reply" && e.seq === 3);
  const { code, rest } = await p.stop("SIGINT");
  assert.equal(code, 0);
  const sum = rest.at(-1)!;
  assert.equal(sum.event, "summary");
  const sent = sum.sent as number, received = sum.received as number;
  assert.ok(sent >= 3 && received >= 3 && received >= sent - 1, JSON.stringify(sum));
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
  const evs = jsonLines(r.stdout);
  assert.equal(evs.filter((e) => e.event === "corrupt").length, 2);
  assert.equal(evs.at(-1)!.corrupt, 2);
});

Deno.test("send reports a different echo as an error", async () => {
  await using srv = udpResponder((d) => d.slice().reverse());
  const r = await runSockbox(["send", "udp", "127.0.0.1", String(srv.port), "abc"]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `sockbox: echo mismatch from 127.0.0.1:${srv.port}: byte 0 differs (sent 3 bytes)\n`,
  );
});

Deno.test(requires(["python3"], {
  name: "send reports a missing echo as an error after --timeout",
  async fn() {
    await using silent = await silentPort("udp");
    const r = await runSockbox([
      "send",
      "udp",
      "127.0.0.1",
      String(silent.port),
      "abc",
      "--timeout",
      "200ms",
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `sockbox: recvfrom ETIMEDOUT 127.0.0.1:${silent.port} (no echo within 200ms)\n`,
    );
  },
}));

Deno.test("send tcp reports a server that closes before echoing everything", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const srv = (async () => {
    const c = await l.accept();
    try {
      await c.read(new Uint8Array(100));
      await c.write(new TextEncoder().encode("he"));
    } finally {
      c.close();
    }
  })();
  try {
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(port), "hello"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `sockbox: echo incomplete from 127.0.0.1:${port}: sent 5 bytes, got 2 before the connection closed\n`,
    );
  } finally {
    l.close();
    await srv.catch(() => {});
  }
});

Deno.test(requires(["python3"], {
  name: "send tcp to a port nobody listens on fails with ECONNREFUSED and the address",
  async fn() {
    await using closed = await silentPort("tcp");
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(closed.port), "x"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `sockbox: connect ECONNREFUSED 127.0.0.1:${closed.port}\n`);
  },
}));

const BAD: [string[], string][] = [
  [["frobnicate"], 'sockbox: unknown command "frobnicate" (try "sockbox help")'],
  [["serve", "tcp", "70000"], 'sockbox: invalid PORT "70000": must be 0-65535'],
  [["serve", "tcp"], "sockbox: missing PORT"],
  [["serve", "tcp", "x7"], 'sockbox: invalid PORT "x7": must be 0-65535'],
  [["serve", "icmp", "7"], 'sockbox: unknown protocol "icmp": must be tcp or udp or sctp or all'],
  [["serve", "tcp", "0", "--bogus"], 'sockbox: unknown option "--bogus"'],
  [["serve", "udp", "0", "--max-conns", "3"], "sockbox: --max-conns cannot be used with udp"],
  [
    ["serve", "tcp", "0", "--max-conns", "0"],
    'sockbox: invalid --max-conns "0": must be 1-1000000',
  ],
  [
    ["serve", "tcp", "0", "--idle-timeout", "soon"],
    'sockbox: invalid --idle-timeout "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [["serve", "tcp", "0", "-4", "-6"], "sockbox: -4 cannot be used with -6"],
  [
    ["serve", "tcp", "0", "--host", "nowhere"],
    'sockbox: invalid --host "nowhere": must be an IPv4 or IPv6 address',
  ],
  [["send", "tcp", "127.0.0.1"], "sockbox: missing PORT"],
  [["send", "tcp"], "sockbox: missing HOST"],
  [
    ["send", "udp", "h", "1", "--timeout", "-1s"],
    'sockbox: invalid --timeout "-1s": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [
    ["send", "udp", "h", "1", "--timeout", "0"],
    'sockbox: invalid --timeout "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [["ping", "tcp", "h", "1", "-c", "0"], 'sockbox: invalid --count "0": must be 1-1000000000'],
  [["ping", "udp", "h", "1", "-s", "70000"], 'sockbox: invalid --size "70000": must be 12-65527'],
  [
    ["ping", "tcp", "h", "1", "-i", "fast"],
    'sockbox: invalid --interval "fast": must be a duration like 500ms, 2s or 1m',
  ],
];

for (const [args, line] of BAD) {
  Deno.test(`bad input: sockbox ${args.join(" ")} exits 2`, async () => {
    const r = await runSockbox(args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `${line}\n`, `one line only: ${r.stderr}`);
  });
}

Deno.test(requires(["netns", "mountns"], {
  name: "send names a lookup failure with gai_strerror's text (private resolver files)",
  async fn() {
    // hosts: files → the name is simply unknown; hosts: files dns with nothing answering on
    // 127.0.0.1:53 → the resolver cannot reach a server: a temporary failure.
    const [files] = await inPrivateHost({}, ["sockbox send tcp no-such-host.invalid 7 x"]);
    assert.deepEqual(
      [files!.code, files!.stderr],
      [1, "sockbox: getaddrinfo EAI_NONAME no-such-host.invalid (Name or service not known)\n"],
    );
    const [dns] = await inPrivateHost({ nsswitch: "hosts: files dns\n" }, [
      "sockbox send udp no-such-host.invalid 7 x",
    ]);
    assert.deepEqual(
      [dns!.code, dns!.stderr],
      [
        1,
        "sockbox: getaddrinfo EAI_AGAIN no-such-host.invalid (Temporary failure in name resolution)\n",
      ],
    );
  },
}));

/**
 * A shell line for {@link inPrivateHost}: starts `sockbox serve PROTO 0 --host 127.0.0.1`,
 * waits (at most 20 s) for its port, runs `client` with $port set, stops the server and
 * exits with the client's status.
 */
function withServer(proto: "tcp" | "udp", client: string): string {
  const sockbox = sockboxShell();
  return `${sockbox} serve ${proto} 0 --host 127.0.0.1 --json > srv.json & srv=$!; ` +
    "for i in $(seq 200); do grep -q '\"port\"' srv.json && break; sleep 0.1; done; " +
    `port=$(sed -n 's/.*"port":\\([0-9]*\\).*/\\1/p' srv.json); ` +
    `${client.replace(/^sockbox /, sockbox + " ")}; s=$?; kill $srv; wait $srv; exit $s`;
}

Deno.test(requires(["netns", "mountns", "ipv6", "getent"], {
  name: "send falls back across the addresses of one name until one answers (tcp and udp)",
  async fn() {
    // The name's first address is ::1, where nothing listens; the second, 127.0.0.1, echoes.
    const hosts = LOOPBACK_HOSTS + "::1 sbx-multi.example\n127.0.0.1 sbx-multi.example\n";
    const [order, tcp, udp] = await inPrivateHost({ hosts }, [
      "getent ahosts sbx-multi.example | awk '{print $1}' | uniq",
      withServer("tcp", "sockbox send tcp sbx-multi.example $port hello --json"),
      withServer("udp", "sockbox send udp sbx-multi.example $port hello --timeout 500ms --json"),
    ]);
    assert.equal(order!.stdout, "::1\n127.0.0.1\n", "the lookup order this test relies on");
    for (const [proto, r] of [["tcp", tcp!], ["udp", udp!]] as const) {
      assert.equal(r.code, 0, `${proto}: ${r.stderr}`);
      const echo = jsonLines(r.stdout).find((e) => e.event === "echo")!;
      assert.deepEqual([echo.from, echo.data], ["127.0.0.1", "hello"], proto);
    }
  },
}));

Deno.test(requires(["netns", "mountns", "nft"], {
  name: "send --timeout bounds a TCP connect whose SYNs are dropped",
  async fn() {
    // nftables drops every SYN to port 9 inside the namespace: connect(2) alone would
    // retry for about two minutes.
    const setup = [
      "nft add table inet sbx",
      "nft add chain inet sbx out '{ type filter hook output priority 0; }'",
      "nft add rule inet sbx out tcp dport 9 drop",
    ];
    const [t0, r, t1] = await inPrivateHost({ setup }, [
      "date +%s%3N",
      "sockbox send tcp 127.0.0.1 9 x --timeout 500ms",
      "date +%s%3N",
    ]);
    assert.equal(r!.code, 1);
    assert.equal(r!.stderr, "sockbox: connect ETIMEDOUT 127.0.0.1:9\n");
    const ms = Number(t1!.stdout) - Number(t0!.stdout);
    // sockbox's own start-up is in there too, but nothing near the 5 s default timeout.
    assert.ok(ms >= 500 && ms < 4500, `took ${ms} ms`);
  },
}));

Deno.test("serve reports an address in use with the address", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (l.addr as Deno.NetAddr).port;
    const r = await runSockbox(["serve", "tcp", String(port), "--host", "127.0.0.1"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `sockbox: bind EADDRINUSE 127.0.0.1:${port}\n`);
  } finally {
    l.close();
  }
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
  assert.match(
    v.stdout,
    /^sockbox \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+, [\w-]+, (source|bundle|compiled)\)\n$/,
  );
});
