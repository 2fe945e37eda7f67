import assert from "node:assert/strict";
import {
  formatIPv4,
  formatIPv6,
  ipFamily,
  isLoopback,
  parseIPv4,
  parseIPv6,
  stripBrackets,
  unmapV4,
} from "./ip.ts";

const hex = (b: Uint8Array | null) =>
  b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));

Deno.test("ipFamily tells IPv4 and IPv6 literals from names, with brackets and zones", () => {
  const cases: [string, 0 | 4 | 6][] = [
    ["127.0.0.1", 4],
    ["0.0.0.0", 4],
    ["255.255.255.255", 4],
    ["::", 6],
    ["::1", 6],
    ["[::1]", 6],
    ["fe80::1%eth0", 6],
    ["[fe80::1%eth0]", 6],
    ["fe80::1%2", 6],
    ["::ffff:192.0.2.1", 6],
    ["2001:DB8::A", 6],
    ["localhost", 0],
    ["example.com", 0],
    ["", 0],
    ["1.2.3", 0],
    ["1.2.3.256", 0],
    ["1.2.3.4.5", 0],
    [" 1.2.3.4", 0],
    ["[::1", 0],
    ["::1]", 0],
    ["1::2::3", 0],
    ["%eth0", 0],
    ["deadbeef", 0],
  ];
  for (const [host, family] of cases) assert.equal(ipFamily(host), family, host);
});

Deno.test("stripBrackets removes one matching pair only", () => {
  assert.equal(stripBrackets("[::1]"), "::1");
  assert.equal(stripBrackets("::1"), "::1");
  assert.equal(stripBrackets("[::1"), "[::1");
  assert.equal(stripBrackets("host"), "host");
  assert.equal(stripBrackets("[]"), "");
});

Deno.test("unmapV4 unmaps ::ffff:a.b.c.d and leaves everything else", () => {
  const cases: [string, string][] = [
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::FFFF:192.0.2.1", "192.0.2.1"],
    ["::ffff:0.0.0.0", "0.0.0.0"],
    ["::1", "::1"],
    ["::10.0.0.1", "::10.0.0.1"],
    ["::ffff:a00:1", "::ffff:a00:1"],
    ["10.0.0.1", "10.0.0.1"],
    ["fe80::1", "fe80::1"],
  ];
  for (const [input, want] of cases) assert.equal(unmapV4(input), want, input);
});

Deno.test("parseIPv4 takes dotted quads only", () => {
  const good: [string, string][] = [
    ["0.0.0.0", "00000000"],
    ["255.255.255.255", "ffffffff"],
    ["192.0.2.1", "c0000201"],
    ["127.0.0.1", "7f000001"],
  ];
  for (const [s, h] of good) assert.equal(hex(parseIPv4(s)), h, s);
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.256",
    "1..2.3",
    "a.b.c.d",
    "1.2.3.-4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1234.1.1.1",
    "0x7f.0.0.1",
    "::1",
  ];
  for (const s of bad) assert.equal(parseIPv4(s), null, s);
});

Deno.test("parseIPv6 reads every RFC 4291 text form inet_pton(3) accepts", () => {
  // Expected bytes: Python's socket.inet_pton(AF_INET6, ...), i.e. glibc.
  const cases: [string, string][] = [
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["2001:db8:0:0:1:0:0:1", "20010db8000000000001000000000001"],
    ["2001:0db8:0:0:0:0:2:1", "20010db8000000000000000000020001"],
    ["2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:0001", "20010db8aaaabbbbccccddddeeee0001"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1::2:3:4:5:6:7", "00010000000200030004000500060007"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008"],
    ["fe80::1", "fe800000000000000000000000000001"],
    ["::ffff:192.0.2.1", "00000000000000000000ffffc0000201"],
    ["0::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["::192.0.2.1", "000000000000000000000000c0000201"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
  ];
  for (const [s, h] of cases) assert.equal(hex(parseIPv6(s)), h, s);
});

Deno.test("parseIPv6 rejects what inet_pton(3) rejects", () => {
  const bad = [
    "",
    ":",
    ":::",
    "1:::2",
    ":1::",
    "1::2:",
    "1::2::3",
    "12345::",
    "00001::",
    "g::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::8",
    "::1.2.3",
    "::1.2.3.256",
    "::ffff:1.2.3.4:5",
    "1.2.3.4::",
    "1.2.3.4",
    "fe80::1%eth0",
    "[::1]",
  ];
  for (const s of bad) assert.equal(parseIPv6(s), null, s);
});

Deno.test("formatIPv4 prints a dotted quad", () => {
  assert.equal(formatIPv4(bytes("c0000201")), "192.0.2.1");
  assert.equal(formatIPv4(bytes("00000000")), "0.0.0.0");
  assert.equal(formatIPv4(bytes("ffffffff")), "255.255.255.255");
});

Deno.test("formatIPv6 prints RFC 5952 text as glibc's inet_ntop(3) does", () => {
  // Expected text: Python's socket.inet_ntop(AF_INET6, ...), i.e. glibc. RFC 5952: lower
  // case (4.3), no leading zeros (4.1), "::" for the longest run of two or more zero
  // groups, the first on a tie (4.2), never for one group (4.2.2); mixed notation for
  // ::ffff:0:0/96 (5) and, as glibc prints it, for IPv4-compatible ::a.b.c.d.
  const cases: [string, string][] = [
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000000000001", "::1"],
    ["00010000000000000000000000000000", "1::"],
    ["20010db8000000000000000000000001", "2001:db8::1"],
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["20010db8000000000000000000020001", "2001:db8::2:1"],
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["20010db8aaaabbbbccccddddeeee0001", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"],
    ["00010000000100000001000000010000", "1:0:1:0:1:0:1:0"],
    ["00000001000000010000000100000001", "0:1:0:1:0:1:0:1"],
    ["00010002000300040005000600070000", "1:2:3:4:5:6:7:0"],
    ["00000002000300040005000600070008", "0:2:3:4:5:6:7:8"],
    ["00000000000100000000000000000000", "0:0:1::"],
    ["00000000000100020003000400050006", "::1:2:3:4:5:6"],
    ["fe800000000000000000000000000001", "fe80::1"],
    ["ff020000000000000000000000000001", "ff02::1"],
    ["00000000000000000000ffffc0000201", "::ffff:192.0.2.1"],
    ["00000000000000000000ffff00000000", "::ffff:0.0.0.0"],
    ["00000000000000000000ffff00010002", "::ffff:0.1.0.2"],
    ["000000000000000000000000c0000201", "::192.0.2.1"],
    ["00000000000000000000000000010000", "::0.1.0.0"],
    ["0064ff9b0000000000000000c0000221", "64:ff9b::c000:221"],
    ["00010002000300040005000601020304", "1:2:3:4:5:6:102:304"],
  ];
  for (const [h, text] of cases) {
    assert.equal(formatIPv6(bytes(h)), text, h);
    assert.equal(hex(parseIPv6(text)), h, text);
  }
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Addresses rich in zero runs, mapped and compatible prefixes: where formatters differ. */
function sampleAddresses(n: number): Uint8Array[] {
  const rnd = prng(5952);
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const b = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      const r = rnd();
      const w = r < 0.55 ? 0 : r < 0.65 ? 1 : r < 0.7 ? 0xffff : Math.floor(rnd() * 0x10000);
      b[g * 2] = w >> 8;
      b[g * 2 + 1] = w & 0xff;
    }
    if (k % 7 === 0) b.fill(0, 0, 10).fill(0xff, 10, 12); // ::ffff:a.b.c.d
    if (k % 11 === 0) b.fill(0, 0, 12); // ::a.b.c.d
    out.push(b);
  }
  return out;
}

const python3 = await new Deno.Command("python3", { args: ["-c", "import socket"] })
  .output().then((r) => r.success, () => false);

Deno.test({
  name: "formatIPv6 and parseIPv6 agree with glibc's inet_ntop/inet_pton on 2000 addresses",
  ignore: !python3,
}, async () => {
  const addrs = sampleAddresses(2000);
  const script = "import socket,sys\n" +
    "for h in sys.stdin.read().split():\n" +
    "    print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(h)))\n";
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(addrs.map(hex).join("\n")));
  await w.close();
  const r = await child.output();
  assert.ok(r.success);
  const glibc = new TextDecoder().decode(r.stdout).trim().split("\n");
  assert.equal(glibc.length, addrs.length);
  addrs.forEach((b, i) => {
    assert.equal(formatIPv6(b), glibc[i], hex(b)!);
    assert.equal(hex(parseIPv6(glibc[i]!)), hex(b), glibc[i]);
  });
});

Deno.test("isLoopback: 127.0.0.0/8 (plain or IPv4-mapped) and ::1, nothing else", () => {
  for (const a of ["127.0.0.1", "127.255.0.9", "::ffff:127.0.0.1", "::1"]) {
    assert.equal(isLoopback(a), true, a);
  }
  for (const a of ["10.127.0.1", "128.0.0.1", "::2", "::", "fe80::1", "::ffff:10.0.0.1"]) {
    assert.equal(isLoopback(a), false, a);
  }
});
