import assert from "node:assert/strict";
import {
  decodeProbe,
  encodeProbe,
  type McastListenEvent,
  mcastListenEventText,
  type McastPingEvent,
  mcastPingEventText,
  mcastPingStatsHeader,
  mcastSendEventText,
} from "./mcast.ts";
import { scopedAddress } from "./groups.ts";

const SESSION = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("encodeProbe lays out magic, version, type, session and sequence", () => {
  const p = encodeProbe(SESSION, 0x01020304);
  // "SBXP", version 1, type 0, 2 reserved, 8-byte session, seq u32 big-endian.
  assert.equal(hex(p), "53425850" + "01" + "00" + "0000" + "0102030405060708" + "01020304");
});

Deno.test("decodeProbe reads back the sequence of this session's probes only", () => {
  assert.equal(decodeProbe(encodeProbe(SESSION, 7), SESSION), 7);
  assert.equal(decodeProbe(encodeProbe(SESSION, 0xffffffff), SESSION), 0xffffffff);
  // From a view into a larger buffer (as recvfrom gives it).
  const big = new Uint8Array(64);
  big.set(encodeProbe(SESSION, 9), 10);
  assert.equal(decodeProbe(big.subarray(10, 30), SESSION), 9);
});

Deno.test("decodeProbe rejects other sessions, sizes, magic, version and type", () => {
  const good = encodeProbe(SESSION, 1);
  const other = Uint8Array.from([8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(decodeProbe(good, other), null);
  assert.equal(decodeProbe(good.subarray(0, 19), SESSION), null);
  assert.equal(decodeProbe(new Uint8Array([...good, 0]), SESSION), null);
  for (const [i, v] of [[0, 0x54], [3, 0], [4, 2], [5, 1]] as const) {
    const bad = good.slice();
    bad[i] = v;
    assert.equal(decodeProbe(bad, SESSION), null, `byte ${i} = ${v}`);
  }
});

Deno.test("mcastListenEventText renders every listener event", () => {
  const cases: [McastListenEvent, string][] = [
    [
      { event: "joined", group: "239.1.2.3", iface: "e0", ifindex: 7 },
      "joined 239.1.2.3 on e0",
    ],
    [
      { event: "joined", group: "232.1.1.1", iface: null, ifindex: 0, source: "10.0.0.1" },
      "joined 232.1.1.1 source 10.0.0.1 on the default interface",
    ],
    [
      {
        event: "listening",
        proto: "udp",
        address: "ff15::7",
        group: "ff15::7",
        port: 5000,
        echo: true,
      },
      "listening udp [ff15::7]:5000 (echo)",
    ],
    [
      {
        event: "listening",
        proto: "udp",
        address: "239.1.2.3",
        group: "239.1.2.3",
        port: 5000,
        echo: false,
      },
      "listening udp 239.1.2.3:5000",
    ],
    [
      {
        event: "datagram",
        from: "10.0.0.2",
        port: 4000,
        group: "239.1.2.3",
        iface: "e0",
        ifindex: 7,
        bytes: 5,
        truncated: false,
        data: "hello",
      },
      "from 10.0.0.2:4000 to 239.1.2.3 on e0: 5 bytes: hello",
    ],
    [
      {
        event: "datagram",
        from: null,
        port: null,
        group: "239.1.2.3",
        iface: null,
        ifindex: 0,
        bytes: 2,
        truncated: false,
        data: "0x0001",
      },
      "from ? to 239.1.2.3: 2 bytes: 0x0001",
    ],
    [
      { event: "echo-failed", to: "10.0.0.2", port: 4000, error: "sendto EPERM 10.0.0.2:4000" },
      "sendto EPERM 10.0.0.2:4000",
    ],
    [{ event: "left", group: "239.1.2.3", iface: "e0", ifindex: 7 }, "left 239.1.2.3 on e0"],
    [
      { event: "left", group: "239.1.2.3", iface: null, ifindex: 0 },
      "left 239.1.2.3 on the default interface",
    ],
    [
      { event: "summary", group: "239.1.2.3", port: 5000, datagrams: 3, echoed: 2, echo: true },
      "3 datagrams, 2 echoed",
    ],
    [
      { event: "summary", group: "239.1.2.3", port: 5000, datagrams: 1, echoed: 0, echo: false },
      "1 datagrams",
    ],
  ];
  for (const [ev, text] of cases) assert.equal(mcastListenEventText(ev), text);
});

Deno.test("mcastSendEventText renders a sent datagram with and without an interface", () => {
  const ev = {
    event: "sent",
    to: "ff15::8:8",
    port: 5000,
    from_port: 40000,
    iface: "e0",
    ttl: 9,
    bytes: 3,
    data: "one",
  } as const;
  assert.equal(mcastSendEventText(ev), "Sent 3 bytes to [ff15::8:8]:5000 on e0 ttl 9: one");
  assert.equal(
    mcastSendEventText({ ...ev, to: "239.6.6.6", iface: null, ttl: 1, bytes: 4, data: "ping" }),
    "Sent 4 bytes to 239.6.6.6:5000 ttl 1: ping",
  );
});

Deno.test("mcastPingEventText renders start, replies, responders and the summary", () => {
  const cases: [McastPingEvent, string][] = [
    [
      {
        event: "start",
        group: "239.9.9.9",
        port: 5000,
        iface: "e0",
        ttl: 1,
        count: 4,
        session: "0102030405060708",
      },
      "MCAST PING 239.9.9.9:5000 on e0 ttl 1: 4 probes",
    ],
    [
      {
        event: "start",
        group: "ff02::9:9",
        port: 5000,
        iface: null,
        ttl: 2,
        count: 1,
        session: "00",
      },
      "MCAST PING [ff02::9:9]:5000 ttl 2: 1 probes",
    ],
    [
      { event: "reply", from: "fe80::2%7", port: 5000, seq: 3, rtt_ms: 0.123 },
      "reply from [fe80::2%7]:5000 seq=3 time=0.123 ms",
    ],
    [
      {
        event: "responder",
        address: "10.77.0.2",
        port: 5000,
        sent: 4,
        received: 3,
        duplicates: 0,
        loss_pct: 25,
        min_ms: 0.1,
        avg_ms: 0.2,
        p50_ms: 0.2,
        p90_ms: 0.3,
        p99_ms: 0.3,
        max_ms: 0.3,
      },
      "10.77.0.2: 4 sent, 3 received, 25% loss, rtt p50/p90/p99/max = 0.2/0.3/0.3/0.3 ms",
    ],
    [
      {
        event: "responder",
        address: "10.77.0.3",
        port: 5000,
        sent: 2,
        received: 2,
        duplicates: 1,
        loss_pct: 0,
        min_ms: 1,
        avg_ms: 1,
        p50_ms: 1,
        p90_ms: 1,
        p99_ms: 1,
        max_ms: 1,
      },
      "10.77.0.3: 2 sent, 2 received, 0% loss, 1 duplicates, rtt p50/p90/p99/max = 1/1/1/1 ms",
    ],
    [
      { event: "summary", group: "239.9.9.9", port: 5000, sent: 4, responders: 1 },
      "4 probes, 1 responder",
    ],
    [
      { event: "summary", group: "239.9.9.9", port: 5000, sent: 4, responders: 2 },
      "4 probes, 2 responders",
    ],
  ];
  for (const [ev, text] of cases) assert.equal(mcastPingEventText(ev), text);
  assert.equal(
    mcastPingStatsHeader("ff15::1", 5000),
    "--- [ff15::1]:5000 multicast ping statistics ---",
  );
});

Deno.test("a link-local responder is named with its interface, not its index", () => {
  const from = { address: "fe80::2", port: 5000, scopeId: 7 };
  const key = scopedAddress(from, (i) => (i === 7 ? "eth0" : String(i)));
  assert.equal(
    mcastPingEventText({ event: "reply", from: key, port: from.port, seq: 3, rtt_ms: 0.123 }),
    "reply from [fe80::2%eth0]:5000 seq=3 time=0.123 ms",
  );
});
