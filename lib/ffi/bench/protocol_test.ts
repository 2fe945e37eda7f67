import assert from "node:assert/strict";
import {
  addCounters,
  CONTROL_BYTES,
  noCounters,
  PATTERN_PERIOD,
  payloadPattern,
  splitConns,
  START_INDEX,
} from "./protocol.ts";

Deno.test("splitConns spreads connections evenly and starts no idle thread", () => {
  assert.deepEqual(splitConns(64, 2), [32, 32]);
  assert.deepEqual(splitConns(10, 3), [4, 3, 3]);
  assert.deepEqual(splitConns(1, 8), [1]);
  assert.deepEqual(splitConns(3, 0), [3]);
  assert.equal(splitConns(100_000, 7).reduce((a, b) => a + b), 100_000);
});

Deno.test("payloadPattern repeats with its period and differs between seeds", () => {
  const p = payloadPattern(100, 1);
  assert.equal(p.length, PATTERN_PERIOD + 100);
  for (let i = 0; i < 100; i++) assert.equal(p[PATTERN_PERIOD + i], p[i]);
  // Two windows one message apart differ (a stale echo is caught).
  assert.notDeepEqual(p.subarray(0, 64), p.subarray(61, 125));
  assert.notDeepEqual(payloadPattern(0, 1), payloadPattern(0, 2));
  assert.deepEqual(payloadPattern(0, 3), payloadPattern(0, 3));
});

Deno.test("counters add field by field", () => {
  const a = noCounters(), b = noCounters();
  a.roundTrips = 3;
  b.roundTrips = 4;
  b.lost = 2;
  b.late = 1;
  assert.deepEqual(addCounters(a, b), { ...noCounters(), roundTrips: 7, lost: 2, late: 1 });
});

Deno.test("the start time sits after the control words, 8-byte aligned", () => {
  assert.equal(CONTROL_BYTES, START_INDEX * 8 + 8);
  assert.equal(new Float64Array(new SharedArrayBuffer(CONTROL_BYTES)).length, START_INDEX + 1);
});
