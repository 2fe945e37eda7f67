import assert from "node:assert/strict";
import type { NetInterface } from "../../sys/interfaces.ts";
import { broadcastEventText, broadcastTargets } from "./broadcast.ts";

Deno.test("broadcastEventText renders sends, replies and the summary", () => {
  assert.equal(
    broadcastEventText({
      event: "sent",
      to: "10.77.0.255",
      port: 9,
      iface: "e0",
      bytes: 2,
      data: "hi",
    }),
    "Sent 2 bytes to 10.77.0.255:9 (e0): hi",
  );
  assert.equal(
    broadcastEventText({
      event: "sent",
      to: "127.255.255.255",
      port: 9,
      iface: null,
      bytes: 5,
      data: "there",
    }),
    "Sent 5 bytes to 127.255.255.255:9: there",
  );
  assert.equal(
    broadcastEventText({
      event: "reply",
      from: "10.77.0.2",
      port: 9,
      bytes: 6,
      data: "ack:hi",
    }),
    "Received 6 bytes from 10.77.0.2:9: ack:hi",
  );
  assert.equal(
    broadcastEventText({ event: "reply", from: null, port: null, bytes: 1, data: "x" }),
    "Received 1 byte from an unknown sender: x",
  );
  assert.equal(
    broadcastEventText({
      event: "reply",
      from: "10.77.0.2",
      port: 9,
      bytes: 3,
      data: "/w0K",
      encoding: "base64",
    }),
    "Received 3 bytes from 10.77.0.2:9: \\xff\\r\\n",
  );
  assert.equal(
    broadcastEventText({ event: "summary", sent: 2, replies: 1 }),
    "2 datagrams sent, 1 reply",
  );
  assert.equal(
    broadcastEventText({ event: "summary", sent: 1, replies: 0 }),
    "1 datagram sent, 0 replies",
  );
});

Deno.test("broadcastTargets takes each up, broadcast-capable interface's address once", () => {
  const iface = (
    name: string,
    flags: string[],
    broadcast: string[],
  ): NetInterface => ({
    name,
    index: name.length,
    flags,
    mtu: 1500,
    addresses: broadcast.map((b) => ({
      family: "inet" as const,
      address: "10.0.0.1",
      prefixlen: 24,
      broadcast: b,
    })),
  });
  const targets = broadcastTargets([
    iface("lo", ["LOOPBACK", "UP"], ["127.255.255.255"]),
    iface("e0", ["BROADCAST", "MULTICAST", "UP"], ["10.77.0.255", "10.78.0.255"]),
    iface("e1", ["BROADCAST", "UP"], ["10.77.0.255"]),
    iface("down0", ["BROADCAST"], ["10.79.0.255"]),
    iface("ptp0", ["POINTOPOINT", "UP"], ["10.80.0.255"]),
  ]);
  assert.deepEqual(targets, [
    { address: "10.77.0.255", iface: "e0" },
    { address: "10.78.0.255", iface: "e0" },
  ]);
});
