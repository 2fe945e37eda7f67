import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import {
  benchReportModule,
  benchSctpModule,
  benchTcpModule,
  benchUdpModule,
  cmd,
  parseRate,
  parseSize,
} from "./bench.ts";

const MODULES = {
  tcp: benchTcpModule,
  udp: benchUdpModule,
  sctp: benchSctpModule,
  report: benchReportModule,
};

/** Parses a whole `bench` argv as main.ts does: the table picks, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return MODULES[p.word as keyof typeof MODULES].parse(p.rest);
}

const DEFAULTS = {
  mode: "pingpong",
  conns: 10,
  sizeMin: 64,
  sizeMax: 64,
  durationMs: 10_000,
  warmupMs: 1000,
  timeoutMs: 2000,
  json: false,
};

const GOOD: [string[], unknown][] = [
  [["tcp", "h", "7"], { proto: "tcp", host: "h", port: 7, ...DEFAULTS }],
  [
    ["--conns", "64", "tcp", "127.0.0.1", "7007", "--size", "64", "--threads", "2", "--json"],
    { proto: "tcp", host: "127.0.0.1", port: 7007, ...DEFAULTS, conns: 64, threads: 2, json: true },
  ],
  [
    ["udp", "::1", "7", "--size", "16-1400", "--rate", "20000", "--duration", "30s", "-6"],
    {
      proto: "udp",
      host: "::1",
      port: 7,
      ...DEFAULTS,
      mode: "rate",
      rate: 20000,
      sizeMin: 16,
      sizeMax: 1400,
      durationMs: 30_000,
      family: 6,
    },
  ],
  [
    ["tcp", "h", "7", "--mode", "stream", "--warmup", "0", "--timeout", "500ms"],
    {
      proto: "tcp",
      host: "h",
      port: 7,
      ...DEFAULTS,
      mode: "stream",
      sizeMin: 65536,
      sizeMax: 65536,
      warmupMs: 0,
      timeoutMs: 500,
    },
  ],
  [
    ["sctp", "h", "9", "--streams", "8", "--report", "r.html", "--save", "run.json"],
    {
      proto: "sctp",
      host: "h",
      port: 9,
      ...DEFAULTS,
      streams: 8,
      report: "r.html",
      save: "run.json",
    },
  ],
  [
    ["report", "a.json", "b.json", "--report", "out.html"],
    { files: ["a.json", "b.json"], report: "out.html", json: false },
  ],
];

Deno.test("bench parses flags in any order around the protocol word", () => {
  for (const [argv, want] of GOOD) assert.deepEqual(parse(argv), want, argv.join(" "));
});

const BAD: [string[], string][] = [
  [[], "missing protocol (tcp, udp, sctp) or report"],
  [["icmp", "h", "7"], 'unknown protocol "icmp": must be tcp, udp or sctp (or report)'],
  [["tcp"], "missing HOST"],
  [["tcp", "h"], "missing PORT"],
  [["tcp", "h", "0"], 'invalid PORT "0": must be 1-65535'],
  [["tcp", "h", "7", "x"], 'unexpected argument "x"'],
  [["tcp", "h", "7", "--size", "0"], 'invalid --size "0": must be 1-1048576'],
  [["tcp", "h", "7", "--size", "2000000"], 'invalid --size "2000000": must be 1-1048576'],
  [["tcp", "h", "7", "--size", "10-5"], 'invalid --size "10-5": MIN is more than MAX'],
  [["tcp", "h", "7", "--size", "1-x"], 'invalid --size "1-x": must be 1-1048576'],
  [["udp", "h", "7", "--size", "4"], 'invalid --size "4": must be 8-65527'],
  [["udp", "h", "7", "-4", "--size", "65520"], 'invalid --size "65520": must be 8-65507'],
  [["udp", "h", "7", "--size", "4-100"], 'invalid --size "4-100": sizes must be 8-65527'],
  [["sctp", "h", "7", "--size", "70000"], 'invalid --size "70000": must be 8-65536'],
  [["tcp", "h", "7", "--conns", "0"], 'invalid --conns "0": must be 1-100000'],
  [["tcp", "h", "7", "--threads", "0"], 'invalid --threads "0": must be 1-1024'],
  [["tcp", "h", "7", "--mode", "burst"], 'invalid --mode "burst": must be pingpong or stream'],
  [["udp", "h", "7", "--mode", "stream"], "--mode stream cannot be used with udp (tcp only)"],
  [
    ["tcp", "h", "7", "--mode", "stream", "--rate", "5"],
    "--rate cannot be used with --mode stream",
  ],
  [
    ["tcp", "h", "7", "--rate", "0"],
    'invalid --rate "0": must be messages per second, more than 0 and at most 10000000',
  ],
  [
    ["tcp", "h", "7", "--rate", "-5"],
    'invalid --rate "-5": must be messages per second, more than 0 and at most 10000000',
  ],
  [
    ["tcp", "h", "7", "--duration", "0"],
    'invalid --duration "0": must be a duration like 500ms, 2s or 1m between 100ms and 24h',
  ],
  [
    ["tcp", "h", "7", "--warmup", "soon"],
    'invalid --warmup "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [["tcp", "h", "7", "--streams", "4"], "--streams cannot be used with tcp (sctp only)"],
  [["sctp", "h", "7", "--streams", "4", "--conns", "2"], "--streams cannot be used with --conns"],
  [["sctp", "h", "7", "--streams", "0"], 'invalid --streams "0": must be 1-65535'],
  [
    ["sctp", "h", "7", "--threads", "2"],
    "--threads cannot be used with sctp (it runs on one thread)",
  ],
  [["tcp", "h", "7", "-4", "-6"], "-4 cannot be used with -6"],
  [["tcp", "h", "7", "--report", ""], 'invalid --report "": must be a file name'],
  [["tcp", "h", "7", "--bogus"], 'unknown option "--bogus"'],
  [["report"], "missing RUN.json (runs saved with --save)"],
  [["report", "a.json"], "bench report needs --report FILE.html"],
];

Deno.test("bench rejects bad input with one exact line", () => {
  for (const [argv, msg] of BAD) assertUsageError(() => parse(argv), msg, argv.join(" "));
});

Deno.test("parseSize and parseRate accept what the help promises", () => {
  assert.deepEqual(parseSize("64", 1, 100), [64, 64]);
  assert.deepEqual(parseSize("1-100", 1, 100), [1, 100]);
  assert.deepEqual(parseSize("7-7", 1, 100), [7, 7]);
  assert.equal(parseRate("0.5"), 0.5);
  assert.equal(parseRate("10000000"), 10_000_000);
  assertUsageError(
    () => parseRate("1e3"),
    'invalid --rate "1e3": must be messages per second, more than 0 and at most 10000000',
  );
});
