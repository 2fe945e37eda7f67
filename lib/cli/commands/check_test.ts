import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { type CheckCommandOptions, hostBlock, parse } from "./check.ts";
import type { CellEvent, HostEvent, PathEvent } from "../../net/check/check.ts";

const DEFAULTS = {
  port: 7,
  protos: ["tcp", "udp", "sctp"],
  count: 3,
  timeoutMs: 2000,
  mtu: false,
  parallel: 32,
  json: false,
};

Deno.test("check parses hosts, the port and every flag", () => {
  const cases: [string[], Partial<CheckCommandOptions>][] = [
    [["web1"], { targets: [{ host: "web1", port: 7 }] }],
    [["web1", "7007"], { targets: [{ host: "web1", port: 7007 }], port: 7007 }],
    [
      ["web1", "web2:9", "[2001:db8::7]", "7007"],
      {
        targets: [
          { host: "web1", port: 7007 },
          { host: "web2", port: 9 },
          { host: "2001:db8::7", port: 7007 },
        ],
        port: 7007,
      },
    ],
    [["2001:db8::7"], { targets: [{ host: "2001:db8::7", port: 7 }] }],
    [["--hosts", "fleet.txt", "7007"], { targets: [], hostsFile: "fleet.txt", port: 7007 }],
    [["--hosts", "-"], { targets: [], hostsFile: "-" }],
    [
      ["--proto", "udp,tcp,udp", "-6", "-c", "5", "--timeout", "500ms", "--mtu", "--json", "h"],
      {
        targets: [{ host: "h", port: 7 }],
        protos: ["udp", "tcp"],
        family: 6,
        count: 5,
        timeoutMs: 500,
        mtu: true,
        json: true,
      },
    ],
    [["h", "--parallel", "4", "--count", "1000"], {
      targets: [{ host: "h", port: 7 }],
      parallel: 4,
      count: 1000,
    }],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(parse(args), { ...DEFAULTS, ...want }, args.join(" "));
  }
});

Deno.test("check rejects bad input with one exact message", () => {
  const cases: [string[], string][] = [
    [[], "missing HOST"],
    [["--json"], "missing HOST"],
    [["h", "0"], 'invalid PORT "0": must be 1-65535'],
    [["h", "65536"], 'invalid PORT "65536": must be 1-65535'],
    [["h:70000"], 'invalid HOST "h:70000": port must be 1-65535'],
    [["[h]:7"], 'invalid HOST "[h]:7": brackets hold an IPv6 address'],
    [["h", "--proto", "icmp"], 'invalid --proto "icmp": must be tcp, udp or sctp, comma separated'],
    [["h", "--proto", "tcp,"], 'invalid --proto "tcp,": must be tcp, udp or sctp, comma separated'],
    [["h", "--count", "0"], 'invalid --count "0": must be 1-1000'],
    [["h", "--parallel", "2000"], 'invalid --parallel "2000": must be 1-1024'],
    [
      ["h", "--timeout", "5ms"],
      'invalid --timeout "5ms": must be a duration like 500ms, 2s or 1m between 10ms and 10m',
    ],
    [["h", "-4", "-6"], "-4 cannot be used with -6"],
    [["h", "--hosts", ""], 'invalid --hosts "": must be a file or -'],
    [["h", "--bogus"], 'unknown option "--bogus"'],
    [["h", "--mtu=yes"], 'option "--mtu" takes no value'],
  ];
  for (const [args, message] of cases) assertUsageError(() => parse(args), message, args.join(" "));
});

const host: HostEvent = {
  event: "host",
  host: "server",
  port: 7007,
  addresses: ["192.0.2.7", "2001:db8::7"],
  status: "partly",
  error: null,
};

function cell(address: string, proto: CellEvent["proto"], o: Partial<CellEvent>): CellEvent {
  return {
    event: "cell",
    host: "server",
    port: 7007,
    address,
    family: address.includes(":") ? 6 : 4,
    proto,
    result: "ok",
    sent: 3,
    received: 3,
    rtt_ms: 0.5,
    reason: null,
    from: null,
    ...o,
  };
}

Deno.test("hostBlock renders a host as a matrix, then its paths", () => {
  const cells = [
    cell("192.0.2.7", "tcp", {}),
    cell("192.0.2.7", "udp", {
      result: "filtered",
      rtt_ms: null,
      received: 0,
      reason: "no answer within 2s",
    }),
    cell("2001:db8::7", "tcp", { rtt_ms: 12.25 }),
    cell("2001:db8::7", "udp", {
      result: "rejected",
      rtt_ms: null,
      received: 0,
      reason: "ICMPv6 admin-prohibited",
      from: "2001:db8::1",
    }),
  ];
  const paths: PathEvent[] = [{
    event: "path",
    host: "server",
    port: 7007,
    address: "192.0.2.7",
    family: 4,
    mtu: 1400,
    max_payload: 1372,
    from: "192.0.2.1",
  }];
  assert.deepEqual(hostBlock(host, cells, paths, ["tcp", "udp"]), [
    "server:7007",
    "  ADDRESS      TCP            UDP",
    "  192.0.2.7    ok 0.50ms 3/3  filtered (no answer within 2s)",
    "  2001:db8::7  ok 12.3ms 3/3  rejected (ICMPv6 admin-prohibited from 2001:db8::1)",
    "  path 192.0.2.7: mtu 1400, max payload 1372, frag-needed from 192.0.2.1",
  ]);
  // A cell that is missing shows as "-"; a host that did not resolve is one line.
  assert.deepEqual(hostBlock({ ...host, addresses: ["192.0.2.7"] }, [], [], ["sctp"]), [
    "server:7007",
    "  ADDRESS    SCTP",
    "  192.0.2.7  -",
  ]);
  assert.deepEqual(
    hostBlock(
      { ...host, addresses: [], status: "unreachable", error: "getaddrinfo EAI_NONAME nohost" },
      [],
      [],
      [
        "tcp",
      ],
    ),
    ["server:7007  getaddrinfo EAI_NONAME nohost"],
  );
});
