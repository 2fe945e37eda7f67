import assert from "node:assert/strict";
import { decodeTime, encodeTime, EPOCH_1900, timeSeconds } from "./time.ts";

Deno.test("encodeTime gives seconds since 1900 as 4 big-endian bytes (RFC 868)", () => {
  assert.deepEqual([...encodeTime(new Date(0))], [0x83, 0xaa, 0x7e, 0x80]);
  assert.equal(timeSeconds(encodeTime(new Date(0))), EPOCH_1900);
  // RFC 868's own examples: 2,629,584,000 is 1 May 1983; 2,398,291,200 is 1 Jan 1976.
  assert.equal(timeSeconds(encodeTime(new Date("1983-05-01T00:00:00Z"))), 2_629_584_000);
  assert.equal(timeSeconds(encodeTime(new Date("1976-01-01T00:00:00Z"))), 2_398_291_200);
  assert.equal(timeSeconds(encodeTime(new Date("1976-01-01T00:00:00.999Z"))), 2_398_291_200);
});

Deno.test("decodeTime round-trips dates on both sides of the 2036 wrap", () => {
  for (
    const iso of [
      "1970-01-01T00:00:00.000Z",
      "2026-11-29T12:34:56.000Z",
      "2036-02-07T06:28:15.000Z", // last second of era 0
      "2036-02-07T06:28:16.000Z", // first second of era 1: wraps to 0
      "2050-06-01T00:00:00.000Z",
    ]
  ) {
    assert.equal(decodeTime(encodeTime(new Date(iso))).toISOString(), iso);
  }
  assert.deepEqual([...encodeTime(new Date("2036-02-07T06:28:16Z"))], [0, 0, 0, 0]);
});

Deno.test("timeSeconds rejects a reply that is not 4 bytes", () => {
  assert.throws(() => timeSeconds(new Uint8Array(3)), {
    name: "RangeError",
    message: "A time reply is 4 bytes, got 3",
  });
});
