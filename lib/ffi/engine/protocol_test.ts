import assert from "node:assert/strict";
import {
  addTotals,
  CONTROL,
  noTotals,
  publishTotals,
  readTotals,
  releaseSlot,
  statsBuffer,
  takeSlot,
} from "./protocol.ts";

Deno.test("takeSlot counts open connections and refuses beyond the limit", () => {
  const ctl = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
  assert.equal(takeSlot(ctl, 2), 1);
  assert.equal(takeSlot(ctl, 2), 2);
  assert.equal(takeSlot(ctl, 2), 0);
  releaseSlot(ctl);
  assert.equal(takeSlot(ctl, 2), 2);
  assert.equal(ctl[CONTROL.open], 2);
});

Deno.test("takeSlot with no limit (0) always grants", () => {
  const ctl = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
  for (let i = 1; i <= 1000; i++) assert.equal(takeSlot(ctl, 0), i);
});

Deno.test("addTotals sums every field", () => {
  const t = addTotals(noTotals(), {
    connections: 1,
    datagrams: 2,
    bytes_in: 3,
    bytes_out: 4,
    max_conns: 5,
    aborted: 6,
  });
  addTotals(t, {
    connections: 10,
    datagrams: 20,
    bytes_in: 30,
    bytes_out: 40,
    max_conns: 50,
    aborted: 60,
  });
  assert.deepEqual(t, {
    connections: 11,
    datagrams: 22,
    bytes_in: 33,
    bytes_out: 44,
    max_conns: 55,
    aborted: 66,
  });
});

Deno.test("publishTotals and readTotals sum every worker's words", () => {
  const stats = new Float64Array(statsBuffer(2));
  assert.deepEqual(readTotals(stats), noTotals());
  publishTotals(stats, 0, { ...noTotals(), connections: 2, bytes_in: 10, refused: { rate: 1 } });
  publishTotals(stats, 1, {
    ...noTotals(),
    connections: 1,
    bytes_out: 4,
    aborted: 3,
    refused: { rate: 2, "max-bytes": 1 },
  });
  assert.deepEqual(readTotals(stats), {
    ...noTotals(),
    connections: 3,
    bytes_in: 10,
    bytes_out: 4,
    aborted: 3,
    refused: { rate: 3, "max-bytes": 1 },
  });
});
