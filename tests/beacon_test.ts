/**
 * `sockbox beacon` and `sockbox hosts` across private network namespaces (tests/netns.ts):
 * beacons hear each other over IPv4 and IPv6 multicast (each proven on its own) and
 * broadcast, `hosts` prints the ruptime view and marks a stopped beacon down, a beacon
 * answers queries from loopback only, and `--key` drops forged, unsigned, stale and
 * malformed datagrams (some built and signed by a python3 peer) while counting them.
 */
import assert from "node:assert/strict";
import { type Capability, requires, runSockbox, silentPort } from "./helpers.ts";
import { JsonProcess, Lan, randomPort, TermSockbox } from "./netns.ts";

const PEER = new URL("./mcast_peer.py", import.meta.url).pathname;
const LAN: Capability[] = ["ipnetns", "python3"];

/**
 * A python3 beacon peer: builds version-1 beacon messages itself (see the wire format in
 * the README) and sends them with SO_BROADCAST.
 *   announce DEST PORT KEYFILE NAME AGE_S  -- one signed announcement whose time is AGE_S old
 *   queries PORT LANADDR                   -- the same query from LANADDR and from 127.0.0.1,
 *                                             both to 127.0.0.1:PORT; prints who got answers
 */
const PY_BEACON = String.raw`
import hashlib, hmac, json, select, socket, struct, sys, time
def message(typ, body, key=None):
    raw = json.dumps(body).encode()
    head = b"SBXB" + bytes([1, typ, 1 if key else 0, 0]) + struct.pack(">H", len(raw))
    msg = head + raw
    return msg + hmac.new(key, msg, hashlib.sha256).digest() if key else msg
mode = sys.argv[1]
if mode == "announce":
    dest, port, keyfile, name, age = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])
    key = open(keyfile, "rb").read().rstrip(b"\r\n")
    now = time.time()
    body = {"name": name, "boot": int(now) - 3600, "users": 0, "load": [0.0, 0.0, 0.0],
            "version": "py", "interval": 200, "seq": 1, "time": int((now - age) * 1000)}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(message(1, body, key), (dest, port))
    print(json.dumps({"event": "sent", "name": name}), flush=True)
elif mode == "queries":
    port, lan = int(sys.argv[2]), sys.argv[3]
    socks = {}
    for src in (lan, "127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(message(2, {"nonce": "n" + src.replace(".", "")}), ("127.0.0.1", port))
        socks[src] = s
    # The beacon reads its socket in order: once the loopback query (sent second) has its
    # answer, an answer to the first query would already be queued.
    r, _, _ = select.select([socks["127.0.0.1"]], [], [], 10)
    answered = []
    for src, s in socks.items():
        s.setblocking(False)
        try:
            data = s.recv(65536)
            answered.append(src if data[5] == 3 else "bad:" + src)
        except BlockingIOError:
            pass
    print(json.dumps({"event": "answered", "from": answered}), flush=True)
`;

const UP_LINE = /^(\S+) up (\d+\+)?\d+:\d\d, \d+ users?, load \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/;

function beacon(lan: Lan, i: number, args: string[]): TermSockbox {
  return new TermSockbox(["beacon", "--interval", "200ms", "--json", ...args], {
    wrap: lan.wrap(i),
  });
}

function runIn(lan: Lan, i: number, args: string[]) {
  return lan.sockbox(i, args);
}

Deno.test("beacon and hosts reject bad input with exit 2 naming the flag", async () => {
  const cases: [string[], string][] = [
    [
      ["beacon", "--group", "10.0.0.1"],
      'invalid --group "10.0.0.1": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
    ],
    [["beacon", "--group", "239.1.1.1", "--broadcast"], "--group cannot be used with --broadcast"],
    [
      ["beacon", "--broadcast", "--iface", "fd00::1"],
      'invalid --iface "fd00::1": broadcast is IPv4 only',
    ],
    [
      ["beacon", "--group", "ff15::1", "--iface", "10.0.0.1"],
      'invalid --iface "10.0.0.1": an IPv4 address cannot carry IPv6 multicast',
    ],
    [
      ["beacon", "--interval", "1ms"],
      'invalid --interval "1ms": must be a duration like 500ms, 2s or 1m between 50ms and 1h',
    ],
    [["beacon", "--port", "0"], 'invalid --port "0": must be 1-65535'],
    [["beacon", "--ttl", "256"], 'invalid --ttl "256": must be 0-255'],
    [
      ["beacon", "--name", "no space"],
      'invalid --name "no space": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)',
    ],
    [["hosts", "--group", "239.1.1.1"], "--group can only be used with --wait"],
    [
      ["hosts", "--wait", "0"],
      'invalid --wait "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await runSockbox(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, `sockbox: ${msg}\n`);
  }
});

Deno.test(requires(["python3"], {
  name: "hosts without a running beacon fails with exit 1 and says what to do",
  async fn() {
    // The port is held by a silent python3 socket, so no beacon can be there.
    await using silent = await silentPort("udp");
    const r = await runSockbox(["hosts", "--port", String(silent.port)]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `sockbox: no beacon answered on 127.0.0.1:${silent.port} within 2000ms (start "sockbox beacon", or listen with --wait DUR)\n`,
    );
  },
}));

Deno.test(requires(LAN, {
  name: "hosts shows two beacons (IPv4+IPv6 multicast) and marks a stopped one down",
  async fn() {
    await using lan = await Lan.create(3);
    const port = String(randomPort());
    await using alpha = beacon(lan, 0, ["--name", "alpha", "--port", port]);
    await using beta = beacon(lan, 1, ["--name", "beta", "--port", port]);
    const listening = await alpha.next((e) => e.event === "listening");
    assert.deepEqual(listening.groups, ["239.255.83.66", "ff02::5342"]);
    assert.deepEqual(listening.ifaces, ["e0"]);
    await alpha.next((e) => e.event === "host-up" && e.name === "beta");
    await beta.next((e) => e.event === "host-up" && e.name === "alpha");

    // From the running beacon over loopback, in text.
    const q = await runIn(lan, 0, ["hosts", "--port", port]);
    assert.equal(q.code, 0, q.stderr);
    const lines = q.stdout.trim().split("\n");
    assert.deepEqual(lines.map((l) => l.split(" ")[0]), ["alpha", "beta"]);
    for (const l of lines) assert.match(l, UP_LINE);

    // By listening on a third host, in JSON.
    const w = await runIn(lan, 2, ["hosts", "--wait", "600ms", "--port", port, "--json"]);
    assert.equal(w.code, 0, w.stderr);
    const evs = w.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const hosts = evs.filter((e) => e.event === "host");
    assert.deepEqual(hosts.map((h) => [h.name, h.state, h.interval_ms]), [["alpha", "up", 200], [
      "beta",
      "up",
      200,
    ]]);
    assert.ok(
      [lan.v4(1), lan.v6(1)].includes(hosts[1].address) ||
        String(hosts[1].address).startsWith("fe80:"),
    );
    assert.equal(typeof hosts[0].users, "number");
    assert.equal(hosts[0].load.length, 3);
    assert.deepEqual(evs.at(-1), { ...evs.at(-1), event: "summary", hosts: 2, up: 2, down: 0 });

    // Stop beta: after 3 silent intervals alpha marks it down, and hosts says so.
    const st = await beta.stop();
    assert.equal(st.code, 0);
    const down = await alpha.next((e) => e.event === "host-down");
    assert.equal(down.name, "beta");
    const q2 = await runIn(lan, 0, ["hosts", "--port", port]);
    assert.equal(q2.code, 0, q2.stderr);
    const [a, b] = q2.stdout.trim().split("\n");
    assert.match(a!, UP_LINE);
    assert.match(b!, /^beta down \d+:\d\d$/);
  },
}));

Deno.test(requires(LAN, {
  name: "beacon --key drops and counts forged, unsigned and malformed datagrams (broadcast)",
  async fn() {
    await using lan = await Lan.create(3);
    const dir = await Deno.makeTempDir({ prefix: "sbxm-key" });
    let unsigned: ReturnType<typeof runIn> | undefined;
    try {
      const good = `${dir}/good.key`, bad = `${dir}/bad.key`;
      await Deno.writeTextFile(good, "correct horse battery staple\n");
      await Deno.writeTextFile(bad, "wrong key\n");
      const port = String(randomPort());
      const common = ["--broadcast", "--port", port];
      await using alpha = beacon(lan, 0, ["--name", "alpha", "--key", good, ...common]);
      const listening = await alpha.next((e) => e.event === "listening");
      assert.deepEqual(listening.groups, ["broadcast"]);
      assert.equal(listening.authenticated, true);
      // A query without the key waits out its 2 s for an answer while the rest goes on.
      unsigned = runIn(lan, 0, ["hosts", "--port", port]);
      await using beta = beacon(lan, 1, ["--name", "beta", "--key", good, ...common]);
      await using mallory = beacon(lan, 2, ["--name", "mallory", "--key", bad, ...common]);
      await using eve = beacon(lan, 2, ["--name", "eve", ...common]);
      await alpha.next((e) => e.event === "host-up" && e.name === "beta");
      await alpha.next((e) => e.event === "dropped" && e.reason === "forged");
      await alpha.next((e) => e.event === "dropped" && e.reason === "unauthenticated");
      // Garbage from python: not a beacon message at all.
      await using junk = new JsonProcess([
        ...lan.wrap(2),
        "python3",
        "-u",
        PEER,
        "bcast-send",
        "10.77.0.255",
        port,
        "SBXBjunk",
        "hello",
      ]);
      const m = await alpha.next((e) => e.event === "dropped" && e.reason === "malformed");
      assert.equal(m.from, lan.v4(2));
      await junk.stop();

      const q = await runIn(lan, 0, ["hosts", "--port", port, "--key", good, "--json"]);
      assert.equal(q.code, 0, q.stderr);
      const evs = q.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(evs.filter((e) => e.event === "host").map((e) => e.name), ["alpha", "beta"]);
      const dropped = evs.at(-1).dropped;
      assert.ok(
        dropped.forged >= 1 && dropped.unauthenticated >= 1 && dropped.malformed >= 1,
        JSON.stringify(dropped),
      );

      // Without the key, the beacon ignored the query (unsigned), so nobody answered.
      const nokey = await unsigned;
      assert.equal(nokey.code, 1);
      assert.match(nokey.stderr, /no beacon answered/);

      // The beacon is still alive and serving after all that.
      const again = await runIn(lan, 0, ["hosts", "--port", port, "--key", good]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stderr,
        /^sockbox: dropped \d+ malformed, \d+ unauthenticated, \d+ forged, 0 stale datagrams\n$/,
      );
      const st = await alpha.stop();
      assert.equal(st.code, 0);
      const summary = st.rest.find((e) => e.event === "summary")!;
      assert.equal(summary.hosts, 2);
      await Promise.all([beta.stop(), mallory.stop(), eve.stop()]);
    } finally {
      await unsigned?.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
}));

Deno.test(requires(LAN, {
  name: "beacons hear each other over IPv6 multicast alone (ff02::5342)",
  async fn() {
    await using lan = await Lan.create(3);
    const port = String(randomPort());
    const v6 = ["--group", "ff02::5342", "--port", port];
    await using alpha = beacon(lan, 0, ["--name", "alpha", ...v6]);
    await using beta = beacon(lan, 1, ["--name", "beta", ...v6]);
    const listening = await alpha.next((e) => e.event === "listening");
    assert.deepEqual(listening.groups, ["ff02::5342"]);
    const fromBeta = await alpha.next((e) => e.event === "host-up" && e.name === "beta");
    const fromAlpha = await beta.next((e) => e.event === "host-up" && e.name === "alpha");
    // Only IPv6 carries them: the senders' IPv6 addresses, link-local or fd77::/64.
    const isV6Of = (a: unknown, i: number) =>
      a === lan.v6(i) || (typeof a === "string" && /^fe80:/.test(a));
    assert.ok(isV6Of(fromBeta.address, 1), `beta heard from ${fromBeta.address}`);
    assert.ok(isV6Of(fromAlpha.address, 0), `alpha heard from ${fromAlpha.address}`);
    const w = await runIn(lan, 2, ["hosts", "--wait", "600ms", ...v6, "--json"]);
    assert.equal(w.code, 0, w.stderr);
    const hosts = w.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) =>
      e.event === "host"
    );
    assert.deepEqual(hosts.map((h) => h.name), ["alpha", "beta"]);
    for (const [i, h] of hosts.entries()) assert.ok(isV6Of(h.address, i), JSON.stringify(h));
  },
}));

Deno.test(requires(LAN, {
  name: "beacon answers a query from loopback and ignores the same query from a LAN address",
  async fn() {
    await using lan = await Lan.create(1);
    const port = String(randomPort());
    await using alpha = beacon(lan, 0, ["--name", "alpha", "--port", port]);
    await alpha.next((e) => e.event === "listening");
    await using q = new JsonProcess([
      ...lan.wrap(0),
      "python3",
      "-c",
      PY_BEACON,
      "queries",
      port,
      lan.v4(0),
    ]);
    const answered = await q.next((e) => e.event === "answered");
    assert.deepEqual(answered.from, ["127.0.0.1"]);
  },
}));

Deno.test(requires(LAN, {
  name: "beacon --key drops a correctly signed announcement that is stale, keeps a fresh one",
  async fn() {
    await using lan = await Lan.create(2);
    const dir = await Deno.makeTempDir({ prefix: "sbxm-key" });
    try {
      const key = `${dir}/key`;
      await Deno.writeTextFile(key, "correct horse battery staple\n");
      const port = String(randomPort());
      await using alpha = beacon(lan, 0, [
        "--name",
        "alpha",
        "--key",
        key,
        "--broadcast",
        "--port",
        port,
      ]);
      await alpha.next((e) => e.event === "listening");
      const announce = (name: string, ageS: number) =>
        lan.exec(1, "python3", [
          "-c",
          PY_BEACON,
          "announce",
          "10.77.0.255",
          port,
          key,
          name,
          String(ageS),
        ]);
      // Ten minutes old: more than the 5 minutes allowed.
      const old = await announce("stale-host", 600);
      assert.equal(old.code, 0, old.stderr);
      const dropped = await alpha.next((e) => e.event === "dropped");
      assert.deepEqual([dropped.reason, dropped.from], ["stale", lan.v4(1)]);
      // The same message, fresh: accepted, so the signature was right and only time differed.
      const fresh = await announce("fresh-host", 0);
      assert.equal(fresh.code, 0, fresh.stderr);
      const up = await alpha.next((e) => e.event === "host-up" && e.name !== "alpha");
      assert.deepEqual([up.name, up.address], ["fresh-host", lan.v4(1)]);
      const st = await alpha.stop();
      assert.equal(st.code, 0, st.stderr);
      const summary = st.rest.find((e) => e.event === "summary")!;
      assert.equal((summary.dropped as Record<string, number>).stale, 1);
      assert.ok(!alpha.events.some((e) => e.event === "host-up" && e.name === "stale-host"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));
