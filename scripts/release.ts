/**
 * `deno task release`: the files a release attaches, written to one directory with their
 * SHA-256 sums (`SHA256SUMS`, the format `sha256sum -c` checks):
 *
 * - `sockbox-VERSION-TARGET` for each target: `deno compile` of main.ts with the same
 *   flags as `deno task compile` ({@link compileFlags});
 * - `sockbox-VERSION.js` with `--bundle`: the one-file bundle of `deno task bundle`, for
 *   machines that have `deno` (its `#!` line runs it).
 *
 * Then every artifact this machine can run prints `--version`, and the line must name
 * this version, the Deno version, the target and the kind (compiled or bundle): the
 * workflow's log shows what was built, and a binary that does not start fails the release.
 *
 * ```sh
 * deno task release --bundle --tag v0.1.0            # both Linux targets and the bundle
 * deno task release --no-compile --bundle --out /tmp/r # the bundle only (no denort needed)
 * ```
 *
 * Exit status: 0 when every artifact was built and checked, 1 when one was not, 2 for bad
 * arguments.
 *
 * @module
 */
import { parseFlags } from "../lib/cli/args.ts";
import { UsageError } from "../lib/base/errors.ts";
import { type BuildKind, versionText } from "../lib/sys/build.ts";
import config from "../deno.json" with { type: "json" };

/**
 * The targets a release builds by default. sockbox's libc layer (lib/ffi/) opens glibc's
 * `libc.so.6` and describes Linux's struct layouts and constants for LP64 (x86_64 and
 * aarch64; `struct epoll_event` is the one layout that differs, and is described for
 * both). `deno compile` also targets macOS and Windows, but there most commands would
 * only report that the libc layer supports Linux only: macOS has libSystem, BSD socket
 * addresses (`sin_len`) and other constants; Windows has Winsock. Deno has no musl target.
 */
export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;

/**
 * The `deno compile` flags of `deno task compile` in deno.json, the one list: the
 * permission set and unstable list (`-P`), and `--include` for each Worker module, which
 * is loaded by URL at run time and so is not in the module graph (lib/ffi/engine/pool.ts).
 * Throws when the task is not `deno compile FLAGS... -o OUT main.ts`.
 */
export function compileFlags(task: string = config.tasks.compile): string[] {
  const words = task.trim().split(/\s+/);
  const o = words.indexOf("-o");
  if (words[0] !== "deno" || words[1] !== "compile" || o < 0 || words.at(-1) !== "main.ts") {
    throw new TypeError(`deno task compile is not "deno compile FLAGS... -o OUT main.ts": ${task}`);
  }
  return [...words.slice(2, o), ...words.slice(o + 2, -1)];
}

/** The repository root. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** Parsed `release` arguments. */
export interface ReleaseArgs {
  /** Targets to compile (empty with `--no-compile`). */
  targets: string[];
  /** Whether to ship the one-file bundle too. */
  bundle: boolean;
  /** The directory the files and SHA256SUMS go to. */
  out: string;
  /** The git tag being released (`v0.1.0`); must match deno.json's version. */
  tag?: string;
}

export const USAGE =
  `Usage: deno task release [--target T]... [--no-compile] [--bundle] [--tag vX.Y.Z]
                         [--out DIR]

Builds the release files into DIR (default dist/release) with their SHA256SUMS, and runs
--version of each one this machine can run.

Options:
  --target T    compile for T (repeatable; default: ${TARGETS.join(", ")})
  --no-compile  compile nothing (deno compile needs denort for each target)
  --bundle      also ship the one-file bundle, sockbox-VERSION.js
  --tag vX.Y.Z  the tag being released: must be v followed by deno.json's version
  --out DIR     where the files go (default dist/release)`;

/** Parses `release` arguments (pure); throws `UsageError`. */
export function parseReleaseArgs(args: string[], version: string = config.version): ReleaseArgs {
  const { values, positionals } = parseFlags(args, {
    target: { type: "string", multiple: true },
    "no-compile": { type: "boolean" },
    bundle: { type: "boolean" },
    tag: { type: "string" },
    out: { type: "string" },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values["no-compile"] && values.target) {
    throw new UsageError("--target cannot be used with --no-compile");
  }
  const targets = values["no-compile"] ? [] : values.target ?? [...TARGETS];
  if (targets.length === 0 && !values.bundle) {
    throw new UsageError("nothing to build: --no-compile needs --bundle");
  }
  if (values.tag !== undefined && values.tag !== `v${version}`) {
    throw new UsageError(
      `tag "${values.tag}" does not match deno.json's version ${version} (expected v${version})`,
    );
  }
  const out: ReleaseArgs = { targets, bundle: values.bundle ?? false, out: values.out ?? "" };
  if (!out.out) out.out = `${ROOT}dist/release`;
  if (values.tag !== undefined) out.tag = values.tag;
  return out;
}

/** The file name of a release artifact: `sockbox-0.1.0-x86_64-unknown-linux-gnu`, `sockbox-0.1.0.js`. */
export function artifactName(version: string, target: string | "bundle"): string {
  return target === "bundle" ? `sockbox-${version}.js` : `sockbox-${version}-${target}`;
}

/** The `deno compile` arguments for one target. */
export function compileArgs(target: string, out: string): string[] {
  return ["compile", ...compileFlags(), "--target", target, "-o", out, "main.ts"];
}

/** The SHA-256 of `data`, as lowercase hex. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA256SUMS text: `HEX  NAME` per file, sorted by name, as `sha256sum` writes it. */
export function sumsText(sums: ReadonlyMap<string, string>): string {
  return [...sums].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([name, hex]) => `${hex}  ${name}\n`).join("");
}

/** What `--version` of an artifact must print. */
export function expectedVersion(kind: BuildKind, target: string): string {
  return versionText({ version: config.version, deno: Deno.version.deno, target, kind });
}

async function deno(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { ok: r.success, stderr: new TextDecoder().decode(r.stderr).trim() };
}

/** Runs `file --version` from a directory outside the repository, with deno on PATH. */
async function versionOf(file: string): Promise<string> {
  const cwd = await Deno.makeTempDir({ prefix: "sockbox-release-" });
  try {
    const bin = Deno.execPath().replace(/\/[^/]*$/, "");
    const r = await new Deno.Command(file, {
      args: ["--version"],
      cwd,
      env: { PATH: `${bin}:${Deno.env.get("PATH") ?? ""}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return r.success
      ? dec.decode(r.stdout).trim()
      : `exit ${r.code}: ${dec.decode(r.stderr).trim()}`;
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Builds, sums and checks the release; resolves to the exit code. */
export async function release(a: ReleaseArgs): Promise<number> {
  await Deno.mkdir(a.out, { recursive: true });
  const built: { name: string; kind: BuildKind; target: string }[] = [];
  for (const target of a.targets) {
    const name = artifactName(config.version, target);
    console.error(`release: deno compile --target ${target}`);
    const r = await deno(compileArgs(target, `${a.out}/${name}`));
    if (!r.ok) {
      console.error(`release: deno compile --target ${target} failed:\n${r.stderr}`);
      return 1;
    }
    built.push({ name, kind: "compiled", target });
  }
  if (a.bundle) {
    console.error("release: deno task bundle");
    const r = await deno(["run", "-q", "-A", "scripts/bundle.ts"]);
    if (!r.ok) {
      console.error(`release: the bundle failed:\n${r.stderr}`);
      return 1;
    }
    const name = artifactName(config.version, "bundle");
    await Deno.copyFile(`${ROOT}dist/sockbox.js`, `${a.out}/${name}`);
    await Deno.chmod(`${a.out}/${name}`, 0o755);
    built.push({ name, kind: "bundle", target: Deno.build.target });
  }
  const sums = new Map<string, string>();
  for (const b of built) {
    sums.set(b.name, await sha256Hex(await Deno.readFile(`${a.out}/${b.name}`)));
  }
  await Deno.writeTextFile(`${a.out}/SHA256SUMS`, sumsText(sums));
  let failed = 0;
  for (const b of built) {
    if (b.target !== Deno.build.target) {
      console.log(`${b.name}: not run here (built for ${b.target}, this is ${Deno.build.target})`);
      continue;
    }
    const got = await versionOf(`${a.out}/${b.name}`);
    const want = expectedVersion(b.kind, b.target);
    console.log(`${b.name}: ${got}`);
    if (got !== want) {
      console.error(`release: ${b.name} --version printed "${got}", expected "${want}"`);
      failed++;
    }
  }
  console.log(`SHA256SUMS:\n${sumsText(sums).trimEnd()}`);
  return failed ? 1 : 0;
}

if (import.meta.main) {
  let a: ReleaseArgs;
  try {
    if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
      console.log(USAGE);
      Deno.exit(0);
    }
    a = parseReleaseArgs(Deno.args);
  } catch (e) {
    console.error(`release: ${(e as Error).message}`);
    Deno.exit(2);
  }
  Deno.exit(await release(a));
}
