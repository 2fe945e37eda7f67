/**
 * The scripts the release workflow (.github/workflows/release.yml) calls, run here:
 * scripts/release.ts on the bundle route (deno compile needs denort, which this machine
 * cannot download), and scripts/test_artifact.ts's compiled mode, which builds and tests a
 * binary where denort can be had and otherwise says why it skips.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import {
  artifactName,
  compileArgs,
  compileFlags,
  expectedVersion,
  parseReleaseArgs,
  ROOT,
  sha256Hex,
  sumsText,
  TARGETS,
} from "../scripts/release.ts";
import { artifactTestFiles, denortMissing, parseArtifactArgs } from "../scripts/test_artifact.ts";
import { hasCommand, sh, skipped } from "./helpers.ts";

const V = config.version;

Deno.test("the release compiles with the flags of deno task compile", () => {
  const flags = compileFlags();
  assert.equal(config.tasks.compile, `deno compile ${flags.join(" ")} -o dist/sockbox main.ts`);
  assert.ok(flags.includes("-P"));
  // Every Worker entry module goes in with --include (it is loaded by URL, not imported).
  for (const w of ["lib/ffi/engine/worker.ts"]) assert.ok(flags.includes(w), w);
  assert.deepEqual(compileArgs("aarch64-unknown-linux-gnu", "/o/x"), [
    "compile",
    ...flags,
    "--target",
    "aarch64-unknown-linux-gnu",
    "-o",
    "/o/x",
    "main.ts",
  ]);
  assert.deepEqual(compileFlags("deno compile -q -P -o dist/x main.ts"), ["-q", "-P"]);
  assert.throws(() => compileFlags("deno run main.ts"), { name: "TypeError" });
});

Deno.test("release arguments: targets, bundle, tag and output directory", () => {
  assert.deepEqual(parseReleaseArgs([], "1.0.0"), {
    targets: [...TARGETS],
    bundle: false,
    out: `${ROOT}dist/release`,
  });
  assert.deepEqual(
    parseReleaseArgs(["--no-compile", "--bundle", "--tag", "v1.0.0", "--out", "/r"], "1.0.0"),
    { targets: [], bundle: true, out: "/r", tag: "v1.0.0" },
  );
  assert.deepEqual(
    parseReleaseArgs(["--target", "x86_64-unknown-linux-gnu"], "1.0.0").targets,
    ["x86_64-unknown-linux-gnu"],
  );
  const bad: [string[], string][] = [
    [
      ["--tag", "v1.0.1"],
      'tag "v1.0.1" does not match deno.json\'s version 1.0.0 (expected v1.0.0)',
    ],
    [["--tag", "1.0.0"], 'tag "1.0.0" does not match deno.json\'s version 1.0.0 (expected v1.0.0)'],
    [["--no-compile"], "nothing to build: --no-compile needs --bundle"],
    [["--no-compile", "--bundle", "--target", "x"], "--target cannot be used with --no-compile"],
    [["x"], 'unexpected argument "x"'],
    [["--targets", "x"], 'unknown option "--targets"'],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parseReleaseArgs(args, "1.0.0"), { name: "UsageError", message });
  }
});

Deno.test("release names, sums and expected --version lines", async () => {
  assert.equal(
    artifactName("1.0.0", "x86_64-unknown-linux-gnu"),
    "sockbox-1.0.0-x86_64-unknown-linux-gnu",
  );
  assert.equal(artifactName("1.0.0", "bundle"), "sockbox-1.0.0.js");
  // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sumsText(new Map([["b", "02"], ["a", "01"]])),
    "01  a\n02  b\n",
  );
  assert.equal(
    expectedVersion("compiled", "aarch64-unknown-linux-gnu"),
    `sockbox ${V} (deno ${Deno.version.deno}, aarch64-unknown-linux-gnu, compiled)`,
  );
});

Deno.test("test_artifact arguments, and the reason it gives when deno compile has no denort", () => {
  assert.deepEqual(parseArtifactArgs(["bundle"]), { kind: "bundle", files: [], testFlags: [] });
  assert.deepEqual(
    parseArtifactArgs(["compiled", "tests/a_test.ts", "--bin", "/b", "--", "--filter", "x"]),
    { kind: "compiled", bin: "/b", files: ["tests/a_test.ts"], testFlags: ["--filter", "x"] },
  );
  assert.throws(() => parseArtifactArgs([]), { message: "missing artifact (bundle, compiled)" });
  assert.throws(() => parseArtifactArgs(["zip"]), { message: 'unknown artifact "zip"' });
  // deno compile's error, as captured on a machine without access to dl.deno.land.
  const stderr = `error: Writing deno compile executable to temporary file '/tmp/x.tmp-1'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
`;
  assert.match(
    denortMissing(stderr)!,
    /^deno compile has no denort for \S+ \(not in DENORT_BIN or \$DENO_DIR\/dl\/release\/v[\d.]+\/, and the download failed: error sending request for url \(https:\/\/dl\.deno\.land\/.*Name or service not known\)$/,
  );
  assert.equal(denortMissing("error: Module not found"), null);
});

Deno.test("an artifact run takes every test file of tests/ but the source-only ones", async () => {
  const files = await artifactTestFiles();
  assert.ok(files.includes("tests/serve_test.ts"), files.join(" "));
  assert.ok(files.includes("tests/sctp_test.ts"), files.join(" "));
  assert.ok(!files.includes("tests/hardening_test.ts"), files.join(" "));
  assert.ok(files.every((f) => /^tests\/[a-z0-9_]+_test\.ts$/.test(f)), files.join(" "));
});

const releaseTest = {
  name: "release --no-compile --bundle writes the bundle, SHA256SUMS and --version",
};
Deno.test(
  !hasCommand("sha256sum") ? skipped({ ...releaseTest, fn() {} }, "sha256sum is not installed") : {
    ...releaseTest,
    async fn() {
      const out = await Deno.makeTempDir({ prefix: "sockbox-release-" });
      try {
        const r = await sh(Deno.execPath(), [
          "run",
          "-q",
          "-A",
          `${ROOT}scripts/release.ts`,
          "--no-compile",
          "--bundle",
          "--tag",
          `v${V}`,
          "--out",
          out,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const name = `sockbox-${V}.js`;
        assert.match(
          r.stdout,
          new RegExp(
            `^${name.replaceAll(".", "\\.")}: ${
              expectedVersion("bundle", Deno.build.target).replace(/[.()]/g, "\\$&")
            }$`,
            "m",
          ),
        );
        assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
          "SHA256SUMS",
          name,
        ]);
        const check = await sh("sh", ["-c", `cd "$1" && sha256sum -c SHA256SUMS`, "sh", out]);
        assert.deepEqual([check.code, check.stdout], [0, `${name}: OK\n`]);
        const bad = await sh(Deno.execPath(), [
          "run",
          "-q",
          "-A",
          `${ROOT}scripts/release.ts`,
          "--tag",
          "v0",
        ]);
        assert.deepEqual(
          [bad.code, bad.stderr],
          [2, `release: tag "v0" does not match deno.json's version ${V} (expected v${V})\n`],
        );
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  },
);

Deno.test("test:compiled builds and tests a binary, or says why it cannot and skips", async () => {
  // One small test file, so that where denort is available this stays short.
  const run = (requireAll: string) =>
    sh(Deno.execPath(), [
      "run",
      "-q",
      "-A",
      `${ROOT}scripts/test_artifact.ts`,
      "compiled",
      "tests/artifact_test.ts",
    ], { env: { SOCKBOX_REQUIRE_ALL: requireAll }, timeoutMs: 300_000 });
  const r = await run("0");
  assert.equal(r.code, 0, r.stderr);
  const skippedHere = /^test:compiled: skipped: deno compile has no denort for /m.test(r.stderr);
  if (skippedHere) {
    const strict = await run("1");
    assert.equal(strict.code, 1);
    assert.match(
      strict.stderr,
      /^test:compiled: cannot run here: deno compile has no denort .* \(SOCKBOX_REQUIRE_ALL=1 forbids skipping\)$/m,
    );
  } else {
    assert.match(
      r.stdout,
      /--version names the version, Deno, the target and the kind \(compiled\)/,
    );
  }
});
