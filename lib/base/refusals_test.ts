import assert from "node:assert/strict";
import { REFUSAL_REASONS, Refusals, refusalsText } from "./refusals.ts";

Deno.test("Refusals counts by reason and lists them in a fixed order", () => {
  const r = new Refusals();
  assert.equal(r.text(), "none");
  assert.deepEqual(r.toJSON(), {});
  r.add("port-zero");
  r.add("rate", 3);
  r.add("denied");
  r.add("rate");
  assert.equal(r.get("rate"), 4);
  assert.equal(r.get("max-bytes"), 0);
  assert.equal(r.total, 6);
  assert.deepEqual(Object.keys(r.toJSON()), ["denied", "rate", "port-zero"]);
  assert.equal(r.text(), "denied 1, rate 4, port-zero 1");
  assert.equal(JSON.stringify({ refused: r }), '{"refused":{"denied":1,"rate":4,"port-zero":1}}');
});

Deno.test("refusalsText skips zero counts", () => {
  assert.equal(refusalsText({ "max-per-ip": 0, "no-fds": 2 }), "no-fds 2");
  assert.equal(new Set(REFUSAL_REASONS).size, REFUSAL_REASONS.length);
});
