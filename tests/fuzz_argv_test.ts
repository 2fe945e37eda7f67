/**
 * Command-line fuzzing, kept in the suite: tests/fuzz/argv_runner.ts builds seeded random
 * argv from sockbox's own commands, words, flags and edge values and runs each one, inside
 * a private network namespace so nothing fuzzed leaves the machine. Every run must end in
 * exit 0, 1 or 2 (130/143 when the runner's abort stopped it), with no "internal error"
 * and no stack trace. SOCKBOX_FUZZ_SEED replays a seed; the budget is ~20 s of cases.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, requires, sh } from "./helpers.ts";

const SEED = Number(Deno.env.get("SOCKBOX_FUZZ_SEED") ?? 20261129);

Deno.test(requires(["netns", "ip"], {
  name: `every fuzzed command line exits 0/1/2 without an internal error (seed ${SEED})`,
  async fn() {
    const r = await sh("unshare", [
      "-n",
      "sh",
      "-c",
      'ip link set lo up && exec "$0" run -A "$1" "$2" 2000 40000',
      Deno.execPath(),
      `${REPO_ROOT}/tests/fuzz/argv_runner.ts`,
      String(SEED),
    ], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    // Commands write to the runner's in-memory streams; only its own JSON lines reach here.
    const lines = r.stdout.split("\n").filter((l) => l.startsWith('{"')).map((l) =>
      JSON.parse(l) as Record<string, unknown>
    );
    const bad = lines.filter((l) => l.bad);
    assert.deepEqual(bad, [], `failing cases (replay with SOCKBOX_FUZZ_SEED=${SEED})`);
    const done = lines.at(-1);
    assert.equal(done?.done, true, r.stdout.slice(-2000));
    assert.ok((done!.cases as number) >= 500, `only ${done!.cases} cases ran`);
  },
}));
