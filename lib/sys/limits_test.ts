import assert from "node:assert/strict";
import { fileLimitText } from "./limits.ts";

Deno.test("fileLimitText says whether the limit was raised", () => {
  assert.equal(
    fileLimitText({ from: 1024, to: 524288, hard: 524288 }),
    "open files: soft limit raised from 1024 to 524288 (RLIMIT_NOFILE)",
  );
  assert.equal(
    fileLimitText({ from: 256, to: 256, hard: 256 }),
    "open files: soft limit 256 (RLIMIT_NOFILE; the hard limit is 256)",
  );
});
