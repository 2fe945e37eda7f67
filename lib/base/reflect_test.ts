import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import {
  DEFAULT_REFLECT_GUARD,
  parseReflectGuard,
  reflectDrop,
  reflectDropBinary,
  reflectGuardText,
  REFLECTOR_PORTS,
} from "./reflect.ts";

Deno.test("the default guard refuses the classic reflector and amplifier ports", () => {
  for (const p of [7, 13, 17, 19, 37, 53, 111, 123, 137, 138, 161, 389, 1900, 5353, 11211]) {
    assert.equal(reflectDrop(DEFAULT_REFLECT_GUARD, "192.0.2.1", p), "reflector-port", `${p}`);
  }
  for (const p of [1, 8, 136, 139, 1024, 40000, 65535]) {
    assert.equal(reflectDrop(DEFAULT_REFLECT_GUARD, "192.0.2.1", p), null, `${p}`);
  }
  assert.equal(
    reflectGuardText(DEFAULT_REFLECT_GUARD),
    REFLECTOR_PORTS.join(",").replace("137,138", "137-138"),
  );
});

Deno.test("the guard refuses port 0, broadcast and multicast sources", () => {
  const g = DEFAULT_REFLECT_GUARD;
  const cases: [string, number, string | null][] = [
    ["192.0.2.1", 0, "port-zero"],
    ["255.255.255.255", 4000, "broadcast-source"],
    ["::ffff:255.255.255.255", 4000, "broadcast-source"],
    ["224.0.0.1", 4000, "multicast-source"],
    ["239.255.255.250", 4000, "multicast-source"],
    ["::ffff:239.1.2.3", 4000, "multicast-source"],
    ["ff02::1", 4000, "multicast-source"],
    ["240.0.0.1", 4000, null],
    ["10.0.0.255", 4000, null], // only a broadcast address when an interface says so
    ["2001:db8::1", 4000, null],
    ["fe80::1%eth0", 4000, null],
  ];
  for (const [a, p, want] of cases) assert.equal(reflectDrop(g, a, p), want, `${a} ${p}`);
  const bcast = new Set(["10.0.0.255"]);
  assert.equal(reflectDrop(g, "10.0.0.255", 4000, bcast), "broadcast-source");
  assert.equal(reflectDrop(g, "::ffff:10.0.0.255", 4000, bcast), "broadcast-source");
});

Deno.test("--reflect-guard off drops nothing", () => {
  const off = parseReflectGuard("--reflect-guard", "off");
  assert.equal(reflectGuardText(off), "off");
  assert.equal(reflectDrop(off, "192.0.2.1", 19), null);
  assert.equal(reflectDrop(off, "192.0.2.1", 0), null);
  assert.equal(reflectDrop(off, "224.0.0.1", 5000), null);
});

Deno.test("--reflect-guard takes ports, ranges and default", () => {
  const g = parseReflectGuard("--reflect-guard", "53,1000-1002");
  assert.equal(reflectGuardText(g), "53,1000-1002");
  assert.equal(reflectDrop(g, "192.0.2.1", 19), null);
  assert.equal(reflectDrop(g, "192.0.2.1", 1001), "reflector-port");
  assert.equal(reflectDrop(g, "192.0.2.1", 0), "port-zero");
  const d = parseReflectGuard("--reflect-guard", "default,8080");
  assert.equal(reflectDrop(d, "192.0.2.1", 8080), "reflector-port");
  assert.equal(reflectDrop(d, "192.0.2.1", 19), "reflector-port");
});

Deno.test("--reflect-guard names the flag for a bad list", () => {
  for (const bad of ["", "0", "65536", "5-3", "a", "1,,2", "default,", "1-", "-1", "OFF"]) {
    assert.throws(() => parseReflectGuard("--reflect-guard", bad), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(
        e.message,
        `invalid --reflect-guard "${bad}": must be "off" or ports and ranges separated by ` +
          `commas (1-65535; "default" for the usual list)`,
      );
      return true;
    }, bad);
  }
});

Deno.test("reflectDropBinary decides as reflectDrop does on the same sources", () => {
  const g = parseReflectGuard("--reflect-guard", "default,8080");
  const v4 = (a: string) => a.split(".").reduce((n, x) => n * 256 + Number(x), 0);
  const sources: [string, number][] = [
    ["192.0.2.1", 0],
    ["192.0.2.1", 19],
    ["192.0.2.1", 8080],
    ["192.0.2.1", 40000],
    ["255.255.255.255", 4000],
    ["224.0.0.1", 4000],
    ["239.255.255.250", 40000],
    ["240.0.0.1", 4000],
    ["10.0.0.255", 4000],
  ];
  const bcast = new Set(["10.0.0.255"]);
  for (const [a, p] of sources) {
    const directed = bcast.has(a);
    assert.equal(reflectDropBinary(g, v4(a), 0, p, directed), reflectDrop(g, a, p, bcast), a);
  }
  assert.equal(reflectDropBinary(g, -1, 0xff, 4000, false), reflectDrop(g, "ff02::1", 4000));
  assert.equal(reflectDropBinary(g, -1, 0x20, 53, false), reflectDrop(g, "2001:db8::1", 53));
  assert.equal(reflectDropBinary(g, -1, 0x20, 4000, false), null);
  const off = parseReflectGuard("--reflect-guard", "off");
  assert.equal(reflectDropBinary(off, v4("224.0.0.1"), 0, 0, false), null);
});
