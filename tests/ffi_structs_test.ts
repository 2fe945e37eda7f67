/**
 * Pins the FFI layer's struct layouts, codecs and error mapping by round trips through the
 * kernel and through code nobody here wrote (Deno's own UDP sockets, iproute2, glibc via
 * python3), never by restating numbers: sockaddr_in/in6 (bind, getsockname, sendto,
 * recvfrom), msghdr/cmsghdr/in_pktinfo/in6_pktinfo (recvmsg with IP_PKTINFO and
 * IPV6_PKTINFO, compared byte for byte with what python3 gets), ifreq/ifconf (SIOCGIF*),
 * ifaddrs/sockaddr_ll, if_nameindex, addrinfo (getaddrinfo), sockaddr_in6.sin6_scope_id
 * (getnameinfo), IPv6 text formatting (glibc inet_ntop), errno names, and the non-Linux
 * guard.
 */
import assert from "node:assert/strict";
import { SysError } from "../lib/base/errors.ts";
import {
  AF_INET,
  AI_CANONNAME,
  AI_NUMERICHOST,
  IFF_LOOPBACK,
  NI_NUMERICHOST,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "../lib/ffi/constants.ts";
import { errnoOf } from "../lib/ffi/errno.ts";
import { getIfAddrs, IfIoctl, ifNameIndex } from "../lib/ffi/ifaces.ts";
import { libc } from "../lib/ffi/libc.ts";
import { getAddrInfo, getNameInfo } from "../lib/ffi/netdb.ts";
import { reactor } from "../lib/ffi/reactor.ts";
import { Socket } from "../lib/ffi/socket.ts";
import { formatIPv4, formatIPv6, parseIPv6 } from "../lib/base/ip.ts";
import { CMSGHDR, IN_PKTINFO } from "../lib/ffi/structs.ts";
import { hasCommand, type IpLink, REPO_ROOT, requires, sh } from "./helpers.ts";

libc(); // loaded once for the process, before any test (the sanitizer would count it)

const ip: IpLink[] = hasCommand("ip")
  ? JSON.parse((await sh("ip", ["-j", "addr", "show"])).stdout)
  : [];

async function udpRoundTrip(family: 4 | 6, host: string): Promise<void> {
  using mine = Socket.open(family, SOCK_DGRAM);
  mine.bind(host, 0);
  const local = mine.localAddress();
  assert.equal(local.family, family);
  assert.equal(local.address, host);
  assert.ok(local.port > 0);
  const peer = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
  try {
    const peerPort = (peer.addr as Deno.NetAddr).port;
    // Our encoder addresses Deno's socket; Deno reports our getsockname port as the source.
    await mine.sendTo(new TextEncoder().encode("ping"), host, peerPort);
    const [data, from] = await peer.receive();
    assert.equal(new TextDecoder().decode(data), "ping");
    assert.deepEqual([(from as Deno.NetAddr).hostname, (from as Deno.NetAddr).port], [
      host,
      local.port,
    ]);
    // Deno's socket answers; our decoder reads its address from recvfrom's sockaddr.
    await peer.send(new TextEncoder().encode("pong"), from);
    const r = await mine.recvFrom(new Uint8Array(64));
    assert.equal(new TextDecoder().decode(r.data), "pong");
    assert.deepEqual([r.from?.address, r.from?.port, r.truncated], [host, peerPort, false]);
  } finally {
    peer.close();
    await reactor.idle();
  }
}

Deno.test("sockaddr_in round-trips through bind, getsockname, sendto and recvfrom", async () => {
  await udpRoundTrip(4, "127.0.0.1");
});

Deno.test(requires(["ipv6"], {
  name: "sockaddr_in6 round-trips through bind, getsockname, sendto and recvfrom",
  fn: () => udpRoundTrip(6, "::1"),
}));

/**
 * python3 receives one datagram to DEST on its own socket with pktinfo on, and prints the
 * constants and the control message the kernel gives for it, rebuilt byte for byte from
 * CMSG_LEN/CMSG_SPACE and the cmsg data: what our recvmsg must return, computed without
 * any of our offset tables.
 */
const PY_PKTINFO = String.raw`
import json, socket, struct, sys
fam, dest = (socket.AF_INET6, sys.argv[1]) if ":" in sys.argv[1] else (socket.AF_INET, sys.argv[1])
if fam == socket.AF_INET:
    pktinfo = getattr(socket, "IP_PKTINFO", 8)  # linux/in.h; older pythons lack the name
    level, opt, typ, size = socket.IPPROTO_IP, pktinfo, pktinfo, 12
else:
    level, opt, typ, size = socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, socket.IPV6_PKTINFO, 20
r = socket.socket(fam, socket.SOCK_DGRAM)
r.setsockopt(level, opt, 1)
r.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
socket.socket(fam, socket.SOCK_DGRAM).sendto(b"x", (dest, r.getsockname()[1]))
data, anc, flags, addr = r.recvmsg(16, socket.CMSG_SPACE(size))
[(l, t, d)] = anc
assert (l, t, len(d)) == (level, typ, size), anc
header = struct.pack("@Nii", socket.CMSG_LEN(size), l, t)
control = header + d + bytes(socket.CMSG_SPACE(size) - socket.CMSG_LEN(size))
print(json.dumps({"level": level, "opt": opt, "control": control.hex()}))
`;

async function pktinfoRoundTrip(family: 4 | 6, dest: string): Promise<void> {
  const py = await sh("python3", ["-c", PY_PKTINFO, dest]);
  assert.equal(py.code, 0, py.stderr);
  const want = JSON.parse(py.stdout) as { level: number; opt: number; control: string };
  using mine = Socket.open(family, SOCK_DGRAM);
  mine.setOption(want.level, want.opt, 1);
  mine.bind(family === 4 ? "0.0.0.0" : "::", 0);
  const port = mine.localAddress().port;
  const host = family === 4 ? "127.0.0.1" : "::1";
  const peer = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
  try {
    await peer.send(new Uint8Array([1, 2, 3]), { transport: "udp", hostname: dest, port });
    const m = await mine.recvMsg(new Uint8Array(16), new Uint8Array(64));
    assert.deepEqual([...m.data], [1, 2, 3]);
    assert.deepEqual([m.from?.address, m.from?.port], [host, (peer.addr as Deno.NetAddr).port]);
    const hex = Array.from(m.control, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(hex, want.control);
    // ... and our decoder reads the same bytes the same way.
    const info = m.control.subarray(CMSGHDR.data);
    const idv = new DataView(info.buffer, info.byteOffset, info.byteLength);
    if (family === 4) {
      assert.equal(idv.getInt32(IN_PKTINFO.ifindex, true), 1); // lo
      assert.equal(formatIPv4(info.subarray(IN_PKTINFO.addr, IN_PKTINFO.addr + 4)), dest);
    }
  } finally {
    peer.close();
    await reactor.idle();
  }
}

Deno.test(requires(["python3"], {
  name: "msghdr and cmsghdr carry IP_PKTINFO from recvmsg byte for byte as glibc lays it out",
  fn: () => pktinfoRoundTrip(4, "127.0.0.3"),
}));

Deno.test(requires(["python3", "ipv6"], {
  name: "msghdr and cmsghdr carry IPV6_PKTINFO from recvmsg byte for byte as glibc lays it out",
  fn: () => pktinfoRoundTrip(6, "::1"),
}));

Deno.test(requires(["ip"], {
  name: "ifreq and ifconf: SIOCGIF* answers match ip -j addr show",
}, () => {
  using io = new IfIoctl();
  const v4 = ip.flatMap((l) =>
    (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => ({
      label: a.label!,
      address: a.local,
    }))
  );
  const conf = io.conf();
  assert.deepEqual(conf, v4);
  for (const l of ip) {
    assert.equal(io.index(l.ifname), l.ifindex);
    assert.equal(io.mtu(l.ifname), l.mtu);
    assert.equal((io.flags(l.ifname) & IFF_LOOPBACK) !== 0, l.flags.includes("LOOPBACK"));
    assert.equal((io.flags(l.ifname) & 1) !== 0, l.flags.includes("UP"));
    if (l.link_type === "ether" || l.link_type === "loopback") {
      const hw = io.hwaddr(l.ifname);
      const mac = Array.from(hw.data.subarray(0, 6), (b) => b.toString(16).padStart(2, "0"));
      assert.equal(mac.join(":"), l.address);
    }
    for (const a of (l.addr_info ?? []).filter((a) => a.family === "inet")) {
      const mask = io.netmask(a.label!, a.local).split(".").map(Number);
      const bits = mask.reduce((n, o) => n + o.toString(2).replaceAll("0", "").length, 0);
      assert.equal(bits, a.prefixlen);
      assert.equal(io.address(a.label!, a.local), a.local);
    }
  }
  assert.throws(() => io.mtu("nosuchif0"), { name: "SysError", code: "ENODEV" });
}));

Deno.test(requires(["ip"], {
  name: "ifaddrs, sockaddr_ll and if_nameindex match ip -j addr show",
}, () => {
  assert.deepEqual(
    ifNameIndex().sort((a, b) => a.index - b.index),
    ip.map((l) => ({ index: l.ifindex, name: l.ifname })),
  );
  const entries = getIfAddrs();
  for (const l of ip) {
    const pk = entries.find((e) => e.family === "packet" && e.name === l.ifname)!;
    assert.ok(pk, l.ifname);
    assert.equal(pk.ifindex, l.ifindex);
    if (l.address !== undefined) {
      assert.equal(
        Array.from(pk.hwaddr!, (b) => b.toString(16).padStart(2, "0")).join(":"),
        l.address,
      );
    }
    assert.equal((pk.flags & 0x10000) !== 0, l.flags.includes("LOWER_UP")); // above ifr_flags
    const v6 = entries.filter((e) => e.family === "inet6" && e.name === l.ifname).map((e) =>
      e.address
    );
    assert.deepEqual(
      v6,
      (l.addr_info ?? []).filter((a) => a.family === "inet6").map((a) => a.local),
    );
  }
}));

Deno.test("addrinfo fields decode from getaddrinfo", async () => {
  const r = await getAddrInfo("127.0.0.1", "8080", {
    flags: AI_CANONNAME | AI_NUMERICHOST,
    family: AF_INET,
    socktype: SOCK_DGRAM,
    protocol: 0,
  });
  assert.ok(Array.isArray(r));
  assert.deepEqual(r, [{
    family: 4,
    socktype: SOCK_DGRAM,
    protocol: 17,
    address: "127.0.0.1",
    port: 8080,
    canonname: "127.0.0.1",
  }]);
  const v6 = await getAddrInfo("fe80::1%1", null, {
    flags: AI_NUMERICHOST,
    family: 0,
    socktype: SOCK_STREAM,
    protocol: 0,
  });
  assert.ok(Array.isArray(v6));
  assert.deepEqual([v6[0]?.address, v6[0]?.scopeId, v6[0]?.protocol], ["fe80::1", 1, 6]);
  const bad = await getAddrInfo("not an address", null, {
    flags: AI_NUMERICHOST,
    family: 0,
    socktype: 0,
    protocol: 0,
  });
  assert.ok(!Array.isArray(bad));
  assert.equal(bad.code, "EAI_NONAME");
  assert.equal(bad.text, "Name or service not known");
});

Deno.test("sockaddr_in6 scope id and port reach getnameinfo at the right offsets", async () => {
  const r = await getNameInfo("fe80::1", 443, 1, NI_NUMERICHOST, true);
  assert.ok(!("code" in r));
  assert.equal(r.host, "fe80::1%lo"); // glibc names the scope's interface
  assert.equal(r.service, "https");
});

Deno.test(requires(["python3"], {
  name: "IPv6 text formatting agrees with glibc inet_ntop",
}, async () => {
  const cases = [
    "::",
    "::1",
    "fe80::1",
    "2001:db8::",
    "2001:db8:0:0:1:0:0:1",
    "2001:0:0:1::1",
    "2001:db8:0:1:1:1:1:1",
    "1:2:3:4:5:6:7:8",
    "1::",
    "0:0:1::",
    "1:0:0:2:0:0:0:3",
    "::ffff:10.1.2.3",
    "ff02::1:ff00:1234",
    "FD00:5B::ABCD",
  ];
  const py = await sh("python3", [
    "-c",
    "import socket,sys,json\nprint(json.dumps([socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)) for a in sys.argv[1:]]))",
    ...cases,
  ]);
  assert.equal(py.code, 0, py.stderr);
  const want = JSON.parse(py.stdout) as string[];
  assert.deepEqual(cases.map((c) => formatIPv6(parseIPv6(c)!)), want);
  for (const bad of ["1:2", ":::", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9"]) {
    assert.equal(parseIPv6(bad), null, bad);
  }
}));

Deno.test("errno becomes a SysError with the errno name and endpoint", () => {
  assert.throws(() => Socket.open(4, SOCK_STREAM, 253), (e: unknown) => {
    assert.ok(e instanceof SysError);
    assert.equal(e.syscall, "socket");
    assert.equal(e.code, "EPROTONOSUPPORT");
    assert.equal(errnoOf(e), 93);
    assert.equal(e.message, "socket EPROTONOSUPPORT");
    return true;
  });
  using s = Socket.open(4, SOCK_DGRAM);
  assert.throws(() => s.bind("192.0.2.77", 0), (e: unknown) => {
    assert.ok(e instanceof SysError);
    assert.equal(e.code, "EADDRNOTAVAIL");
    assert.match(e.message, /^bind EADDRNOTAVAIL 192\.0\.2\.77:0/);
    return true;
  });
  s.close();
  s.close(); // idempotent
  assert.throws(() => s.localAddress(), { code: "EBADF" });
});

async function runGuard(patch: string, flags: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-guard-" });
  try {
    const file = `${dir}/guard.ts`;
    await Deno.writeTextFile(
      file,
      `${patch}
const { libc } = await import(${JSON.stringify(`file://${REPO_ROOT}lib/ffi/libc.ts`)});
try { libc(); console.log("opened"); } catch (e) { console.log(e.name + ": " + e.message); }
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "--no-prompt", ...flags, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the libc layer refuses clearly on other OSes and without --allow-ffi", async () => {
  // Deno.build is replaceable in a throwaway process, so the real guard runs.
  const fake = (os: string, arch: string) =>
    `Object.defineProperty(Deno, "build", { value: { ...Deno.build, os: "${os}", arch: "${arch}" } });`;
  assert.equal(
    await runGuard(fake("darwin", "aarch64"), ["--allow-ffi"]),
    "SysError: dlopen ENOTSUP (the libc layer supports Linux only, not darwin)",
  );
  assert.equal(
    await runGuard(fake("windows", "x86_64"), ["--allow-ffi"]),
    "SysError: dlopen ENOTSUP (the libc layer supports Linux only, not windows)",
  );
  assert.equal(
    await runGuard(fake("linux", "riscv64gc"), ["--allow-ffi"]),
    "SysError: dlopen ENOTSUP (unsupported architecture riscv64gc)",
  );
  assert.equal(await runGuard(fake("linux", "aarch64"), ["--allow-ffi"]), "opened");
  assert.match(await runGuard("", []), /^NotCapable: Requires ffi access/);
});
