import assert from "node:assert/strict";
import { spliceModeFromEnv, splicesFor } from "./splice.ts";

Deno.test("SOCKBOX_SPLICE: 0 never, 1 always, anything else auto", () => {
  assert.equal(spliceModeFromEnv("0"), "never");
  assert.equal(spliceModeFromEnv("1"), "always");
  for (const v of [undefined, "", "yes", "2"]) assert.equal(spliceModeFromEnv(v), "auto", `${v}`);
});

Deno.test("auto splices for every peer but a loopback one", () => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1"]) assert.equal(splicesFor("auto", a), false, a);
  for (const a of ["192.0.2.1", "10.127.0.1", "::2", "fe80::1", "2001:db8::1"]) {
    assert.equal(splicesFor("auto", a), true, a);
  }
  assert.equal(splicesFor("always", "127.0.0.1"), true);
  assert.equal(splicesFor("never", "192.0.2.1"), false);
});
