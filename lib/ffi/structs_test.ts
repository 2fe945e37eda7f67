/**
 * The sockaddr codec by hand-built bytes and round trips (struct sockaddr_in and
 * sockaddr_in6 of <netinet/in.h>: family little-endian, port big-endian). The kernel
 * round trips are in tests/ffi_structs_test.ts.
 */
import assert from "node:assert/strict";
import { decodeSockAddr, encodeSockAddr } from "./structs.ts";

Deno.test("encodeSockAddr lays out sockaddr_in: family, port in network order, address", () => {
  const sa = encodeSockAddr("192.0.2.1", 0x1234);
  assert.deepEqual([...sa], [2, 0, 0x12, 0x34, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("encodeSockAddr lays out sockaddr_in6 with flowinfo 0 and the scope id", () => {
  const sa = encodeSockAddr("fe80::1", 7, 3);
  assert.equal(sa.length, 28);
  const dv = new DataView(sa.buffer);
  assert.equal(dv.getUint16(0, true), 10); // AF_INET6
  assert.equal(dv.getUint16(2, false), 7);
  assert.equal(dv.getUint32(4, true), 0); // sin6_flowinfo
  assert.deepEqual([...sa.subarray(8, 24)], [0xfe, 0x80, ...new Array(13).fill(0), 1]);
  assert.equal(dv.getUint32(24, true), 3); // sin6_scope_id
});

Deno.test("sockaddrs round-trip through encode and decode", () => {
  const cases: [string, number, number, object][] = [
    ["127.0.0.1", 7, 0, { family: 4, address: "127.0.0.1", port: 7 }],
    ["0.0.0.0", 0, 0, { family: 4, address: "0.0.0.0", port: 0 }],
    ["255.255.255.255", 65535, 0, { family: 4, address: "255.255.255.255", port: 65535 }],
    ["::", 9, 0, { family: 6, address: "::", port: 9 }],
    ["::ffff:10.0.0.1", 80, 0, { family: 6, address: "::ffff:10.0.0.1", port: 80 }],
    ["2001:db8::a:b", 443, 0, { family: 6, address: "2001:db8::a:b", port: 443 }],
    ["fe80::1", 5000, 4, { family: 6, address: "fe80::1", port: 5000, scopeId: 4 }],
    // A numeric %zone is the scope id and wins over the argument.
    ["fe80::1%9", 5000, 4, { family: 6, address: "fe80::1", port: 5000, scopeId: 9 }],
  ];
  for (const [address, port, scope, want] of cases) {
    assert.deepEqual(decodeSockAddr(encodeSockAddr(address, port, scope)), want, address);
  }
});

Deno.test("decodeSockAddr reads from a view into a larger buffer", () => {
  const big = new Uint8Array(200);
  big.set(encodeSockAddr("::1", 53), 40);
  assert.deepEqual(decodeSockAddr(big.subarray(40, 40 + 128)), {
    family: 6,
    address: "::1",
    port: 53,
  });
});

Deno.test("decodeSockAddr returns null for other families and short buffers", () => {
  assert.equal(decodeSockAddr(new Uint8Array(0)), null);
  assert.equal(decodeSockAddr(new Uint8Array([2])), null);
  assert.equal(decodeSockAddr(encodeSockAddr("10.0.0.1", 1).subarray(0, 8)), null);
  assert.equal(decodeSockAddr(encodeSockAddr("::1", 1).subarray(0, 27)), null);
  assert.equal(decodeSockAddr(new Uint8Array([1, 0, 0, 0])), null); // AF_UNIX
  assert.equal(decodeSockAddr(new Uint8Array(16)), null); // AF_UNSPEC
});

Deno.test("encodeSockAddr refuses what is not an IP literal", () => {
  for (const bad of ["", "localhost", "1.2.3", "1.2.3.256", "::g", "[::1]"]) {
    assert.throws(() => encodeSockAddr(bad, 1), {
      name: "TypeError",
      message: `Invalid IP address "${bad}"`,
    }, bad);
  }
});
