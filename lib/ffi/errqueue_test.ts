import assert from "node:assert/strict";
import { decodeExtendedError, errorsInControl, SOCK_EXTENDED_ERR } from "./errqueue.ts";

/** Control data recvmsg(MSG_ERRQUEUE) returned on Linux 6.18, in a client - router - server
 * namespace chain (client 10.71.1.2 / fd71:1::2, router 10.71.1.1 / fd71:1::1, server
 * 10.71.2.2 / fd71:2::2, router-server link MTU 1400). */
const CAPTURED = {
  // UDP to a port the router rejects (nft: reject with icmpx admin-prohibited).
  v4AdminProhibited:
    "3000000000000000000000000b0000007100000002030d000000000000000000020000000a4701010000000000000000",
  v6AdminProhibited:
    "3c0000000000000029000000190000000d0000000301010000000000000000000a00000000000000fd7100010000000000000000000000010000000000000000",
  // UDP to a port nothing listens on.
  v4PortUnreachable:
    "3000000000000000000000000b0000006f000000020303000000000000000000020000000a4702020000000000000000",
  v6PortUnreachable:
    "3c0000000000000029000000190000006f0000000301040000000000000000000a00000000000000fd7100020000000000000000000000020000000000000000",
  // Don't-fragment datagrams: 1472 bytes over the 1400 hop, then 2000 / 3000 bytes locally.
  v4FragNeeded:
    "3000000000000000000000000b0000005a000000020304007805000000000000020000000a4701010000000000000000",
  v6PacketTooBig:
    "3c0000000000000029000000190000005a0000000302000078050000000000000a00000000000000fd7100010000000000000000000000010000000000000000",
  v4LocalTooBig:
    "3000000000000000000000000b0000005a00000001000000dc0500000000000000000000000000000000000000000000",
  v6LocalTooBig:
    "3c0000000000000029000000190000005a00000001000000dc050000000000000000000000000000000000000000000000000000000000000000000000000000",
};

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
}

Deno.test("errorsInControl decodes captured IP_RECVERR and IPV6_RECVERR messages", () => {
  const cases: [keyof typeof CAPTURED, Record<string, unknown>][] = [
    ["v4AdminProhibited", {
      errno: "EHOSTUNREACH",
      origin: "icmp",
      type: 3,
      code: 13,
      info: 0,
      offender: "10.71.1.1",
    }],
    ["v6AdminProhibited", {
      errno: "EACCES",
      origin: "icmp6",
      type: 1,
      code: 1,
      info: 0,
      offender: "fd71:1::1",
    }],
    ["v4PortUnreachable", {
      errno: "ECONNREFUSED",
      origin: "icmp",
      type: 3,
      code: 3,
      info: 0,
      offender: "10.71.2.2",
    }],
    ["v6PortUnreachable", {
      errno: "ECONNREFUSED",
      origin: "icmp6",
      type: 1,
      code: 4,
      info: 0,
      offender: "fd71:2::2",
    }],
    ["v4FragNeeded", {
      errno: "EMSGSIZE",
      origin: "icmp",
      type: 3,
      code: 4,
      info: 1400,
      offender: "10.71.1.1",
    }],
    ["v6PacketTooBig", {
      errno: "EMSGSIZE",
      origin: "icmp6",
      type: 2,
      code: 0,
      info: 1400,
      offender: "fd71:1::1",
    }],
    ["v4LocalTooBig", {
      errno: "EMSGSIZE",
      origin: "local",
      type: 0,
      code: 0,
      info: 1500,
      offender: null,
    }],
    ["v6LocalTooBig", {
      errno: "EMSGSIZE",
      origin: "local",
      type: 0,
      code: 0,
      info: 1500,
      offender: null,
    }],
  ];
  for (const [name, want] of cases) {
    assert.deepEqual(errorsInControl(hex(CAPTURED[name])), [want], name);
  }
});

Deno.test("errorsInControl walks several messages and skips other levels", () => {
  const a = hex(CAPTURED.v4AdminProhibited); // 48 bytes, already aligned
  const b = hex(CAPTURED.v6PacketTooBig); // 60 bytes + 4 of padding
  const other = new Uint8Array(24); // an IP_PKTINFO-sized cmsg of another type
  new DataView(other.buffer).setBigUint64(0, 24n, true);
  const all = new Uint8Array([...a, ...other, ...b]);
  assert.deepEqual(
    errorsInControl(all).map((e) => e.offender),
    ["10.71.1.1", "fd71:1::1"],
  );
  // A truncated control buffer yields what is whole, and no exception.
  assert.deepEqual(errorsInControl(all.subarray(0, 40)), []);
  assert.deepEqual(errorsInControl(new Uint8Array(0)), []);
});

Deno.test("decodeExtendedError needs the 16-byte header; the offender is optional", () => {
  assert.equal(SOCK_EXTENDED_ERR.size, 16);
  assert.equal(decodeExtendedError(new Uint8Array(15)), null);
  const bare = new Uint8Array(16);
  bare[SOCK_EXTENDED_ERR.origin] = 9;
  assert.deepEqual(decodeExtendedError(bare), {
    errno: "errno 0",
    origin: "other",
    type: 0,
    code: 0,
    info: 0,
    offender: null,
  });
});
