/** sizeArg: a byte count as the BigInt a `usize` FFI parameter takes. */
import assert from "node:assert/strict";
import { sizeArg } from "./libc.ts";

Deno.test("sizeArg gives the exact BigInt of counts from 0 up to 2^31 - 1", () => {
  for (const n of [0, 1, 63, 64, 65535, 65536, 8 * 1024 * 1024, 2 ** 31 - 1]) {
    assert.equal(sizeArg(n), BigInt(n));
  }
});

Deno.test("sizeArg of a difference held as a double is the same integer", () => {
  // The case it exists for: `size - sent` where the JIT may hold either operand as a double.
  const size = Math.min(64, Infinity), sent = 0.5 + 0.5;
  assert.equal(sizeArg(size - sent), 63n);
});
