import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, parse } from "./doctor.ts";

Deno.test("doctor takes --json only", () => {
  assert.deepEqual(parse([]), { json: false });
  assert.deepEqual(parse(["--json"]), { json: true });
  assertUsageError(() => parse(["x"]), 'unexpected argument "x"');
  assertUsageError(() => parse(["--verbose"]), 'unknown option "--verbose"');
  assertUsageError(() => parse(["--json=1"]), 'option "--json" takes no value');
  assert.match(cmd.usage, /^Usage: sockbox doctor \[--json\]/);
});
