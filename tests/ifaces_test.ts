/**
 * `sockbox ifaces` against iproute2 (`ip -j addr show`, netlink): on the host and in a
 * private network namespace with veth pairs configured to cover down links, several IPv4
 * addresses with a label, IPv6 global/site addresses, a point-to-point peer, MTU 9000,
 * promisc, NOARP and NO-CARRIER.
 */
import assert from "node:assert/strict";
import { parse } from "../lib/cli/commands/ifaces.ts";
import { SysError, UsageError } from "../lib/base/errors.ts";
import { libc } from "../lib/ffi/libc.ts";
import { interfaceIndex, listInterfaces, type NetInterface } from "../lib/sys/interfaces.ts";
import { type IpLink, requires, runSockbox, sh, sockboxCommand } from "./helpers.ts";

// Open libc before any test: the library stays loaded for the process (by design), which
// the resource sanitizer would otherwise count as a leak of the first test using it.
libc();

/** `ip -j addr show` in sockbox's shape (M-DOWN dropped: not visible through ioctl). */
function fromIp(links: IpLink[]): unknown[] {
  return links.map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    flags: l.flags.filter((f) => f !== "M-DOWN"),
    mtu: l.mtu,
    ...(l.address === undefined ? {} : { mac: l.address }),
    addresses: (l.addr_info ?? []).map((a) => ({
      family: a.family,
      address: a.local,
      prefixlen: a.prefixlen,
      ...(a.broadcast === undefined ? {} : { broadcast: a.broadcast }),
      ...(a.address !== undefined && a.address !== a.local ? { peer: a.address } : {}),
      ...(a.family === "inet" ? { label: a.label } : { scope: a.scope }),
    })),
  }));
}

/** sockbox's JSON without netmask (ip has no netmask; it is checked against prefixlen). */
function fromSockbox(list: Record<string, unknown>[]): unknown[] {
  return list.map((i) => ({
    ...i,
    addresses: (i.addresses as Record<string, unknown>[]).map(({ netmask, ...rest }) => {
      if (netmask !== undefined) {
        const bits = (netmask as string).split(".").map((o) => Number(o).toString(2)).join("");
        assert.equal(bits.replace(/0+$/, "").length, rest.prefixlen, `netmask ${netmask}`);
        assert.doesNotMatch(bits.replace(/0+$/, ""), /0/);
      }
      return rest;
    }),
  }));
}

const SETUP = `
set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip link add v2 type veth peer name v3
ip link add v4 type veth peer name v5
ip link set v0 mtu 9000 up
ip link set v1 up promisc on
ip addr add 10.1.0.1/24 brd + dev v0
ip addr add 10.1.0.2/24 dev v0
ip addr add 10.1.1.1/16 dev v0 label v0:1
ip addr add 10.1.2.1/30 brd + dev v0 label v0:two
ip addr add 10.2.0.1 peer 10.2.0.2/32 dev v1
ip addr add 2001:db8::1/64 dev v0 nodad
ip addr add 2001:db8:1::5/48 dev v1 nodad
ip addr add fec0::1/64 dev v0 nodad
ip addr add 10.3.0.1/8 dev v2
ip -6 addr add 2001:db8:3::1/64 dev v2 nodad
ip link set v4 up
ip link set v5 multicast off arp off
`;

/** Runs SETUP in a fresh netns, then each command; returns each command's stdout. */
async function inNetns(commands: string[]): Promise<string[]> {
  const { cmd, args } = sockboxCommand([]);
  const sockbox = [cmd, ...args].map((a) => `'${a}'`).join(" ");
  const script = SETUP + commands.map((c) => `${c.replace(/^sockbox /, sockbox + " ")}; echo '@@@'`)
    .join("\n");
  const r = await sh("unshare", ["-n", "sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  const parts = r.stdout.split("@@@\n");
  return parts.slice(0, commands.length);
}

Deno.test(requires(["netns", "ip"], {
  name: "ifaces --json agrees with ip -j addr show in a configured namespace",
}, async () => {
  const [ip, mine, ipV0, mineV0, ip4, mine4, ip6, mine6] = await inNetns([
    "ip -j addr show",
    "sockbox ifaces --json",
    "ip -j addr show v0",
    "sockbox ifaces v0 --json",
    "ip -j -4 addr show",
    "sockbox ifaces -4 --json",
    "ip -j -6 addr show",
    "sockbox ifaces -6 --json",
  ]);
  const expected = fromIp(JSON.parse(ip!));
  const got = fromSockbox(JSON.parse(mine!));
  assert.deepEqual(got, expected);
  // The namespace really covers what the test claims.
  const list = JSON.parse(mine!) as NetInterface[];
  const get = (n: string) => list.find((i) => i.name === n)!;
  assert.equal(get("v0").mtu, 9000);
  const labels = get("v0").addresses.map((a) => a.label).filter((l) => l !== undefined);
  assert.deepEqual(labels.sort(), ["v0", "v0", "v0:1", "v0:two"]);
  assert.ok(get("v1").flags.includes("PROMISC"));
  assert.ok(get("v1").addresses.some((a) => a.peer === "10.2.0.2"));
  assert.ok(get("v0").addresses.some((a) => a.address === "2001:db8::1" && a.scope === "global"));
  assert.deepEqual(get("v3").flags, ["BROADCAST", "MULTICAST"]);
  assert.ok(get("v4").flags.includes("NO-CARRIER"));
  assert.deepEqual(get("v5").flags, ["BROADCAST", "NOARP"]);
  assert.deepEqual(fromSockbox(JSON.parse(mineV0!)), fromIp(JSON.parse(ipV0!)));
  // With -4/-6, ip prints no link-layer address; compare the rest.
  const noMac = (l: unknown[]) => l.map((i) => ({ ...(i as object), mac: undefined }));
  assert.deepEqual(noMac(fromSockbox(JSON.parse(mine4!))), noMac(fromIp(JSON.parse(ip4!))));
  assert.deepEqual(noMac(fromSockbox(JSON.parse(mine6!))), noMac(fromIp(JSON.parse(ip6!))));
}));

Deno.test(requires(["netns", "ip"], {
  name: "ifaces text output shows state, mtu, mac, netmask, broadcast, peer and label",
}, async () => {
  const [text] = await inNetns(["sockbox ifaces"]);
  const lines = text!.split("\n");
  const v0 = lines.find((l) => /^\d+: v0 /.test(l));
  assert.match(
    v0!,
    /^\d+: v0\s+up\s+mtu 9000\s+mac [0-9a-f:]{17}\s+<BROADCAST,MULTICAST,UP,LOWER_UP>$/,
  );
  assert.ok(
    lines.includes("    inet 10.1.0.1/24  netmask 255.255.255.0  broadcast 10.1.0.255  label v0"),
    text,
  );
  assert.ok(lines.includes("    inet 10.1.1.1/16  netmask 255.255.0.0  label v0:1"), text);
  assert.ok(
    lines.includes("    inet 10.2.0.1/32  netmask 255.255.255.255  peer 10.2.0.2  label v1"),
  );
  assert.ok(lines.includes("    inet6 fec0::1/64  scope site"), text);
  assert.match(lines.find((l) => /^\d+: v2 /.test(l))!, /\sdown\s/);
}));

Deno.test(requires(["ip"], {
  name: "ifaces --json agrees with ip -j addr show on the host",
}, async () => {
  const ip = await sh("ip", ["-j", "addr", "show"]);
  const mine = await runSockbox(["ifaces", "--json"]);
  assert.equal(mine.code, 0, mine.stderr);
  assert.deepEqual(fromSockbox(JSON.parse(mine.stdout)), fromIp(JSON.parse(ip.stdout)));
}));

Deno.test("ifaces exits 1 naming an unknown interface", async () => {
  const r = await runSockbox(["ifaces", "nosuchif0"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "sockbox: if_nametoindex ENODEV nosuchif0 (no such interface)\n");
});

Deno.test("ifaces rejects bad arguments with exit 2", async () => {
  const r = await runSockbox(["ifaces", "-4", "-6"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "sockbox: -4 cannot be used with -6\n");
  assert.throws(() => parse(["a", "b"]), {
    name: "UsageError",
    message: 'unexpected argument "b"',
  });
  assert.throws(() => parse(["x".repeat(16)]), UsageError);
  assert.throws(() => parse(["eth0:1"]), UsageError);
  assert.throws(() => parse(["--jsn"]), { message: 'unknown option "--jsn"' });
  assert.deepEqual(parse(["lo", "-6", "--json"]), { name: "lo", family: 6, json: true });
});

Deno.test(requires(["ip"], {
  name: "interfaceIndex matches ip and throws SysError ENODEV for unknown names",
}, async () => {
  const ip = JSON.parse((await sh("ip", ["-j", "link", "show"])).stdout) as IpLink[];
  for (const l of ip) assert.equal(interfaceIndex(l.ifname), l.ifindex);
  assert.throws(() => interfaceIndex("nosuchif0"), (e: unknown) => {
    assert.ok(e instanceof SysError);
    assert.equal(e.syscall, "if_nametoindex");
    assert.equal(e.code, "ENODEV");
    assert.equal(e.address, "nosuchif0");
    return true;
  });
  assert.throws(() => listInterfaces({ name: "nosuchif0" }), { code: "ENODEV" });
}));
