/**
 * `deno task bundle`: writes dist/sockbox.js, one offline file that runs with
 * `deno` alone. Its `#!` line carries the permission and unstable flags from deno.json
 * (the one list `deno task start` and `deno task compile` use), spelled out because a
 * bundled file runs without the config.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

type PermSet = Record<string, boolean | string[]>;

/** The `deno run` flags equivalent to deno.json's default permission set and unstable list. */
export function runFlags(): string[] {
  const perms = (config.permissions as Record<string, PermSet>).default ?? {};
  const flags: string[] = [];
  for (const [name, value] of Object.entries(perms)) {
    // A read list covering only the source tree's own modules (the echo data plane's
    // Workers) is not needed by the bundle, which carries them inside; read for all files
    // (certificates, quote files, PATH lookups of --exec) is.
    if (name === "read" && value !== true) continue;
    if (value === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(value) && value.length) flags.push(`--allow-${name}=${value.join(",")}`);
  }
  for (const u of config.unstable ?? []) flags.push(`--unstable-${u}`);
  return flags;
}

/**
 * The bundle's `#!` line. `DENO_NO_UPDATE_CHECK=1` because `deno run` otherwise asks
 * dl.deno.land for Deno's latest version in the background of every process that lives
 * more than a moment (a DNS query ~0.5 s after start and, where the name resolves, a
 * connection, each a socket in the process): traffic of its own from a tool whose traffic
 * the operator is there to watch.
 */
export function shebang(): string {
  return `#!/usr/bin/env -S DENO_NO_UPDATE_CHECK=1 deno run -q ${runFlags().join(" ")} --no-config`;
}

/** Worker modules the bundle embeds, with the `Symbol.for` key their pool looks them up by. */
export const WORKERS: readonly (readonly [string, string])[] = [
  ["lib/ffi/engine/worker.ts", "sockbox.echo-worker"],
  ["lib/ffi/bench/worker.ts", "sockbox.bench-worker"],
  ["lib/ffi/ping/worker.ts", "sockbox.ping-worker"],
];

/**
 * How each module is bundled: minified, about half the size, so V8 scans less before the
 * first line (measured: `serve tcp` listening after 72 ms, against 78 ms unminified).
 * Without `--keep-names`, which calls a helper for every function at load (measured: 17 ms
 * slower than minifying without it); our error classes set their `name` themselves
 * (lib/base/errors.ts).
 */
const BUNDLE_FLAGS = ["-q", "--platform", "deno", "--minify"];

if (import.meta.main) {
  const root = new URL("../", import.meta.url).pathname;
  const out = `${root}dist/sockbox.js`;
  await Deno.mkdir(`${root}dist`, { recursive: true });
  const tmp = `${out}.tmp`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", ...BUNDLE_FLAGS, "-o", tmp, `${root}main.ts`],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) {
    console.error("sockbox: bundle failed");
    Deno.exit(1);
  }
  const body = await Deno.readTextFile(tmp);
  // The echo data plane and the bench client run in Workers, whose modules are separate
  // files in the source tree. The bundle carries each module's own bundle as a string, which
  // lib/ffi/engine/pool.ts and lib/ffi/bench/pool.ts turn into a blob: URL (a one-file bundle
  // has no files beside it to load).
  let embedded = "";
  for (const [module, key] of WORKERS) {
    const worker = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", ...BUNDLE_FLAGS, "-o", tmp, `${root}${module}`],
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!worker.success) {
      console.error(`sockbox: bundle failed (${module})`);
      Deno.exit(1);
    }
    embedded += `globalThis[Symbol.for(${JSON.stringify(key)})] = ${
      JSON.stringify(await Deno.readTextFile(tmp))
    };\n`;
  }
  // The mark `sockbox --version` reads to say "bundle" (lib/sys/build.ts, BUNDLE_MARK).
  const mark = `globalThis[Symbol.for("sockbox.bundle")] = true;\n`;
  await Deno.writeTextFile(out, shebang() + "\n" + mark + embedded + body.replace(/^#!.*\n/, ""), {
    mode: 0o755,
  });
  await Deno.remove(tmp);
  console.log(`wrote ${out.slice(root.length)} (${runFlags().join(" ")})`);
}
