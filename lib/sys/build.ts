/**
 * What this copy of sockbox is: its version, the Deno runtime it runs on, the target
 * triple that runtime was built for, and how sockbox reached the user: a `deno compile`
 * binary, the one-file bundle (`deno task bundle`), or a run from the source tree. Bug
 * reports need all four; `sockbox --version` and `sockbox doctor` print them.
 *
 * @module
 */
import { VERSION } from "../base/version.ts";

/** How sockbox was shipped. */
export type BuildKind = "compiled" | "bundle" | "source";

/** The facts `sockbox --version` reports. */
export interface BuildInfo {
  /** The sockbox version (deno.json's `version`). */
  version: string;
  /** The Deno (or, in a compiled binary, denort) version: `Deno.version.deno`. */
  deno: string;
  /** The LLVM target triple of that runtime: `Deno.build.target`. */
  target: string;
  /** A `deno compile` binary, the bundle, or the source tree. */
  kind: BuildKind;
}

/**
 * The global scripts/bundle.ts sets to `true` in the first line of the bundle, before any
 * module of sockbox runs.
 */
export const BUNDLE_MARK: symbol = Symbol.for("sockbox.bundle");

/**
 * How this process runs sockbox: `Deno.build.standalone` is true inside a `deno compile`
 * binary; the bundle carries {@link BUNDLE_MARK}; anything else is the source tree.
 */
export function buildKind(): BuildKind {
  if (Deno.build.standalone) return "compiled";
  if ((globalThis as Record<symbol, unknown>)[BUNDLE_MARK] === true) return "bundle";
  return "source";
}

/** The version, runtime, target and kind of this process. */
export function buildInfo(): BuildInfo {
  return {
    version: VERSION,
    deno: Deno.version.deno,
    target: Deno.build.target,
    kind: buildKind(),
  };
}

/**
 * The one line `sockbox --version` prints (pure).
 *
 * @example
 * ```ts
 * import { versionText } from "./build.ts";
 * versionText({ version: "0.1.0", deno: "2.9.6", target: "x86_64-unknown-linux-gnu", kind: "bundle" });
 * // "sockbox 0.1.0 (deno 2.9.6, x86_64-unknown-linux-gnu, bundle)"
 * ```
 */
export function versionText(b: BuildInfo): string {
  return `sockbox ${buildText(b)}`;
}

/** The same without the name: `0.1.0 (deno 2.9.6, x86_64-unknown-linux-gnu, bundle)`. */
export function buildText(b: BuildInfo): string {
  return `${b.version} (deno ${b.deno}, ${b.target}, ${b.kind})`;
}
