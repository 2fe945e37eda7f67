import assert from "node:assert/strict";
import * as node from "node:util";
import { type OptionSpecs, parseArgs } from "./parse_args.ts";

// The reference is the parser this one replaces: node:util parseArgs as Deno ships it.
const SPECS: OptionSpecs = {
  count: { type: "string", short: "c" },
  host: { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  "4": { type: "boolean", short: "4" },
  bind: { type: "string", multiple: true },
  flag: { type: "boolean", multiple: true, short: "f" },
  mode: { type: "string", default: "loop" },
};

type Outcome =
  | { values: Record<string, unknown>; positionals: string[]; tokens: unknown }
  | { code: unknown; message: string; name: string };

function run(
  f: (c: node.ParseArgsConfig) => { values: object; positionals: string[]; tokens?: unknown },
  config: node.ParseArgsConfig,
): Outcome {
  try {
    const r = f(config);
    return { values: { ...r.values }, positionals: r.positionals, tokens: r.tokens };
  } catch (e) {
    const x = e as Error & { code?: unknown };
    return { code: x.code, message: x.message, name: x.name };
  }
}

// Every argument spelling: flags with and without values, inline values, groups,
// negative numbers, unknown names, the terminator, lone dashes, odd characters.
const WORDS = [
  "tcp",
  "7",
  "-",
  "--",
  "-c",
  "-c3",
  "-c=3",
  "--count",
  "--count=",
  "--count=5",
  "-5",
  "-1s",
  "--json",
  "--json=1",
  "-v",
  "-vc",
  "-vc9",
  "-cv",
  "-v4",
  "-4",
  "-vx",
  "-x",
  "--bogus",
  "--bogus=2",
  "--it's",
  "--bind",
  "--bind=a",
  "-f",
  "-ff",
  "--mode",
  "--__proto__",
  "---x",
  "--=x",
  "",
];

function* sequences(): Generator<string[]> {
  yield [];
  for (const a of WORDS) {
    yield [a];
    for (const b of WORDS) {
      yield [a, b];
      for (const c of ["tcp", "-c", "-5"]) yield [a, b, c];
    }
  }
}

Deno.test("parseArgs matches node:util parseArgs on every spelling, strict and not", () => {
  let n = 0;
  for (const args of sequences()) {
    for (const strict of [true, false]) {
      for (const allowPositionals of [true, false]) {
        const config = { args, options: SPECS, strict, allowPositionals, tokens: true };
        const want = run(node.parseArgs as never, config as node.ParseArgsConfig);
        const got = run(parseArgs as never, config as node.ParseArgsConfig);
        assert.deepEqual(got, want, `${JSON.stringify(args)} strict=${strict}`);
        n++;
      }
    }
  }
  assert.ok(n > 10_000, `only ${n} cases`);
});

Deno.test("parseArgs returns tokens only when asked, and a value per option", () => {
  const r = parseArgs({
    args: ["-c", "3", "a", "--bind", "x", "--bind=y", "-vf", "--", "-c"],
    options: SPECS,
    allowPositionals: true,
  });
  assert.equal(r.tokens, undefined);
  assert.deepEqual({ ...r.values }, {
    count: "3",
    bind: ["x", "y"],
    verbose: true,
    flag: [true],
    mode: "loop",
  });
  assert.deepEqual(r.positionals, ["a", "-c"]);
});
