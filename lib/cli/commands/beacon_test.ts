import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { parseGroup } from "../../net/mcast/groups.ts";
import {
  beaconModule,
  cmd,
  DropLog,
  type DroppedLine,
  droppedText,
  parseBeaconArgs,
} from "./beacon.ts";

const BOTH = [parseGroup("--group", "239.255.83.66"), parseGroup("--group", "ff02::5342")];

Deno.test("beacon parser turns good argv into options", () => {
  assert.deepEqual(parseBeaconArgs([]), {
    groups: BOTH,
    broadcast: false,
    port: 5513,
    ifaces: [],
    ttl: 1,
    intervalMs: 60_000,
    json: false,
  });
  assert.deepEqual(
    parseBeaconArgs([
      "--group",
      "ff15::1",
      "--iface",
      "e0",
      "--ttl",
      "4",
      "--key",
      "k",
      "--name",
      "alpha",
      "--interval",
      "200ms",
      "--port",
      "99",
      "--json",
    ]),
    {
      groups: [parseGroup("--group", "ff15::1")],
      broadcast: false,
      port: 99,
      ifaces: [{ kind: "name", name: "e0", text: "e0" }],
      ttl: 4,
      intervalMs: 200,
      keyFile: "k",
      name: "alpha",
      json: true,
    },
  );
  assert.deepEqual(parseBeaconArgs(["--broadcast", "--iface", "10.0.0.1"]).ifaces, [
    { kind: "address", address: "10.0.0.1", family: 4, text: "10.0.0.1" },
  ]);
  assert.equal(beaconModule.parse, parseBeaconArgs);
  assert.equal(cmd.usage, beaconModule.usage);
});

const BAD: [string[], string][] = [
  [["x"], 'unexpected argument "x"'],
  [
    ["--group", "10.0.0.1"],
    'invalid --group "10.0.0.1": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
  ],
  [["--group", "239.1.1.1", "--broadcast"], "--group cannot be used with --broadcast"],
  [["--broadcast", "--iface", "fd00::1"], 'invalid --iface "fd00::1": broadcast is IPv4 only'],
  [
    ["--group", "ff15::1", "--iface", "10.0.0.1"],
    'invalid --iface "10.0.0.1": an IPv4 address cannot carry IPv6 multicast',
  ],
  [
    ["--interval", "1ms"],
    'invalid --interval "1ms": must be a duration like 500ms, 2s or 1m between 50ms and 1h',
  ],
  [
    ["--interval", "2h"],
    'invalid --interval "2h": must be a duration like 500ms, 2s or 1m between 50ms and 1h',
  ],
  [["--port", "0"], 'invalid --port "0": must be 1-65535'],
  [["--port", "70000"], 'invalid --port "70000": must be 1-65535'],
  [["--ttl", "256"], 'invalid --ttl "256": must be 0-255'],
  [["--broadcast", "--ttl", "3"], "--ttl cannot be used with --broadcast"],
  [
    ["--name", "no space"],
    'invalid --name "no space": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)',
  ],
  [
    ["--name", ".a"],
    'invalid --name ".a": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)',
  ],
  [
    ["--name", "a".repeat(65)],
    `invalid --name "${
      "a".repeat(65)
    }": must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)`,
  ],
  [["--bogus"], 'unknown option "--bogus"'],
  [["--wait", "1s"], 'unknown option "--wait"'],
  [["--iface", ""], 'invalid --iface "": not an interface name, address or index'],
  [["--group"], 'option "--group" needs a value'],
];

Deno.test("beacon parser rejects bad argv with the exact message", () => {
  for (const [args, message] of BAD) {
    assertUsageError(() => parseBeaconArgs(args), message, args.join(" "));
  }
});

Deno.test("DropLog tells each reason at most once per interval, with the count", async () => {
  const lines: DroppedLine[] = [];
  const log = new DropLog(80, (l) => lines.push(l));
  for (let i = 0; i < 500; i++) log.add("malformed", `10.0.0.${i % 3}`);
  log.add("forged", "10.0.0.9");
  assert.deepEqual(lines.map((l) => [l.reason, l.count]), [["malformed", 1], ["forged", 1]]);
  await new Promise((r) => setTimeout(r, 150)); // the interval ends: the rest in one line
  assert.deepEqual(lines.slice(2), [
    { event: "dropped", reason: "malformed", from: "10.0.0.1", count: 499 },
  ]);
  await new Promise((r) => setTimeout(r, 100)); // a whole interval after that line
  log.add("malformed", "10.0.0.5"); // told at once
  log.add("malformed", "10.0.0.6");
  log.close(); // what is still counted is told, and no timer is left behind
  assert.deepEqual(lines.slice(3).map((l) => l.count), [1, 1]);
  assert.equal(droppedText(lines[2]!), "dropped 499 malformed datagrams (the last from 10.0.0.1)");
  assert.equal(droppedText(lines[1]!), "dropped forged datagram from 10.0.0.9");
});
