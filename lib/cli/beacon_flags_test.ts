import assert from "node:assert/strict";
import { assertUsageError } from "./test_util.ts";
import { parseGroup } from "../net/mcast/groups.ts";
import { parseTransport } from "./beacon_flags.ts";

Deno.test("parseTransport defaults to both groups, port 5513, TTL 1", () => {
  assert.deepEqual(parseTransport({}), {
    groups: [parseGroup("--group", "239.255.83.66"), parseGroup("--group", "ff02::5342")],
    broadcast: false,
    port: 5513,
    ifaces: [],
    ttl: 1,
  });
});

Deno.test("parseTransport checks --iface against the group's family, or IPv4 for broadcast", () => {
  assert.deepEqual(parseTransport({ iface: ["fd00::1", "10.0.0.1"] }).ifaces.length, 2);
  assert.deepEqual(parseTransport({ group: "ff15::1", iface: ["e0"] }).ifaces, [
    { kind: "name", name: "e0", text: "e0" },
  ]);
  assertUsageError(
    () => parseTransport({ group: "239.1.1.1", iface: ["fd00::1"] }),
    'invalid --iface "fd00::1": an IPv6 address cannot carry IPv4 multicast',
  );
  assertUsageError(
    () => parseTransport({ broadcast: true, iface: ["fd00::1"] }),
    'invalid --iface "fd00::1": broadcast is IPv4 only',
  );
  assertUsageError(
    () => parseTransport({ broadcast: true, ttl: "2" }),
    "--ttl cannot be used with --broadcast",
  );
});
