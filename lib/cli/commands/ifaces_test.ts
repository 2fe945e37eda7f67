import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, formatInterfaces, parse } from "./ifaces.ts";

Deno.test("ifaces parses a name, a family and --json", () => {
  const cases: [string[], unknown][] = [
    [[], { json: false }],
    [["lo"], { name: "lo", json: false }],
    [["-4", "eth0.100"], { name: "eth0.100", family: 4, json: false }],
    [["lo", "-6", "--json"], { name: "lo", family: 6, json: true }],
    [["x".repeat(15)], { name: "x".repeat(15), json: false }],
  ];
  for (const [args, want] of cases) assert.deepEqual(parse(args), want, args.join(" "));
});

Deno.test("ifaces rejects bad argv with the exact message", () => {
  const bad = 'interface names are 1-15 bytes without spaces, "/" or ":"';
  const cases: [string[], string][] = [
    [["a", "b"], 'unexpected argument "b"'],
    [["x".repeat(16)], `invalid NAME "${"x".repeat(16)}": ${bad}`],
    [["é".repeat(8)], `invalid NAME "${"é".repeat(8)}": ${bad}`],
    [["eth0:1"], `invalid NAME "eth0:1": ${bad}`],
    [["a/b"], `invalid NAME "a/b": ${bad}`],
    [["a b"], `invalid NAME "a b": ${bad}`],
    [[""], `invalid NAME "": ${bad}`],
    [["-4", "-6"], "-4 cannot be used with -6"],
    [["--jsn"], 'unknown option "--jsn"'],
  ];
  for (const [args, message] of cases) {
    assertUsageError(() => parse(args), message, args.join(" "));
  }
});

Deno.test("ifaces formats the human table", () => {
  const lines = formatInterfaces([
    {
      name: "lo",
      index: 1,
      flags: ["UP", "LOOPBACK", "LOWER_UP"],
      mtu: 65536,
      addresses: [
        { family: "inet", address: "127.0.0.1", prefixlen: 8, netmask: "255.0.0.0", label: "lo" },
        { family: "inet6", address: "::1", prefixlen: 128, scope: "host" },
      ],
    },
    {
      name: "veth0",
      index: 12,
      flags: ["BROADCAST", "MULTICAST"],
      mtu: 1500,
      mac: "02:00:00:00:00:01",
      addresses: [],
    },
  ]);
  assert.deepEqual(lines, [
    "1: lo      up          mtu 65536  <UP,LOOPBACK,LOWER_UP>",
    "    inet 127.0.0.1/8  netmask 255.0.0.0  label lo",
    "    inet6 ::1/128  scope host",
    "12: veth0  down        mtu 1500   mac 02:00:00:00:00:01  <BROADCAST,MULTICAST>",
  ]);
});

Deno.test("ifaces is a plain command in the table", () => {
  assert.equal(cmd.entries, undefined);
  assert.match(cmd.usage, /^Usage: sockbox ifaces \[NAME\] \[-4\|-6\] \[--json\]/);
});
