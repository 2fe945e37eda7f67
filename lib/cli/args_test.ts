import assert from "node:assert/strict";
import {
  noExtra,
  normalizeArgs,
  parseBindHost,
  parseDestPort,
  parseDuration,
  parseFamily,
  parseFlags,
  parseHost,
  parseInteger,
  parsePort,
} from "./args.ts";
import { assertUsageError } from "./test_util.ts";

const FLAGS = {
  port: { type: "string", short: "p" },
  json: { type: "boolean" },
  bind: { type: "string", multiple: true },
} as const;

Deno.test("parseFlags returns values and positionals in any order", () => {
  const r = parseFlags(
    ["a", "--json", "-p", "7", "b", "--bind", "x", "--bind=y", "--", "-c"],
    FLAGS,
  );
  assert.deepEqual({ ...r.values }, { json: true, port: "7", bind: ["x", "y"] });
  assert.deepEqual(r.positionals, ["a", "b", "-c"]);
});

Deno.test("parseFlags turns parseArgs errors into UsageErrors naming the flag", () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'unknown option "--bogus"'],
    [["-x"], 'unknown option "-x"'],
    [["--port"], 'option "--port" needs a value'],
    [["-p"], 'option "--port" needs a value'],
    [["--port", "--json"], 'option "--port" needs a value'],
    [["--json=yes"], 'option "--json" takes no value'],
  ];
  for (const [args, message] of cases) {
    assertUsageError(() => parseFlags(args, FLAGS), message, args.join(" "));
  }
});

Deno.test("parseInteger accepts digits within the range only", () => {
  assert.equal(parseInteger("--count", "0", 0, 10), 0);
  assert.equal(parseInteger("--count", "10", 0, 10), 10);
  assert.equal(parseInteger("--count", "007", 0, 10), 7);
  for (const bad of ["11", "-1", "1.5", "1e3", "", " 1", "0x10", "9007199254740993"]) {
    assertUsageError(
      () => parseInteger("--count", bad, 0, 10),
      `invalid --count "${bad}": must be 0-10`,
      bad,
    );
  }
});

Deno.test("parsePort takes 0-65535 and names a missing port", () => {
  assert.equal(parsePort("PORT", "0"), 0);
  assert.equal(parsePort("PORT", "65535"), 65535);
  assertUsageError(() => parsePort("PORT", "65536"), 'invalid PORT "65536": must be 0-65535');
  assertUsageError(() => parsePort("--port", "x7"), 'invalid --port "x7": must be 0-65535');
  assertUsageError(() => parsePort("PORT", undefined), "missing PORT");
});

Deno.test("parseDuration reads ms, s, m, h and bare seconds", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["2s", 2000],
    ["1.5s", 1500],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["3", 3000],
    ["0", 0],
    ["0.25", 250],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration("--wait", text), ms, text);
});

Deno.test("parseDuration rejects bad text and values out of range, saying the range", () => {
  const cases: [string, number, number, string][] = [
    ["soon", 0, 1000, 'invalid --t "soon": must be a duration like 500ms, 2s or 1m'],
    [
      "-1s",
      0,
      1000,
      'invalid --t "-1s": must be a duration like 500ms, 2s or 1m between 0s and 1s',
    ],
    ["1 s", 0, 1000, 'invalid --t "1 s": must be a duration like 500ms, 2s or 1m'],
    ["2d", 0, 1000, 'invalid --t "2d": must be a duration like 500ms, 2s or 1m'],
    [
      "0",
      1,
      3_600_000,
      'invalid --t "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
    ],
    [
      "2h",
      0,
      3_600_000,
      'invalid --t "2h": must be a duration like 500ms, 2s or 1m between 0s and 1h',
    ],
    [
      "10ms",
      50,
      90_000,
      'invalid --t "10ms": must be a duration like 500ms, 2s or 1m between 50ms and 90s',
    ],
    [
      "3m",
      1000,
      120_000,
      'invalid --t "3m": must be a duration like 500ms, 2s or 1m between 1s and 2m',
    ],
  ];
  for (const [text, min, max, message] of cases) {
    assertUsageError(() => parseDuration("--t", text, min, max), message, text);
  }
});

Deno.test("parseDuration's default range is 0 to a week", () => {
  assert.equal(parseDuration("--t", "168h"), 7 * 24 * 3_600_000);
  assertUsageError(
    () => parseDuration("--t", "169h"),
    'invalid --t "169h": must be a duration like 500ms, 2s or 1m between 0s and 168h',
  );
});

Deno.test("parseFamily gives 4, 6 or undefined and refuses both", () => {
  assert.equal(parseFamily(true, undefined), 4);
  assert.equal(parseFamily(undefined, true), 6);
  assert.equal(parseFamily(false, false), undefined);
  assert.equal(parseFamily(undefined, undefined), undefined);
  assertUsageError(() => parseFamily(true, true), "-4 cannot be used with -6");
});

Deno.test("noExtra names the first argument too many", () => {
  noExtra(["a", "b"], 2);
  assertUsageError(() => noExtra(["a", "b", "c", "d"], 2), 'unexpected argument "c"');
  assertUsageError(() => noExtra(["x"], 0), 'unexpected argument "x"');
});

const VALUED = {
  count: { type: "string", short: "c" },
  "max-conns": { type: "string" },
  json: { type: "boolean" },
  "4": { type: "boolean", short: "4" },
} as const;

Deno.test("normalizeArgs reads a negative number after a flag as its value, and -c=3 as -c 3", () => {
  const cases: [string[], string[]][] = [
    [["--max-conns", "-5"], ["--max-conns=-5"]],
    [["-c", "-1", "x"], ["--count=-1", "x"]],
    [["-c", "-.5"], ["--count=-.5"]],
    [["-c=3"], ["--count=3"]],
    [["-c=-3"], ["--count=-3"]],
    [["-c", "3"], ["-c", "3"]],
    [["--count=-2"], ["--count=-2"]],
    [["--json", "-4"], ["--json", "-4"]], // flags without a value are left alone
    [["-4", "-c", "--json"], ["-4", "-c", "--json"]], // not a number: still "needs a value"
    [["--", "-c", "-1"], ["--", "-c", "-1"]],
    [["--bogus", "-1"], ["--bogus", "-1"]],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(normalizeArgs(args, VALUED), want, args.join(" "));
  }
});

Deno.test("parseFlags gives negative values in either form to the range check", () => {
  for (const args of [["--max-conns", "-5"], ["--max-conns=-5"]]) {
    const { values } = parseFlags(args, VALUED);
    assertUsageError(
      () => parseInteger("--max-conns", values["max-conns"]!, 1, 1_000_000),
      'invalid --max-conns "-5": must be 1-1000000',
    );
  }
  assert.equal(parseFlags(["-c=3"], VALUED).values.count, "3");
  assert.equal(parseFlags(["-c", "-1"], VALUED).values.count, "-1");
});

Deno.test("parseDestPort takes 1-65535: port 0 is no destination", () => {
  assert.equal(parseDestPort("PORT", "1"), 1);
  assert.equal(parseDestPort("PORT", "65535"), 65535);
  assertUsageError(() => parseDestPort("PORT", "0"), 'invalid PORT "0": must be 1-65535');
  assertUsageError(() => parseDestPort("PORT", "-1"), 'invalid PORT "-1": must be 1-65535');
  assertUsageError(() => parseDestPort("PORT", undefined), "missing PORT");
});

Deno.test("parseHost refuses a missing or empty HOST", () => {
  assert.equal(parseHost("HOST", "::1"), "::1");
  assertUsageError(() => parseHost("HOST", undefined), "missing HOST");
  assertUsageError(() => parseHost("HOST", ""), 'invalid HOST "": must be a host name or address');
  assertUsageError(
    () => parseHost("HOST", " "),
    'invalid HOST " ": must be a host name or address',
  );
});

Deno.test("parseBindHost takes an IP address, brackets stripped, and refuses -4/-6 with it", () => {
  assert.equal(parseBindHost(undefined, undefined), undefined);
  assert.equal(parseBindHost(undefined, 6), undefined);
  assert.equal(parseBindHost("127.0.0.1", undefined), "127.0.0.1");
  assert.equal(parseBindHost("[::1]", undefined), "::1");
  assertUsageError(
    () => parseBindHost("localhost", undefined),
    'invalid --host "localhost": must be an IPv4 or IPv6 address',
  );
  assertUsageError(() => parseBindHost("::1", 4), "--host cannot be used with -4");
});
