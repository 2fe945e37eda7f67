import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, serveTcpModule, serveUdpModule, TCP_UDP_USAGE, usage } from "./serve.ts";
import { SERVE_USAGE, serveSctpModule } from "./sctp.ts";

const MODULES = { tcp: serveTcpModule, udp: serveUdpModule, sctp: serveSctpModule };

/** Parses a whole `serve` argv as main.ts does: the table picks, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return MODULES[p.word as keyof typeof MODULES].parse(p.rest);
}

const SCTP_DEFAULTS = {
  sctp: "serve",
  port: 0,
  addresses: [],
  style: "one-to-one",
  streams: 64,
  verbose: false,
  json: false,
  tuning: {},
};

const GOOD: [string[], unknown][] = [
  [["tcp", "7"], { proto: "tcp", port: 7, json: false, verbose: false }],
  [
    ["udp", "0", "--host", "[::1]", "-v", "--json"],
    { proto: "udp", port: 0, host: "::1", json: true, verbose: true },
  ],
  [
    ["--host", "127.0.0.1", "tcp", "0", "--max-conns", "3", "--idle-timeout", "500ms"],
    {
      proto: "tcp",
      port: 0,
      host: "127.0.0.1",
      maxConns: 3,
      idleTimeoutMs: 500,
      json: false,
      verbose: false,
    },
  ],
  [["-6", "--json", "tcp", "0"], { proto: "tcp", port: 0, family: 6, json: true, verbose: false }],
  [["udp", "-4", "9"], { proto: "udp", port: 9, family: 4, json: false, verbose: false }],
  [["tcp", "0", "-q"], { proto: "tcp", port: 0, json: false, verbose: false, quiet: true }],
  [
    ["udp", "0", "--quiet", "--json"],
    { proto: "udp", port: 0, json: true, verbose: false, quiet: true },
  ],
  [["sctp", "0"], SCTP_DEFAULTS],
  [["-4", "sctp", "0"], { ...SCTP_DEFAULTS, addresses: ["0.0.0.0"] }],
  [["sctp", "0", "-6", "-v"], { ...SCTP_DEFAULTS, addresses: ["::"], verbose: true }],
  [
    [
      ...["--host", "127.0.0.1", "sctp", "7", "--bind", "127.0.0.2", "--style", "one-to-many"],
      ...["--streams", "8", "--rto-min", "100ms", "--rto-max", "1s", "--heartbeat", "0"],
      ...["--max-retrans", "5", "--json"],
    ],
    {
      ...SCTP_DEFAULTS,
      port: 7,
      addresses: ["127.0.0.1", "127.0.0.2"],
      style: "one-to-many",
      streams: 8,
      json: true,
      tuning: { rtoMinMs: 100, rtoMaxMs: 1000, heartbeatMs: 0, maxRetrans: 5 },
    },
  ],
  [
    ["sctp", "0", "--host", "::1", "--bind", "127.0.0.1"],
    { ...SCTP_DEFAULTS, addresses: ["::1", "127.0.0.1"] },
  ],
  [["tcp", "0", "--drain", "0"], {
    proto: "tcp",
    port: 0,
    drainMs: 0,
    json: false,
    verbose: false,
  }],
  [
    ["udp", "0", "--drain", "1.5s"],
    { proto: "udp", port: 0, drainMs: 1500, json: false, verbose: false },
  ],
  [["sctp", "0", "--drain", "250ms"], { ...SCTP_DEFAULTS, drainMs: 250 }],
  [
    ["sctp", "0", "--host", "::", "--rcvbuf", "65536", "--tos", "ef", "--reuseport", "--v6only"],
    {
      ...SCTP_DEFAULTS,
      addresses: ["::"],
      sockopts: { rcvbuf: 65536, tos: 184, reuseport: true, v6only: true },
    },
  ],
];

Deno.test("serve parses good argv, the protocol word anywhere among the flags", () => {
  for (const [args, want] of GOOD) assert.deepEqual(parse(args), want, args.join(" "));
});

const BAD: [string[], string][] = [
  [[], "missing protocol (tcp, udp, sctp, all)"],
  [["--json"], "missing protocol (tcp, udp, sctp, all)"],
  [["icmp", "7"], 'unknown protocol "icmp": must be tcp or udp or sctp or all'],
  [["--bogus"], 'unknown option "--bogus"'],
  [["tcp"], "missing PORT"],
  [["tcp", "70000"], 'invalid PORT "70000": must be 0-65535'],
  [["tcp", "x7"], 'invalid PORT "x7": must be 0-65535'],
  [["tcp", "0", "extra"], 'unexpected argument "extra"'],
  [["tcp", "0", "--bogus"], 'unknown option "--bogus"'],
  [["tcp", "0", "--style", "one-to-many"], 'unknown option "--style"'],
  [["udp", "0", "--max-conns", "3"], "--max-conns cannot be used with udp"],
  [["udp", "0", "--idle-timeout", "1s"], "--idle-timeout cannot be used with udp"],
  [["tcp", "0", "--max-conns", "0"], 'invalid --max-conns "0": must be 1-1000000'],
  // Negative values read as the flag's value in both spellings, and reach the range check.
  [["tcp", "0", "--max-conns", "-5"], 'invalid --max-conns "-5": must be 1-1000000'],
  [["tcp", "0", "--max-conns=-5"], 'invalid --max-conns "-5": must be 1-1000000'],
  [["--max-conns", "-5", "tcp", "0"], 'invalid --max-conns "-5": must be 1-1000000'],
  [
    ["tcp", "0", "--idle-timeout", "-1s"],
    'invalid --idle-timeout "-1s": must be a duration like 500ms, 2s or 1m between 1ms and 168h',
  ],
  [
    ["tcp", "0", "--idle-timeout", "soon"],
    'invalid --idle-timeout "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [
    ["tcp", "0", "--idle-timeout", "0"],
    'invalid --idle-timeout "0": must be a duration like 500ms, 2s or 1m between 1ms and 168h',
  ],
  [["tcp", "0", "-4", "-6"], "-4 cannot be used with -6"],
  [["tcp", "0", "-q", "-v"], "-q cannot be used with -v"],
  [["tcp", "0", "--quiet", "--exec", "cat"], "-q cannot be used with --exec"],
  [["udp", "0", "-q", "--service", "daytime"], "-q cannot be used with --service"],
  [["tcp", "0", "--host", "nowhere"], 'invalid --host "nowhere": must be an IPv4 or IPv6 address'],
  [["-6", "tcp", "0", "--host", "::1"], "--host cannot be used with -6"],
  [["tcp", "0", "--host"], 'option "--host" needs a value'],
  [
    ["--host", "127.0.0.1", "sctp", "0", "--style", "bogus"],
    'invalid --style "bogus": must be one-to-one or one-to-many',
  ],
  [["sctp"], "missing PORT"],
  [["sctp", "0", "1"], 'unexpected argument "1"'],
  [["sctp", "0", "--broadcast", "all"], 'unknown option "--broadcast"'],
  [["sctp", "0", "--streams", "0"], 'invalid --streams "0": must be 1-65535'],
  [["sctp", "0", "--max-retrans", "0"], 'invalid --max-retrans "0": must be 1-65535'],
  [
    ["sctp", "0", "--rto-min", "2s", "--rto-max", "1s"],
    "--rto-min 2s cannot be more than --rto-max 1s",
  ],
  [
    ["sctp", "0", "--rto-min", "0"],
    'invalid --rto-min "0": must be a duration like 500ms, 2s or 1m between 1ms and 4294967295ms',
  ],
  [["sctp", "0", "--host", "x"], 'invalid --host "x": must be an IP address'],
  [["sctp", "0", "-4", "--bind", "::1"], '-4 cannot be used with --bind "::1"'],
  [
    ["tcp", "0", "--drain", "-1s"],
    'invalid --drain "-1s": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [["tcp", "0", "--drain", "1s", "--exec", "cat"], "--drain cannot be used with --exec"],
  [["udp", "0", "--drain", "1s", "--service", "daytime"], "--drain cannot be used with --service"],
  [["sctp", "0", "--drain", "1s", "--sh-exec", "cat"], "--drain cannot be used with --sh-exec"],
  [["sctp", "0", "--nodelay"], "--nodelay cannot be used with sctp"],
  [["sctp", "0", "--keepalive", "30"], "--keepalive cannot be used with sctp"],
  [["sctp", "0", "--ttl", "9"], "--ttl cannot be used with sctp"],
  [["sctp", "0", "--v6only", "-4"], "--v6only cannot be used with -4"],
  [["sctp", "0", "--v6only", "--host", "10.0.0.1"], "--v6only cannot be used with an IPv4 --host"],
  [["sctp", "0", "--max-bytes", "10"], "--max-bytes cannot be used with sctp"],
  [["sctp", "0", "--reflect-guard", "off"], "--reflect-guard cannot be used with sctp"],
  [["sctp", "0", "--allow", "::1", "--exec", "cat"], "--allow cannot be used with --exec"],
  [["sctp", "0", "--rcvbuf", "4096", "--exec", "cat"], "--rcvbuf cannot be used with --exec"],
  [["sctp", "0", "-6", "--host", "10.0.0.1"], '-6 cannot be used with --host "10.0.0.1"'],
  [
    ["sctp", "0", "--host", "127.0.0.1", "--bind", "::1"],
    '--bind "::1" is IPv6 but the socket is IPv4 (first address 127.0.0.1); give an IPv6 address first',
  ],
];

Deno.test("serve rejects bad argv with the exact message", () => {
  for (const [args, message] of BAD) assertUsageError(() => parse(args), message, args.join(" "));
});

Deno.test("serve --help holds the tcp/udp text, then the sctp text", () => {
  assert.equal(cmd.usage, usage);
  assert.ok(usage.startsWith(TCP_UDP_USAGE));
  assert.ok(usage.includes(SERVE_USAGE));
  assert.match(usage, /^Usage: sockbox serve tcp\|udp PORT /);
  assert.match(usage, /\nUsage: sockbox serve sctp PORT \[--host ADDR\] \[--bind ADDR\]\.\.\./);
  assert.deepEqual(Object.keys(cmd.entries).slice(0, 3), ["tcp", "udp", "sctp"]);
});
