import assert from "node:assert/strict";
import { isAbort, sleep } from "./sleep.ts";

Deno.test("sleep resolves true after the time, false at once when already aborted", async () => {
  const ac = new AbortController();
  assert.equal(await sleep(1, ac.signal), true);
  ac.abort();
  assert.equal(await sleep(60_000, ac.signal), false);
});

Deno.test("sleep resolves false early when the signal aborts, leaving no timer", async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  const p = sleep(60_000, ac.signal);
  setTimeout(() => ac.abort(), 5);
  assert.equal(await p, false);
  assert.ok(performance.now() - t0 < 5_000);
});

Deno.test("isAbort tells cancellation from failure", () => {
  const live = new AbortController().signal;
  const aborted = AbortSignal.abort();
  assert.equal(isAbort(new Error("x"), aborted), true);
  assert.equal(isAbort(new DOMException("stop", "AbortError"), live), true);
  assert.equal(isAbort(new Deno.errors.Interrupted("operation canceled"), live), true);
  assert.equal(isAbort(new Error("x"), live), false);
  assert.equal(isAbort(undefined, live), false);
});
