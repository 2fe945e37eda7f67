/**
 * The benchmark harness's pure parts: it runs sockbox with the same flags as
 * `deno task start`, and its argument parser rejects bad input with one line.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { parseBenchArgs } from "../scripts/bench.ts";
import { parseSummary, sockboxCommands } from "../scripts/bench_echo.ts";
import { UsageError } from "../lib/base/errors.ts";

Deno.test("bench runs sockbox exactly as deno task start does", () => {
  const start = config.tasks.start; // deno run -q -P main.ts
  const cmds = sockboxCommands("/repo", "deno");
  assert.equal(cmds.tcp, "deno run -q -P /repo/main.ts serve tcp {PORT} --host {HOST}");
  assert.equal(cmds.udp, "deno run -q -P /repo/main.ts serve udp {PORT} --host {HOST}");
  assert.ok(cmds.tcp.startsWith(start.replace(" main.ts", " /repo/main.ts")));
});

Deno.test("bench --only picks known sections in order and rejects others", () => {
  assert.deepEqual(parseBenchArgs([]).sections, ["echo"]);
  assert.deepEqual(parseBenchArgs(["--only", "sctp,echo", "--only", "ifaces"]).sections, [
    "echo",
    "ifaces",
    "sctp",
  ]);
  assert.throws(() => parseBenchArgs(["--only", "disk"]), (e: unknown) =>
    e instanceof UsageError &&
    e.message === 'invalid --only "disk": must be one of echo, ifaces, sctp');
  assert.deepEqual(parseBenchArgs(["--", "-x"]).passThrough, ["-x"]);
});

Deno.test("bench reads run.sh's summary lines", () => {
  const s = parseSummary("sockbox pp1 rt_s 15025 14000 16000 5\nnoise line\n");
  assert.deepEqual(s.get("sockbox pp1 rt_s"), { med: 15025, min: 14000, max: 16000, n: 5 });
  assert.equal(s.size, 1);
});
