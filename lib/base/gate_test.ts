import assert from "node:assert/strict";
import { AccessList, parseCidr } from "./acl.ts";
import { admissionFromSpec, admissionSpec, Gate } from "./gate.ts";
import { DEFAULT_REFLECT_GUARD, guardWithPort, parseReflectGuard } from "./reflect.ts";

Deno.test("a gate with no options serves everything", () => {
  const g = new Gate();
  for (let i = 0; i < 100; i++) assert.equal(g.admit("10.0.0.1", 0), null);
  assert.equal(g.admitDatagram("10.0.0.1", 19, 0), null);
  assert.equal(g.allowance(1e9, 100), 100);
  assert.equal(g.refusals.total, 0);
});

Deno.test("admit checks the lists, then connections per source, then the rate", () => {
  const g = new Gate({
    acl: new AccessList([parseCidr("127.0.0.0/8")!], [parseCidr("127.0.0.9")!]),
    maxPerIp: 2,
    rate: { perSecond: 3, burst: 3 },
  });
  assert.equal(g.admit("192.0.2.1", 0), "not-allowed");
  assert.equal(g.admit("127.0.0.9", 0), "denied");
  assert.equal(g.admit("127.0.0.1", 0), null);
  assert.equal(g.admit("127.0.0.1", 0), null);
  assert.equal(g.admit("127.0.0.1", 0), "max-per-ip"); // refused before the bucket
  assert.equal(g.openFrom("127.0.0.1"), 2);
  g.release("127.0.0.1");
  assert.equal(g.admit("127.0.0.1", 0), null); // third token
  g.release("127.0.0.1");
  assert.equal(g.admit("127.0.0.1", 0), "rate");
  assert.equal(g.admit("127.0.0.2", 0), null); // another source, its own bucket
  assert.equal(g.refusals.text(), "denied 1, not-allowed 1, max-per-ip 1, rate 1");
  g.release("127.0.0.1");
  g.release("127.0.0.1");
  g.release("127.0.0.1"); // one too many is harmless
  assert.equal(g.openFrom("127.0.0.1"), 0);
});

Deno.test("admitDatagram applies the reflection guard first", () => {
  const g = new Gate({
    reflect: guardWithPort(DEFAULT_REFLECT_GUARD, 40000),
    acl: new AccessList([], [parseCidr("10.0.0.0/8")!]),
    rate: { perSecond: 1, burst: 1 },
    broadcasts: new Set(["192.0.2.255"]),
  });
  assert.equal(g.admitDatagram("10.1.1.1", 53, 0), "reflector-port");
  assert.equal(g.admitDatagram("10.1.1.1", 5000, 0), "denied");
  assert.equal(g.admitDatagram("192.0.2.255", 5000, 0), "broadcast-source");
  assert.equal(g.admitDatagram("198.51.100.1", 40000, 0), "reflector-port"); // our own port
  assert.equal(g.admitDatagram("198.51.100.1", 0, 0), "port-zero");
  assert.equal(g.admitDatagram("198.51.100.1", 5000, 0), null);
  assert.equal(g.admitDatagram("198.51.100.1", 5001, 0), "rate"); // per address, not port
  assert.equal(g.admitDatagram("198.51.100.1", 5001, 1000), null);
  assert.deepEqual(g.refusals.toJSON(), {
    denied: 1,
    rate: 1,
    "reflector-port": 2,
    "port-zero": 1,
    "broadcast-source": 1,
  });
});

Deno.test("guardWithPort leaves an off guard off", () => {
  const off = parseReflectGuard("--reflect-guard", "off");
  assert.equal(guardWithPort(off, 7000), off);
  assert.equal(guardWithPort(DEFAULT_REFLECT_GUARD, 0), DEFAULT_REFLECT_GUARD);
  assert.ok(guardWithPort(DEFAULT_REFLECT_GUARD, 7000).ports.has(7000));
  assert.ok(!DEFAULT_REFLECT_GUARD.ports.has(7000));
});

Deno.test("allowance caps a connection at maxBytes", () => {
  const g = new Gate({ maxBytes: 10 });
  assert.equal(g.allowance(0, 4), 4);
  assert.equal(g.allowance(8, 4), 2);
  assert.equal(g.allowance(10, 4), 0);
  assert.equal(g.allowance(12, 4), 0);
});

Deno.test("admission options survive a structured clone as a spec", () => {
  const o = {
    acl: new AccessList([parseCidr("10.0.0.0/8")!], [parseCidr("::ffff:10.9.0.0/112")!]),
    maxPerIp: 3,
    rate: { perSecond: 5, burst: 5 },
    maxBytes: 9,
    reflect: guardWithPort(DEFAULT_REFLECT_GUARD, 4444),
    broadcasts: new Set(["10.255.255.255"]),
  };
  const back = admissionFromSpec(structuredClone(admissionSpec(o)));
  assert.deepEqual(back, o);
  assert.equal(new Gate(back).admitDatagram("10.9.1.1", 5000, 0), "denied");
  assert.deepEqual(admissionFromSpec(admissionSpec({})), {});
});

Deno.test("admitDatagramBinary decides and counts as admitDatagram does, guard alone", () => {
  const opts = {
    reflect: guardWithPort(DEFAULT_REFLECT_GUARD, 40000),
    broadcasts: new Set(["192.0.2.255"]),
  };
  const text = new Gate(opts), binary = new Gate(opts);
  assert.equal(binary.guardOnly, true);
  assert.equal(new Gate({ ...opts, rate: { perSecond: 1, burst: 1 } }).guardOnly, false);
  const v4 = (a: string) => a.split(".").reduce((n, x) => n * 256 + Number(x), 0);
  const sources: [string, number][] = [
    ["10.1.1.1", 53],
    ["192.0.2.255", 5000],
    ["198.51.100.1", 40000],
    ["198.51.100.1", 0],
    ["198.51.100.1", 5000],
    ["224.0.0.251", 5353],
  ];
  for (const [a, p] of sources) {
    assert.equal(binary.admitDatagramBinary(v4(a), 0, p), text.admitDatagram(a, p, 0), `${a}`);
  }
  assert.equal(binary.admitDatagramBinary(-1, 0xff, 5000), "multicast-source");
  assert.equal(binary.admitDatagramBinary(-1, 0x20, 5000), null);
  text.admitDatagram("ff02::1", 5000, 0);
  assert.deepEqual(binary.refusals.toJSON(), text.refusals.toJSON());
  assert.equal(new Gate({}).admitDatagramBinary(0, 0, 0), null); // no guard: everything
});
