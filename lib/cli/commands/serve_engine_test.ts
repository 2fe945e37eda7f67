import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, serveTcpModule, serveUdpModule, TCP_UDP_USAGE } from "./serve.ts";

/** Parses a `serve tcp|udp` argv as main.ts does: the table picks, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return (p.word === "tcp" ? serveTcpModule : serveUdpModule).parse(p.rest);
}

Deno.test("serve --engine and --workers pick the echo engine, before or after the word", () => {
  const good: [string[], unknown][] = [
    [["tcp", "0", "--engine", "ffi"], { proto: "tcp", engine: "ffi", workers: undefined }],
    [["--engine", "deno", "udp", "0"], { proto: "udp", engine: "deno", workers: undefined }],
    [["tcp", "0", "--workers", "4"], { proto: "tcp", engine: undefined, workers: 4 }],
    [["--workers", "2", "--engine", "ffi", "udp", "0"], {
      proto: "udp",
      engine: "ffi",
      workers: 2,
    }],
  ];
  for (const [args, want] of good) {
    const o = parse(args);
    assert.deepEqual(
      { proto: o.proto, engine: o.engine, workers: o.workers },
      want,
      args.join(" "),
    );
  }
});

Deno.test("serve rejects a bad --engine or --workers with the exact message", () => {
  const bad: [string[], string][] = [
    [["tcp", "0", "--engine", "uring"], 'invalid --engine "uring": must be ffi or deno'],
    [["tcp", "0", "--engine"], 'option "--engine" needs a value'],
    [["tcp", "0", "--workers", "0"], 'invalid --workers "0": must be 1-1024'],
    [["udp", "0", "--workers", "two"], 'invalid --workers "two": must be 1-1024'],
    [
      ["tcp", "0", "--engine", "deno", "--workers", "2"],
      "--workers cannot be used with --engine deno",
    ],
  ];
  for (const [args, message] of bad) assertUsageError(() => parse(args), message, args.join(" "));
});

Deno.test("serve --help says which engine does what", () => {
  assert.match(TCP_UDP_USAGE, /--engine ffi\|deno/);
  assert.match(TCP_UDP_USAGE, /ffi: Linux with --allow-ffi/);
  assert.match(TCP_UDP_USAGE, /deno: Deno\.listen, portable; cannot see urgent data/);
  assert.match(TCP_UDP_USAGE, /SOCKBOX_SPLICE=1 splices for loopback peers too/);
  assert.match(TCP_UDP_USAGE, /SOCKBOX_SPLICE=0 never/);
});
