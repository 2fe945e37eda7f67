/**
 * The SCTP test cases. They need a kernel with SCTP, so `deno test` does not pick this
 * file up by name: tests/sctp_test.ts imports it where the kernel has SCTP, and otherwise
 * runs it inside User-Mode Linux (`deno test -A tests/sctp/cases.ts`) and reports each
 * case's result.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runSockbox, sh, sockboxCommand, SockboxProcess } from "../helpers.ts";
import { Peer, PY_SCTP } from "./peers.ts";
import { reactor } from "../../lib/ffi/reactor.ts";
import { SCTP_UNORDERED, SctpSocket } from "../../lib/ffi/sctp.ts";
import { serveSctp } from "../../lib/net/sctp/server.ts";
import { sendSctp } from "../../lib/net/sctp/client.ts";

type Ev = Record<string, unknown>;

// Load libc before any test, so the FFI test's leak check does not count it.
SctpSocket.available();

async function server(args: string[] = []): Promise<{ p: SockboxProcess; port: number }> {
  const p = new SockboxProcess(["serve", "sctp", "0", "--json", ...args]);
  const { port } = await p.listening();
  return { p, port };
}

function jsonLines(s: string): Ev[] {
  return s.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Ev);
}

const py = (args: string[]) => sh("python3", ["-c", PY_SCTP, ...args]);

Deno.test("serve sctp echoes each message on its stream with its PPID (python3 SCTP_SNDRCV)", async () => {
  const { p, port } = await server(["-v"]);
  try {
    const msgs = [[0, 1, "zero"], [5, 42, "five"], [63, 0xdeadbeef, "last stream"]];
    const r = await py(["client", "127.0.0.1", String(port), JSON.stringify(msgs)]);
    assert.equal(r.code, 0, r.stderr);
    const echoes = jsonLines(r.stdout);
    assert.deepEqual(
      echoes.map((e) => [e.stream, e.ppid, e.data]).sort(),
      msgs.map((m) => [m[0], m[1], m[2]]).sort(),
    );
    const up = await p.next((e) => e.event === "assoc_change");
    assert.equal(up.state, "COMM_UP");
    assert.equal(up.instreams, 64);
    assert.equal(up.outstreams, 64);
    const got = await p.next((e) => e.event === "message" && e.stream === 5);
    assert.equal(got.ppid, 42);
    assert.equal(got.bytes, 4);
  } finally {
    await p.stop();
  }
});

Deno.test("serve sctp prints the seed's lines in text mode", async () => {
  // Text mode has no JSON listening event: read the port from a JSON server instead and
  // check the text of a second, one-to-many server started on a known-free port.
  const { p, port } = await server();
  await p.stop();
  const cmd = sockboxCommand(["serve", "sctp", String(port), "--host", "127.0.0.1", "-v"]);
  const child = new Deno.Command(cmd.cmd, {
    args: cmd.args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("listening")) text += (await out.read()).value ?? "";
    const r = await runSockbox(["send", "sctp", "127.0.0.1", String(port), "hello", "world"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[ Receive notification type 32769 \]$/m);
    assert.match(
      r.stdout,
      /^\[ Receive echo \(5 bytes\): stream = 0, ssn = 0, flags = 0, ppid = 1 \]$/m,
    );
    assert.match(
      r.stdout,
      /^\[ Receive echo \(5 bytes\): stream = 1, ssn = 0, flags = 0, ppid = 1 \]$/m,
    );
    while (!text.includes("stream 1 ppid 1")) text += (await out.read()).value ?? "";
  } finally {
    child.kill("SIGTERM");
    for (;;) {
      const r = await out.read();
      if (r.done) break;
      text += r.value;
    }
    await child.stderr.cancel();
    await child.status;
  }
  assert.match(
    text,
    new RegExp(`^listening sctp 127\\.0\\.0\\.1:${port} one-to-one, 64 streams$`, "m"),
  );
  assert.match(text, /^assoc_change state=COMM_UP instr=64 outstr=64$/m);
  assert.match(text, /^got 5 bytes on stream 0 ppid 1$/m);
  assert.match(text, /^got 5 bytes on stream 1 ppid 1$/m);
  assert.match(text, /^shutdown_event$/m);
  assert.match(text, /^stopped: 1 associations, 2 messages, 10 bytes echoed$/m);
});

Deno.test("send sctp spreads messages over streams and checks echoes from a python3 server", async () => {
  await using peer = new Peer("python3", ["-c", PY_SCTP, "server"]);
  const port = Number((await peer.waitFor(/"port": (\d+)/))[1]);
  const r = await runSockbox([
    "send",
    "sctp",
    "127.0.0.1",
    String(port),
    "a",
    "bb",
    "ccc",
    "--ppid",
    "99",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const echoes = jsonLines(r.stdout).filter((e) => e.event === "echo");
  assert.deepEqual(echoes.map((e) => [e.stream, e.ppid, e.data]), [[0, 99, "a"], [1, 99, "bb"], [
    2,
    99,
    "ccc",
  ]]);
  // What python3 saw on the wire, decoded by its own struct code.
  await peer.waitFor(/"ccc"/);
  const seen = peer.seen.slice(1).map((l) => JSON.parse(l) as Ev);
  assert.deepEqual(seen.map((e) => [e.stream, e.ppid, e.data]), [[0, 99, "a"], [1, 99, "bb"], [
    2,
    99,
    "ccc",
  ]]);
});

Deno.test("send sctp --stream N --unordered --ttl reaches the server with those parameters", async () => {
  const { p, port } = await server(["-v", "--style", "one-to-many"]);
  try {
    const r = await runSockbox([
      "send",
      "sctp",
      "127.0.0.1",
      String(port),
      "x",
      "y",
      "--stream",
      "7",
      "--unordered",
      "--ttl",
      "5000",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const echoes = jsonLines(r.stdout).filter((e) => e.event === "echo");
    assert.equal(echoes.length, 2);
    for (const e of echoes) {
      assert.equal(e.stream, 7);
      assert.equal((e.flags as number) & SCTP_UNORDERED, SCTP_UNORDERED);
    }
    const m = await p.next((e) => e.event === "message");
    assert.equal(m.stream, 7);
    assert.equal((m.flags as number) & SCTP_UNORDERED, SCTP_UNORDERED);
  } finally {
    await p.stop();
  }
});

Deno.test("send sctp reads stdin lines and talks to socat's SCTP-LISTEN echo", async () => {
  await using peer = new Peer(
    "socat",
    ["-d", "-d", "SCTP-LISTEN:0,bind=127.0.0.1,fork", "PIPE"],
    "stderr",
  );
  const port = Number((await peer.waitFor(/listening on .*:(\d+)/))[1]);
  // socat writes echoes with write(2): stream 0, PPID 0.
  const r = await runSockbox([
    "send",
    "sctp",
    "127.0.0.1",
    String(port),
    "--stream",
    "0",
    "--ppid",
    "0",
    "--json",
  ], {
    stdin: "one\ntwo\n\nthree\n",
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(jsonLines(r.stdout).filter((e) => e.event === "echo").map((e) => e.data), [
    "one",
    "two",
    "three",
  ]);
  const ping = await runSockbox([
    "ping",
    "sctp",
    "127.0.0.1",
    String(port),
    "-c",
    "3",
    "-i",
    "0",
    "--json",
  ]);
  assert.equal(ping.code, 0, ping.stderr);
  const sum = jsonLines(ping.stdout).find((e) => e.event === "summary")!;
  assert.equal(sum.received, 3);
  assert.equal(sum.proto, "sctp");
});

Deno.test("socat SCTP-CONNECT gets its bytes back from serve sctp", async () => {
  const { p, port } = await server();
  try {
    const r = await sh("socat", ["-t", "2", "-", `SCTP-CONNECT:127.0.0.1:${port},shut-none`], {
      stdin: "through socat\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "through socat\n");
  } finally {
    await p.stop();
  }
});

Deno.test("multi-homing: bindx on both ends, connectx, and every peer sees two addresses", async () => {
  const { p, port } = await server(["--bind", "127.0.0.1", "--bind", "127.0.0.2"]);
  try {
    const listening = p.events[0]!;
    assert.deepEqual(listening.addresses, ["127.0.0.1", "127.0.0.2"]);
    // lksctp-tools' sctp_darn, bound to two addresses, lists our two addresses.
    // sctp_darn needs a non-zero local port for bindx: borrow a free one from the kernel.
    const probe = SctpSocket.open(4, "one-to-one");
    probe.bind("127.0.0.1", 0);
    const darnPort = String(probe.localAddress().port);
    probe.close();
    const darnArgs = ["-H", "127.0.0.1", "-P", darnPort, "-B", "127.0.0.2"];
    // stdin stays open for a second so the association is still up when the server asks
    // for its peer addresses.
    const darn = await sh("sh", [
      "-c",
      `(echo hi from darn; sleep 1) | timeout 20 sctp_darn ${darnArgs.join(" ")} ` +
      `-h 127.0.0.1 -p ${port} -s`,
    ]);
    assert.match(darn.stdout, new RegExp(`127\\.0\\.0\\.1:${port}`), darn.stderr);
    assert.match(darn.stdout, new RegExp(`127\\.0\\.0\\.2:${port}`));
    // ... and our server sees darn's two addresses.
    const up = await p.next((e) => e.event === "assoc_change" && e.state === "COMM_UP");
    assert.deepEqual((up.peers as string[]).sort(), ["127.0.0.1", "127.0.0.2"]);
    // connectx to both server addresses, from two local addresses, with --status.
    const r = await runSockbox([
      "send",
      "sctp",
      "127.0.0.1,127.0.0.2",
      String(port),
      "multi",
      "--bind",
      "127.0.0.1",
      "--bind",
      "127.0.0.2",
      "--status",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const status = jsonLines(r.stdout).find((e) => e.event === "status")!;
    assert.equal(status.state, "ESTABLISHED");
    const paths = status.paths as Ev[];
    assert.deepEqual(paths.map((x) => x.address).sort(), ["127.0.0.1", "127.0.0.2"]);
    for (const x of paths) {
      assert.equal(x.port, port);
      assert.ok((x.mtu as number) > 0 && (x.rto as number) > 0 && (x.cwnd as number) > 0);
    }
    const up2 = await p.next((e) => e.event === "assoc_change" && e.state === "COMM_UP");
    assert.deepEqual((up2.peers as string[]).sort(), ["127.0.0.1", "127.0.0.2"]);
    // Text form of --status.
    const t = await runSockbox(["send", "sctp", "127.0.0.1", String(port), "x", "--status"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(
      t.stdout,
      /^SCTP status: assoc \d+ state ESTABLISHED rwnd \d+ .*instrms 64 outstrms 64/m,
    );
    assert.match(t.stdout, /^PATH \(\* primary\)\s+STATE\s+CWND\s+SRTT\(ms\)\s+RTO\(ms\)\s+MTU$/m);
    assert.match(t.stdout, new RegExp(`^127\\.0\\.0\\.1:${port} \\*\\s+ACTIVE\\s+\\d+`, "m"));
  } finally {
    await p.stop();
  }
});

Deno.test("one-to-many serve sctp serves several concurrent clients", async () => {
  const { p, port } = await server(["--style", "one-to-many"]);
  try {
    const runs = [
      ...[0, 1, 2].map((i) =>
        runSockbox([
          "send",
          "sctp",
          "127.0.0.1",
          String(port),
          `c${i}-a`,
          `c${i}-b`,
          `c${i}-c`,
          "--json",
        ])
      ),
      ...[0, 1].map((i) =>
        py([
          "client",
          "127.0.0.1",
          String(port),
          JSON.stringify([[i, 10 + i, `py${i}`], [9, 77, `py${i}b`]]),
        ])
      ),
    ];
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    for (const r of results.slice(0, 3)) {
      assert.equal(jsonLines(r.stdout).filter((e) => e.event === "echo").length, 3);
    }
    for (const r of results.slice(3)) assert.equal(jsonLines(r.stdout).length, 2);
    await p.stop();
    const all = p.events;
    assert.equal(all.filter((e) => e.event === "assoc_change" && e.state === "COMM_UP").length, 5);
    const sum = all.find((e) => e.event === "summary")!;
    assert.equal(sum.associations, 5);
    assert.equal(sum.messages, 13);
  } finally {
    await p.stop();
  }
});

for (const style of ["one-to-one", "one-to-many"]) {
  Deno.test(`${style} serve sctp survives clients that abort or vanish`, async () => {
    const { p, port } = await server(["--style", style]);
    try {
      // ABORT (SO_LINGER 0) right after the echo.
      const a = await py([
        "client",
        "127.0.0.1",
        String(port),
        JSON.stringify([[1, 1, "bye"]]),
        "abort",
      ]);
      assert.equal(a.code, 0, a.stderr);
      const lost = await p.next((e) => e.event === "assoc_change" && e.state === "COMM_LOST");
      assert.equal(lost.event, "assoc_change");
      // A client killed while it waits on stdin, association up.
      const sc = sockboxCommand(["send", "sctp", "127.0.0.1", String(port), "--json"]);
      const cmd = new Deno.Command(sc.cmd, {
        args: sc.args,
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const w = cmd.stdin.getWriter();
      await w.write(new TextEncoder().encode("first\n"));
      const reader = cmd.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes('"echo"')) seen += (await reader.read()).value ?? "";
      cmd.kill("SIGKILL");
      await w.close().catch(() => {});
      await reader.cancel();
      await cmd.status;
      // The server still works.
      const r = await runSockbox(["send", "sctp", "127.0.0.1", String(port), "still", "here"]);
      assert.equal(r.code, 0, r.stderr);
      const { code, stderr } = await p.stop();
      assert.equal(code, 0, stderr);
    } finally {
      await p.stop();
    }
  });
}

Deno.test("send sctp refuses a stream beyond the negotiated count", async () => {
  const { p, port } = await server(["--streams", "4"]);
  try {
    const r = await runSockbox(["send", "sctp", "127.0.0.1", String(port), "x", "--stream", "10"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `sockbox: --stream 10 is beyond the 4 outbound streams the association with 127.0.0.1:${port} negotiated (0-3)`,
    );
    // --spread falls back to the granted streams and says so.
    const s = await runSockbox([
      "send",
      "sctp",
      "127.0.0.1",
      String(port),
      "a",
      "b",
      "c",
      "d",
      "e",
      "--json",
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /granted 4 outbound streams; spreading over 0-3/);
    assert.deepEqual(jsonLines(s.stdout).filter((e) => e.event === "echo").map((e) => e.stream), [
      0,
      1,
      2,
      3,
      0,
    ]);
  } finally {
    await p.stop();
  }
});

Deno.test("serve sctp reports bindx and bind failures with the address", async () => {
  const r = await runSockbox(["serve", "sctp", "0", "--bind", "127.0.0.1", "--bind", "192.0.2.1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^sockbox: bindx EADDRNOTAVAIL 192\.0\.2\.1:\d+\n$/);
  const c = await runSockbox(["send", "sctp", "127.0.0.1", "1", "x", "--timeout", "3s"]);
  assert.equal(c.code, 1);
  assert.equal(c.stderr, "sockbox: connect ECONNREFUSED 127.0.0.1:1\n");
});

Deno.test("ping sctp measures round trips to serve sctp over IPv6", async () => {
  const { p, port } = await server(["--host", "::1", "--style", "one-to-many"]);
  try {
    const r = await runSockbox([
      "ping",
      "sctp",
      "::1",
      String(port),
      "-c",
      "4",
      "-i",
      "0",
      "--stream",
      "2",
      "--ppid",
      "5",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^PING ::1 \\(\\[::1\\]:${port}\\) sctp: 64 bytes per probe$`, "m"),
    );
    assert.match(
      r.stdout,
      new RegExp(`^64 bytes from \\[::1\\]:${port}: seq=4 time=[0-9.]+ ms$`, "m"),
    );
    assert.match(r.stdout, /^4 probes sent, 4 received, 0% loss/m);
  } finally {
    await p.stop();
  }
});

Deno.test("serve sctp with tuning flags accepts associations and stops on SIGTERM with a summary", async () => {
  const { p, port } = await server([
    "--rto-min",
    "100ms",
    "--rto-max",
    "2s",
    "--heartbeat",
    "1s",
    "--max-retrans",
    "5",
  ]);
  const r = await runSockbox([
    "send",
    "sctp",
    "127.0.0.1",
    String(port),
    "tuned",
    "--rto-min",
    "50ms",
    "--heartbeat",
    "0",
    "--max-retrans",
    "3",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const { code, rest } = await p.stop("SIGTERM");
  assert.equal(code, 0);
  const sum = rest.find((e) => e.event === "summary")!;
  assert.equal(sum.messages, 1);
  assert.equal(sum.bytes, 5);
});

Deno.test("SctpSocket options, status, address lists and peel-off round-trip through the kernel", async () => {
  using srv = SctpSocket.open(4, "one-to-many");
  srv.setInitMsg({ outstreams: 10, instreams: 12 });
  srv.subscribe({ dataIo: true, association: true });
  srv.setRtoInfo({ min: 150, max: 3000 });
  assert.deepEqual(srv.getRtoInfo(), { initial: 3000, max: 3000, min: 150 });
  srv.setPeerAddrParams({ heartbeatMs: 7000 });
  assert.equal(srv.getPeerAddrParams().heartbeatMs, 7000);
  srv.setAssocMaxRetrans(7);
  assert.equal(srv.getAssocInfo().maxRetrans, 7);
  srv.setDefaultSend({ stream: 3, ppid: 1234 });
  assert.deepEqual(srv.getDefaultSend(), { stream: 3, ppid: 1234, flags: 0, ttl: 0 });
  srv.bind("127.0.0.1", 0);
  srv.bindx([{ address: "127.0.0.2", port: 0 }], "add");
  const port = srv.localAddress().port;
  assert.deepEqual(srv.localAddresses().map((a) => `${a.address}:${a.port}`), [
    `127.0.0.1:${port}`,
    `127.0.0.2:${port}`,
  ]);
  srv.bindx([{ address: "127.0.0.2", port }], "remove");
  assert.deepEqual(srv.localAddresses().map((a) => a.address), ["127.0.0.1"]);
  assert.throws(
    () => srv.bindx([{ address: "::1", port }], "add"),
    /^SysError: bindx EINVAL \[::1\]:\d+/,
  );
  srv.listen();

  using cli = SctpSocket.open(4, "one-to-one");
  cli.setInitMsg({ outstreams: 20, instreams: 20 });
  cli.subscribe({ dataIo: true, association: true });
  await cli.connect("127.0.0.1", port);
  const st = cli.status();
  assert.equal(st.state, "ESTABLISHED");
  assert.equal(st.outstreams, 12); // the server accepts at most 12 inbound
  assert.equal(st.instreams, 10);
  assert.equal(st.primary.address, "127.0.0.1");
  assert.equal(st.primary.port, port);
  assert.equal(st.primary.state, "ACTIVE");
  assert.ok(st.primary.mtu > 0 && st.primary.rto > 0);
  assert.deepEqual(cli.pathInfo("127.0.0.1", port).state, "ACTIVE");
  assert.deepEqual(cli.peerAddresses().map((a) => a.address), ["127.0.0.1"]);

  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  await cli.send(big, { stream: 11, ppid: 0xfffffffe });
  let assoc = 0;
  for (;;) {
    const m = await srv.receive();
    if (m.kind === "notification") {
      assert.equal(m.notification.type, "assoc_change");
      assoc = m.notification.assocId;
      continue;
    }
    assert.equal(m.kind, "data");
    if (m.kind !== "data") break;
    // Partial deliveries were joined into one message.
    assert.equal(m.data.length, big.length);
    assert.ok(m.data.every((b, i) => b === big[i]));
    assert.equal(m.info?.stream, 11);
    assert.equal(m.info?.ppid, 0xfffffffe);
    assert.equal(m.info?.assocId, assoc);
    break;
  }
  // Peel the association off and echo through the new one-to-one socket.
  using peeled = srv.peeloff(assoc);
  assert.equal(peeled.style, "one-to-one");
  await peeled.send(new TextEncoder().encode("peeled"), { stream: 4, ppid: 8 });
  for (;;) {
    const m = await cli.receive();
    if (m.kind !== "data") continue;
    assert.equal(new TextDecoder().decode(m.data), "peeled");
    assert.equal(m.info?.stream, 4);
    assert.equal(m.info?.ppid, 8);
    break;
  }
  await assert.rejects(cli.send(new Uint8Array(1), { stream: 12 }), /^SysError: sendmsg EINVAL/);
  cli.close();
  peeled.close();
  srv.close();
  await reactor.idle();
});

Deno.test("serveSctp and sendSctp work in-process (library API)", async () => {
  const ac = new AbortController();
  const events: Record<string, unknown>[] = [];
  const s = serveSctp({
    port: 0,
    addresses: ["127.0.0.1"],
    style: "one-to-many",
    streams: 8,
    signal: ac.signal,
    onEvent: (e) => events.push(e),
  });
  const echoes: Record<string, unknown>[] = [];
  const r = await sendSctp({
    addresses: ["127.0.0.1"],
    port: s.port,
    streams: 8,
    messages: ["a", "b", "c"].map((x) => new TextEncoder().encode(x)),
    timeoutMs: 10_000,
    status: true,
    signal: new AbortController().signal,
    onEvent: (e) => echoes.push(e),
  });
  assert.equal(r.sent, 3);
  assert.equal(r.received, 3);
  assert.equal(r.status?.outstreams, 8);
  assert.deepEqual(echoes.filter((e) => e.event === "echo").map((e) => e.stream), [0, 1, 2]);
  ac.abort();
  const sum = await s.finished;
  assert.equal(sum.messages, 3);
  assert.ok(events.some((e) => e.event === "assoc_change"));
  await reactor.idle();
});
