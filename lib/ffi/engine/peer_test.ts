import assert from "node:assert/strict";
import { decodePeer, sourceOf } from "./peer.ts";
import { encodeSockAddr } from "../structs.ts";

Deno.test("decodePeer reads IPv4, IPv4-mapped and other IPv6 peers with their ports", () => {
  const cases: [string, number, string, boolean][] = [
    ["127.0.0.1", 7, "127.0.0.1", false],
    ["192.0.2.255", 65535, "192.0.2.255", false],
    ["::ffff:10.1.2.3", 40000, "10.1.2.3", true],
    ["::1", 1, "::1", false],
    ["2001:db8::ffff:1.2.3.4", 80, "2001:db8::ffff:102:304", false],
    ["::", 0, "::", false],
  ];
  for (const [addr, port, want, mapped] of cases) {
    const sa = encodeSockAddr(addr, port);
    assert.deepEqual(decodePeer(sa, sa.length), { address: want, port, mapped }, addr);
  }
});

Deno.test("decodePeer returns the cached string for a repeated address", () => {
  const a = encodeSockAddr("198.51.100.7", 1), b = encodeSockAddr("::ffff:198.51.100.7", 2);
  assert.equal(decodePeer(a, a.length).address, decodePeer(b, b.length).address);
});

Deno.test("decodePeer of a short or unknown sockaddr gives an empty address", () => {
  const sa = new Uint8Array(16);
  assert.deepEqual(decodePeer(sa, 16), { address: "", port: 0, mapped: false });
  const v6 = encodeSockAddr("::1", 9);
  assert.deepEqual(decodePeer(v6, 10), { address: "", port: 0, mapped: false });
});

Deno.test("sourceOf gives IPv4 and IPv4-mapped sources as numbers, IPv6 by first byte", () => {
  const cases: [string, number, number, number][] = [
    ["127.0.0.1", 7, 0x7f000001, 0],
    ["255.255.255.255", 65535, 0xffffffff, 0],
    ["::ffff:224.0.0.1", 40000, 0xe0000001, 0],
    ["ff02::1", 5353, -1, 0xff],
    ["2001:db8::ffff:1.2.3.4", 80, -1, 0x20],
  ];
  const out = { v4: 0, v6First: 0, port: 0 };
  for (const [addr, port, v4, v6First] of cases) {
    const sa = new Uint8Array(8 + 128);
    sa.set(encodeSockAddr(addr, port), 8); // at an offset, as in the engine's name slots
    assert.deepEqual(sourceOf(sa, 8, out), { v4, v6First, port }, addr);
  }
});
