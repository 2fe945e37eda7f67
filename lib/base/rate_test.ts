import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { parseRate, RateLimiter } from "./rate.ts";

Deno.test("parseRate reads R and R/s", () => {
  assert.deepEqual(parseRate("--rate", "100"), { perSecond: 100, burst: 100 });
  assert.deepEqual(parseRate("--rate", "20/s"), { perSecond: 20, burst: 20 });
  assert.deepEqual(parseRate("--rate", "0.5/s"), { perSecond: 0.5, burst: 1 });
  assert.deepEqual(parseRate("--rate", "2.5"), { perSecond: 2.5, burst: 3 });
});

Deno.test("parseRate names the flag for a bad value", () => {
  for (const bad of ["", "0", "0/s", "-1", "1/m", "x", "1e3", "/s", "1/s/s", "1e10"]) {
    assert.throws(() => parseRate("--rate", bad), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(
        e.message,
        `invalid --rate "${bad}": must be a number of events a second, e.g. 100 or 100/s`,
      );
      return true;
    }, bad);
  }
});

Deno.test("RateLimiter passes a burst, then the rate", () => {
  const r = new RateLimiter({ perSecond: 10, burst: 3 });
  const at0 = [0, 0, 0, 0].map(() => r.take("a", 0));
  assert.deepEqual(at0, [true, true, true, false]);
  assert.equal(r.take("a", 50), false); // half a token
  assert.equal(r.take("a", 100), true); // one token after 100 ms
  assert.equal(r.take("a", 100), false);
  assert.equal(r.take("b", 100), true); // keys are independent
});

Deno.test("RateLimiter never holds more than maxKeys buckets and evicts the least recent", () => {
  const r = new RateLimiter({ perSecond: 1, burst: 1 }, 3);
  assert.equal(r.take("a", 0), true);
  assert.equal(r.take("b", 0), true);
  assert.equal(r.take("c", 0), true);
  assert.equal(r.take("a", 0), false); // a is now the most recent
  assert.equal(r.take("d", 0), true); // evicts b
  assert.equal(r.size, 3);
  assert.equal(r.take("a", 0), false); // a kept its empty bucket
  assert.equal(r.take("b", 0), true); // b came back with a full one
  assert.equal(r.size, 3);
});

Deno.test("RateLimiter drops buckets that have refilled", () => {
  const r = new RateLimiter({ perSecond: 100, burst: 100 });
  for (let i = 0; i < 1000; i++) r.take(`10.0.${i >> 8}.${i & 255}`, 0);
  assert.equal(r.size, 1000);
  r.take("x", 5000);
  assert.equal(r.size, 1);
});

Deno.test("RateLimiter memory stays bounded under a flood of distinct sources", () => {
  const r = new RateLimiter({ perSecond: 1, burst: 1 }, 1000);
  for (let i = 0; i < 100_000; i++) r.take(String(i), i / 1000);
  assert.ok(r.size <= 1000);
});

Deno.test("RateLimiter rejects nonsense settings", () => {
  assert.throws(() => new RateLimiter({ perSecond: 0, burst: 1 }), RangeError);
  assert.throws(() => new RateLimiter({ perSecond: 1, burst: 0 }), RangeError);
  assert.throws(() => new RateLimiter({ perSecond: 1, burst: 1 }, 0), RangeError);
});
