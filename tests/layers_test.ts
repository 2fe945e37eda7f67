/**
 * The architecture, enforced. lib/ is five layer folders and imports go one way:
 *
 * ```
 * cli -> (net | sys) -> ffi -> base        (net may also use sys; sys never uses net)
 * ```
 *
 * - `base` (rank 0) is pure: it imports nothing outside base and makes no `Deno.*` calls.
 * - `ffi` (1), `sys` (2), `net` (3), `cli` (4): a file imports its own layer or a lower
 *   one, except that cli never imports ffi (raw FFI stays behind net and sys).
 * - lib/ imports only lib/ (not scripts/, tests/, deno.json, main.ts or mod.ts); no file
 *   sits loose in lib/; `mod.ts`, the library surface, imports nothing from lib/cli/;
 *   `main.ts` is the one file above cli and follows cli's rule.
 *
 * The import graph comes from `deno info --json`, Deno's own module parser, so static,
 * `import type`, `export ... from` and dynamic `import("...")` specifiers all count, and
 * comments and doc examples do not. Test files beside the code follow the same rules (a
 * test in base may also import built-ins such as `node:assert/strict`).
 */
import assert from "node:assert/strict";

const LAYERS = ["base", "ffi", "sys", "net", "cli"] as const;
type Layer = (typeof LAYERS)[number];
const RANK: Record<Layer, number> = { base: 0, ffi: 1, sys: 2, net: 3, cli: 4 };
const DIRECTION = "imports go cli -> (net | sys) -> ffi -> base";

/** The layer of a repository-relative path, or undefined when it is not in one. */
function layerOf(path: string): Layer | undefined {
  const m = /^lib\/([^/]+)\//.exec(path);
  return LAYERS.find((l) => l === m?.[1]);
}

const isTest = (path: string) => path.endsWith("_test.ts");

/**
 * Why importing `to` from `from` breaks the layering, or null when it does not. Both are
 * repository-relative paths; `to` may instead be a non-file specifier (`node:dns`).
 */
function violation(from: string, to: string): string | null {
  const external = /^[a-z][a-z0-9+.-]*:/.test(to);
  const source = layerOf(from);
  if (from.startsWith("lib/")) {
    if (source === undefined) return "a file loose in lib/ (not in a layer folder)";
    if (external) {
      return source === "base" && !isTest(from)
        ? `base is pure: it imports nothing outside base (${to})`
        : null;
    }
    if (!to.startsWith("lib/")) {
      return "lib/ imports only lib/ (not scripts/, tests/, deno.json, main.ts or mod.ts)";
    }
    const target = layerOf(to);
    if (target === undefined) return "imports a file loose in lib/ (not in a layer folder)";
    if (source === "base" && target !== "base") return "base imports nothing outside base";
    if (RANK[target] > RANK[source]) return `${source} must not import ${target}: ${DIRECTION}`;
    if (source === "cli" && target === "ffi") {
      return "cli must not import ffi: raw FFI stays behind net and sys";
    }
    return null;
  }
  if (external || (from !== "main.ts" && from !== "mod.ts")) return null;
  if (to.startsWith("scripts/") || to.startsWith("tests/")) {
    return `${from} must not import scripts/ or tests/`;
  }
  if (from === "mod.ts" && to.startsWith("lib/cli/")) {
    return "mod.ts is the library surface: it must not import lib/cli/";
  }
  if (from === "main.ts" && to.startsWith("lib/ffi/")) {
    return "main.ts must not import ffi: raw FFI stays behind net and sys";
  }
  return null;
}

const root = new URL("../", import.meta.url);
const rel = (url: string) => url.startsWith(root.href) ? url.slice(root.href.length) : url;

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(dir, root))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await listFiles(path));
    else out.push(path);
  }
  return out.sort();
}

interface Edge {
  from: string;
  line: number;
  specifier: string;
  to: string;
}

/** Every import of `files`, from `deno info --json` over one module that imports them all. */
async function importEdges(files: string[]): Promise<Edge[]> {
  const entry = await Deno.makeTempFile({ prefix: "layers_", suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(new URL(f, root).href)};\n`).join(""),
    );
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", root).pathname, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const graph = JSON.parse(new TextDecoder().decode(r.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: {
          specifier: string;
          code?: { specifier: string; span: { start: { line: number } } };
          type?: { specifier: string; span: { start: { line: number } } };
        }[];
      }[];
    };
    const wanted = new Set(files);
    const edges: Edge[] = [];
    for (const m of graph.modules) {
      const from = rel(m.specifier);
      if (!wanted.has(from)) continue;
      for (const d of m.dependencies ?? []) {
        const resolved = d.code ?? d.type;
        const to = resolved?.specifier ?? new URL(d.specifier, m.specifier).href;
        edges.push({
          from,
          line: (resolved?.span.start.line ?? -1) + 1,
          specifier: d.specifier,
          to: rel(to),
        });
      }
    }
    return edges;
  } finally {
    await Deno.remove(entry);
  }
}

Deno.test("the layer rule accepts downward imports and names each wrong one", () => {
  const cases: [string, string, RegExp | null][] = [
    ["lib/cli/commands/serve.ts", "lib/net/echo/server.ts", null],
    ["lib/cli/commands/ifaces.ts", "lib/sys/interfaces.ts", null],
    ["lib/net/broadcast/broadcast.ts", "lib/sys/interfaces.ts", null],
    ["lib/net/sctp/client.ts", "lib/ffi/sctp.ts", null],
    ["lib/sys/resolver.ts", "lib/ffi/netdb.ts", null],
    ["lib/ffi/structs.ts", "lib/base/ip.ts", null],
    ["lib/base/stats_test.ts", "node:assert/strict", null],
    ["lib/net/mcast/mcast.ts", "node:dns/promises", null],
    ["main.ts", "lib/cli/commands/serve.ts", null],
    ["mod.ts", "lib/net/echo/server.ts", null],
    ["tests/serve_test.ts", "scripts/bundle.ts", null],
    ["lib/net/mcast/mcast.ts", "lib/cli/output.ts", /^net must not import cli/],
    ["lib/sys/doctor.ts", "lib/net/echo/server.ts", /^sys must not import net/],
    ["lib/ffi/socket.ts", "lib/sys/interfaces.ts", /^ffi must not import sys/],
    ["lib/cli/commands/resolve.ts", "lib/ffi/netdb.ts", /^cli must not import ffi/],
    ["lib/base/ip.ts", "lib/ffi/structs.ts", /^base imports nothing outside base/],
    ["lib/base/lines.ts", "node:fs", /^base is pure/],
    ["lib/net/beacon/beacon.ts", "deno.json", /^lib\/ imports only lib\//],
    ["lib/cli/args.ts", "scripts/bench.ts", /^lib\/ imports only lib\//],
    ["lib/cli/args_test.ts", "tests/helpers.ts", /^lib\/ imports only lib\//],
    ["lib/cli/args.ts", "main.ts", /^lib\/ imports only lib\//],
    ["lib/args.ts", "lib/base/ip.ts", /loose in lib/],
    ["lib/cli/args.ts", "lib/args.ts", /loose in lib/],
    ["mod.ts", "lib/cli/args.ts", /^mod\.ts is the library surface/],
    ["mod.ts", "tests/helpers.ts", /must not import scripts\/ or tests\//],
    ["main.ts", "lib/ffi/libc.ts", /^main\.ts must not import ffi/],
  ];
  for (const [from, to, want] of cases) {
    const got = violation(from, to);
    if (want === null) assert.equal(got, null, `${from} -> ${to}`);
    else assert.match(got ?? "(allowed)", want, `${from} -> ${to}`);
  }
});

Deno.test("lib/ holds only the five layer folders", async () => {
  const loose: string[] = [];
  for await (const e of Deno.readDir(new URL("lib", root))) {
    if (!e.isDirectory || !LAYERS.some((l) => l === e.name)) loose.push(`lib/${e.name}`);
  }
  if (loose.length > 0) {
    assert.fail(`not a layer folder (${LAYERS.join(", ")}): ${loose.sort().join(", ")}`);
  }
});

Deno.test("every import in lib/, main.ts and mod.ts goes down the layers", async () => {
  const files = [...(await listFiles("lib")).filter((f) => f.endsWith(".ts")), "main.ts", "mod.ts"];
  const edges = await importEdges(files);
  // The walk must have seen the graph, not an empty answer.
  assert.ok(edges.some((e) => e.from === "main.ts" && e.to.startsWith("lib/cli/")));
  const wrong = edges.flatMap((e) => {
    const why = violation(e.from, e.to);
    return why === null ? [] : [`${e.from}:${e.line} imports "${e.specifier}": ${why}`];
  });
  if (wrong.length > 0) {
    assert.fail(`${wrong.length} import(s) go the wrong way:\n${wrong.join("\n")}`);
  }
});

Deno.test("lib/base makes no Deno calls", async () => {
  const found: string[] = [];
  for (const f of await listFiles("lib/base")) {
    if (!f.endsWith(".ts") || isTest(f)) continue;
    const text = await Deno.readTextFile(new URL(f, root));
    // Comments may name `Deno.*` APIs; code may not use them.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
      .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
    code.split("\n").forEach((line, i) => {
      if (/\bDeno\./.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  if (found.length > 0) assert.fail(`lib/base must stay pure:\n${found.join("\n")}`);
});
