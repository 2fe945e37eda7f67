import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { parseServeAll } from "./serve_all.ts";

Deno.test("serve all parses the options all three servers share", () => {
  assert.deepEqual(parseServeAll(["0"]), { port: 0, json: false, verbose: false });
  assert.deepEqual(parseServeAll(["--host", "[::1]", "7007", "--json", "-v"]), {
    port: 7007,
    host: "::1",
    json: true,
    verbose: true,
  });
  assert.deepEqual(parseServeAll(["-4", "7"]), { port: 7, family: 4, json: false, verbose: false });
  assert.deepEqual(parseServeAll(["7", "--drain", "0"]), {
    port: 7,
    drainMs: 0,
    json: false,
    verbose: false,
  });
});

Deno.test("serve all rejects bad input and options of one protocol", () => {
  const cases: [string[], string][] = [
    [[], "missing PORT"],
    [["70000"], 'invalid PORT "70000": must be 0-65535'],
    [["7", "8"], 'unexpected argument "8"'],
    [["7", "--host", "localhost"], 'invalid --host "localhost": must be an IPv4 or IPv6 address'],
    [["7", "--host", "::1", "-6"], "--host cannot be used with -6"],
    [["7", "-4", "-6"], "-4 cannot be used with -6"],
    [["7", "--max-conns", "3"], 'unknown option "--max-conns"'],
    [["7", "--style", "one-to-many"], 'unknown option "--style"'],
  ];
  for (const [args, message] of cases) {
    assertUsageError(() => parseServeAll(args), message, args.join(" "));
  }
});
