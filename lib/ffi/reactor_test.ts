/** doIo, the one retry path, with a scripted attempt in place of a syscall. */
import assert from "node:assert/strict";
import { WOULD_BLOCK, type WouldBlock } from "./errno.ts";
import { doIo } from "./reactor.ts";

Deno.test("doIo retries after each WOULD_BLOCK, waiting for readiness in between", async () => {
  const log: string[] = [];
  const script: (number | WouldBlock)[] = [WOULD_BLOCK, WOULD_BLOCK, 42];
  const n = await doIo(() => {
    log.push("try");
    return script.shift()!;
  }, () => {
    log.push("wait");
    return Promise.resolve();
  });
  assert.equal(n, 42);
  assert.deepEqual(log, ["try", "wait", "try", "wait", "try"]);
});

Deno.test("doIo returns at once when the first attempt succeeds, even with 0 or null", async () => {
  let waits = 0;
  const ready = () => (waits++, Promise.resolve());
  assert.equal(await doIo(() => 0, ready), 0);
  assert.equal(await doIo(() => null, ready), null);
  assert.equal(waits, 0);
});

Deno.test("doIo passes on what the attempt throws and what the wait rejects with", async () => {
  await assert.rejects(
    doIo(() => {
      throw new RangeError("boom");
    }, () => Promise.resolve()),
    RangeError,
  );
  const ac = new AbortController();
  ac.abort(new Error("stopped"));
  await assert.rejects(
    doIo(() => WOULD_BLOCK, () => Promise.reject(ac.signal.reason)),
    /^Error: stopped$/,
  );
});
