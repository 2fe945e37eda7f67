import assert from "node:assert/strict";
import {
  type Announcement,
  beaconDiagnosticText,
  type BeaconEvent,
  beaconEventText,
  decodeBeaconMessage,
  encodeBeaconMessage,
  formatSpan,
  type HostRecord,
  HostTable,
  hostView,
  importBeaconKey,
  isBeaconDiagnostic,
  isBeaconName,
  isDown,
  MsgType,
  ruptimeLine,
  senderAddress,
  stateSnapshot,
  validAnnouncement,
} from "./beacon.ts";

const enc = new TextEncoder();
const KEY = await importBeaconKey(enc.encode("correct horse battery staple"));
const OTHER_KEY = await importBeaconKey(enc.encode("wrong key"));

const NOW = 1_750_000_000_000;

const ANNOUNCE: Announcement = {
  name: "alpha",
  boot: NOW / 1000 - 2 * 86400 - 12 * 3600 - 4 * 60,
  users: 8,
  load: [4.67, 5.13, 4.59],
  version: "0.1.0",
  interval: 60_000,
  seq: 3,
  time: NOW,
};

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A message built by hand, byte for byte, as the module doc describes it. */
function wire(type: number, body: string, flags = 0, trailer: number[] = []): Uint8Array {
  const json = enc.encode(body);
  return Uint8Array.from([
    0x53,
    0x42,
    0x58,
    0x42,
    1,
    type,
    flags,
    0,
    json.length >> 8,
    json.length & 0xff,
    ...json,
    ...trailer,
  ]);
}

Deno.test("encodeBeaconMessage writes the version-1 header and JSON body", async () => {
  const m = await encodeBeaconMessage(MsgType.query, { nonce: "ab" });
  assert.equal(hex(m), hex(wire(2, '{"nonce":"ab"}')));
  assert.equal(hex(m.subarray(0, 10)), "5342584201020000000e");
});

Deno.test("decodeBeaconMessage reads a hand-built message", async () => {
  assert.deepEqual(await decodeBeaconMessage(wire(1, '{"a":1}')), {
    ok: true,
    type: 1,
    body: { a: 1 },
  });
});

Deno.test("a signed message carries an HMAC-SHA256 trailer that verifies", async () => {
  const m = await encodeBeaconMessage(MsgType.announce, ANNOUNCE, KEY);
  const body = enc.encode(JSON.stringify(ANNOUNCE));
  assert.equal(m.length, 10 + body.length + 32);
  assert.equal(m[6], 1);
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", KEY, m.slice(0, 10 + body.length)),
  );
  assert.equal(hex(m.subarray(10 + body.length)), hex(mac));
  const d = await decodeBeaconMessage(m, KEY, NOW);
  assert.ok(d.ok);
  assert.equal(d.type, MsgType.announce);
  assert.deepEqual(validAnnouncement(d.body), ANNOUNCE);
  // Without a key, a signed message still decodes (the MAC is not checked).
  assert.equal((await decodeBeaconMessage(m)).ok, true);
});

Deno.test("with a key: unsigned is unauthenticated, a bad MAC is forged", async () => {
  const unsigned = await encodeBeaconMessage(MsgType.announce, ANNOUNCE);
  assert.deepEqual(await decodeBeaconMessage(unsigned, KEY), {
    ok: false,
    reason: "unauthenticated",
  });
  const wrong = await encodeBeaconMessage(MsgType.announce, ANNOUNCE, OTHER_KEY);
  assert.deepEqual(await decodeBeaconMessage(wrong, KEY), { ok: false, reason: "forged" });
  const tampered = (await encodeBeaconMessage(MsgType.announce, ANNOUNCE, KEY)).slice();
  tampered[12]! ^= 1;
  assert.deepEqual(await decodeBeaconMessage(tampered, KEY), { ok: false, reason: "forged" });
  // A flag bit with a missing trailer is a length mismatch: malformed.
  assert.deepEqual(await decodeBeaconMessage(wire(1, "{}", 1), KEY), {
    ok: false,
    reason: "malformed",
  });
});

Deno.test("with a key and a clock: more than 5 minutes off, or no time, is stale", async () => {
  const at = async (time: unknown) =>
    await decodeBeaconMessage(
      await encodeBeaconMessage(MsgType.announce, { ...ANNOUNCE, time }, KEY),
      KEY,
      NOW,
    );
  assert.equal((await at(NOW - 5 * 60_000)).ok, true);
  assert.equal((await at(NOW + 5 * 60_000)).ok, true);
  assert.deepEqual(await at(NOW - 5 * 60_000 - 1), { ok: false, reason: "stale" });
  assert.deepEqual(await at(NOW + 10 * 60_000), { ok: false, reason: "stale" });
  assert.deepEqual(await at("now"), { ok: false, reason: "stale" });
  // No clock given (a query's answer) or no key: time is not checked.
  const old = await encodeBeaconMessage(MsgType.state, { time: 0 }, KEY);
  assert.equal((await decodeBeaconMessage(old, KEY)).ok, true);
  const unsigned = await encodeBeaconMessage(MsgType.state, { time: 0 });
  assert.equal((await decodeBeaconMessage(unsigned, undefined, NOW)).ok, true);
});

Deno.test("decodeBeaconMessage drops malformed datagrams and never throws", async () => {
  const good = wire(1, "{}");
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["short", good.subarray(0, 9)],
    ["magic", Uint8Array.from([0x53, 0x42, 0x58, 0x50, ...good.subarray(4)])],
    ["version", Uint8Array.from([...good.subarray(0, 4), 2, ...good.subarray(5)])],
    ["length too long", wire(1, "{}", 0, [0])],
    ["length too short", good.subarray(0, good.length - 1)],
    ["not JSON", wire(1, "{nope")],
    ["array body", wire(1, "[1,2]")],
    ["null body", wire(1, "null")],
    ["string body", wire(1, '"x"')],
    ["not UTF-8", Uint8Array.from([...wire(1, "{}").subarray(0, 8), 0, 2, 0xff, 0xfe])],
    ["junk", enc.encode("SBXBjunk")],
  ];
  for (const [what, data] of cases) {
    assert.deepEqual(await decodeBeaconMessage(data), { ok: false, reason: "malformed" }, what);
    assert.equal((await decodeBeaconMessage(data, KEY, NOW)).ok, false, what);
  }
});

Deno.test("validAnnouncement checks every field", () => {
  const b = ANNOUNCE as unknown as Record<string, unknown>;
  assert.deepEqual(validAnnouncement(b), ANNOUNCE);
  const bad: Record<string, unknown>[] = [
    { ...b, name: "" },
    { ...b, name: ".dot" },
    { ...b, name: "a".repeat(65) },
    { ...b, name: 7 },
    { ...b, boot: -1 },
    { ...b, boot: 1.5 },
    { ...b, users: "8" },
    { ...b, load: [1, 2] },
    { ...b, load: [1, 2, -1] },
    { ...b, load: [1, 2, Infinity] },
    { ...b, version: "v".repeat(33) },
    { ...b, interval: 9 },
    { ...b, seq: -1 },
    { ...b, time: undefined },
  ];
  for (const x of bad) assert.equal(validAnnouncement(x), null, JSON.stringify(x));
  assert.equal(isBeaconName("alpha-1.b_c"), true);
  assert.equal(isBeaconName("-x"), false);
});

Deno.test("formatSpan prints hours:minutes, and days+hours:minutes from a day", () => {
  assert.equal(formatSpan(0), "0:00");
  assert.equal(formatSpan(-5), "0:00");
  assert.equal(formatSpan(59.9), "0:00");
  assert.equal(formatSpan(9 * 3600 + 45 * 60), "9:45");
  assert.equal(formatSpan(86399), "23:59");
  assert.equal(formatSpan(86400), "1+00:00");
  assert.equal(formatSpan(2 * 86400 + 12 * 3600 + 4 * 60 + 30), "2+12:04");
});

function record(over: Partial<HostRecord> = {}): HostRecord {
  return { ...ANNOUNCE, address: "10.0.0.1", heard: NOW - 1000, ...over };
}

Deno.test("ruptimeLine shows up hosts with uptime, users and load, down hosts with silence", () => {
  assert.equal(
    ruptimeLine(record(), NOW),
    "alpha up 2+12:04, 8 users, load 4.67, 5.13, 4.59",
  );
  assert.equal(
    ruptimeLine(record({ name: "one", users: 1, load: [0, 0.5, 1] }), NOW),
    "one up 2+12:04, 1 user, load 0.00, 0.50, 1.00",
  );
  const wood = record({ name: "wood", heard: NOW - (17 * 3600 + 4 * 60) * 1000 });
  assert.equal(isDown(wood, NOW), true);
  assert.equal(ruptimeLine(wood, NOW), "wood down 17:04");
  // Exactly 3 intervals of silence is still up; one ms more is down.
  assert.equal(isDown(record({ heard: NOW - 180_000 }), NOW), false);
  assert.equal(isDown(record({ heard: NOW - 180_001 }), NOW), true);
});

Deno.test("hostView gives the fields host events carry", () => {
  assert.deepEqual(hostView(record(), NOW), {
    name: "alpha",
    state: "up",
    address: "10.0.0.1",
    boot: ANNOUNCE.boot,
    uptime_s: 2 * 86400 + 12 * 3600 + 4 * 60,
    silent_ms: 1000,
    users: 8,
    load: [4.67, 5.13, 4.59],
    version: "0.1.0",
    interval_ms: 60_000,
  });
});

Deno.test("beaconEventText renders every beacon event", () => {
  const up = hostView(record(), NOW);
  const down = hostView(record({ name: "beta", heard: NOW - 3_720_000 }), NOW);
  const dropped = { malformed: 1, unauthenticated: 2, forged: 3, stale: 0 };
  const cases: [BeaconEvent, string | null][] = [
    [
      {
        event: "listening",
        port: 5513,
        groups: ["239.255.83.66", "ff02::5342"],
        ifaces: ["e0", "e1"],
        name: "alpha",
        interval_ms: 200,
        authenticated: true,
      },
      "beacon alpha on port 5513 via 239.255.83.66, ff02::5342 on e0, e1 every 200ms (authenticated)",
    ],
    [
      {
        event: "listening",
        port: 5513,
        groups: ["broadcast"],
        ifaces: ["e0"],
        name: "alpha",
        interval_ms: 60000,
        authenticated: false,
      },
      "beacon alpha on port 5513 via broadcast on e0 every 60000ms",
    ],
    [
      {
        event: "listening",
        port: 5513,
        groups: ["broadcast"],
        ifaces: ["e0"],
        name: null,
        interval_ms: 1000,
        authenticated: false,
      },
      null,
    ],
    [
      { event: "host-up", ...up },
      "up alpha from 10.0.0.1: alpha up 2+12:04, 8 users, load 4.67, 5.13, 4.59",
    ],
    [
      { event: "host-up", ...up, address: null },
      "up alpha from ?: alpha up 2+12:04, 8 users, load 4.67, 5.13, 4.59",
    ],
    [{ event: "host-down", ...down }, "down beta: silent for 1:02"],
    [
      { event: "dropped", reason: "forged", from: "10.0.0.9" },
      "dropped forged datagram from 10.0.0.9",
    ],
    [{ event: "dropped", reason: "malformed", from: null }, "dropped malformed datagram from ?"],
    [
      { event: "summary", hosts: 2, dropped },
      "2 hosts known; dropped 1 malformed, 2 unauthenticated, 3 forged, 0 stale datagrams",
    ],
    [
      { event: "group-skipped", group: "ff02::5342", family: 6, given: false },
      "no up multicast-capable interface has an IPv6 address; not using ff02::5342",
    ],
    [
      { event: "group-skipped", group: "239.255.83.66", family: 4, given: true },
      "no given interface has an IPv4 address; not using 239.255.83.66",
    ],
    [
      { event: "query-failed", to: "::1", port: 40000, error: "sendto EPERM" },
      "cannot answer query from [::1]:40000: sendto EPERM",
    ],
    [
      { event: "announce-failed", to: "239.255.83.66", port: 5513, error: null },
      "announcement to 239.255.83.66:5513 dropped: send buffer full",
    ],
    [
      { event: "announce-failed", to: "ff02::5342", port: 5513, error: "sendto ENETDOWN" },
      "announcement to [ff02::5342]:5513 failed: sendto ENETDOWN",
    ],
  ];
  for (const [ev, text] of cases) {
    assert.equal(beaconEventText(ev), text, ev.event);
    if (isBeaconDiagnostic(ev)) assert.equal(beaconDiagnosticText(ev), text);
  }
  assert.deepEqual(
    cases.map(([ev]) => ev).filter(isBeaconDiagnostic).map((ev) => ev.event),
    ["group-skipped", "group-skipped", "query-failed", "announce-failed", "announce-failed"],
  );
});

Deno.test("HostTable records hosts, says when one is new or back, and sorts by name", () => {
  const t = new HostTable();
  assert.equal(t.record({ ...ANNOUNCE, name: "zeta" }, "10.0.0.2", NOW), true);
  assert.equal(t.record(ANNOUNCE, "10.0.0.1", NOW), true);
  assert.equal(t.record(ANNOUNCE, null, NOW + 1000), false);
  assert.equal(t.hosts.get("alpha")!.address, "10.0.0.1");
  assert.equal(t.record(ANNOUNCE, "10.0.0.3", NOW + 1000 + 180_001), true);
  assert.deepEqual(t.sorted().map((h) => h.name), ["alpha", "zeta"]);
});

Deno.test("stateSnapshot keeps valid hosts and reads the drop counts", () => {
  const snap = stateSnapshot({
    nonce: "ab",
    time: NOW,
    hosts: [
      { ...ANNOUNCE, address: "10.0.0.1", heard: NOW - 5 },
      { ...ANNOUNCE, name: "nohear", address: "10.0.0.2" },
      { ...ANNOUNCE, name: "bad name" },
      "junk",
      null,
      { ...ANNOUNCE, name: "noaddr", address: 7, heard: NOW },
    ],
    dropped: { malformed: 2, forged: "1" },
  });
  assert.deepEqual(snap.hosts.map((h) => [h.name, h.address]), [
    ["alpha", "10.0.0.1"],
    ["noaddr", null],
  ]);
  assert.equal(snap.time, NOW);
  assert.deepEqual(snap.dropped, { malformed: 2, unauthenticated: 0, forged: 1, stale: 0 });
});

Deno.test("a host heard on a link-local address keeps its scope, named as ip names it", () => {
  const names = (i: number) => (i === 2 ? "eth0" : String(i));
  const t = new HostTable();
  const from = { family: 6 as const, address: "fe80::1", port: 513, scopeId: 2 };
  t.record(ANNOUNCE, senderAddress(from, names), NOW);
  assert.equal(hostView(t.hosts.get("alpha")!, NOW).address, "fe80::1%eth0");
  assert.equal(senderAddress({ family: 4, address: "10.0.0.1", port: 513 }, names), "10.0.0.1");
  assert.equal(senderAddress(null, names), null);
});
