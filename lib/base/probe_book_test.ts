import assert from "node:assert/strict";
import { fillProbe, makeProbe, MIN_PROBE, ProbeBook } from "./probe_book.ts";

Deno.test("makeProbe lays out magic, session, sequence, then a filler of the sequence", () => {
  const p = makeProbe(16, 0x01020304, 258);
  assert.deepEqual([...p.subarray(0, MIN_PROBE)], [0x53, 0x42, 0x58, 0x50, 1, 2, 3, 4, 0, 0, 1, 2]);
  const q = new Uint8Array(16);
  fillProbe(q, 0x01020304, 258);
  assert.deepEqual(q, p);
  assert.deepEqual(makeProbe(16, 9, 258).subarray(MIN_PROBE), p.subarray(MIN_PROBE));
  assert.notDeepEqual(makeProbe(16, 0x01020304, 259).subarray(MIN_PROBE), p.subarray(MIN_PROBE));
});

Deno.test("ProbeBook classifies replies, late echoes, duplicates, strangers and damage", () => {
  const book = new ProbeBook(20, 7);
  book.sent(1, 10);
  book.sent(2, 20);
  assert.deepEqual(book.oldest(), [1, 10]);
  assert.deepEqual(book.frame(makeProbe(20, 7, 1), 10.5), { kind: "reply", seq: 1, rtt: 0.5 });
  assert.deepEqual(book.frame(makeProbe(20, 7, 1), 11), { kind: "duplicate", seq: 1 });
  assert.equal(book.timeout(2), true);
  assert.equal(book.timeout(2), false);
  assert.deepEqual(book.frame(makeProbe(20, 7, 2), 50), { kind: "late", seq: 2, rtt: 30 });
  // A second late echo of the same probe is no longer anyone's.
  assert.deepEqual(book.frame(makeProbe(20, 7, 2), 51), { kind: "ignored", seq: 2 });
  assert.deepEqual(book.frame(makeProbe(20, 8, 3), 52), {
    kind: "corrupt",
    seq: null,
    reason: "not our probe",
  });
  assert.deepEqual(book.frame(new Uint8Array(5), 52), {
    kind: "corrupt",
    seq: null,
    reason: "not our probe",
  });
  const bent = makeProbe(20, 7, 1);
  bent[19]! ^= 0xff;
  assert.deepEqual(book.frame(bent, 53), {
    kind: "corrupt",
    seq: 1,
    reason: "echo differs from probe",
  });
  assert.deepEqual(book.frame(makeProbe(19, 7, 1), 53), {
    kind: "corrupt",
    seq: 1,
    reason: "echo differs from probe",
  });
});

Deno.test("ProbeBook refuses the oldest probe in flight, and nothing when none is", () => {
  const book = new ProbeBook(12, 1);
  assert.equal(book.refuse(), null);
  book.sent(4, 0);
  book.sent(5, 1);
  assert.equal(book.refuse(), 4);
  assert.deepEqual([...book.inFlight.keys()], [5]);
  // A refused probe's echo, should one come, is no reply.
  assert.deepEqual(book.frame(makeProbe(12, 1, 4), 2), { kind: "ignored", seq: 4 });
});
