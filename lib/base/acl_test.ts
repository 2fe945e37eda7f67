import assert from "node:assert/strict";
import { AccessList, addressBytes, formatCidr, parseCidr } from "./acl.ts";

const cidrs = (...t: string[]) => t.map((x) => parseCidr(x)!);

Deno.test("parseCidr reads IPv4, IPv6, brackets and mapped prefixes, clearing host bits", () => {
  const cases: [string, string | null][] = [
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["10.1.2.3", "10.1.2.3/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.0.2.255/25", "192.0.2.128/25"],
    ["2001:db8::1/32", "2001:db8::/32"],
    ["[::1]", "::1/128"],
    ["[2001:db8::]/48", "2001:db8::/48"],
    ["::/0", "::/0"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["::ffff:192.0.2.1", "192.0.2.1/32"],
    ["::ffff:0.0.0.0/96", "0.0.0.0/0"],
    ["::ffff:0:0/80", "::/80"],
    ["10.0.0.0/33", null],
    ["::/129", null],
    ["10.0.0.0/", null],
    ["10.0.0.0/-1", null],
    ["10.0.0.0/8/8", null],
    ["10.0.0/8", null],
    ["example.com/8", null],
    ["", null],
    ["/8", null],
  ];
  for (const [text, want] of cases) {
    const c = parseCidr(text);
    assert.equal(c === null ? null : formatCidr(c), want, text);
  }
});

Deno.test("addressBytes unmaps IPv4-mapped addresses and drops zones", () => {
  assert.deepEqual(addressBytes("::ffff:10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
  assert.deepEqual(addressBytes("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
  assert.equal(addressBytes("fe80::1%eth0")!.length, 16);
  assert.equal(addressBytes("localhost"), null);
});

Deno.test("AccessList lets everything through when empty", () => {
  const acl = new AccessList();
  assert.equal(acl.empty, true);
  assert.equal(acl.check("192.0.2.1"), null);
  assert.equal(acl.check("not an address"), null);
});

Deno.test("AccessList matches mapped addresses as IPv4 and lets deny win", () => {
  const acl = new AccessList(
    cidrs("10.0.0.0/8", "2001:db8::/32", "127.0.0.1"),
    cidrs("10.9.0.0/16", "2001:db8:bad::/48"),
  );
  const cases: [string, string | null][] = [
    ["10.1.2.3", null],
    ["::ffff:10.1.2.3", null],
    ["10.9.1.1", "denied"],
    ["::ffff:10.9.1.1", "denied"],
    ["127.0.0.1", null],
    ["127.0.0.2", "not-allowed"],
    ["192.0.2.1", "not-allowed"],
    ["2001:db8::5", null],
    ["[2001:db8::5]", null],
    ["2001:db8:bad::5", "denied"],
    ["::1", "not-allowed"],
    ["::10.1.2.3", "not-allowed"], // IPv4-compatible is not IPv4-mapped
    ["garbage", "not-allowed"],
  ];
  for (const [a, want] of cases) assert.equal(acl.check(a), want, a);
});

Deno.test("AccessList with only a deny list passes every other address", () => {
  const acl = new AccessList([], cidrs("192.0.2.0/24", "::1"));
  assert.equal(acl.check("192.0.2.77"), "denied");
  assert.equal(acl.check("::ffff:192.0.2.77"), "denied");
  assert.equal(acl.check("::1"), "denied");
  assert.equal(acl.check("198.51.100.1"), null);
  assert.equal(acl.check("::2"), null);
});

Deno.test("a /0 deny refuses every address of its family only", () => {
  const acl = new AccessList([], cidrs("0.0.0.0/0"));
  assert.equal(acl.check("203.0.113.9"), "denied");
  assert.equal(acl.check("::ffff:203.0.113.9"), "denied");
  assert.equal(acl.check("2001:db8::1"), null);
});
