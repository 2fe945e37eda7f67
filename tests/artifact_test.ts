/**
 * The suite runs what it says it runs: `sockbox --version` and `doctor` name the kind of
 * sockbox under test, which is the source tree unless `SOCKBOX_BIN` names an artifact and
 * scripts/test_artifact.ts says which kind in `SOCKBOX_EXPECT_BUILD`.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { jsonLines, runSockbox } from "./helpers.ts";

const EXPECTED = Deno.env.get("SOCKBOX_EXPECT_BUILD") ?? "source";
const LINE = `${config.version} (deno ${Deno.version.deno}, ${Deno.build.target}, ${EXPECTED})`;

Deno.test(`--version names the version, Deno, the target and the kind (${EXPECTED})`, async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await runSockbox([flag]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `sockbox ${LINE}\n`, ""]);
  }
});

Deno.test("doctor reports the same build as its first check", async () => {
  const r = await runSockbox(["doctor", "--json"]);
  const first = jsonLines(r.stdout)[0]!;
  assert.equal(first.name, "sockbox");
  assert.equal(first.status, "ok");
  assert.equal(first.detail, LINE);
  assert.deepEqual(first.value, {
    version: config.version,
    deno: Deno.version.deno,
    target: Deno.build.target,
    kind: EXPECTED,
  });
});
