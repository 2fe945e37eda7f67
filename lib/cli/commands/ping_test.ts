import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, pingTcpModule, pingUdpModule, TCP_UDP_USAGE, usage } from "./ping.ts";
import { PING_USAGE, pingSctpModule } from "./sctp.ts";

const MODULES = { tcp: pingTcpModule, udp: pingUdpModule, sctp: pingSctpModule };

/** Parses a whole `ping` argv as main.ts does: the table picks, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return MODULES[p.word as keyof typeof MODULES].parse(p.rest);
}

const SCHEDULE = { count: Infinity, intervalMs: 1000, size: 64, timeoutMs: 2000 };

const GOOD: [string[], unknown][] = [
  [["tcp", "h", "7"], {
    proto: "tcp",
    host: "h",
    port: 7,
    ...SCHEDULE,
    json: false,
    verbose: false,
  }],
  [
    ["udp", "h", "7", "--bind", "127.0.0.2:5000", "--ttl", "9", "--tos", "ef", "-v"],
    {
      proto: "udp",
      host: "h",
      port: 7,
      ...SCHEDULE,
      family: 4,
      json: false,
      verbose: true,
      bind: { address: "127.0.0.2", port: 5000 },
      sockopts: { ttl: 9, tos: 184 },
    },
  ],
  [
    ["tcp", "::1", "7", "--bind", "[::1]", "--no-nodelay", "--engine", "ffi"],
    {
      proto: "tcp",
      host: "::1",
      port: 7,
      ...SCHEDULE,
      family: 6,
      json: false,
      verbose: false,
      engine: "ffi",
      bind: { address: "::1", port: 0 },
      sockopts: { nodelay: false },
    },
  ],
  [
    ["tcp", "h", "7", "--engine", "deno"],
    { proto: "tcp", host: "h", port: 7, ...SCHEDULE, json: false, verbose: false, engine: "deno" },
  ],
  [
    ["-c", "3", "udp", "h", "7", "-i", "0", "-s", "12", "--timeout", "500ms", "-4", "--json"],
    {
      proto: "udp",
      host: "h",
      port: 7,
      count: 3,
      intervalMs: 0,
      size: 12,
      timeoutMs: 500,
      family: 4,
      json: true,
      verbose: false,
    },
  ],
  [
    ["--count=2", "--interval", "200ms", "tcp", "::1", "7", "--size", "1048576", "-6"],
    {
      proto: "tcp",
      host: "::1",
      port: 7,
      ...SCHEDULE,
      count: 2,
      intervalMs: 200,
      size: 1 << 20,
      family: 6,
      json: false,
      verbose: false,
    },
  ],
  [
    ["-c", "2", "sctp", "h", "9"],
    {
      sctp: "ping",
      host: "h",
      port: 9,
      ...SCHEDULE,
      count: 2,
      stream: 0,
      ppid: 1,
      binds: [],
      json: false,
      tuning: {},
    },
  ],
  [
    ["sctp", "h", "9", "--stream", "5", "--ppid", "0", "--bind", "::1", "-6", "--json"],
    {
      sctp: "ping",
      host: "h",
      port: 9,
      ...SCHEDULE,
      stream: 5,
      ppid: 0,
      binds: ["::1"],
      family: 6,
      json: true,
      tuning: {},
    },
  ],
];

Deno.test("ping parses good argv, the protocol word anywhere among the flags", () => {
  for (const [args, want] of GOOD) assert.deepEqual(parse(args), want, args.join(" "));
});

const BAD: [string[], string][] = [
  [[], "missing protocol (tcp, udp, sctp)"],
  [["-c", "3"], "missing protocol (tcp, udp, sctp)"],
  [["icmp", "h", "7"], 'unknown protocol "icmp": must be tcp or udp or sctp'],
  [["tcp"], "missing HOST"],
  [["udp", "h"], "missing PORT"],
  [["tcp", "h", "1", "x"], 'unexpected argument "x"'],
  [["tcp", "h", "1", "-c", "0"], 'invalid --count "0": must be 1-1000000000'],
  // UDP's largest probe is per family: 65507 over IPv4, 65527 over IPv6; for a name, the
  // parser allows 65527 and the run checks again once the family is known.
  [["udp", "h", "1", "-s", "70000"], 'invalid --size "70000": must be 12-65527'],
  [["udp", "127.0.0.1", "1", "-s", "65508"], 'invalid --size "65508": must be 12-65507'],
  [["udp", "h", "1", "-4", "-s", "65508"], 'invalid --size "65508": must be 12-65507'],
  [["udp", "::1", "1", "-s", "65528"], 'invalid --size "65528": must be 12-65527'],
  // A destination port is 1-65535; an empty HOST is no host.
  [["udp", "127.0.0.1", "0"], 'invalid PORT "0": must be 1-65535'],
  [["tcp", "", "7"], 'invalid HOST "": must be a host name or address'],
  [["sctp", "h", "0"], 'invalid PORT "0": must be 1-65535'],
  // Negative numbers read as the flag's value (getopt's way), in both forms; -c=3 is -c 3.
  [["tcp", "h", "1", "-c", "-1"], 'invalid --count "-1": must be 1-1000000000'],
  [["tcp", "h", "1", "-c=-1"], 'invalid --count "-1": must be 1-1000000000'],
  [
    ["tcp", "h", "1", "-i", "-1"],
    'invalid --interval "-1": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [["tcp", "h", "1", "-s", "11"], 'invalid --size "11": must be 12-1048576'],
  [
    ["tcp", "h", "1", "-i", "fast"],
    'invalid --interval "fast": must be a duration like 500ms, 2s or 1m',
  ],
  [
    ["tcp", "h", "1", "-i", "2h"],
    'invalid --interval "2h": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [
    ["udp", "h", "1", "--timeout", "0"],
    'invalid --timeout "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [["tcp", "h", "1", "-4", "-6"], "-4 cannot be used with -6"],
  [["tcp", "h", "1", "--stream", "1"], 'unknown option "--stream"'],
  [["sctp", "h"], "missing PORT"],
  [["sctp", "h", "1", "x"], 'unexpected argument "x"'],
  [["sctp", "h", "1", "-s", "2000000"], 'invalid --size "2000000": must be 12-1048576'],
  [["sctp", "h", "1", "--stream", "65536"], 'invalid --stream "65536": must be 0-65535'],
  [["sctp", "h", "1", "--ppid", "x"], 'invalid --ppid "x": must be 0-4294967295'],
  [["sctp", "h", "1", "-4", "--bind", "::1"], '-4 cannot be used with --bind "::1"'],
  [["sctp", "h", "1", "--rto-min", "1s"], 'unknown option "--rto-min"'],
  // --bind, socket options and --engine (tcp, udp).
  [
    ["udp", "h", "1", "--bind", "nowhere"],
    'invalid --bind "nowhere": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)',
  ],
  [["udp", "h", "1", "-6", "--bind", "127.0.0.1"], '-6 cannot be used with --bind "127.0.0.1"'],
  [
    ["tcp", "::1", "1", "--bind", "127.0.0.1"],
    '--bind "127.0.0.1" cannot be used with an IPv6 HOST',
  ],
  [["udp", "h", "1", "--nodelay"], "--nodelay cannot be used with udp"],
  [["tcp", "h", "1", "--v6only"], "--v6only cannot be used with a client"],
  [["udp", "h", "1", "--reuseport"], "--reuseport needs --bind"],
  [["tcp", "h", "1", "--engine", "fast"], 'invalid --engine "fast": must be ffi or deno'],
  [["tcp", "h", "1", "--ttl", "9", "--engine", "deno"], "--ttl cannot be used with --engine deno"],
  [["tcp", "h", "1", "--bind", "127.0.0.2", "--tls"], "--bind cannot be used with --tls"],
  [["tcp", "h", "1", "--tls", "--engine", "ffi"], "--engine ffi cannot be used with --tls"],
];

Deno.test("ping rejects bad argv with the exact message", () => {
  for (const [args, message] of BAD) assertUsageError(() => parse(args), message, args.join(" "));
});

Deno.test("ping --help holds the tcp/udp text, then the sctp text", () => {
  assert.equal(cmd.usage, usage);
  assert.ok(usage.startsWith(TCP_UDP_USAGE));
  assert.ok(usage.includes(PING_USAGE));
  assert.match(usage, /^Usage: sockbox ping tcp\|udp HOST PORT /);
  assert.match(usage, /12-1048576 for tcp; for\n\s+udp 12-65507 over IPv4, 12-65527 over IPv6/);
  assert.match(usage, /\nUsage: sockbox ping sctp HOST PORT /);
});

Deno.test("ping takes -c=3 as -c 3, and UDP probes of 65527 bytes to IPv6", () => {
  const o = parse(["udp", "::1", "7", "-c=3", "-s", "65527"]);
  assert.ok("count" in o && o.count === 3 && o.size === 65527);
});
