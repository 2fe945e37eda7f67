/**
 * `sockbox ping tcp|udp` on the ffi engine (the synchronous libc prober in a Worker)
 * against peers nobody here wrote: python3 and socat echo servers over IPv4 and IPv6, a
 * python3 peer that drops every third datagram, a UDP port where nothing listens, SIGINT,
 * `--bind` as the peer sees it, and socket options read back in the `connected` event.
 * One test keeps the Deno-socket engine (`--engine deno`) honest against the same peer.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  jsonLines,
  JsonProcess,
  pyEchoPeer,
  requires,
  runSockbox,
  socatEcho,
  SockboxProcess,
} from "./helpers.ts";

/** Pings `host:port` 5 times on the ffi engine and checks every probe and the summary. */
async function pingAll(proto: "tcp" | "udp", host: string, port: number, label: string) {
  const flags = ["-c", "5", "-i", "10ms", "-s", "100", "--engine", "ffi", "--json"];
  const r = await runSockbox(["ping", proto, host, String(port), ...flags]);
  assert.equal(r.code, 0, `${label}: ${r.stderr}`);
  const evs = jsonLines(r.stdout);
  assert.deepEqual(evs.slice(0, 2).map((e) => e.event), ["start", "connected"], label);
  const c = evs[1]!;
  assert.equal(c.peer, host, label);
  assert.equal(c.local, host, label);
  assert.ok((c.local_port as number) > 0, label);
  const replies = evs.filter((e) => e.event === "reply");
  assert.deepEqual(replies.map((e) => e.seq), [1, 2, 3, 4, 5], label);
  assert.ok(replies.every((e) => e.bytes === 100 && (e.rtt_ms as number) > 0), label);
  const sum = evs.at(-1)!;
  assert.equal(sum.event, "summary", label);
  assert.deepEqual(
    [sum.sent, sum.received, sum.lost, sum.late, sum.duplicates, sum.corrupt],
    [5, 5, 0, 0, 0, 0],
    label,
  );
  const [min, p50, p99, max] = [sum.min_ms, sum.p50_ms, sum.p99_ms, sum.max_ms] as number[];
  assert.ok(0 < min! && min! <= p50! && p50! <= p99! && p99! <= max!, label);
}

Deno.test(requires(["python3"], {
  name: "ping --engine ffi gets every echo from python3 peers over TCP and UDP, IPv4",
  async fn() {
    for (const proto of ["tcp", "udp"] as const) {
      await using peer = await pyEchoPeer(proto);
      await pingAll(proto, "127.0.0.1", peer.port, `python3 ${proto}4`);
    }
  },
}));

Deno.test(requires(["python3", "ipv6"], {
  name: "ping --engine ffi gets every echo from python3 peers over TCP and UDP, IPv6",
  async fn() {
    for (const proto of ["tcp", "udp"] as const) {
      await using peer = await pyEchoPeer(proto, { host: "::1" });
      await pingAll(proto, "::1", peer.port, `python3 ${proto}6`);
    }
  },
}));

Deno.test(requires(["socat", "ss", "ipv6"], {
  name: "ping --engine ffi gets every echo from socat over TCP and UDP, IPv4 and IPv6",
  async fn() {
    for (const kind of ["tcp4", "udp4", "tcp6", "udp6"] as const) {
      await using s = await socatEcho(kind);
      const host = kind.endsWith("6") ? "::1" : "127.0.0.1";
      await pingAll(kind.slice(0, 3) as "tcp" | "udp", host, s.port, `socat ${kind}`);
    }
  },
}));

Deno.test(requires(["python3"], {
  name: "ping counts the datagrams a python3 peer drops as lost, one timeout line each",
  async fn() {
    await using peer = await pyEchoPeer("udp", { mode: "drop3" });
    const args = ["ping", "udp", "127.0.0.1", String(peer.port), "-c", "6", "-i", "0"];
    const r = await runSockbox([...args, "--timeout", "300ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const evs = jsonLines(r.stdout);
    assert.deepEqual(evs.filter((e) => e.event === "reply").map((e) => e.seq), [1, 2, 4, 5]);
    assert.deepEqual(
      evs.filter((e) => e.event === "timeout").map((e) => [e.seq, e.timeout_ms]),
      [[3, 300], [6, 300]],
    );
    const sum = evs.at(-1)!;
    assert.deepEqual(
      [sum.event, sum.sent, sum.received, sum.lost, sum.loss_pct, sum.late],
      ["summary", 6, 4, 2, 33.3, 0],
    );
    // Each timeout waited its whole --timeout: the run cannot be shorter than two of them.
    assert.ok((sum.time_ms as number) >= 600, `time ${sum.time_ms} ms`);
    const t = await runSockbox([...args, "--timeout", "300ms"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^no echo for seq=3 within 300ms$/m);
    assert.match(t.stdout, /^6 probes sent, 4 received, 33\.3% loss, time \d+ms$/m);
  },
}));

Deno.test("ping --engine ffi counts probes to a UDP port where nothing listens as refused", async () => {
  const hold = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (hold.addr as Deno.NetAddr).port;
  hold.close();
  const flags = ["-c", "3", "-i", "50ms", "--engine", "ffi", "--json"];
  const r = await runSockbox(["ping", "udp", "127.0.0.1", String(port), ...flags]);
  assert.equal(r.code, 1);
  const evs = jsonLines(r.stdout);
  assert.deepEqual(evs.filter((e) => e.event === "refused").map((e) => e.seq), [1, 2, 3]);
  const sum = evs.at(-1)!;
  assert.deepEqual([sum.sent, sum.refused, sum.lost, sum.received], [3, 3, 0, 0]);
  assert.equal(
    r.stderr,
    `sockbox: no echo from 127.0.0.1:${port}: 3 of 3 probes refused (port unreachable: nothing listens there)\n`,
  );
});

Deno.test("ping --engine ffi reports a refused TCP connect as one line naming it", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await runSockbox(["ping", "tcp", "127.0.0.1", String(port), "-c", "1"]);
  assert.deepEqual([r.code, r.stderr], [1, `sockbox: connect ECONNREFUSED 127.0.0.1:${port}\n`]);
});

Deno.test(requires(["python3"], {
  name: "ping --engine ffi without -c stops on SIGINT, prints the summary and exits 0",
  async fn() {
    for (const proto of ["udp", "tcp"] as const) {
      await using peer = await pyEchoPeer(proto);
      const flags = ["-i", "20ms", "--engine", "ffi", "--json"];
      await using p = new SockboxProcess(["ping", proto, "127.0.0.1", String(peer.port), ...flags]);
      await p.next((e) => e.event === "reply" && e.seq === 3, 30_000);
      const { code, rest, stderr } = await p.stop("SIGINT");
      assert.equal(code, 0, stderr);
      const sum = rest.at(-1)!;
      assert.equal(sum.event, "summary", proto);
      const sent = sum.sent as number, received = sum.received as number;
      assert.ok(sent >= 3 && received >= 3 && received >= sent - 1, JSON.stringify(sum));
    }
  },
}));

Deno.test(requires(["python3"], {
  name: "ping --bind sends from that address and port, as the python3 peer sees it",
  async fn() {
    for (const proto of ["udp", "tcp"] as const) {
      await using peer = await pyEchoPeer(proto);
      // A free port on 127.0.0.2 (the kernel's pick, released just before).
      const probe = proto === "udp"
        ? Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: 0 })
        : Deno.listen({ hostname: "127.0.0.2", port: 0 });
      const src = (probe.addr as Deno.NetAddr).port;
      probe.close();
      const flags = ["-c", "2", "-i", "0", "--bind", `127.0.0.2:${src}`, "--json"];
      const r = await runSockbox(["ping", proto, "127.0.0.1", String(peer.port), ...flags]);
      assert.equal(r.code, 0, r.stderr);
      const c = jsonLines(r.stdout).find((e) => e.event === "connected")!;
      assert.deepEqual([c.local, c.local_port], ["127.0.0.2", src], proto);
      const seen = await peer.next((e) => e.peer !== undefined);
      assert.deepEqual([seen.peer, seen.peer_port], ["127.0.0.2", src], proto);
    }
  },
}));

Deno.test(requires(["python3"], {
  name: "ping reads the socket options back in its connected event, and -v prints them",
  async fn() {
    await using u = await pyEchoPeer("udp");
    const flags = ["-c", "1", "--ttl", "7", "--tos", "ef", "--rcvbuf", "65536", "--json"];
    const r = await runSockbox(["ping", "udp", "127.0.0.1", String(u.port), ...flags]);
    assert.equal(r.code, 0, r.stderr);
    const o = jsonLines(r.stdout).find((e) => e.event === "connected")!.options as Record<
      string,
      unknown
    >;
    // socket(7): the kernel doubles SO_RCVBUF.
    assert.deepEqual([o.ttl, o.tos, o.rcvbuf, o.nodelay], [7, 184, 131072, undefined]);

    await using t = await pyEchoPeer("tcp");
    const args = ["ping", "tcp", "127.0.0.1", String(t.port), "-c", "1"];
    const d = await runSockbox([...args, "--json"]);
    const dflt = jsonLines(d.stdout).find((e) => e.event === "connected")!.options as Record<
      string,
      unknown
    >;
    assert.equal(dflt.nodelay, true, "ping turns Nagle off unless told --no-nodelay");
    const v = await runSockbox([...args, "--no-nodelay", "--keepalive", "60,5,3", "-v"]);
    assert.equal(v.code, 0, v.stderr);
    const lines = v.stdout.split("\n");
    assert.match(
      lines[1]!,
      new RegExp(
        `^connected tcp 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${t.port} options rcvbuf=\\d+ ` +
          "sndbuf=\\d+ ttl=64 tos=cs0 .*nodelay=off keepalive=60,5,3 ",
      ),
    );
    assert.match(lines[2]!, /^64 bytes from 127\.0\.0\.1:\d+: seq=1 time=\d+\.\d{3} ms$/);
    // Without -v the text has no connected line.
    const q = await runSockbox(args);
    assert.doesNotMatch(q.stdout, /^connected /m);
  },
}));

Deno.test(requires(["python3"], {
  name: "ping --engine deno (Deno's sockets) still pings and reports the same events",
  async fn() {
    for (const proto of ["udp", "tcp"] as const) {
      await using peer = await pyEchoPeer(proto);
      const flags = ["-c", "3", "-i", "0", "--engine", "deno", "--json"];
      const r = await runSockbox(["ping", proto, "127.0.0.1", String(peer.port), ...flags]);
      assert.equal(r.code, 0, r.stderr);
      const evs = jsonLines(r.stdout);
      assert.deepEqual(evs.map((e) => e.event), ["start", "reply", "reply", "reply", "summary"]);
    }
  },
}));

Deno.test(requires(["python3"], {
  name: "ping tcp --engine ffi ends with the summary, then one line, when the server closes",
  async fn() {
    const py = String.raw`
import json, socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(json.dumps({"port": s.getsockname()[1]}), flush=True)
c, _ = s.accept()
for _ in range(2):
    c.sendall(c.recv(64, socket.MSG_WAITALL))
c.close()
import time; time.sleep(30)
`;
    await using p = new JsonProcess(["python3", "-c", py]);
    const port = (await p.next((e) => typeof e.port === "number")).port as number;
    const flags = ["-c", "5", "-i", "20ms", "--engine", "ffi", "--json"];
    const r = await runSockbox(["ping", "tcp", "127.0.0.1", String(port), ...flags]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `sockbox: 127.0.0.1:${port} closed the connection\n`);
    const evs = jsonLines(r.stdout);
    assert.deepEqual(evs.filter((e) => e.event === "reply").map((e) => e.seq), [1, 2]);
    assert.deepEqual([evs.at(-1)!.event, evs.at(-1)!.received], ["summary", 2]);
  },
}));
