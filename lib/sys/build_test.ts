import assert from "node:assert/strict";
import { VERSION } from "../base/version.ts";
import { buildInfo, buildKind, buildText, BUNDLE_MARK, versionText } from "./build.ts";

Deno.test("versionText names the version, the Deno version, the target and the kind", () => {
  const b = {
    version: "1.2.3",
    deno: "2.9.6",
    target: "aarch64-unknown-linux-gnu",
    kind: "compiled",
  } as const;
  assert.equal(versionText(b), "sockbox 1.2.3 (deno 2.9.6, aarch64-unknown-linux-gnu, compiled)");
  assert.equal(buildText(b), "1.2.3 (deno 2.9.6, aarch64-unknown-linux-gnu, compiled)");
});

Deno.test("buildInfo reports a source run, or the bundle when its mark is set", () => {
  const g = globalThis as Record<symbol, unknown>;
  assert.deepEqual(buildInfo(), {
    version: VERSION,
    deno: Deno.version.deno,
    target: Deno.build.target,
    kind: "source",
  });
  g[BUNDLE_MARK] = true;
  try {
    assert.equal(buildKind(), "bundle");
  } finally {
    delete g[BUNDLE_MARK];
  }
  assert.equal(buildKind(), "source");
});
