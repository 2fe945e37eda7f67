import assert from "node:assert/strict";
import { decodePeer } from "./peer.ts";
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
