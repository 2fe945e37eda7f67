import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { parseGroup } from "../../net/mcast/groups.ts";
import {
  cmd,
  mcastListenModule,
  mcastPingModule,
  mcastSendModule,
  parseMcastArgs,
  usage,
} from "./mcast.ts";

const MODULES = { listen: mcastListenModule, send: mcastSendModule, ping: mcastPingModule };

/** Parses a whole `mcast` argv as main.ts does: the table picks the verb, the entry parses. */
function parse(args: string[]) {
  const p = cmd.pick(args);
  return MODULES[p.word as keyof typeof MODULES].parse(p.rest);
}

const enc = new TextEncoder();
const G4 = parseGroup("GROUP", "239.1.1.1");

const GOOD: [string[], unknown][] = [
  [
    ["listen", "239.1.1.1", "5000"],
    { group: G4, port: 5000, ifaces: [], echo: false, json: false },
  ],
  [
    [
      "listen",
      "239.1.1.1",
      "5000",
      "--iface",
      "e0",
      "--iface",
      "2",
      "--source",
      "[10.0.0.1]",
      "--echo",
      "--count",
      "3",
      "--json",
    ],
    {
      group: G4,
      port: 5000,
      ifaces: [{ kind: "name", name: "e0", text: "e0" }, { kind: "index", index: 2, text: "2" }],
      source: "10.0.0.1",
      echo: true,
      count: 3,
      json: true,
    },
  ],
  [
    // The verb may follow flags.
    ["--json", "--iface", "e0", "listen", "ff02::1", "0"],
    {
      group: parseGroup("GROUP", "ff02::1"),
      port: 0,
      ifaces: [{ kind: "name", name: "e0", text: "e0" }],
      echo: false,
      json: true,
    },
  ],
  [
    ["send", "239.1.1.1", "5"],
    {
      group: G4,
      port: 5,
      hops: 1,
      count: 1,
      intervalMs: 1000,
      messages: undefined,
      json: false,
    },
  ],
  [
    [
      "send",
      "ff15::1",
      "5",
      "a",
      "b c",
      "--hops",
      "3",
      "--no-loop",
      "-c",
      "2",
      "-i",
      "200ms",
      "--iface",
      "fd00::1",
    ],
    {
      group: parseGroup("GROUP", "ff15::1"),
      port: 5,
      iface: { kind: "address", address: "fd00::1", family: 6, text: "fd00::1" },
      hops: 3,
      loop: false,
      count: 2,
      intervalMs: 200,
      messages: [enc.encode("a"), enc.encode("b c")],
      json: false,
    },
  ],
  [
    ["-c", "2", "send", "239.1.1.1", "5", "x", "--loop", "--ttl", "0"],
    {
      group: G4,
      port: 5,
      hops: 0,
      loop: true,
      count: 2,
      intervalMs: 1000,
      messages: [enc.encode("x")],
      json: false,
    },
  ],
  [
    ["ping", "[ff15::1]", "5", "--ttl", "0", "--wait", "500ms"],
    {
      group: parseGroup("GROUP", "ff15::1"),
      port: 5,
      hops: 0,
      count: 5,
      intervalMs: 1000,
      waitMs: 500,
      json: false,
    },
  ],
  [
    ["ping", "239.1.1.1", "5", "-c", "4", "-i", "100ms", "--iface", "3", "--json"],
    {
      group: G4,
      port: 5,
      iface: { kind: "index", index: 3, text: "3" },
      hops: 1,
      count: 4,
      intervalMs: 100,
      waitMs: 2000,
      json: true,
    },
  ],
];

Deno.test("mcast parsers turn good argv into options", () => {
  for (const [args, want] of GOOD) assert.deepEqual(parse(args), want, args.join(" "));
});

Deno.test("parseMcastArgs keeps the verb beside its options", () => {
  assert.deepEqual(parseMcastArgs(["ping", "239.1.1.1", "5"]), {
    sub: "ping",
    ping: parse(["ping", "239.1.1.1", "5"]),
  });
  assert.equal(parseMcastArgs(["--json", "listen", "239.1.1.1", "5"]).sub, "listen");
});

const BAD: [string[], string][] = [
  [[], "missing subcommand (listen, send or ping)"],
  [["--json"], "missing subcommand (listen, send or ping)"],
  [["bogus"], 'unknown mcast subcommand "bogus": must be listen, send or ping'],
  [["--bogus", "listen"], 'unknown option "--bogus"'],
  [["listen"], "missing GROUP"],
  [["listen", "239.1.1.1"], "missing PORT"],
  [["listen", "239.1.1.1", "x"], 'invalid PORT "x": must be 0-65535'],
  [["listen", "239.1.1.1", "5", "extra"], 'unexpected argument "extra"'],
  [
    ["listen", "1.2.3.4", "5"],
    'invalid GROUP "1.2.3.4": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
  ],
  [["listen", "fe80::1%2", "5"], 'invalid GROUP "fe80::1%2": not an IP address'],
  [["listen", "nonsense", "5"], 'invalid GROUP "nonsense": not an IP address'],
  [
    ["listen", "ff01::1", "5"],
    'GROUP "ff01::1" has interface-local scope: give the interface with --iface',
  ],
  [
    ["listen", "239.1.1.1", "5", "--iface", "0"],
    'invalid --iface "0": interface index must be 1-2147483647',
  ],
  [
    ["listen", "239.1.1.1", "5", "--iface", "a/b"],
    'invalid --iface "a/b": not an interface name, address or index',
  ],
  [["listen", "239.1.1.1", "5", "--source", "x"], 'invalid --source "x": not an IP address'],
  [
    ["listen", "239.1.1.1", "5", "--source", "ff15::1"],
    'invalid --source "ff15::1": an IPv6 source cannot send to IPv4 GROUP',
  ],
  [
    ["listen", "239.1.1.1", "5", "--source", "224.0.0.1"],
    'invalid --source "224.0.0.1": must be a unicast address',
  ],
  [["listen", "239.1.1.1", "5", "--count", "0"], 'invalid --count "0": must be 1-1000000'],
  [["listen", "239.1.1.1", "5", "-c", "3"], 'unknown option "-c"'],
  [["listen", "239.1.1.1", "5", "--bogus"], 'unknown option "--bogus"'],
  [["listen", "239.1.1.1", "5", "--count"], 'option "--count" needs a value'],
  [["listen", "239.1.1.1", "5", "--echo=1"], 'option "--echo" takes no value'],
  [["send", "239.1.1.1", "0", "x"], 'invalid PORT "0": must be 1-65535'],
  [["send", "239.1.1.1", "70000", "x"], 'invalid PORT "70000": must be 0-65535'],
  [["send", "239.1.1.1"], "missing PORT"],
  [["send", "239.1.1.1", "5", "x", "-c", "0"], 'invalid -c "0": must be 1-1000000'],
  [
    ["send", "239.1.1.1", "5", "x", "-i", "2h"],
    'invalid -i "2h": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [["send", "239.1.1.1", "5", "x", "--wait", "1s"], 'unknown option "--wait"'],
  [
    ["send", "239.1.1.1", "5", "x", "--iface", "ff::1"],
    'invalid --iface "ff::1": an IPv6 address cannot carry IPv4 multicast',
  ],
  [
    ["send", "ff15::1", "5000", "x", "--iface", "10.0.0.1"],
    'invalid --iface "10.0.0.1": an IPv4 address cannot carry IPv6 multicast',
  ],
  [["send", "239.1.1.1", "5000", "x", "--ttl", "300"], 'invalid --ttl "300": must be 0-255'],
  [
    ["send", "239.1.1.1", "5000", "x", "--ttl", "2", "--hops", "2"],
    "--ttl cannot be used with --hops",
  ],
  [
    ["send", "239.1.1.1", "5000", "x", "--loop", "--no-loop"],
    "--loop cannot be used with --no-loop",
  ],
  [
    ["send", "239.1.1.1", "5000", "x", "--iface", "1", "--iface", "2"],
    "--iface can be given only once with send",
  ],
  [["ping", "ff15::1", "5000", "--hops", "256"], 'invalid --hops "256": must be 0-255'],
  [["ping", "239.1.1.1", "5", "extra"], 'unexpected argument "extra"'],
  [["ping", "239.1.1.1", "0"], 'invalid PORT "0": must be 1-65535'],
  [
    ["ping", "239.1.1.1", "5", "--wait", "2h"],
    'invalid --wait "2h": must be a duration like 500ms, 2s or 1m between 0s and 1h',
  ],
  [["ping", "239.1.1.1", "5", "--loop"], 'unknown option "--loop"'],
  [
    ["ping", "239.1.1.1", "5", "--iface", "1", "--iface", "2"],
    "--iface can be given only once with ping",
  ],
  [
    ["ping", "ff02::1", "5"],
    'GROUP "ff02::1" has link-local scope: give the interface with --iface',
  ],
];

Deno.test("mcast parsers reject bad argv with the exact message", () => {
  for (const [args, message] of BAD) {
    assertUsageError(() => parse(args), message, args.join(" "));
    assertUsageError(() => parseMcastArgs(args), message, args.join(" "));
  }
});

Deno.test("mcast usage is the three verbs' usages together", () => {
  for (const m of Object.values(MODULES)) {
    const sections = m.usage.split("\n\n");
    // Synopsis first, then the GROUP paragraph, the verb's section, --json and the tail.
    assert.ok(usage.includes(sections[2]!), m.usage);
    assert.ok(usage.includes(sections[0]!.replace("Usage: ", "")), m.usage);
  }
  assert.ok(usage.startsWith("Usage: sockbox mcast listen GROUP PORT"));
  assert.ok(usage.endsWith("is a runtime error (exit 1)\nsuggesting --iface.\n"));
  assert.deepEqual(Object.keys(cmd.entries ?? {}), ["listen", "send", "ping"]);
});
