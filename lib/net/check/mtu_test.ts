import assert from "node:assert/strict";
import { type MtuOutcome, MtuSearch } from "./mtu.ts";

/** Runs a search against a path model; returns the sizes tried and the result. */
function simulate(
  s: MtuSearch,
  answer: (size: number) => MtuOutcome,
): { tried: number[]; maxPayload: number | null; from: string | null } {
  const tried: number[] = [];
  for (let size = s.next(); size !== null; size = s.next()) {
    assert.ok(tried.length < 64, `no end: ${tried.join(" ")}`);
    tried.push(size);
    s.record(size, answer(size));
  }
  return { tried, maxPayload: s.maxPayload, from: s.from };
}

/** A path: local interface MTU, a router with a smaller MTU that says so (or not), echo. */
function path(
  o: { ifMtu: number; pathMtu: number; header: number; router?: string; silent?: boolean },
) {
  return (size: number): MtuOutcome => {
    if (size + o.header > o.ifMtu) return { kind: "too-big", mtu: o.ifMtu };
    if (size + o.header > o.pathMtu) {
      return o.silent ? { kind: "lost" } : { kind: "too-big", mtu: o.pathMtu, from: o.router };
    }
    return { kind: "echo" };
  };
}

Deno.test("MtuSearch follows the MTU hints: interface, then router", () => {
  const v4 = simulate(
    new MtuSearch({ floor: 64, ceiling: 65507, header: 28 }),
    path({ ifMtu: 1500, pathMtu: 1400, header: 28, router: "192.0.2.1" }),
  );
  assert.deepEqual(v4, { tried: [64, 65507, 1472, 1372], maxPayload: 1372, from: "192.0.2.1" });
  const v6 = simulate(
    new MtuSearch({ floor: 64, ceiling: 65527, header: 48 }),
    path({ ifMtu: 1500, pathMtu: 1280, header: 48, router: "2001:db8::1" }),
  );
  assert.deepEqual(v6, { tried: [64, 65527, 1452, 1232], maxPayload: 1232, from: "2001:db8::1" });
});

Deno.test("MtuSearch ends after the interface hint when nothing is smaller", () => {
  const r = simulate(
    new MtuSearch({ floor: 64, ceiling: 65507, header: 28 }),
    path({ ifMtu: 9000, pathMtu: 9000, header: 28 }),
  );
  assert.deepEqual(r, { tried: [64, 65507, 8972], maxPayload: 8972, from: null });
});

Deno.test("MtuSearch binary-searches a black hole (big datagrams lost, no ICMP)", () => {
  const r = simulate(
    new MtuSearch({ floor: 64, ceiling: 65507, header: 28 }),
    path({ ifMtu: 1500, pathMtu: 1400, header: 28, silent: true }),
  );
  assert.equal(r.maxPayload, 1372);
  assert.equal(r.from, null);
  assert.deepEqual(r.tried.slice(0, 3), [64, 65507, 1472]);
  assert.ok(r.tried.length <= 14, r.tried.join(" "));
});

Deno.test("MtuSearch with no echo at all follows hints only, to name the router", () => {
  const filtered = (size: number): MtuOutcome => {
    const p = path({ ifMtu: 1500, pathMtu: 1400, header: 28, router: "192.0.2.1" })(size);
    return p.kind === "echo" ? { kind: "lost" } : p;
  };
  const r = simulate(new MtuSearch({ floor: 64, ceiling: 65507, header: 28 }), filtered);
  assert.deepEqual(r, { tried: [64, 65507, 1472, 1372], maxPayload: null, from: "192.0.2.1" });
  // And with no hint at all, it stops after the ceiling.
  const silent = simulate(new MtuSearch({ floor: 64, ceiling: 65507, header: 28 }), () => ({
    kind: "lost",
  }));
  assert.deepEqual(silent, { tried: [64, 65507], maxPayload: null, from: null });
});

Deno.test("MtuSearch ignores a hint that does not shrink the interval", () => {
  const s = new MtuSearch({ floor: 64, ceiling: 2000, header: 28 });
  s.record(64, { kind: "echo" });
  assert.equal(s.next(), 2000);
  s.record(2000, { kind: "too-big", mtu: 3000 }); // larger than what failed: no hint
  assert.equal(s.next(), 1032); // the middle of 64..1999
  s.record(1032, { kind: "too-big", mtu: 60 }); // below what echoed: no hint
  assert.equal(s.next(), 548);
});
