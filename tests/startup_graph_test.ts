import assert from "node:assert/strict";

/**
 * The modules `sockbox serve tcp` evaluates before it runs: main.ts and serve.ts with their
 * static imports (dynamic imports load when they run).
 */
async function staticGraph(roots: string[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const root of roots) {
    const info = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(root, import.meta.url).href],
    });
    const graph = JSON.parse(new TextDecoder().decode((await info.output()).stdout)) as {
      roots: string[];
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
      }[];
    };
    const deps = new Map(graph.modules.map((m) => [m.specifier, m.dependencies ?? []]));
    const walk = (s: string) => {
      if (seen.has(s)) return;
      seen.add(s);
      for (const d of deps.get(s) ?? []) {
        if (!d.isDynamic && d.code?.specifier) walk(d.code.specifier);
      }
    };
    walk(graph.roots[0]!);
  }
  return [...seen].map((s) => s.replace(/^.*\/lib\//, "lib/"));
}

Deno.test("serve tcp loads no module of serve sctp, serve all or the ffi engine, nor node:util", async () => {
  const loaded = await staticGraph(["../main.ts", "../lib/cli/commands/serve.ts"]);
  assert.ok(loaded.includes("lib/cli/commands/serve.ts"), loaded.join("\n"));
  // serve sctp's texts and flags come from a light module; its code loads when it runs.
  assert.ok(loaded.includes("lib/cli/commands/sctp_spec.ts"), loaded.join("\n"));
  for (
    const m of [
      "lib/cli/commands/sctp.ts",
      "lib/net/echo/all.ts",
      // The echo data plane loads when the ffi engine serves (not with --engine deno).
      "lib/ffi/engine/pool.ts",
      "lib/ffi/engine/tcp_echo.ts",
      "lib/ffi/engine/udp_echo.ts",
      "node:util",
    ]
  ) {
    assert.ok(!loaded.includes(m), `serve tcp loads ${m} before it runs:\n${loaded.join("\n")}`);
  }
});

Deno.test("serve sctp's spec module imports nothing that serve tcp does not load anyway", async () => {
  const tcp = new Set(
    await staticGraph(["../main.ts", "../lib/cli/commands/serve.ts"]).then((l) =>
      l.filter((m) => m !== "lib/cli/commands/sctp_spec.ts")
    ),
  );
  const spec = await staticGraph(["../lib/cli/commands/sctp_spec.ts"]);
  const extra = spec.filter((m) => m !== "lib/cli/commands/sctp_spec.ts" && !tcp.has(m));
  assert.deepEqual(extra, [], `sctp_spec.ts pulls in ${extra.join(", ")}`);
});
