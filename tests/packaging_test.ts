/**
 * Packaging: `deno task start`, `deno task compile` and the bundle's #! line all use the
 * one permission/unstable list in deno.json.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { runFlags, shebang } from "../scripts/bundle.ts";
import { REPO_ROOT } from "./helpers.ts";

Deno.test("start and compile tasks take their permissions from the same deno.json set", () => {
  const { start, compile } = config.tasks;
  for (const t of [start, compile]) {
    assert.match(t, / -P /);
    assert.doesNotMatch(t, /--allow-|--unstable|-A\b/);
  }
  assert.deepEqual(config.unstable, ["net"]);
  assert.deepEqual(runFlags(), [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-ffi",
    "--allow-sys",
    "--allow-env",
    "--allow-run",
    "--unstable-net",
  ]);
});

Deno.test("deno task bundle writes one runnable file with the same flags", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "bundle"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const file = `${REPO_ROOT}dist/sockbox.js`;
  const first = (await Deno.readTextFile(file)).split("\n", 1)[0];
  assert.equal(first, shebang());
  assert.match(first, /^#!\/usr\/bin\/env -S DENO_NO_UPDATE_CHECK=1 deno run -q --allow-net /);
  const v = await new Deno.Command(file, { stdout: "piped", stderr: "piped", args: ["--version"] })
    .output();
  assert.equal(
    new TextDecoder().decode(v.stdout),
    `sockbox ${config.version} (deno ${Deno.version.deno}, ${Deno.build.target}, bundle)\n`,
  );
  const bad = await new Deno.Command(file, { stdout: "piped", stderr: "piped", args: ["nope"] })
    .output();
  assert.equal(bad.code, 2);
  assert.equal(
    new TextDecoder().decode(bad.stderr),
    'sockbox: unknown command "nope" (try "sockbox help")\n',
  );
});
