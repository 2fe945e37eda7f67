import assert from "node:assert/strict";
import { SysError, UsageError } from "../../base/errors.ts";
import type { NetInterface } from "../../sys/interfaces.ts";
import {
  defaultInterfaces,
  ifaceName,
  isMulticast,
  needsInterface,
  parseGroup,
  parseIfaceSpec,
  resolveIface,
  scopedAddress,
  suggestIface,
} from "./groups.ts";

/** Two interfaces as listInterfaces() would report them. */
const IFACES: NetInterface[] = [
  {
    name: "lo",
    index: 1,
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    mtu: 65536,
    addresses: [
      { family: "inet", address: "127.0.0.1", prefixlen: 8 },
      { family: "inet6", address: "::1", prefixlen: 128 },
    ],
  },
  {
    name: "e0",
    index: 7,
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1500,
    addresses: [
      { family: "inet", address: "10.77.0.1", prefixlen: 24, broadcast: "10.77.0.255" },
      { family: "inet6", address: "fe80::1", prefixlen: 64 },
    ],
  },
  {
    name: "v6only",
    index: 9,
    flags: ["MULTICAST", "UP"],
    mtu: 1500,
    addresses: [{ family: "inet6", address: "fd00::9", prefixlen: 64 }],
  },
];

function usageError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && e.message === message);
}

Deno.test("isMulticast accepts 224.0.0.0/4 and ff00::/8 only", () => {
  for (const a of ["224.0.0.1", "239.255.255.255", "ff02::1", "ff15::7:7", "FF0E::1"]) {
    assert.equal(isMulticast(a), true, a);
  }
  for (const a of ["223.255.255.255", "240.0.0.1", "10.0.0.1", "fe80::1", "::1", "x", ""]) {
    assert.equal(isMulticast(a), false, a);
  }
});

Deno.test("parseGroup returns canonical address, family and IPv6 scope", () => {
  assert.deepEqual(parseGroup("GROUP", "239.1.2.3"), {
    address: "239.1.2.3",
    family: 4,
    scope: 0,
  });
  assert.deepEqual(parseGroup("GROUP", "[FF02:0:0::0001]"), {
    address: "ff02::1",
    family: 6,
    scope: 2,
  });
  assert.deepEqual(parseGroup("--group", "ff15::7:7"), {
    address: "ff15::7:7",
    family: 6,
    scope: 5,
  });
});

Deno.test("parseGroup rejects what is not a multicast IP address, naming the option", () => {
  usageError(() => parseGroup("GROUP", undefined), "missing GROUP");
  usageError(() => parseGroup("GROUP", "nonsense"), 'invalid GROUP "nonsense": not an IP address');
  usageError(
    () => parseGroup("--group", "ff02::1%2"),
    'invalid --group "ff02::1%2": not an IP address',
  );
  usageError(
    () => parseGroup("GROUP", "10.0.0.1"),
    'invalid GROUP "10.0.0.1": not a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8)',
  );
});

Deno.test("needsInterface is true for interface- and link-local IPv6 groups only", () => {
  assert.equal(needsInterface(parseGroup("G", "ff01::1")), true);
  assert.equal(needsInterface(parseGroup("G", "ff02::1")), true);
  assert.equal(needsInterface(parseGroup("G", "ff05::1")), false);
  assert.equal(needsInterface(parseGroup("G", "224.0.0.1")), false);
});

Deno.test("parseIfaceSpec tells index, address and name apart without the system", () => {
  assert.deepEqual(parseIfaceSpec("--iface", "7", 4), { kind: "index", index: 7, text: "7" });
  assert.deepEqual(parseIfaceSpec("--iface", "10.0.0.1", 4), {
    kind: "address",
    address: "10.0.0.1",
    family: 4,
    text: "10.0.0.1",
  });
  assert.deepEqual(parseIfaceSpec("--iface", "[fe80::1]", undefined), {
    kind: "address",
    address: "fe80::1",
    family: 6,
    text: "[fe80::1]",
  });
  assert.deepEqual(parseIfaceSpec("--iface", "eth0.100", 6), {
    kind: "name",
    name: "eth0.100",
    text: "eth0.100",
  });
});

Deno.test("parseIfaceSpec rejects bad indexes, names and family mismatches", () => {
  const cases: [string, 4 | 6 | undefined, string][] = [
    ["0", 4, 'invalid --iface "0": interface index must be 1-2147483647'],
    ["2147483648", 4, 'invalid --iface "2147483648": interface index must be 1-2147483647'],
    ["10.0.0.1", 6, 'invalid --iface "10.0.0.1": an IPv4 address cannot carry IPv6 multicast'],
    ["fd00::1", 4, 'invalid --iface "fd00::1": an IPv6 address cannot carry IPv4 multicast'],
    ["", 4, 'invalid --iface "": not an interface name, address or index'],
    ["a/b", 4, 'invalid --iface "a/b": not an interface name, address or index'],
    ["has space", 4, 'invalid --iface "has space": not an interface name, address or index'],
    [
      "abcdefghijklmnop",
      4,
      'invalid --iface "abcdefghijklmnop": not an interface name, address or index',
    ],
  ];
  for (const [value, family, message] of cases) {
    usageError(() => parseIfaceSpec("--iface", value, family), message);
  }
});

Deno.test("resolveIface finds an interface by name, index or address", () => {
  const byName = resolveIface("--iface", parseIfaceSpec("--iface", "e0", 4), IFACES);
  assert.equal(byName.index, 7);
  assert.equal(byName.address, "10.77.0.1");
  const byIndex = resolveIface("--iface", parseIfaceSpec("--iface", "9", 6), IFACES);
  assert.equal(byIndex.name, "v6only");
  assert.equal(byIndex.address, undefined);
  const byAddr = resolveIface("--iface", parseIfaceSpec("--iface", "fe80::1", 6), IFACES);
  assert.equal(byAddr.name, "e0");
  assert.equal(byAddr.address, "10.77.0.1");
  usageError(
    () => resolveIface("--iface", parseIfaceSpec("--iface", "nosuch9", 4), IFACES),
    'invalid --iface "nosuch9": no such interface',
  );
  usageError(
    () => resolveIface("--iface", parseIfaceSpec("--iface", "10.9.9.9", 4), IFACES),
    'invalid --iface "10.9.9.9": no interface has this address',
  );
});

Deno.test("defaultInterfaces keeps up, capable, non-loopback interfaces of the family", () => {
  assert.deepEqual(defaultInterfaces(4, "MULTICAST", IFACES).map((i) => i.name), ["e0"]);
  assert.deepEqual(defaultInterfaces(6, "MULTICAST", IFACES).map((i) => i.name), [
    "e0",
    "v6only",
  ]);
  assert.deepEqual(defaultInterfaces(4, "BROADCAST", IFACES).map((i) => i.name), ["e0"]);
});

Deno.test("ifaceName names an index, or gives the number when unknown", () => {
  assert.equal(ifaceName(7, IFACES), "e0");
  assert.equal(ifaceName(42, IFACES), "42");
});

Deno.test("suggestIface rewrites no-route errors only", () => {
  const e = suggestIface(new SysError("sendto", "ENETUNREACH", {}), "239.1.2.3", 5000);
  assert.ok(e instanceof SysError);
  assert.equal(
    e.message,
    "sendto ENETUNREACH 239.1.2.3:5000 (no route to the group or no multicast-capable interface; pick one with --iface)",
  );
  const other = new SysError("sendto", "EPERM", {});
  assert.equal(suggestIface(other, "239.1.2.3", 5000), other);
  const plain = new Error("x");
  assert.equal(suggestIface(plain, "239.1.2.3"), plain);
});

Deno.test("scopedAddress names the scope of a link-local address, as ip prints it", () => {
  const names = (i: number) => (i === 2 ? "eth0" : String(i));
  assert.equal(scopedAddress({ address: "fe80::1", scopeId: 2 }, names), "fe80::1%eth0");
  assert.equal(scopedAddress({ address: "fe80::1", scopeId: 9 }, names), "fe80::1%9");
  assert.equal(scopedAddress({ address: "2001:db8::1", scopeId: 0 }, names), "2001:db8::1");
  assert.equal(scopedAddress({ address: "192.0.2.1" }, names), "192.0.2.1");
});
