import assert from "node:assert/strict";
import { addCounts } from "./counts.ts";

Deno.test("addCounts sums number fields, starts missing ones at 0 and leaves the rest", () => {
  const nested = { rate: 1 };
  const a: { sent: number; lost?: number; refused?: { rate: number } } = { sent: 1 };
  const out = addCounts(a, { sent: 2, lost: 3, refused: nested });
  assert.equal(out, a);
  assert.deepEqual(a, { sent: 3, lost: 3 });
  addCounts(a, { sent: 0.5, lost: 1 });
  assert.deepEqual(a, { sent: 3.5, lost: 4 });
});
