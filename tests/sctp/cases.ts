/**
 * The SCTP test cases. They need a kernel with SCTP, so `deno test` does not pick this
 * file up by name: tests/sctp_test.ts imports it where the kernel has SCTP, and otherwise
 * runs it inside User-Mode Linux (`deno test -A tests/sctp/cases.ts`) and reports each
 * case's result. The names of the cases, in order, are listed in `SCTP_CASES` in
 * tests/sctp_test.ts: the UML run fails when the inner names differ from that list, so a
 * case that goes missing (or a new one) cannot pass unnoticed.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  delay,
  jsonLines,
  JsonProcess,
  runSockbox,
  sh,
  silentPort,
  sockboxCommand,
  SockboxProcess,
  TextProcess,
} from "../helpers.ts";
import { Peer, PY_SCTP } from "./peers.ts";
import { reactor } from "../../lib/ffi/reactor.ts";
import { SctpSocket } from "../../lib/ffi/sctp.ts";
import { serveSctp } from "../../lib/net/sctp/server.ts";
import { sendSctp } from "../../lib/net/sctp/client.ts";

type Ev = Record<string, unknown>;

/** sinfo_flags bit for unordered delivery (linux/sctp.h, enum sctp_sinfo_flags). */
const SCTP_UNORDERED = 1;

// Load libc before any test, so the FFI test's leak check does not count it.
SctpSocket.available();

async function server(args: string[] = []): Promise<{ p: SockboxProcess; port: number }> {
  const p = new SockboxProcess(["serve", "sctp", "0", "--json", ...args]);
  const { port } = await p.listening();
  return { p, port };
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

Deno.test("serve sctp prints the Solaris guide's echo server lines in text mode", async () => {
  const cmd = sockboxCommand(["serve", "sctp", "0", "--host", "127.0.0.1", "-v"]);
  await using srv = new TextProcess([cmd.cmd, ...cmd.args]);
  const m = await srv.out.until(/^listening sctp 127\.0\.0\.1:(\d+) one-to-one, 64 streams$/m);
  const port = Number((m as RegExpExecArray)[1]);
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
  await srv.out.until(/^shutdown_event$/m);
  const { code, stdout: text } = await srv.stop("SIGTERM");
  assert.equal(code, 0);
  assert.match(text, /^assoc_change state=COMM_UP instr=64 outstr=64$/m);
  assert.match(text, /^got 5 bytes on stream 0 ppid 1$/m);
  assert.match(text, /^got 5 bytes on stream 1 ppid 1$/m);
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
    // lksctp-tools' sctp_darn, bound to two addresses, lists our two addresses. It needs a
    // non-zero local port for bindx: one below the ephemeral range, which no port-0 bind
    // can take (nothing else here binds fixed ports).
    const [low] = (await Deno.readTextFile("/proc/sys/net/ipv4/ip_local_port_range")).trim()
      .split(/\s+/).map(Number);
    const darnPort = String(10000 + Math.floor(Math.random() * (low! - 10000)));
    const darnArgs = ["-H", "127.0.0.1", "-P", darnPort, "-B", "127.0.0.2"];
    // stdin stays open until the server has reported the association (with the peer's
    // addresses) and darn has its echo; closing it then ends darn.
    await using darn = new TextProcess(
      ["sctp_darn", ...darnArgs, "-h", "127.0.0.1", "-p", String(port), "-s"],
      { stdin: "piped" },
    );
    const dw = darn.child.stdin.getWriter();
    await dw.write(new TextEncoder().encode("hi from darn\n"));
    // ... and our server sees darn's two addresses.
    const up = await p.next((e) => e.event === "assoc_change" && e.state === "COMM_UP");
    assert.deepEqual((up.peers as string[]).sort(), ["127.0.0.1", "127.0.0.2"]);
    await darn.out.until(new RegExp(`127\\.0\\.0\\.2:${port}`), 20_000);
    await dw.close();
    const d = await darn.finish();
    assert.match(d.stdout, new RegExp(`127\\.0\\.0\\.1:${port}`), d.stderr);
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
      // A client killed (its whole process group: sockbox, not only deno task) while it
      // waits on stdin with the association up: the kernel ends the association.
      const sc = sockboxCommand(["send", "sctp", "127.0.0.1", String(port), "--json"]);
      await using client = new TextProcess([sc.cmd, ...sc.args], { stdin: "piped" });
      const w = client.child.stdin.getWriter();
      await w.write(new TextEncoder().encode("first\n"));
      await client.out.until('"echo"');
      await p.next((e) => e.event === "assoc_change" && e.state === "COMM_UP");
      await client.stop("SIGKILL");
      await w.close().catch(() => {});
      await p.next((e) =>
        (e.event === "assoc_change" && (e.state === "COMM_LOST" || e.state === "SHUTDOWN_COMP")) ||
        e.event === "shutdown_event"
      );
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
  // A port bound by python3 without listen(2): its INIT is answered with ABORT.
  await using closed = await silentPort("sctp");
  const c = await runSockbox([
    "send",
    "sctp",
    "127.0.0.1",
    String(closed.port),
    "x",
    "--timeout",
    "3s",
  ]);
  assert.equal(c.code, 1);
  assert.equal(c.stderr, `sockbox: connect ECONNREFUSED 127.0.0.1:${closed.port}\n`);
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

/** /proc/net/sctp/assocs: one row per association (sctp_assocs_seq_show, net/sctp/proc.c). */
async function procAssocs(): Promise<
  { id: number; lport: number; rport: number; hbint: number; maxrt: number }[]
> {
  const rows = (await Deno.readTextFile("/proc/net/sctp/assocs")).split("\n").slice(1);
  return rows.filter((l) => l.trim() !== "").map((l) => {
    const [left, right] = l.split("\t") as [string, string];
    const f = left.trim().split(/\s+/);
    const g = right.trim().split(/\s+/);
    // ASSOC SOCK STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT ...
    // <tab> HBINT INS OUTS MAXRT ...
    return {
      id: Number(f[6]),
      lport: Number(f[11]),
      rport: Number(f[12]),
      hbint: Number(g[0]),
      maxrt: Number(g[3]),
    };
  });
}

/** /proc/net/sctp/remaddr: one row per peer address: ADDR ASSOC_ID HB_ACT RTO ... */
async function procRemaddr(): Promise<{ address: string; id: number; rto: number }[]> {
  const rows = (await Deno.readTextFile("/proc/net/sctp/remaddr")).split("\n").slice(1);
  return rows.filter((l) => l.trim() !== "").map((l) => {
    const f = l.trim().split(/\s+/);
    return { address: f[0]!, id: Number(f[1]), rto: Number(f[3]) };
  });
}

Deno.test("serve sctp and send sctp apply the tuning flags (read back from /proc/net/sctp and --status)", async () => {
  const { p, port } = await server([
    "--host",
    "127.0.0.1",
    "--rto-min",
    "200ms",
    "--rto-max",
    "2s",
    "--heartbeat",
    "1s",
    "--max-retrans",
    "5",
  ]);
  try {
    // The client keeps its association up (reading stdin) while the kernel's tables are read.
    // It sets no heartbeat, so its association has the kernel default, net.sctp.hb_interval:
    // the yardstick for the jiffies the /proc tables count in.
    const sc = sockboxCommand([
      "send",
      "sctp",
      "127.0.0.1",
      String(port),
      "--rto-min",
      "100ms",
      "--max-retrans",
      "3",
      "--status",
      "--json",
    ]);
    await using client = new TextProcess([sc.cmd, ...sc.args], { stdin: "piped" });
    const w = client.child.stdin.getWriter();
    await w.write(new TextEncoder().encode("tuned\n"));
    await client.out.until('"echo"', 30_000);

    const assocs = await procAssocs();
    const srv = assocs.filter((a) => a.lport === port);
    const cli = assocs.filter((a) => a.rport === port);
    assert.equal(srv.length, 1, JSON.stringify(assocs));
    assert.equal(cli.length, 1, JSON.stringify(assocs));
    const defaultHbMs = Number((await Deno.readTextFile("/proc/sys/net/sctp/hb_interval")).trim());
    const hz = (cli[0]!.hbint * 1000) / defaultHbMs;
    assert.ok([100, 250, 300, 1000].includes(hz), `HZ ${hz} from ${JSON.stringify(cli)}`);
    const jiffies = (ms: number) => (ms * hz) / 1000;
    assert.equal(srv[0]!.hbint, jiffies(1000), "server --heartbeat 1s");
    assert.equal(srv[0]!.maxrt, 5, "server --max-retrans 5");
    assert.equal(cli[0]!.maxrt, 3, "client --max-retrans 3");
    // After a round trip on loopback the RTO is the smallest allowed: --rto-min.
    const paths = await procRemaddr();
    const srvPath = paths.find((x) => x.id === srv[0]!.id && x.address === "127.0.0.1");
    const cliPath = paths.find((x) => x.id === cli[0]!.id && x.address === "127.0.0.1");
    assert.equal(srvPath?.rto, jiffies(200), `server --rto-min 200ms: ${JSON.stringify(paths)}`);
    assert.equal(cliPath?.rto, jiffies(100), `client --rto-min 100ms: ${JSON.stringify(paths)}`);

    await w.close();
    const c = await client.finish(30_000);
    assert.equal(c.code, 0, c.stderr);
    const status = jsonLines(c.stdout).find((e) => e.event === "status")!;
    assert.equal((status.primary as Ev).rto, 100);

    const { code, rest } = await p.stop("SIGTERM");
    assert.equal(code, 0);
    const sum = rest.find((e) => e.event === "summary")!;
    assert.equal(sum.messages, 1);
    assert.equal(sum.bytes, 5);
  } finally {
    await p.stop();
  }
});

Deno.test("SctpSocket options, status, address lists and peel-off round-trip through the kernel", async () => {
  using srv = SctpSocket.open(4, "one-to-many");
  srv.setInitMsg({ outstreams: 10, instreams: 12 });
  srv.subscribe({ dataIo: true, association: true });
  srv.setRtoInfo({ min: 150, max: 3000 });
  assert.deepEqual(srv.getRtoInfo(), { initial: 3000, max: 3000, min: 150 });
  srv.setPeerAddrParams({ heartbeatMs: 7000 });
  assert.equal(srv.getPeerAddrParams().heartbeatMs, 7000);
  assert.equal(srv.getPeerAddrParams().heartbeat, true);
  srv.setPeerAddrParams({ heartbeatMs: 0 }); // what --heartbeat 0 does: SPP_HB_DISABLE
  assert.equal(srv.getPeerAddrParams().heartbeat, false);
  srv.setPeerAddrParams({ heartbeatMs: 7000 });
  assert.equal(srv.getPeerAddrParams().heartbeat, true);
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

Deno.test("check: SCTP is ok against serve all (IPv4 and IPv6), refused where nothing listens", async () => {
  const srv = new SockboxProcess(["serve", "all", "0", "--json"]);
  try {
    const up: Ev[] = [];
    while (up.length < 3) up.push(await srv.next((e) => e.event === "listening"));
    assert.deepEqual(up.map((e) => `${e.proto} ${e.up}`), ["tcp true", "udp true", "sctp true"]);
    const port = String(up[0]!.port);
    const ok = await runSockbox(["check", "127.0.0.1", "::1", port, "--json", "-c", "2"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(
      jsonLines(ok.stdout).filter((e) => e.event === "cell" && e.proto === "sctp")
        .map((e) => [e.address, e.result, e.sent, e.received]),
      [["127.0.0.1", "ok", 2, 2], ["::1", "ok", 2, 2]],
    );
    // A bound SCTP port that does not listen answers INIT with ABORT (RFC 9260 8.4).
    using closed = SctpSocket.open(4, "one-to-one");
    closed.bind("127.0.0.1", 0);
    const closedPort = String(closed.localAddress().port);
    const r = await runSockbox(["check", "127.0.0.1", closedPort, "--proto", "sctp", "--json"]);
    assert.equal(r.code, 1);
    const cell = jsonLines(r.stdout).find((e) => e.event === "cell")!;
    assert.deepEqual([cell.result, cell.reason], ["refused", "SCTP ABORT"]);
  } finally {
    await srv.stop();
  }
});

// --- inetd mode over SCTP (--exec): one child per association ---

/** A python3 SCTP client that sends messages and reads until `want` has arrived. */
const PY_EXEC_CLIENT = String.raw`
import json, socket, struct, sys
SOL_SCTP = 132
def sndrcv(stream, ppid):
    return struct.pack("=HHHxx", stream, 0, 0) + struct.pack(">I", ppid) + struct.pack("=IIIIi", 0, 0, 0, 0, 0)
host, port, want, msgs = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), json.loads(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.setsockopt(SOL_SCTP, 11, bytes([1, 0, 0, 0, 0, 0]))  # SCTP_EVENTS: data_io only
s.connect((host, port))
for stream, ppid, text in msgs:
    s.sendmsg([text.encode()], [(SOL_SCTP, 1, sndrcv(stream, ppid))])
s.settimeout(20)
got, infos = b"", []
while len(got) < len(want):
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(32))
    if flags & 0x8000:
        continue
    if not data:
        break
    got += data
    for level, typ, d in anc:
        if level == SOL_SCTP and typ == 1:
            infos.append([struct.unpack_from("=H", d, 0)[0], struct.unpack_from(">I", d, 8)[0]])
print(json.dumps({"data": got.decode(), "infos": infos}))
s.close()
`;

Deno.test("serve sctp --exec runs a child per association with the first message's stream and PPID", async () => {
  const { p, port } = await server([
    "--host",
    "127.0.0.1",
    "--sh-exec",
    "echo $SOCKBOX_PROTO $SOCKBOX_SCTP_STREAM $SOCKBOX_SCTP_PPID $SOCKBOX_REMOTE_ADDR; " +
    "exec stdbuf -o0 tr a-z A-Z",
  ]);
  try {
    const want = "sctp 3 42 127.0.0.1\nHELLOWORLD";
    const r = await sh("python3", [
      "-c",
      PY_EXEC_CLIENT,
      "127.0.0.1",
      String(port),
      want,
      JSON.stringify([[3, 42, "hello"], [3, 42, "world"]]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { data: string; infos: number[][] };
    assert.equal(got.data, want);
    assert.ok(got.infos.length >= 2);
    assert.ok(got.infos.every(([stream, ppid]) => stream === 3 && ppid === 42));
    const close = await p.next((e) => e.event === "close");
    assert.equal(close.proto, "sctp");
    assert.equal(close.bytes_in, 10);
    assert.ok(["exit", "peer-reset"].includes(close.reason as string), String(close.reason));
  } finally {
    const { rest } = await p.stop();
    assert.equal(rest.at(-1)!.children, 1);
  }
});

Deno.test('one-to-many serve sctp --exec "tr a-z A-Z" answers each association from its own child', async () => {
  const { p, port } = await server([
    "--host",
    "127.0.0.1",
    "--style",
    "one-to-many",
    "--exec",
    "stdbuf -o0 tr a-z A-Z",
  ]);
  try {
    const one = (text: string) =>
      sh("python3", [
        "-c",
        PY_EXEC_CLIENT,
        "127.0.0.1",
        String(port),
        text.toUpperCase(),
        JSON.stringify([[0, 7, text]]),
      ]);
    const [a, b] = await Promise.all([one("first association"), one("second one")]);
    assert.equal(JSON.parse(a.stdout).data, "FIRST ASSOCIATION", a.stderr);
    assert.equal(JSON.parse(b.stdout).data, "SECOND ONE", b.stderr);
    const spawns = [
      await p.next((e) => e.event === "spawn"),
      await p.next((e) => e.event === "spawn"),
    ];
    assert.notEqual(spawns[0]!.pid, spawns[1]!.pid);
  } finally {
    const { rest } = await p.stop();
    const s = rest.at(-1)!;
    assert.deepEqual([s.proto, s.connections, s.children], ["sctp", 2, 2]);
  }
});

// --- life cycle, socket options and limits ---

/**
 * python3 SCTP one-to-one client. `idle HOST PORT`: one echo, then waits for the server to
 * end the association. `busy HOST PORT`: a 100-byte echo every 20 ms until the association
 * ends, each one printed as `{"t": MS}` (wall clock). Both print `{"up": 1}` after the first
 * echo and `{"end": ..., "echoed": N}` at the end.
 */
const PY_LIFE = String.raw`
import json, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.setsockopt(132, 11, bytes([1, 0, 0, 0, 0, 0]))  # SCTP_EVENTS: data_io only
s.connect((host, port))
s.settimeout(20)
n, end, t0 = 0, "timeout", time.time()
while time.time() - t0 < 30:
    try:
        if mode == "busy" or n == 0:
            s.send(b"x" * 100)
        d = s.recv(65536)
    except OSError as e:
        end = type(e).__name__
        break
    if not d:
        end = "eof"
        break
    n += 1
    if n == 1:
        print(json.dumps({"up": 1}), flush=True)
    if mode == "busy":
        print(json.dumps({"t": time.time() * 1000}), flush=True)
        time.sleep(0.02)
print(json.dumps({"end": end, "echoed": n}), flush=True)
`;

const life = (mode: "idle" | "busy", port: number) =>
  new JsonProcess(["python3", "-c", PY_LIFE, mode, "127.0.0.1", String(port)]);

/** `serve sctp 0 --json ARGS`, allowing for a slow start under UML on a busy host. */
async function slowServer(args: string[]): Promise<{ p: SockboxProcess; port: number }> {
  const p = new SockboxProcess(["serve", "sctp", "0", "--json", ...args]);
  const ev = await p.next((e) => e.event === "listening", 90_000);
  return { p, port: ev.port as number };
}

Deno.test("serve sctp --deny/--allow refuse associations with reject lines, counted in the summary", async () => {
  for (
    const [style, flag, refusedReason] of [
      ["one-to-one", ["--deny", "127.0.0.1"], "denied"],
      ["one-to-many", ["--allow", "127.0.0.2/32"], "not-allowed"],
    ] as const
  ) {
    const { p, port } = await slowServer(["--host", "127.0.0.1", "--style", style, ...flag]);
    try {
      const send = (extra: string[]) =>
        runSockbox(["send", "sctp", "127.0.0.1", String(port), "hi", "--timeout", "3s", ...extra]);
      const ok = await send(["--bind", "127.0.0.2"]);
      assert.equal(ok.code, 0, `${style}: ${ok.stderr}`);
      const no = await send([]);
      assert.equal(no.code, 1, `${style}: refused client exit ${no.code}: ${no.stdout}`);
      const rej = await p.next((e) => e.event === "reject");
      assert.deepEqual([rej.proto, rej.peer, rej.reason], ["sctp", "127.0.0.1", refusedReason]);
    } finally {
      const { code, rest } = await p.stop();
      assert.equal(code, 0);
      const s = rest.at(-1)!;
      assert.equal(s.event, "summary");
      assert.deepEqual(s.refused, { [refusedReason]: 1 }, style);
      assert.equal(s.associations, 1, style);
      assert.equal(s.messages, 1, style);
    }
  }
});

Deno.test("serve sctp sets socket options before bind and reads them back in listening", async () => {
  const p = new SockboxProcess([
    "serve",
    "sctp",
    "0",
    "--host",
    "::",
    "--rcvbuf",
    "65536",
    "--tos",
    "ef",
    "--reuseport",
    "--v6only",
    "--json",
  ]);
  try {
    const ev = await p.next((e) => e.event === "listening", 90_000);
    const o = ev.options as Ev;
    assert.ok(o, JSON.stringify(ev));
    assert.equal(o.rcvbuf, 131072); // socket(7): the kernel doubles SO_RCVBUF
    assert.equal(o.tos, 184);
    assert.equal(o.reuseport, true);
    assert.equal(o.v6only, true);
    assert.equal(o.nodelay, undefined); // the tcp(7) options are not read on SCTP
    const port = String(ev.port);
    const v6 = await runSockbox(["send", "sctp", "::1", port, "x", "--timeout", "5s"]);
    assert.equal(v6.code, 0, v6.stderr);
    // IPV6_V6ONLY was set before bind: IPv4 peers get no association.
    const v4 = await runSockbox(["send", "sctp", "127.0.0.1", port, "x", "--timeout", "2s"]);
    assert.equal(v4.code, 1, v4.stdout);
  } finally {
    const { code } = await p.stop();
    assert.equal(code, 0);
  }
});

Deno.test("serve sctp prints the summary so far on SIGHUP and keeps serving", async () => {
  const { p, port } = await slowServer(["--host", "127.0.0.1"]);
  try {
    const send = () => runSockbox(["send", "sctp", "127.0.0.1", String(port), "hello"]);
    assert.equal((await send()).code, 0);
    for (let i = 0; i < 2; i++) {
      p.child.kill("SIGHUP");
      const s = await p.next((e) => e.event === "summary");
      assert.deepEqual(
        [s.running, s.associations, s.messages, s.bytes],
        [true, 1, 1, 5],
        JSON.stringify(s),
      );
    }
    assert.equal((await send()).code, 0);
  } finally {
    const { code, rest } = await p.stop();
    assert.equal(code, 0);
    const s = rest.at(-1)!;
    assert.deepEqual([s.event, s.running, s.associations, s.messages], [
      "summary",
      undefined,
      2,
      2,
    ]);
  }
});

Deno.test("serve sctp drains on SIGTERM: idle associations end (one-to-one at once), busy ones at --drain", async () => {
  for (const style of ["one-to-one", "one-to-many"]) {
    const { p, port } = await slowServer([
      "--host",
      "127.0.0.1",
      "--style",
      style,
      "--drain",
      "2s",
    ]);
    const idle = life("idle", port), busy = life("busy", port);
    try {
      await idle.next((e) => e.up === 1, 60_000);
      await busy.next((e) => e.up === 1, 60_000);
      const t0 = performance.now(), killedAt = Date.now();
      p.child.kill("SIGTERM");
      const exited = p.child.status.then(() => performance.now() - t0);
      // No new association once stopped (one-to-one: listener closed; one-to-many: listen 0).
      await delay(300);
      const late = await runSockbox([
        "send",
        "sctp",
        "127.0.0.1",
        String(port),
        "x",
        "--timeout",
        "2s",
      ]);
      assert.equal(late.code, 1, `${style}: a new association was served: ${late.stdout}`);
      const busyEnd = await busy.next((e) => "end" in e, 60_000);
      const idleEnd = await idle.next((e) => "end" in e, 60_000);
      if (style === "one-to-one") {
        assert.equal(idleEnd.end, "eof", `${style}: ${JSON.stringify(idleEnd)}`);
      } else {
        // One socket holds every association, so the drain's quiet rule applies to the
        // socket: the idle association ends with the busy one, by SHUTDOWN when the socket
        // went quiet before --drain, by ABORT when the deadline closed it with unread data.
        assert.ok(
          idleEnd.end === "eof" || idleEnd.end === "ConnectionResetError",
          `${style}: ${JSON.stringify(idleEnd)}`,
        );
      }
      // The busy association went on being echoed after the signal, during the drain.
      const after = busy.events.filter((e) => typeof e.t === "number" && e.t > killedAt + 50);
      assert.ok(after.length > 0, `${style}: no echo after SIGTERM: ${JSON.stringify(busyEnd)}`);
      const exitMs = await exited;
      assert.ok(exitMs < 2000 + 8000, `${style}: exited after ${exitMs}ms (drain 2s)`);
      const { code, rest } = await p.stop();
      assert.equal(code, 0);
      const s = p.events.at(-1)!;
      assert.equal(s.event, "summary", JSON.stringify(rest));
      // Every echo the clients counted was echoed, those during the drain too.
      assert.ok((s.messages as number) >= (busyEnd.echoed as number) + 1, JSON.stringify(s));
    } finally {
      await p.stop();
      await idle.stop();
      await busy.stop();
    }
  }
});
