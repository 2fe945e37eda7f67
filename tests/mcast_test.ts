/**
 * `sockbox mcast` against a python3 peer that uses plain socket options, across network
 * namespaces joined by bridges (tests/netns.ts), over IPv4 and IPv6.
 */
import assert from "node:assert/strict";
import {
  type Capability,
  jsonLines,
  requires,
  runSockbox,
  sh,
  sockboxCommand,
  TextProcess,
} from "./helpers.ts";
import { JsonProcess, Lan, randomPort, TermSockbox } from "./netns.ts";

const PEER = new URL("./mcast_peer.py", import.meta.url).pathname;
const LAN: Capability[] = ["ipnetns", "python3"];

/** A python3 peer inside host `i`, read as JSON lines. */
function python(lan: Lan, i: number, args: string[]): JsonProcess {
  return new JsonProcess([...lan.wrap(i), "python3", "-u", PEER, ...args]);
}

function sockbox(lan: Lan, i: number, args: string[]): TermSockbox {
  return new TermSockbox(args, { wrap: lan.wrap(i) });
}

function runIn(lan: Lan, i: number, args: string[]) {
  return lan.sockbox(i, args);
}

/** `sockbox mcast send GROUP PORT ARGS` from host 0, run to the end. */
function sendFrom0(lan: Lan, group: string, port: number, args: string[], stdin?: string) {
  const argv = ["mcast", "send", group, String(port), ...args];
  return lan.sockbox(0, argv, stdin === undefined ? {} : { stdin });
}

/** `sockbox mcast listen GROUP PORT --iface e0 FLAGS --json` inside host `i`. */
function listener(lan: Lan, i: number, group: string, port: number, flags: string[]) {
  const argv = ["mcast", "listen", group, String(port), "--iface", "e0", ...flags];
  return sockbox(lan, i, [...argv, "--json"]);
}

/**
 * The python3 peer in host `i`, joined to `group` on e0 and ready to print the first `count`
 * datagrams to `port` (it gives up after 20 s).
 */
async function receiver(
  lan: Lan,
  i: number,
  group: string,
  port: number,
  count: number,
): Promise<JsonProcess> {
  const p = python(lan, i, ["recv", group, String(port), "e0", String(count), "20"]);
  try {
    await p.next((e) => e.event === "ready");
    return p;
  } catch (e) {
    await p.stop();
    throw e;
  }
}

/** The data of every datagram `p` (a python3 receiver) has printed so far. */
function datagrams(p: JsonProcess): unknown[] {
  return p.events.filter((e) => e.event === "datagram").map((e) => e.data);
}

Deno.test("mcast rejects bad input with exit 2 naming the flag", async () => {
  const cases: [string[], string][] = [
    [
      ["mcast", "listen", "10.0.0.1", "5000"],
      'invalid GROUP "10.0.0.1": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
    ],
    [
      ["mcast", "send", "ff15::1", "5000", "x", "--iface", "10.0.0.1"],
      'invalid --iface "10.0.0.1": an IPv4 address cannot carry IPv6 multicast',
    ],
    [
      ["mcast", "send", "239.1.2.3", "5000", "x", "--ttl", "300"],
      'invalid --ttl "300": must be 0-255',
    ],
    [["mcast", "ping", "ff15::1", "5000", "--hops", "256"], 'invalid --hops "256": must be 0-255'],
    [
      ["mcast", "send", "239.1.2.3", "5000", "x", "--ttl", "2", "--hops", "2"],
      "--ttl cannot be used with --hops",
    ],
    [
      ["mcast", "listen", "ff02::1", "5000"],
      'GROUP "ff02::1" has link-local scope: give the interface with --iface',
    ],
    [
      ["mcast", "listen", "239.1.2.3", "5000", "--iface", "nosuch9"],
      'invalid --iface "nosuch9": no such interface',
    ],
    [
      ["mcast", "listen", "239.1.2.3", "5000", "--source", "ff15::1"],
      'invalid --source "ff15::1": an IPv6 source cannot send to IPv4 GROUP',
    ],
    [
      ["mcast", "send", "239.1.2.3", "5000", "x", "--loop", "--no-loop"],
      "--loop cannot be used with --no-loop",
    ],
    [
      ["mcast", "send", "239.1.2.3", "5000", "x", "--iface", "1", "--iface", "2"],
      "--iface can be given only once with send",
    ],
    [["mcast", "bogus"], 'unknown mcast subcommand "bogus": must be listen, send or ping'],
  ];
  for (const [args, msg] of cases) {
    const r = await runSockbox(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, `sockbox: ${msg}\n`);
    assert.equal(r.stdout, "");
  }
});

Deno.test(requires(LAN, {
  name: "mcast listen receives what python sends, IPv4 and IPv6, and leaves on exit",
  async fn() {
    await using lan = await Lan.create(2);
    for (const group of ["239.7.7.7", "ff15::7:7"]) {
      await using rx = listener(lan, 1, group, 0, ["--count", "2"]);
      const joined = await rx.next((e) => e.event === "joined");
      assert.equal(joined.iface, "e0");
      const { port } = await rx.listening();
      const maddr = await sh("ip", ["-n", lan.hosts[1]!, "maddr", "show", "dev", "e0"]);
      assert.match(maddr.stdout, new RegExp(group.replaceAll(".", "\\.")));
      await using tx = python(lan, 0, ["send", group, String(port), "e0", "1", "hello", "wörld"]);
      const d1 = await rx.next((e) => e.event === "datagram");
      const d2 = await rx.next((e) => e.event === "datagram");
      const src = group.includes(":") ? lan.v6(0) : lan.v4(0);
      for (const [d, text] of [[d1, "hello"], [d2, "wörld"]] as const) {
        assert.equal(d.group, group);
        assert.equal(d.iface, "e0");
        assert.equal(d.data, text);
        if (group.includes(":")) {
          assert.ok([src, await lan.linkLocal(0)].includes(d.from as string));
        } else assert.equal(d.from, src);
      }
      const summary = await rx.next((e) => e.event === "summary");
      assert.equal(summary.datagrams, 2);
      const st = await rx.child.status;
      assert.equal(st.code, 0);
      const after = await sh("ip", ["-n", lan.hosts[1]!, "maddr", "show", "dev", "e0"]);
      assert.doesNotMatch(after.stdout, new RegExp(group.replaceAll(".", "\\.")));
      await tx.stop();
    }
  },
}));

Deno.test(requires(LAN, {
  name: "mcast send reaches python with the requested interface, TTL and hop limit",
  async fn() {
    await using lan = await Lan.create(2);
    const idx = await lan.ifindex(0);
    const cases: [string, string[], number][] = [
      ["239.8.8.8", ["--iface", lan.v4(0), "--ttl", "7"], 7],
      // Measured on kernel 6.18: a TTL-0 datagram still reaches a neighbour on the link.
      ["239.8.8.9", ["--iface", String(idx), "--ttl", "0"], 0],
      ["ff15::8:8", ["--iface", "e0", "--hops", "9"], 9],
      ["ff02::8:9", ["--iface", String(idx), "--ttl", "3"], 3],
    ];
    for (const [group, flags, ttl] of cases) {
      const port = randomPort();
      await using rx = await receiver(lan, 1, group, port, 2);
      const r = await sendFrom0(lan, group, port, ["one", "two", "-i", "50ms", ...flags, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const sent = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(sent.map((e) => [e.event, e.to, e.data]), [["sent", group, "one"], [
        "sent",
        group,
        "two",
      ]]);
      const done = await rx.next((e) => e.event === "done", 30_000);
      const got = rx.events.filter((e) => e.event === "datagram");
      assert.equal(done.received, 2, JSON.stringify(rx.events));
      for (const d of got) {
        assert.equal(d.ttl, ttl);
        assert.equal(d.to, group);
        if (!group.includes(":")) assert.equal(d.from, lan.v4(0));
      }
      assert.deepEqual(got.map((d) => d.data), ["one", "two"]);
    }
  },
}));

Deno.test(requires(LAN, {
  name: "mcast ping counts responders on two hosts (sockbox and python), IPv4 and IPv6",
  async fn() {
    await using lan = await Lan.create(3);
    for (const group of ["239.9.9.9", "ff02::9:9"]) {
      const port = randomPort();
      await using r1 = listener(lan, 1, group, port, ["--echo"]);
      await r1.listening();
      await using r2 = python(lan, 2, ["echo", group, String(port), "e0", "60"]);
      await r2.next((e) => e.event === "ready");
      const r = await runIn(lan, 0, [
        "mcast",
        "ping",
        group,
        String(port),
        "--iface",
        "e0",
        "-c",
        "4",
        "-i",
        "100ms",
        "--wait",
        "2s",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const evs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const responders = evs.filter((e) => e.event === "responder");
      assert.equal(responders.length, 2, r.stdout);
      const v6 = group.includes(":");
      const want = v6
        ? [await lan.linkLocal(1), await lan.linkLocal(2)].map((a) => a.toLowerCase())
        : [lan.v4(1), lan.v4(2)];
      assert.deepEqual(
        responders.map((e) => String(e.address).replace(/%.*/, "")).sort(),
        want.sort(),
      );
      for (const e of responders) {
        assert.equal(e.sent, 4);
        assert.equal(e.received, 4);
        assert.equal(e.loss_pct, 0);
        assert.ok(
          e.p50_ms > 0 && e.p50_ms <= e.p90_ms && e.p90_ms <= e.p99_ms && e.p99_ms <= e.max_ms,
        );
      }
      assert.equal(evs.filter((e) => e.event === "reply").length, 8);
      assert.deepEqual(evs.at(-1).event, "summary");
      assert.equal(evs.at(-1).responders, 2);
    }
  },
}));

Deno.test(requires(LAN, {
  name: "mcast without a route or responders fails with exit 1 suggesting --iface",
  async fn() {
    await using lan = await Lan.create(1);
    const send = await runIn(lan, 0, ["mcast", "send", "239.1.2.3", "5000", "x"]);
    assert.equal(send.code, 1);
    assert.equal(
      send.stderr,
      "sockbox: sendto ENETUNREACH 239.1.2.3:5000 (no route to the group or no multicast-capable interface; pick one with --iface)\n",
    );
    const listen = await runIn(lan, 0, ["mcast", "listen", "239.1.2.3", "5000"]);
    assert.equal(listen.code, 1);
    assert.match(
      listen.stderr,
      /^sockbox: setsockopt MCAST_JOIN_GROUP E[A-Z]+ 239\.1\.2\.3 \(.*--iface\)\n$/,
    );
    const ping = await runIn(lan, 0, [
      "mcast",
      "ping",
      "239.1.2.3",
      "5000",
      "--iface",
      "e0",
      "-c",
      "1",
      "--wait",
      "200ms",
    ]);
    assert.equal(ping.code, 1);
    assert.match(ping.stderr, /no responder answered 1 probes to 239\.1\.2\.3:5000/);
  },
}));

Deno.test(requires(LAN, {
  name: "mcast listen --source joins source-specific and drops other senders",
  async fn() {
    await using lan = await Lan.create(3);
    const group = "232.1.1.1";
    await using rx = listener(lan, 1, group, 0, ["--source", lan.v4(0), "--count", "1"]);
    const joined = await rx.next((e) => e.event === "joined");
    assert.equal(joined.source, lan.v4(0));
    const { port } = await rx.listening();
    await using other = python(lan, 2, ["send", group, String(port), "e0", "1", "from-h2"]);
    await other.next((e) => e.event === "sent");
    await using _tx = python(lan, 0, ["send", group, String(port), "e0", "1", "from-h0"]);
    const d = await rx.next((e) => e.event === "datagram");
    assert.equal(d.from, lan.v4(0));
    assert.equal(d.data, "from-h0");
    assert.equal((await rx.child.status).code, 0);
  },
}));

Deno.test(requires(LAN, {
  name: "mcast send --no-loop keeps datagrams off this host; --loop delivers them here",
  async fn() {
    await using lan = await Lan.create(2);
    const group = "239.6.6.6";
    const port = randomPort();
    // "here" (the sender's host) takes the first datagram that reaches it; "there" both.
    await using here = await receiver(lan, 0, group, port, 1);
    await using there = await receiver(lan, 1, group, port, 2);
    for (const [loop, text] of [["--no-loop", "unlooped"], ["--loop", "looped"]]) {
      const r = await sendFrom0(lan, group, port, [text!, "--iface", "e0", loop!]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `Sent ${text!.length} bytes to ${group}:${port} on e0 ttl 1: ${text}\n`,
      );
    }
    // The --no-loop datagram left first; had it looped back, it would be here before the
    // --loop one. The neighbour got both, in order.
    assert.equal((await here.next((e) => e.event === "done")).received, 1);
    assert.deepEqual(datagrams(here), ["looped"]);
    assert.equal((await there.next((e) => e.event === "done")).received, 2);
    assert.deepEqual(datagrams(there), ["unlooped", "looped"]);
  },
}));

Deno.test(requires(LAN, {
  name:
    "mcast listen joins on several interfaces (by name and by address) and prints non-UTF-8 as hex",
  async fn() {
    await using lan = await Lan.create(2, { nets: 2 });
    const group = "239.5.5.5";
    const port = randomPort();
    const args = ["mcast", "listen", group, String(port), "--iface", "e0", "--iface"];
    await using rx = sockbox(lan, 1, [...args, lan.v4(1, 1), "--count", "2", "--json"]);
    const joined = [
      await rx.next((e) => e.event === "joined"),
      await rx.next((e) => e.event === "joined"),
    ];
    assert.deepEqual(joined.map((e) => e.iface).sort(), ["e0", "e1"]);
    await rx.listening();
    // A second listener on the same port (SO_REUSEADDR), in text.
    const tc = sockboxCommand([...args, lan.v4(1, 1), "--count", "2"]);
    await using txt = new TextProcess([...lan.wrap(1), tc.cmd, ...tc.args]);
    await txt.out.until(/^listening /m);
    const maddr = await sh("ip", ["-n", lan.hosts[1]!, "maddr", "show"]);
    assert.match(maddr.stdout, /e0[\s\S]*239\.5\.5\.5[\s\S]*e1[\s\S]*239\.5\.5\.5/);
    await using a = python(lan, 0, ["send", group, String(port), "e0", "1", "hello"]);
    await a.next((e) => e.event === "sent");
    await rx.next((e) => e.event === "datagram");
    await using b = python(lan, 0, ["send", group, String(port), "e1", "1", "hex:fffe0001"]);
    await b.next((e) => e.event === "sent");
    await rx.next((e) => e.event === "datagram");
    const got = rx.events.filter((e) => e.event === "datagram");
    assert.deepEqual(got.map((d) => [d.iface, d.from, d.data, d.bytes]), [
      ["e0", lan.v4(0), "hello", 5],
      ["e1", lan.v4(0, 1), "0xfffe0001", 4],
    ]);
    assert.equal((await rx.child.status).code, 0);
    const t = await txt.finish();
    assert.equal(t.code, 0, t.stderr);
    const from = (host: string) => `from ${host.replaceAll(".", "\\.")}:\\d+ to 239\\.5\\.5\\.5`;
    assert.match(t.stdout, new RegExp(`^${from(lan.v4(0))} on e0: 5 bytes: hello$`, "m"));
    assert.match(t.stdout, new RegExp(`^${from(lan.v4(0, 1))} on e1: 4 bytes: 0xfffe0001$`, "m"));
  },
}));

Deno.test(requires(LAN, {
  name: "mcast send reads stdin lines and repeats them -c times",
  async fn() {
    await using lan = await Lan.create(2);
    const group = "239.4.4.4";
    const port = randomPort();
    await using rx = await receiver(lan, 1, group, port, 4);
    const args = ["--iface", "e0", "-c", "2", "-i", "0", "--json"];
    const r = await sendFrom0(lan, group, port, args, "one\n\ntwo\n");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonLines(r.stdout).map((e) => [e.event, e.data]), [
      ["sent", "one"],
      ["sent", "two"],
      ["sent", "one"],
      ["sent", "two"],
    ]);
    assert.equal((await rx.next((e) => e.event === "done")).received, 4);
    assert.deepEqual(datagrams(rx), ["one", "two", "one", "two"]);
  },
}));
