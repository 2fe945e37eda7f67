import assert from "node:assert/strict";
import { assertUsageError, memoryIo } from "../test_util.ts";
import { Reporter } from "../output.ts";
import { parseGroup } from "../../net/mcast/groups.ts";
import type { HostRecord } from "../../net/beacon/beacon.ts";
import { hostsEventText, hostsModule, parseHostsArgs, renderHosts } from "./hosts.ts";

Deno.test("hosts parser: without --wait it asks the beacon, with --wait it listens", () => {
  assert.deepEqual(parseHostsArgs([]), { mode: "query", port: 5513, json: false });
  assert.deepEqual(parseHostsArgs(["--port", "9", "--key", "k", "--json"]), {
    mode: "query",
    port: 9,
    keyFile: "k",
    json: true,
  });
  assert.deepEqual(parseHostsArgs(["--wait", "2s", "--broadcast"]), {
    mode: "wait",
    beacon: {
      groups: [parseGroup("--group", "239.255.83.66"), parseGroup("--group", "ff02::5342")],
      broadcast: true,
      port: 5513,
      ifaces: [],
      ttl: 1,
      waitMs: 2000,
      intervalMs: 1000,
    },
    json: false,
  });
  assert.deepEqual(
    parseHostsArgs([
      "--wait",
      "300ms",
      "--group",
      "239.2.2.2",
      "--iface",
      "3",
      "--key",
      "k",
      "--json",
    ]),
    {
      mode: "wait",
      beacon: {
        groups: [parseGroup("--group", "239.2.2.2")],
        broadcast: false,
        port: 5513,
        ifaces: [{ kind: "index", index: 3, text: "3" }],
        ttl: 1,
        waitMs: 300,
        intervalMs: 300,
        keyFile: "k",
      },
      json: true,
    },
  );
  assert.equal(hostsModule.parse, parseHostsArgs);
});

const BAD: [string[], string][] = [
  [["x"], 'unexpected argument "x"'],
  [["--ttl", "3"], 'unknown option "--ttl"'],
  [["--ttl=3"], 'unknown option "--ttl"'],
  [["extra", "--ttl", "3"], 'unexpected argument "extra"'],
  [["--group", "239.1.1.1"], "--group can only be used with --wait"],
  [["--broadcast"], "--broadcast can only be used with --wait"],
  [["--iface", "e0"], "--iface can only be used with --wait"],
  [
    ["--wait", "0"],
    'invalid --wait "0": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [
    ["--wait", "2h"],
    'invalid --wait "2h": must be a duration like 500ms, 2s or 1m between 1ms and 1h',
  ],
  [
    ["--wait", "1s", "--group", "1.1.1.1"],
    'invalid --group "1.1.1.1": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
  ],
  [
    ["--wait", "1s", "--broadcast", "--group", "239.1.1.1"],
    "--group cannot be used with --broadcast",
  ],
  [["--port", "0"], 'invalid --port "0": must be 1-65535'],
  [["--interval", "1s"], 'unknown option "--interval"'],
];

Deno.test("hosts parser rejects bad argv with the exact message", () => {
  for (const [args, message] of BAD) {
    assertUsageError(() => parseHostsArgs(args), message, args.join(" "));
  }
});

const NOW = 1_750_000_000_000;

function host(name: string, over: Partial<HostRecord> = {}): HostRecord {
  return {
    name,
    boot: NOW / 1000 - 9 * 3600 - 45 * 60,
    users: 2,
    load: [0.5, 0.25, 1],
    version: "0.1.0",
    interval: 60_000,
    seq: 1,
    time: NOW,
    address: "10.0.0.1",
    heard: NOW - 1000,
    ...over,
  };
}

const HOSTS = [host("wood", { heard: NOW - (17 * 3600 + 4 * 60) * 1000 }), host("alpha")];
const NONE = { malformed: 0, unauthenticated: 0, forged: 0, stale: 0 };

Deno.test("renderHosts prints ruptime lines sorted by name, and drops on stderr", () => {
  const io = memoryIo();
  renderHosts(new Reporter(io), {
    hosts: HOSTS,
    dropped: { ...NONE, forged: 2 },
    time: NOW,
  });
  assert.equal(
    io.stdout.text(),
    "alpha up 9:45, 2 users, load 0.50, 0.25, 1.00\nwood down 17:04\n",
  );
  assert.equal(
    io.stderr.text(),
    "sockbox: dropped 0 malformed, 0 unauthenticated, 2 forged, 0 stale datagrams\n",
  );
});

Deno.test("renderHosts says on stderr when no host was heard", () => {
  const io = memoryIo();
  renderHosts(new Reporter(io), { hosts: [], dropped: NONE, time: NOW });
  assert.equal(io.stdout.text(), "");
  assert.equal(io.stderr.text(), "sockbox: no hosts heard\n");
});

Deno.test("renderHosts with --json: one host event per host, then the summary", () => {
  const io = memoryIo();
  renderHosts(new Reporter(io, { json: true }), {
    hosts: HOSTS,
    dropped: { ...NONE, stale: 1 },
    time: NOW,
  });
  assert.equal(io.stderr.text(), "");
  const evs = io.stdout.text().trim().split("\n").map((l) => JSON.parse(l));
  for (const e of evs) delete e.ts;
  assert.deepEqual(evs, [
    {
      event: "host",
      name: "alpha",
      state: "up",
      address: "10.0.0.1",
      boot: NOW / 1000 - 9 * 3600 - 45 * 60,
      uptime_s: 9 * 3600 + 45 * 60,
      silent_ms: 1000,
      users: 2,
      load: [0.5, 0.25, 1],
      version: "0.1.0",
      interval_ms: 60_000,
    },
    {
      event: "host",
      name: "wood",
      state: "down",
      address: "10.0.0.1",
      boot: NOW / 1000 - 9 * 3600 - 45 * 60,
      uptime_s: 9 * 3600 + 45 * 60,
      silent_ms: (17 * 3600 + 4 * 60) * 1000,
      users: 2,
      load: [0.5, 0.25, 1],
      version: "0.1.0",
      interval_ms: 60_000,
    },
    {
      event: "summary",
      hosts: 2,
      up: 1,
      down: 1,
      dropped: { ...NONE, stale: 1 },
    },
  ]);
  assert.equal(hostsEventText({ event: "summary", hosts: 0, up: 0, down: 0, dropped: NONE }), null);
});
