/**
 * The command-line contract as a new user meets it, end to end: exit codes, where output
 * goes, the messages of bad input and of failures, and `--json` as NDJSON only, against
 * peers nobody here wrote (python3, socat, the kernel's ICMP). Each test names the defect
 * it keeps fixed. Nothing here resolves a name: lookups of missing names live in the tests
 * that run under a private resolver (tests/netns.ts's `inPrivateHost`).
 */
import assert from "node:assert/strict";
import {
  closedUdpPort,
  delay,
  JsonProcess,
  pyEchoPeer,
  REPO_ROOT,
  requires,
  run,
  runSockbox,
  sh,
  shellQuote,
  socatEcho,
  sockboxCommand,
  SockboxProcess,
  sockboxShell,
  TextProcess,
} from "./helpers.ts";
import { Lan, randomPort } from "./netns.ts";
import { COMMANDS } from "../main.ts";
import { readmeUsage, usageBlocks } from "../scripts/readme_usage.ts";

/** NDJSON text as events; fails naming the first line that is not JSON. */
function ndjson(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l !== "").map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`stdout is not NDJSON; this line is not JSON: ${JSON.stringify(l)}`);
    }
  });
}

/** The bytes of an `echo` event (`data` as text, or base64 with `encoding: "base64"`). */
function echoBytes(e: Record<string, unknown>): number[] {
  const data = e.data as string;
  if (e.encoding === "base64") return [...atob(data)].map((c) => c.charCodeAt(0));
  assert.equal(e.encoding, "utf-8");
  return [...new TextEncoder().encode(data)];
}

// --- 1. send tcp on an idle stdin -------------------------------------------------------

Deno.test(requires(["python3"], {
  name: "1: send tcp waits on an idle stdin: the timeout runs only while echoes are owed",
  async fn() {
    await using srv = await pyEchoPeer("tcp");
    const send = `${sockboxShell()} send tcp 127.0.0.1 ${srv.port} --timeout 500ms`;
    // Text and JSON side by side: each idles 1.5 s, three timeouts' worth.
    const modes = ["", " --json"];
    const runs = await Promise.all(
      modes.map((json) => sh("sh", ["-c", `(sleep 1.5; printf hi) | ${send}${json}`])),
    );
    for (const [i, r] of runs.entries()) {
      const json = modes[i]!;
      assert.equal(r.code, 0, `${json}: ${r.stderr}`);
      if (json) {
        const evs = ndjson(r.stdout);
        assert.deepEqual(evs.map((e) => e.event), ["connect", "echo", "done"]);
      } else assert.equal(r.stdout, "hi");
    }
  },
}));

// --- 2. UDP over IPv6 carries 65527 bytes -------------------------------------------------

Deno.test(requires(["python3", "ipv6"], {
  name: "2: send udp and ping udp take IPv6 echoes of 65527 bytes whole",
  async fn() {
    await using srv = await pyEchoPeer("udp", { host: "::1" });
    const big = "a".repeat(65527);
    const r = await runSockbox(["send", "udp", "::1", String(srv.port), big, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const echo = ndjson(r.stdout).find((e) => e.event === "echo")!;
    assert.equal(echo.bytes, 65527);
    assert.equal((echo.data as string).length, 65527);
    const p = await runSockbox(["ping", "udp", "::1", String(srv.port), "-s", "65527", "-c", "1"]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^65527 bytes from \[::1\]:\d+: seq=1 /m);
    // Over IPv4 the largest datagram is 65507: a usage error before anything is sent.
    const v4 = await runSockbox(["ping", "udp", "127.0.0.1", "9", "-s", "65527"]);
    assert.deepEqual(
      [v4.code, v4.stdout, v4.stderr],
      [2, "", 'sockbox: invalid --size "65527": must be 12-65507\n'],
    );
  },
}));

// --- 3. --json is NDJSON only -------------------------------------------------------------

Deno.test(requires(["python3"], {
  name: "3: send --json writes JSON lines only; echoed bytes that are not UTF-8 come as base64",
  async fn() {
    await using tcp = await pyEchoPeer("tcp");
    const input = new Uint8Array([...new TextEncoder().encode("line one\r\n"), 0xff, 0xfe, 0x0a]);
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(tcp.port), "--json"], {
      stdin: input,
    });
    assert.equal(r.code, 0, r.stderr);
    const evs = ndjson(r.stdout);
    assert.equal(evs[0]!.event, "connect");
    assert.equal(evs.at(-1)!.event, "done");
    const echoes = evs.filter((e) => e.event === "echo");
    assert.deepEqual(echoes.flatMap(echoBytes), [...input]);
    // UDP reports the same event set.
    await using udp = await pyEchoPeer("udp");
    const u = await runSockbox(["send", "udp", "127.0.0.1", String(udp.port), "x", "--json"]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(ndjson(u.stdout).map((e) => e.event), ["connect", "echo", "done"]);
  },
}));

// --- 4. address in use --------------------------------------------------------------------

Deno.test(requires(["ipv6"], {
  name: "4: an address in use names bind and the address that failed ([::]), with no fallback",
  async fn() {
    const held = Deno.listen({ hostname: "::", port: 0 });
    try {
      const port = (held.addr as Deno.NetAddr).port;
      for (const engine of ["deno", "ffi"]) {
        const r = await runSockbox(["serve", "tcp", String(port), "--engine", engine]);
        assert.deepEqual(
          [r.code, r.stdout, r.stderr],
          [1, "", `sockbox: bind EADDRINUSE [::]:${port}\n`],
          engine,
        );
      }
    } finally {
      held.close();
    }
  },
}));

// --- 5, 6, 12, 13: usage errors, before anything is printed -------------------------------

const USAGE: [string[], string][] = [
  // 5: a destination port is 1-65535
  [["send", "tcp", "127.0.0.1", "0", "x"], 'invalid PORT "0": must be 1-65535'],
  [["ping", "udp", "127.0.0.1", "0"], 'invalid PORT "0": must be 1-65535'],
  [["send", "udp", "--broadcast", "all", "0"], 'invalid PORT "0": must be 1-65535'],
  // 6: an empty HOST
  [["send", "tcp", "", "7007", "x"], 'invalid HOST "": must be a host name or address'],
  [["ping", "tcp", "", "7"], 'invalid HOST "": must be a host name or address'],
  // 12: negative numbers in either form reach the range check; -c=3 is -c 3
  [["serve", "tcp", "0", "--max-conns", "-5"], 'invalid --max-conns "-5": must be 1-1000000'],
  [["serve", "tcp", "0", "--max-conns=-5"], 'invalid --max-conns "-5": must be 1-1000000'],
  [["ping", "udp", "127.0.0.1", "7", "-c", "-1"], 'invalid --count "-1": must be 1-1000000000'],
  [["ping", "udp", "127.0.0.1", "7", "-c=0"], 'invalid --count "0": must be 1-1000000000'],
  [
    ["ping", "udp", "127.0.0.1", "7", "-i", "-1"],
    'invalid --interval "-1": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [
    ["serve", "tcp", "0", "--idle-timeout", "-1s"],
    'invalid --idle-timeout "-1s": must be a duration like 500ms, 2s or 1m between 1ms and 168h',
  ],
  // 13: --version takes nothing
  [["--version", "extra"], 'unexpected argument "extra"'],
  // 8: --iface belongs to --broadcast
  [["send", "udp", "127.0.0.1", "7", "x", "--iface", "lo"], "--iface needs --broadcast"],
];

for (const [args, message] of USAGE) {
  Deno.test(`usage error, exit 2, nothing on stdout: sockbox ${args.join(" ")}`, async () => {
    const r = await runSockbox(args);
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, "", `sockbox: ${message}\n`]);
  });
}

Deno.test("13: sockbox with no arguments prints the help to stderr and exits 2", async () => {
  const r = await runSockbox([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^sockbox \d+\.\d+\.\d+: test sockets from one binary\n/);
  assert.match(r.stderr, /\nUsage: sockbox COMMAND /);
});

// --- 7. Deno's own refusals ------------------------------------------------------------------

Deno.test("7: an unknown interface, a missing --unstable-net or --allow-net say what is missing", async () => {
  const zone = await runSockbox(["send", "tcp", "fe80::1%nosuch", "7007", "x"]);
  assert.deepEqual(
    [zone.code, zone.stderr],
    [1, 'sockbox: unknown interface "nosuch" in address fe80::1%nosuch\n'],
  );
  // As the bundle runs without deno.json: the flags are the command line's only.
  const bare = (flags: string[], args: string[]) =>
    run(Deno.execPath(), ["run", "-q", "--no-config", ...flags, "main.ts", ...args], {
      cwd: REPO_ROOT,
    });
  const udp = await bare(["--allow-net", "--allow-env"], [
    "serve",
    "udp",
    "0",
    "--host",
    "127.0.0.1",
    "--engine",
    "deno",
  ]);
  assert.deepEqual([udp.code, udp.stderr], [
    1,
    "sockbox: missing unstable API: Deno.listenDatagram (UDP) is not available, run again with the --unstable-net flag\n",
  ]);
  const net = await bare([], ["send", "tcp", "127.0.0.1", "1", "x"]);
  assert.deepEqual([net.code, net.stderr], [
    1,
    'sockbox: missing permission: Requires net access to "127.0.0.1:1", run again with the --allow-net flag\n',
  ]);
});

// --- 8 and 13: broadcast through an interface; no reply is a failure ----------------------

const PEER = new URL("./mcast_peer.py", import.meta.url).pathname;

Deno.test(requires(["ipnetns", "python3"], {
  name: "8: send udp --broadcast 255.255.255.255 --iface NAME leaves through NAME",
  async fn() {
    await using lan = await Lan.create(2);
    const port = randomPort();
    // No default route: the limited broadcast has no way out but the one named.
    const lost = await lan.sockbox(0, [
      "send",
      "udp",
      "--broadcast",
      "255.255.255.255",
      String(port),
      "hi",
    ]);
    assert.equal(lost.code, 1);
    assert.match(
      lost.stderr,
      /^sockbox: sendto ENETUNREACH .*pick the interface with --iface NAME\)\n$/,
    );
    await using rx = new JsonProcess([
      ...lan.wrap(1),
      "python3",
      "-u",
      PEER,
      "bcast",
      String(port),
      "1",
      "20",
    ]);
    await rx.next((e) => e.event === "ready");
    const r = await lan.sockbox(0, [
      ...["send", "udp", "--broadcast", "255.255.255.255", String(port), "hi"],
      ...["--iface", "e0", "--timeout", "1s", "--json"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const evs = ndjson(r.stdout);
    assert.deepEqual(evs.filter((e) => e.event === "reply").map((e) => [e.from, e.data]), [
      [lan.v4(1), "ack:hi"],
    ]);
    const got = await rx.next((e) => e.event === "datagram");
    assert.deepEqual([got.from, got.data], [lan.v4(0), "hi"]);
  },
}));

Deno.test(requires(["netns"], {
  name: "13: a broadcast that gets no reply exits 1, as a unicast send with no echo does",
  async fn() {
    const { cmd, args } = sockboxCommand([
      ...["send", "udp", "--broadcast", "127.255.255.255", String(randomPort()), "hi"],
      ...["--timeout", "300ms"],
    ]);
    const r = await sh("unshare", [
      "-n",
      "sh",
      "-c",
      'ip link set lo up && exec "$@"',
      "sh",
      cmd,
      ...args,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /^Sent 2 bytes to 127\.255\.255\.255:\d+: hi\n1 datagram sent, 0 replies\n$/,
    );
    assert.equal(r.stderr, "sockbox: no reply to the broadcast within 300ms\n");
  },
}));

// --- 9 and 10: accept errors --------------------------------------------------------------

const PY_RESET = String.raw`
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", port))
    s.close()
`;

Deno.test(requires(["python3"], {
  name: "9: peers that reset before accept are counted, not logged as server errors",
  async fn() {
    const p = new SockboxProcess([
      ...["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", "deno", "-v", "--json"],
    ]);
    const { port } = await p.listening();
    await sh("python3", ["-c", PY_RESET, String(port), "500"]);
    await new Promise((r) => setTimeout(r, 500));
    const { code, stderr, rest } = await p.stop();
    assert.equal(code, 0);
    assert.equal(stderr, "", "no line per peer on stderr");
    const all = [...p.events];
    const aborted = all.filter((e) => e.event === "aborted");
    // At most one line a second (the run lasts a second or two) and one at the end.
    assert.ok(aborted.length <= 4, JSON.stringify(aborted));
    const summary = rest.find((e) => e.event === "summary")!;
    const accepted = summary.connections as number;
    assert.equal((summary.aborted as number) + accepted, 500, JSON.stringify(summary));
    assert.ok((summary.aborted as number) > 0, "the peers' resets were seen");
    assert.equal(all.filter((e) => e.event === "error").length, 0);
  },
}));

const PY_MANY = String.raw`
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    socks.append(s)
time.sleep(1)
for s in socks:
    s.close()
`;

Deno.test(requires(["python3"], {
  name: "10: out of fds, serve says so once when it starts and once when it ends",
  async fn() {
    // stderr goes to a file, so the test can wait for its second line.
    const errFile = await Deno.makeTempFile({ prefix: "sockbox-emfile-" });
    try {
      const serve = `${sockboxShell()} serve tcp 0 --host 127.0.0.1 --engine deno`;
      await using p = new TextProcess([
        "sh",
        "-c",
        `ulimit -n 60; exec ${serve} 2>${shellQuote(errFile)}`,
      ]);
      const m = await p.out.until(/listening tcp 127\.0\.0\.1:(\d+)\n/) as RegExpExecArray;
      await sh("python3", ["-c", PY_MANY, m[1]!, "150"]);
      // The backlog drains as fds come back; then accept has to work for a second before
      // the second line.
      const deadline = Date.now() + 15_000;
      while (!/accept works again/.test(await Deno.readTextFile(errFile))) {
        assert.ok(Date.now() < deadline, `no second line: ${await Deno.readTextFile(errFile)}`);
        await delay(50);
      }
      const { stdout } = await p.stop("SIGTERM");
      const stderr = await Deno.readTextFile(errFile);
      assert.match(stdout, /\nsummary tcp: 150 connections, /);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 2, stderr);
      assert.match(lines[0]!, /^sockbox: accept EMFILE: out of resources, deferring accepts/);
      assert.match(
        lines[1]!,
        /^sockbox: accept works again after \d+ms; \d+ accepts? deferred$/,
      );
    } finally {
      await Deno.remove(errFile);
    }
  },
}));

// --- 11. UDP to a closed port --------------------------------------------------------------

Deno.test("11: UDP to a closed port fails at once with ECONNREFUSED; ping udp counts it as refused", async () => {
  const port = closedUdpPort();
  const t0 = performance.now();
  const r = await runSockbox(["send", "udp", "127.0.0.1", String(port), "x"]);
  const ms = performance.now() - t0;
  assert.deepEqual([r.code, r.stderr], [1, `sockbox: recvfrom ECONNREFUSED 127.0.0.1:${port}\n`]);
  assert.ok(ms < 4000, `took ${ms} ms (the timeout is 5s)`);
  const p = await runSockbox([
    "ping",
    "udp",
    "127.0.0.1",
    String(port),
    "-c",
    "2",
    "-i",
    "100ms",
    "--json",
  ]);
  assert.equal(p.code, 1);
  const evs = ndjson(p.stdout);
  assert.deepEqual(evs.filter((e) => e.event === "refused").map((e) => e.seq), [1, 2]);
  const summary = evs.find((e) => e.event === "summary")!;
  assert.deepEqual([summary.refused, summary.lost, summary.received], [2, 0, 0]);
  assert.equal(
    p.stderr,
    `sockbox: no echo from 127.0.0.1:${port}: 2 of 2 probes refused (port unreachable: nothing listens there)\n`,
  );
});

// --- 13. SIGTERM -----------------------------------------------------------------------------

Deno.test(requires(["python3"], {
  name: "13: send stopped by SIGTERM exits 143, by SIGINT 130",
  async fn() {
    // A TCP server that accepts, says when the first byte arrived, and never echoes.
    const hold = String.raw`
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print('{"port": %d}' % s.getsockname()[1], flush=True)
c, _ = s.accept()
c.recv(1)
print('{"got": 1}', flush=True)
import time; time.sleep(60)
`;
    for (const [signal, want] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
      await using peer = new JsonProcess(["python3", "-c", hold]);
      const { port } = await peer.next((e) => typeof e.port === "number") as { port: number };
      const { cmd, args } = sockboxCommand(["send", "tcp", "127.0.0.1", String(port), "x"]);
      await using p = new TextProcess([cmd, ...args]);
      await peer.next((e) => e.got === 1); // connected, sent, waiting for the echo
      const { code } = await p.stop(signal);
      assert.equal(code, want, signal);
    }
  },
}));

// --- 14. messages ------------------------------------------------------------------------------

Deno.test(requires(["python3"], {
  name: "14: messages: one byte, and control bytes and backslashes escaped",
  async fn() {
    await using udp = await pyEchoPeer("udp");
    const one = await runSockbox(["send", "udp", "127.0.0.1", String(udp.port), "x", "a\rb\\"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, "Received 1 byte: x\nReceived 4 bytes: a\\rb\\\\\n");
  },
}));

for (const json of [false, true]) {
  Deno.test(requires(["python3"], {
    name: `14: send tcp on stdin says the peer closed before anything was sent${
      json ? " (--json)" : ""
    }`,
    async fn() {
      // A server that takes one connection: the next is accepted and closed at once.
      await using srv = new SockboxProcess([
        ...["serve", "tcp", "0", "--host", "127.0.0.1", "--max-conns", "1", "--json"],
      ]);
      const { port } = await srv.listening();
      const { cmd, args } = sockboxCommand(["send", "tcp", "127.0.0.1", String(port)]);
      await using first = new TextProcess([cmd, ...args], { stdin: "piped" });
      await srv.next((e) => e.event === "accept");
      // stdin stays open and empty: nothing was sent when the server closes.
      const second = sockboxCommand([
        ...["send", "tcp", "127.0.0.1", String(port)],
        ...(json ? ["--json"] : []),
      ]);
      await using p = new TextProcess([second.cmd, ...second.args], { stdin: "piped" });
      const r = await p.finish(); // it ends by itself, its stdin still open
      assert.deepEqual(
        [r.code, r.stderr],
        [1, `sockbox: 127.0.0.1:${port} closed the connection before anything was sent\n`],
      );
      await p.child.stdin.close().catch(() => {});
      await first.child.stdin.close().catch(() => {});
      await first.stop();
    },
  }));
}

Deno.test(requires(["python3"], {
  name: "14: resolve prints a link-local scope as the interface name, as ip does",
  async fn() {
    const r = await runSockbox(["resolve", "fe80::1%1", "--numeric-host", "--type", "dgram"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^inet6 {2}fe80::1%lo {2}dgram/);
  },
}));

// --- 15. snake_case and the beacon's drop log -----------------------------------------------

Deno.test("15: resolve --json names every field in snake_case", async () => {
  const r = await runSockbox(["resolve", "127.0.0.1", "echo", "--numeric-host", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const evs = ndjson(r.stdout);
  assert.ok(evs.length > 0);
  for (const e of evs) {
    for (const k of Object.keys(e)) assert.match(k, /^[a-z_]+$/, k);
    assert.equal(typeof e.protocol_name, "string");
  }
});

const PY_JUNK = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"junk %d" % i, (sys.argv[1], int(sys.argv[2])))
`;

Deno.test(requires(["ipnetns", "python3"], {
  name: "15: the beacon logs malformed datagrams at most once per interval, with the count",
  async fn() {
    await using lan = await Lan.create(1);
    const port = randomPort();
    await using b = new SockboxProcess(
      ["beacon", "--broadcast", "--port", String(port), "--interval", "3s", "--json"],
      { wrap: lan.wrap(0) },
    );
    await b.next((e) => e.event === "listening");
    await lan.exec(0, "python3", ["-c", PY_JUNK, lan.v4(0), String(port), "300"]);
    const first = await b.next((e) => e.event === "dropped");
    await new Promise((r) => setTimeout(r, 1000));
    const { rest } = await b.stop();
    const dropped = [first, ...rest].filter((e) => e.event === "dropped");
    // One line at once, then (at most) one with the count of the rest; every drop counted.
    assert.ok(dropped.length <= 2, JSON.stringify(dropped));
    const summary = rest.find((e) => e.event === "summary")!;
    const seen = (summary.dropped as Record<string, number>).malformed!;
    assert.ok(seen > 100, `the beacon saw ${seen} of 300 (the kernel may drop the rest)`);
    assert.equal(dropped.reduce((n, e) => n + (e.count as number), 0), seen);
  },
}));

// --- 16. README and --help from one source -----------------------------------------------

Deno.test("16: the README's usage section is the commands' own Usage blocks, verbatim", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const blocks = await usageBlocks(COMMANDS);
  for (const b of blocks) assert.ok(readme.includes(b), `README lacks:\n${b}`);
  assert.equal(
    readmeUsage(readme, blocks),
    readme,
    "README.md is out of date: run `deno run -A scripts/readme_usage.ts`",
  );
  assert.match(readme, /deno task -q start/);
  assert.match(readme, /--no-config/);
});

Deno.test("16: the help of every command starts with its Usage block", async () => {
  for (const [name, load] of Object.entries(COMMANDS)) {
    const usage = (await load()).usage;
    assert.match(usage, new RegExp(`^Usage: sockbox ${name}\\b`), name);
  }
});

Deno.test(requires(["socat"], {
  name: "a stdout that cannot be written: one line naming write and errno, exit 1 (/dev/full)",
  async fn() {
    // Before: "sockbox: internal error: No space left on device (os error 28)", or, where the
    // line was written from a Worker's message (bench, ping, serve with Workers), a stack trace.
    await using echo = await socatEcho("tcp4");
    const p = String(echo.port);
    for (
      const args of [
        "ifaces",
        "--version",
        "help serve",
        "serve tcp 0 --host 127.0.0.1",
        `send tcp 127.0.0.1 ${p} hello`,
        `ping tcp 127.0.0.1 ${p} -c 3 -i 0.1`,
        `bench tcp 127.0.0.1 ${p} --duration 1`,
      ]
    ) {
      const r = await sh("sh", ["-c", `${sockboxShell()} ${args} > /dev/full`]);
      assert.equal(r.stderr, "sockbox: write ENOSPC (stdout)\n", args);
      assert.equal(r.code, 1, args);
    }
  },
}));

Deno.test(requires(["socat"], {
  name:
    "a stdout whose reader goes away (| head -1): exit 141 as SIGPIPE would give, nothing on stderr",
  async fn() {
    // ping and bench write from a Worker's messages: an uncaught BrokenPipe and its stack
    // trace before. (serve: tests/serve_test.ts.)
    await using echo = await socatEcho("tcp4");
    const p = String(echo.port);
    const dir = await Deno.makeTempDir();
    try {
      for (
        const args of [
          `ping tcp 127.0.0.1 ${p} -c 20 -i 0.05`,
          `bench tcp 127.0.0.1 ${p} --duration 1`,
          "ifaces",
        ]
      ) {
        const err = `${dir}/err`, rc = `${dir}/rc`;
        const run = `${sockboxShell()} ${args} 2>${shellQuote(err)}; echo $? > ${shellQuote(rc)}`;
        // head reads nothing and exits: the first line sockbox writes meets a closed pipe.
        const r = await sh("sh", ["-c", `(${run}) | head -c 0`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await Deno.readTextFile(err), "", args);
        assert.equal((await Deno.readTextFile(rc)).trim(), "141", args);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));
