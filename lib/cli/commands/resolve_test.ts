import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { addressEvent, cmd, parse } from "./resolve.ts";

const FORWARD = {
  mode: "forward",
  canonical: false,
  addrconfig: false,
  v4mapped: false,
  numericHost: false,
  json: false,
};

Deno.test("resolve parses each form", () => {
  const cases: [string[], unknown][] = [
    [["localhost"], { ...FORWARD, host: "localhost" }],
    [
      ["--json", "example.org", "http", "-6", "--type", "stream", "--canonical", "--v4mapped"],
      {
        ...FORWARD,
        host: "example.org",
        service: "http",
        family: 6,
        type: "stream",
        canonical: true,
        v4mapped: true,
        json: true,
      },
    ],
    [
      ["h", "7", "-4", "--addrconfig", "--numeric-host"],
      { ...FORWARD, host: "h", service: "7", family: 4, addrconfig: true, numericHost: true },
    ],
    [
      ["-r", "127.0.0.1"],
      {
        mode: "reverse",
        address: "127.0.0.1",
        numericServ: false,
        nameRequired: false,
        dgram: false,
        json: false,
      },
    ],
    [
      ["--reverse", "fe80::1%lo", "22", "--numeric-serv", "--name-required", "--dgram"],
      {
        mode: "reverse",
        address: "fe80::1%lo",
        port: 22,
        numericServ: true,
        nameRequired: true,
        dgram: true,
        json: false,
      },
    ],
    [["--service", "53/udp", "--json"], {
      mode: "service",
      query: "53",
      protocol: "udp",
      json: true,
    }],
    [["--service", "ssh"], { mode: "service", query: "ssh", json: false }],
    [["--protocol", "sctp"], { mode: "protocol", query: "sctp", json: false }],
    [["--protocol", "132"], { mode: "protocol", query: "132", json: false }],
  ];
  for (const [args, want] of cases) assert.deepEqual(parse(args), want, args.join(" "));
});

Deno.test("resolve rejects bad argv with the exact message", () => {
  const cases: [string[], string][] = [
    [[], "missing HOST"],
    [[""], "missing HOST"],
    [["a", "b", "c"], 'unexpected argument "c"'],
    [["h", "-4", "-6"], "-4 cannot be used with -6"],
    [["h", "--type", "raw"], 'invalid --type "raw": must be stream or dgram'],
    [["h", "a b"], 'invalid SERVICE "a b": must be a service name or port number'],
    [["h", "70000"], 'invalid SERVICE "70000": must be 0-65535'],
    [["h", "--dgram"], "--dgram needs -r"],
    [["-r", "1.2.3.4", "-4"], "-4 cannot be used with -r"],
    [["-r"], "missing ADDR"],
    [
      ["-r", "example.org"],
      'invalid ADDR "example.org": must be a numeric IPv4 or IPv6 address (IPv6 may add %SCOPE)',
    ],
    [
      ["-r", "1.2.3.4%lo"],
      'invalid ADDR "1.2.3.4%lo": must be a numeric IPv4 or IPv6 address (IPv6 may add %SCOPE)',
    ],
    [["-r", "::1", "x"], 'invalid PORT "x": must be 0-65535'],
    [["-r", "::1", "--service", "ssh"], "-r cannot be used with --service"],
    [["--service", "ssh", "--protocol", "tcp"], "--service cannot be used with --protocol"],
    [["--service", "ssh", "h"], 'unexpected argument "h" (--service takes no other arguments)'],
    [
      ["--service", "ssh/icmp"],
      'invalid --service "ssh/icmp": must be NAME or PORT, optionally /tcp, /udp, /sctp or /dccp',
    ],
    [["--service", "70000"], 'invalid --service "70000": must be 0-65535'],
    [["--protocol", "256"], 'invalid --protocol "256": must be 0-255'],
    [["--protocol", "a b"], 'invalid --protocol "a b": must be a protocol name or a number 0-255'],
    [["--protocol", "tcp", "--canonical"], "--canonical cannot be used with --protocol"],
  ];
  for (const [args, message] of cases) {
    assertUsageError(() => parse(args), message, args.join(" "));
  }
  assert.match(cmd.usage, /^Usage: sockbox resolve HOST \[SERVICE\]/);
});

Deno.test("resolve's JSON address event names every field in snake_case", () => {
  const ev = addressEvent("h", {
    family: "inet6",
    address: "fe80::1",
    socktype: "stream",
    protocol: 6,
    protocolName: "tcp",
    port: 80,
    scopeId: 1,
    canonname: "h.example",
  }, (i) => (i === 1 ? "lo" : String(i)));
  assert.deepEqual(ev, {
    event: "address",
    host: "h",
    family: "inet6",
    address: "fe80::1",
    socktype: "stream",
    protocol: 6,
    protocol_name: "tcp",
    port: 80,
    scope_id: 1,
    scope: "lo",
    canonname: "h.example",
  });
  for (const k of Object.keys(ev)) assert.match(k, /^[a-z_]+$/, k);
});
