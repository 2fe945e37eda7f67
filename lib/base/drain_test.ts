import assert from "node:assert/strict";
import { DEFAULT_DRAIN_MS, DRAIN_QUIET_MS, LINGER_MS } from "./drain.ts";

Deno.test("a quiet peer ends a drain or a linger well before either's deadline", () => {
  // The engines close a quiet connection first and cut the rest at the deadline: a quiet
  // time as long as a deadline would make every close a cut.
  assert.ok(DRAIN_QUIET_MS > 0);
  assert.ok(DRAIN_QUIET_MS * 10 <= LINGER_MS, `${DRAIN_QUIET_MS} vs ${LINGER_MS}`);
  assert.ok(DRAIN_QUIET_MS * 10 <= DEFAULT_DRAIN_MS, `${DRAIN_QUIET_MS} vs ${DEFAULT_DRAIN_MS}`);
});
