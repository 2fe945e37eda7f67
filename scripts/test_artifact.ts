/**
 * `deno task test:bundle` and `deno task test:compiled`: the end-to-end suite (tests/)
 * against the file users run instead of the source tree.
 *
 * - `bundle`: builds dist/sockbox.js (scripts/bundle.ts), copies it as `sockbox` into a
 *   new directory outside the repository (no deno.json, no lib/ beside it) and runs
 *   `deno test` over the repository's tests/ from that directory, with `SOCKBOX_BIN`
 *   naming the copy (tests/helpers.ts), so every test starts it through its own `#!` line.
 *   Left to `deno task test`, as they prove nothing new about the artifact:
 *   - the test files that never start it ({@link SOURCE_ONLY_FILES}: they import lib/ or
 *     scripts/ in-process, or run main.ts or build a bundle from the source tree
 *     themselves), and the stress and limit tests (tests/hardening_test.ts), which load
 *     the servers through engine code that is the same in the artifact;
 *   - within files, decided there with `ARTIFACT_RUN` (tests/helpers.ts), what re-checks
 *     code that is the same in the artifact on another engine or against other peers:
 *     whatever runs inside User-Mode Linux (the SCTP cases, bench sctp), the engine matrix
 *     (tests/serve_engines_test.ts re-running the serve suite per engine, its 200 MiB
 *     stream on the read/write fallback and the deno engine, tests/lifecycle_test.ts on
 *     the deno engine), and bench's counting against servers other than sockbox's own
 *     (tests/bench_cli_test.ts).
 *
 *   What stays still starts every command from the artifact, both engines, the echo, ping
 *   and bench Workers, and every lazily imported module but those that run only on a
 *   kernel with SCTP (the SCTP clients, `serve sctp --exec`), found here inside User-Mode
 *   Linux: tests/sctp_test.ts's argument checks load the SCTP command, and `serve all`
 *   the SCTP server. The tests are not type-checked again (`--no-check`).
 * - `compiled`: the same with `deno compile` output (the flags of `deno task compile`), or
 *   with `--bin FILE`, a binary built before (the release workflow passes the one it
 *   ships). `deno compile` needs denort, the runtime it copies, for the target: named by
 *   `DENORT_BIN`, cached in `$DENO_DIR/dl/release/vVERSION/`, or downloaded from
 *   dl.deno.land. Where it cannot get one, this says why and skips (exit 0), or, under
 *   `SOCKBOX_REQUIRE_ALL=1`, fails (exit 1), as a skipped test does there.
 *
 * `SOCKBOX_EXPECT_BUILD` tells the suite which kind the artifact must report
 * (tests/artifact_test.ts), so a run that silently fell back to the source tree fails.
 *
 * Neither is part of `deno task test`. `.ci/run` runs test:bundle after the normal suite;
 * test:compiled runs where denort can be had (the release workflow), not here.
 *
 * ```sh
 * deno task test:bundle                       # tests/ but the source-only parts
 * deno task test:bundle tests/serve_test.ts -- --filter half-close
 * deno task test:compiled --bin dist/release/sockbox-0.1.0-x86_64-unknown-linux-gnu
 * ```
 *
 * Exit status: deno test's, 0 for a skip, 2 for bad arguments.
 *
 * @module
 */
import { parseFlags } from "../lib/cli/args.ts";
import { UsageError } from "../lib/base/errors.ts";
import { compileArgs, ROOT } from "./release.ts";

/** Which artifact to test. */
export type ArtifactKind = "bundle" | "compiled";

/** Parsed arguments. */
export interface ArtifactArgs {
  kind: ArtifactKind;
  /** A prebuilt artifact to test instead of building one. */
  bin?: string;
  /** Test files or directories (repository-relative) to run instead of tests/. */
  files: string[];
  /** `deno test` flags (after `--`). */
  testFlags: string[];
}

export const USAGE =
  `Usage: deno run -A scripts/test_artifact.ts bundle|compiled [FILE...] [--bin FILE] [-- DENO TEST FLAGS]`;

/** Parses the arguments (pure); throws `UsageError`. */
export function parseArtifactArgs(args: string[]): ArtifactArgs {
  const dash = args.indexOf("--");
  const own = dash < 0 ? args : args.slice(0, dash);
  const rest = dash < 0 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseFlags(own, { bin: { type: "string" } });
  const [kind, ...files] = positionals;
  if (kind !== "bundle" && kind !== "compiled") {
    throw new UsageError(
      kind === undefined ? "missing artifact (bundle, compiled)" : `unknown artifact "${kind}"`,
    );
  }
  const out: ArtifactArgs = { kind, files, testFlags: rest };
  if (values.bin !== undefined) out.bin = values.bin;
  return out;
}

/** Test files an artifact run leaves to `deno task test`, each with the reason. */
const SOURCE_ONLY: Readonly<Record<string, string>> = {
  // The servers under load (10000 connections, slowloris, out of fds, limits): the same
  // engine code the source run checks, and the longest file.
  "tests/hardening_test.ts": "stress and limits of engine code that is the same",
  // These never start the artifact, whatever SOCKBOX_BIN names.
  "tests/fuzz_argv_test.ts": "runs main.ts from the source tree in-process",
  "tests/release_test.ts": "scripts/release.ts builds its own bundle from the source tree",
  "tests/packaging_test.ts": "deno.json's tasks, and `deno task bundle` from the source tree",
  "tests/startup_graph_test.ts": "`deno info` over the source modules",
  "tests/layers_test.ts": "the imports of lib/",
  "tests/ffi_structs_test.ts": "lib/ffi in-process",
  "tests/sockopt_test.ts": "lib/ffi in-process",
  "tests/mod_test.ts": "the library API (mod.ts) in-process",
  "tests/bench_test.ts": "the benchmark scripts' parsers and tables",
  "tests/bench_scale_test.ts": "the benchmark scripts' parsers and tables",
  "tests/junit_test.ts": "the test helpers' JUnit reader",
};

/**
 * Test files an artifact run leaves to `deno task test`: the stress and limit tests, and
 * the files that never start the artifact (the reasons are in `SOURCE_ONLY` above). The
 * UML SCTP cases, the engine matrix and bench's checks against other servers stay out
 * too, decided in their files (`ARTIFACT_RUN` in tests/helpers.ts).
 */
export const SOURCE_ONLY_FILES: readonly string[] = Object.keys(SOURCE_ONLY);

/** The repository-relative test files of an artifact run: tests/ but {@link SOURCE_ONLY_FILES}. */
export async function artifactTestFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}tests`)) {
    const f = `tests/${e.name}`;
    if (e.isFile && e.name.endsWith("_test.ts") && !SOURCE_ONLY_FILES.includes(f)) files.push(f);
  }
  return files.sort();
}

/**
 * Why `deno compile` could not make a binary, when the reason is that it has no denort
 * (nothing cached, no download): the cause line of its error. Null for any other failure.
 */
export function denortMissing(stderr: string): string | null {
  if (!/Setting up base binary/.test(stderr)) return null;
  // deno prints "0: ...", "1: error sending request for url (...): ...", ...
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const cause = /^\s*1: (.*)$/m.exec(plain)?.[1] ?? plain.trim().split("\n").at(-1) ?? "";
  return `deno compile has no denort for ${Deno.build.target} (not in DENORT_BIN or ` +
    `$DENO_DIR/dl/release/v${Deno.version.deno}/, and the download failed: ${cause})`;
}

const skipOrFail = (reason: string): number => {
  if (Deno.env.get("SOCKBOX_REQUIRE_ALL") === "1") {
    console.error(
      `test:compiled: cannot run here: ${reason} (SOCKBOX_REQUIRE_ALL=1 forbids skipping)`,
    );
    return 1;
  }
  console.error(`test:compiled: skipped: ${reason}`);
  return 0;
};

/** Builds (or takes) the artifact, copies it outside the repository, runs the suite. */
export async function testArtifact(a: ArtifactArgs): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: `sockbox-${a.kind}-` });
  const started = performance.now();
  try {
    if (dir.startsWith(ROOT)) throw new Error(`${dir} is inside the repository`);
    const bin = `${dir}/sockbox`;
    if (a.bin !== undefined) {
      await Deno.copyFile(a.bin, bin);
    } else if (a.kind === "bundle") {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-q", "-A", "scripts/bundle.ts"],
        cwd: ROOT,
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!r.success) return 1;
      await Deno.copyFile(`${ROOT}dist/sockbox.js`, bin);
    } else {
      const r = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(Deno.build.target, bin),
        cwd: ROOT,
        stdout: "inherit",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      if (!r.success) {
        const why = denortMissing(stderr);
        if (why !== null) return skipOrFail(why);
        console.error(stderr);
        return 1;
      }
    }
    await Deno.chmod(bin, 0o755);
    const files = a.files.length
      ? a.files.map((f) => `${ROOT}${f}`)
      : (await artifactTestFiles()).map((f) => `${ROOT}${f}`);
    console.error(`test:${a.kind}: SOCKBOX_BIN=${bin}, from ${dir}`);
    const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
    const r = await new Deno.Command(Deno.execPath(), {
      // `deno task test` type-checked these files already; the artifact is what is tested.
      args: ["test", "-A", "--no-check", "--config", `${ROOT}deno.json`, ...a.testFlags, ...files],
      cwd: dir,
      env: {
        SOCKBOX_BIN: bin,
        SOCKBOX_EXPECT_BUILD: a.kind,
        PATH: `${denoDir}:${Deno.env.get("PATH") ?? ""}`,
      },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    console.error(
      `test:${a.kind}: ${r.success ? "passed" : "FAILED"} in ${
        ((performance.now() - started) / 1000).toFixed(0)
      } s`,
    );
    return r.code;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let a: ArtifactArgs;
  try {
    a = parseArtifactArgs(Deno.args);
  } catch (e) {
    console.error(`test_artifact: ${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  Deno.exit(await testArtifact(a));
}
