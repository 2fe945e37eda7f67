import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, sendTcpModule, sendUdpModule, TCP_UDP_USAGE, usage } from "./send.ts";
import { SEND_USAGE, sendSctpModule } from "./sctp.ts";

const MODULES = { tcp: sendTcpModule, udp: sendUdpModule, sctp: sendSctpModule };

/** Parses a whole `send` argv as main.ts does: the table picks, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return MODULES[p.word as keyof typeof MODULES].parse(p.rest);
}

const enc = new TextEncoder();

const SCTP_DEFAULTS = {
  sctp: "send",
  hosts: ["127.0.0.1"],
  port: 9,
  messages: [],
  binds: [],
  streams: 64,
  ppid: 1,
  unordered: false,
  ttlMs: 0,
  status: false,
  timeoutMs: 5000,
  json: false,
  tuning: {},
};

const GOOD: [string[], unknown][] = [
  [
    ["tcp", "h", "7"],
    { proto: "tcp", host: "h", port: 7, messages: undefined, timeoutMs: 5000, json: false },
  ],
  [
    ["--timeout", "2s", "udp", "h", "7", "a", "b c", "-6", "--json"],
    {
      proto: "udp",
      host: "h",
      port: 7,
      messages: [enc.encode("a"), enc.encode("b c")],
      timeoutMs: 2000,
      family: 6,
      json: true,
    },
  ],
  [
    ["-4", "tcp", "h", "7", "--", "--not-a-flag"],
    {
      proto: "tcp",
      host: "h",
      port: 7,
      messages: [enc.encode("--not-a-flag")],
      timeoutMs: 5000,
      family: 4,
      json: false,
    },
  ],
  [
    ["udp", "--broadcast", "all", "7", "x"],
    {
      proto: "broadcast",
      broadcast: { target: "all", port: 7, timeoutMs: 5000, json: false },
      messages: [enc.encode("x")],
    },
  ],
  [
    ["udp", "--broadcast", "255.255.255.255", "6000", "hi", "--iface", "e0"],
    {
      proto: "broadcast",
      broadcast: {
        target: "255.255.255.255",
        port: 6000,
        timeoutMs: 5000,
        json: false,
        iface: "e0",
      },
      messages: [enc.encode("hi")],
    },
  ],
  [
    ["--broadcast", "10.1.255.255", "--timeout", "300ms", "udp", "7", "-4", "--json"],
    {
      proto: "broadcast",
      broadcast: { target: "10.1.255.255", port: 7, timeoutMs: 300, json: true },
    },
  ],
  [["--timeout", "2s", "sctp", "127.0.0.1", "9", "x"], {
    ...SCTP_DEFAULTS,
    messages: ["x"],
    timeoutMs: 2000,
  }],
  [["sctp", "127.0.0.1", "9"], SCTP_DEFAULTS],
  [
    [
      ...["sctp", "a,b", "9", "m1", "m2", "--stream", "3", "--streams", "4", "--ppid", "7"],
      ...["--unordered", "--ttl", "100", "--status", "--bind", "127.0.0.1", "-4"],
      ...["--rto-max", "3s", "--max-retrans", "2"],
    ],
    {
      ...SCTP_DEFAULTS,
      hosts: ["a", "b"],
      messages: ["m1", "m2"],
      stream: 3,
      streams: 4,
      ppid: 7,
      unordered: true,
      ttlMs: 100,
      status: true,
      binds: ["127.0.0.1"],
      family: 4,
      tuning: { rtoMaxMs: 3000, maxRetrans: 2 },
    },
  ],
  [["--spread", "sctp", "127.0.0.1", "9", "--json"], { ...SCTP_DEFAULTS, json: true }],
  // Client socket setup: --bind picks the family HOST resolves in; -v reads options back.
  [
    ["tcp", "localhost", "7", "x", "--bind", "127.0.0.5:4000", "--tos", "ef", "--mss", "1000"],
    {
      proto: "tcp",
      host: "localhost",
      port: 7,
      messages: [enc.encode("x")],
      timeoutMs: 5000,
      json: false,
      family: 4,
      client: {
        readBack: true,
        bind: { address: "127.0.0.5", port: 4000 },
        sockopts: { tos: 184, mss: 1000 },
      },
    },
  ],
  [
    ["udp", "::1", "7", "--bind", "[::1]", "--ttl", "7", "--rcvbuf", "65536", "-v"],
    {
      proto: "udp",
      host: "::1",
      port: 7,
      messages: undefined,
      timeoutMs: 5000,
      json: false,
      family: 6,
      client: {
        readBack: true,
        bind: { address: "::1", port: 0 },
        sockopts: { ttl: 7, rcvbuf: 65536 },
      },
      verbose: true,
    },
  ],
  [
    [
      "tcp",
      "h",
      "7",
      "a",
      "--urgent",
      "1",
      "--no-nodelay",
      "--keepalive",
      "5,1,2",
      "--linger",
      "0",
    ],
    {
      proto: "tcp",
      host: "h",
      port: 7,
      messages: [enc.encode("a")],
      timeoutMs: 5000,
      json: false,
      urgent: 1,
      client: {
        readBack: true,
        sockopts: { nodelay: false, keepalive: { idle: 5, interval: 1, count: 2 }, linger: 0 },
      },
    },
  ],
  [
    ["--bind", "127.0.0.5", "--mss", "1000", "tcp", "h", "7"],
    {
      proto: "tcp",
      host: "h",
      port: 7,
      messages: undefined,
      timeoutMs: 5000,
      json: false,
      family: 4,
      client: { readBack: true, bind: { address: "127.0.0.5", port: 0 }, sockopts: { mss: 1000 } },
    },
  ],
  [
    ["-v", "tcp", "h", "7", "--json"],
    {
      proto: "tcp",
      host: "h",
      port: 7,
      messages: undefined,
      timeoutMs: 5000,
      json: true,
      client: { readBack: true },
      verbose: true,
    },
  ],
];

Deno.test("send parses good argv, the protocol word anywhere among the flags", () => {
  for (const [args, want] of GOOD) assert.deepEqual(parse(args), want, args.join(" "));
});

const BAD: [string[], string][] = [
  [[], "missing protocol (tcp, udp, sctp)"],
  [["--timeout", "2s"], "missing protocol (tcp, udp, sctp)"],
  [["icmp", "h", "7"], 'unknown protocol "icmp": must be tcp or udp or sctp'],
  [["--bogus", "tcp"], 'unknown option "--bogus"'],
  [["tcp"], "missing HOST"],
  [["tcp", "127.0.0.1"], "missing PORT"],
  [["udp", "h", "70000"], 'invalid PORT "70000": must be 1-65535'],
  // A destination port is 1-65535 and HOST must not be empty: usage errors, before any I/O.
  [["tcp", "127.0.0.1", "0", "x"], 'invalid PORT "0": must be 1-65535'],
  [["udp", "--broadcast", "all", "0"], 'invalid PORT "0": must be 1-65535'],
  [["tcp", "", "7007", "x"], 'invalid HOST "": must be a host name or address'],
  [["sctp", "", "9"], 'invalid HOST "": must be a host name or address'],
  // A negative value after a flag is its value (getopt's reading), in both spellings.
  [
    ["udp", "h", "1", "--timeout", "-1s"],
    'invalid --timeout "-1s": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [
    ["udp", "h", "1", "--timeout=-1s"],
    'invalid --timeout "-1s": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [["tcp", "h", "1", "--iface", "e0"], "--iface needs --broadcast"],
  [
    ["udp", "h", "1", "--timeout", "0"],
    'invalid --timeout "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [["tcp", "h", "1", "-4", "-6"], "-4 cannot be used with -6"],
  [["tcp", "h", "1", "--stream", "1"], 'unknown option "--stream"'],
  [["tcp", "--broadcast", "all", "7"], "--broadcast cannot be used with tcp"],
  [["udp", "--broadcast", "all", "7", "-6"], "--broadcast cannot be used with -6 (IPv4 only)"],
  [
    ["udp", "--broadcast", "::1", "7"],
    'invalid --broadcast "::1": must be an IPv4 broadcast address or "all"',
  ],
  [["udp", "--broadcast", "all"], "missing PORT"],
  [["sctp"], "missing HOST"],
  [["sctp", "h"], "missing PORT"],
  [["sctp", "a,,b", "9"], 'invalid HOST "a,,b": empty name'],
  [["sctp", "h", "9", "x", ""], "empty MSG: SCTP cannot send an empty message"],
  [["sctp", "h", "9", "--stream", "1", "--spread"], "--stream cannot be used with --spread"],
  [
    ["sctp", "h", "9", "--stream", "8", "--streams", "8"],
    "--stream 8 is beyond --streams 8 (streams are 0-7)",
  ],
  [["sctp", "h", "9", "--stream", "65536"], 'invalid --stream "65536": must be 0-65535'],
  [["sctp", "h", "9", "--ppid", "4294967296"], 'invalid --ppid "4294967296": must be 0-4294967295'],
  [["sctp", "h", "9", "--ttl", "-1"], 'invalid --ttl "-1": must be 0-4294967295'],
  [["sctp", "h", "9", "--broadcast", "all"], 'unknown option "--broadcast"'],
  [["sctp", "h", "9", "--bind", "nowhere"], 'invalid --bind "nowhere": must be an IP address'],
  [["sctp", "h", "9", "-6", "--bind", "127.0.0.1"], '-6 cannot be used with --bind "127.0.0.1"'],
  // Client socket options: where each does not apply, the option and the protocol.
  [["udp", "h", "7", "--mss", "1000"], "--mss cannot be used with udp"],
  [["udp", "h", "7", "--nodelay"], "--nodelay cannot be used with udp"],
  [["udp", "h", "7", "--keepalive", "30"], "--keepalive cannot be used with udp"],
  [["udp", "h", "7", "--linger", "1"], "--linger cannot be used with udp"],
  [["tcp", "h", "7", "--v6only"], "--v6only cannot be used with a client"],
  [["tcp", "h", "7", "--reuseport"], "--reuseport needs --bind"],
  [["udp", "h", "7", "--reuseaddr"], "--reuseaddr needs --bind"],
  [["tcp", "h", "7", "--nodelay", "--no-nodelay"], "--nodelay cannot be used with --no-nodelay"],
  [["tcp", "h", "7", "--ttl", "0"], 'invalid --ttl "0": must be 1-255'],
  [["tcp", "h", "7", "--mss", "40000"], 'invalid --mss "40000": must be 88-32767'],
  [
    ["tcp", "h", "7", "--bind", "h2"],
    'invalid --bind "h2": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)',
  ],
  [
    ["tcp", "h", "7", "--bind", "127.0.0.1:65536"],
    'invalid --bind "127.0.0.1:65536": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)',
  ],
  [
    ["tcp", "127.0.0.1", "7", "--bind", "[::1]:5000"],
    "--bind [::1]:5000 (IPv6) cannot be used with an IPv4 HOST (127.0.0.1)",
  ],
  [
    ["udp", "::1", "7", "--bind", "127.0.0.1"],
    "--bind 127.0.0.1 (IPv4) cannot be used with an IPv6 HOST (::1)",
  ],
  [
    ["udp", "h", "7", "-6", "--bind", "127.0.0.1"],
    "--bind 127.0.0.1 (IPv4) cannot be used with -6",
  ],
  [["udp", "--broadcast", "all", "7", "--ttl", "2"], "--ttl cannot be used with --broadcast"],
  [["udp", "--broadcast", "all", "7", "-v"], "-v cannot be used with --broadcast"],
  [["tcp", "h", "7", "--tls", "--bind", "127.0.0.1"], "--bind cannot be used with --tls"],
  [["tcp", "h", "7", "--recv", "--tos", "ef"], "--tos cannot be used with --recv"],
];

Deno.test("send rejects bad argv with the exact message", () => {
  for (const [args, message] of BAD) assertUsageError(() => parse(args), message, args.join(" "));
});

Deno.test("send --help holds the tcp/udp text, then the sctp text", () => {
  assert.equal(cmd.usage, usage);
  assert.ok(usage.startsWith(TCP_UDP_USAGE));
  assert.ok(usage.includes(SEND_USAGE));
  assert.match(usage, /^Usage: sockbox send tcp\|udp HOST PORT /);
  assert.match(usage, /\n {7}sockbox send udp --broadcast ADDR\|all PORT /);
  assert.match(usage, /\nUsage: sockbox send sctp HOST\[,HOST\.\.\.\] PORT /);
});
