import assert from "node:assert/strict";
import { Gate } from "../../base/gate.ts";
import { parseCidr } from "../../base/acl.ts";
import { AccessList } from "../../base/acl.ts";
import { needsTable, SharedAdmission } from "./admission.ts";

const spec = (extra: Partial<Parameters<typeof SharedAdmission.table>[0]>) => ({
  allow: [],
  deny: [],
  ...extra,
});

Deno.test("SharedAdmission needs a table only for counts and rates", () => {
  assert.equal(needsTable(spec({ allow: ["10.0.0.0/8"] })), false);
  assert.equal(needsTable(spec({ maxBytes: 5 })), false);
  assert.equal(needsTable(spec({ maxPerIp: 1 })), true);
  assert.equal(needsTable(spec({ rate: { perSecond: 1, burst: 1 } })), true);
  assert.equal(SharedAdmission.table(spec({ maxBytes: 5 })), null);
  assert.throws(() => SharedAdmission.table(spec({ maxPerIp: 1 }), 100), RangeError);
});

Deno.test("SharedAdmission counts per source across views of one table", () => {
  const s = spec({ maxPerIp: 2 });
  const t = SharedAdmission.table(s, 64);
  const a = new SharedAdmission(s, t), b = new SharedAdmission(s, t);
  assert.equal(a.capacity, 64);
  assert.equal(a.admit("10.0.0.1", 0), null);
  assert.equal(b.admit("::ffff:10.0.0.1", 0), null); // a mapped peer is the same source
  assert.equal(a.admit("10.0.0.1", 0), "max-per-ip");
  assert.equal(b.admit("10.0.0.2", 0), null);
  assert.equal(a.openFrom("10.0.0.1"), 2);
  b.release("10.0.0.1", 1);
  assert.equal(a.admit("10.0.0.1", 1), null);
  a.release("10.0.0.1", 2);
  a.release("10.0.0.1", 2);
  a.release("10.0.0.2", 2);
  assert.equal(a.live, 0); // no rate: the last close drops the entry
  assert.equal(b.openFrom("10.0.0.1"), 0);
});

Deno.test("SharedAdmission decides as Gate does over a random sequence", () => {
  const rate = { perSecond: 2, burst: 3 };
  const s = spec({ maxPerIp: 2, rate, allow: ["10.0.0.0/29"], deny: ["10.0.0.7"] });
  const t = SharedAdmission.table(s, 16); // small: probe runs, deletes and sweeps all happen
  const views = [new SharedAdmission(s, t), new SharedAdmission(s, t)];
  const gate = new Gate({
    maxPerIp: 2,
    rate,
    acl: new AccessList([parseCidr("10.0.0.0/29")!], [parseCidr("10.0.0.7")!]),
  });
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const open: string[] = [];
  let now = 0;
  for (let step = 0; step < 5000; step++) {
    now += rnd(300);
    if (open.length && rnd(3) === 0) {
      const [peer] = open.splice(rnd(open.length), 1);
      gate.release(peer!);
      views[rnd(2)]!.release(peer!, now);
      continue;
    }
    const peer = `10.0.0.${rnd(9)}`;
    const want = gate.admit(peer, now);
    assert.equal(views[rnd(2)]!.admit(peer, now), want, `step ${step} ${peer}`);
    if (want === null) open.push(peer);
  }
  assert.ok(views[0]!.live <= 8);
});

Deno.test("SharedAdmission with a full table sweeps refilled buckets, then serves untracked", () => {
  const s = spec({ rate: { perSecond: 1, burst: 1 } });
  const a = new SharedAdmission(s, SharedAdmission.table(s, 8));
  for (let i = 0; i < 4; i++) assert.equal(a.admit(`192.0.2.${i}`, 0), null);
  assert.equal(a.live, 4);
  assert.equal(a.admit("192.0.2.0", 0), "rate");
  assert.equal(a.admit("192.0.2.9", 0), null); // full, none refilled: untracked
  assert.equal(a.admit("192.0.2.9", 0), null);
  assert.equal(a.admit("192.0.2.10", 1000), null); // refilled: swept, tracked again
  assert.equal(a.live, 1);
  assert.equal(a.admit("192.0.2.10", 1000), "rate");
});

Deno.test("SharedAdmission checks the lists without a table", () => {
  const a = new SharedAdmission(spec({ allow: ["2001:db8::/32"], deny: ["2001:db8::1"] }), null);
  assert.equal(a.admit("2001:db8::2", 0), null);
  assert.equal(a.admit("2001:db8::1", 0), "denied");
  assert.equal(a.admit("10.0.0.1", 0), "not-allowed");
  a.release("2001:db8::2", 0);
});

Deno.test("SharedAdmission holds across Workers hammering one table", async () => {
  const s = spec({ maxPerIp: 2 });
  const t = SharedAdmission.table(s, 1024)!;
  const src = `
    import { SharedAdmission } from ${
    JSON.stringify(new URL("./admission.ts", import.meta.url).href)
  };
    self.onmessage = (e) => {
      const a = new SharedAdmission(e.data.spec, e.data.table);
      let admitted = 0;
      for (let i = 0; i < 5000; i++) {
        const peer = "10.1.0." + (i % 50);
        if (a.admit(peer, 0) === null) { admitted++; a.release(peer, 0); }
      }
      self.postMessage(admitted);
    };`;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const runs = [0, 1, 2].map(() =>
    new Promise<number>((resolve) => {
      const w = new Worker(url, { type: "module" });
      w.onmessage = (e) => {
        w.terminate();
        resolve(e.data);
      };
      w.postMessage({ spec: s, table: t });
    })
  );
  const admitted = await Promise.all(runs);
  URL.revokeObjectURL(url);
  // Three threads race for two places per source: some are refused, and once all is
  // released the table is empty again (no count lost or doubled by a race).
  assert.ok(admitted.every((n) => n > 0 && n <= 5000), String(admitted));
  assert.equal(new SharedAdmission(s, t).live, 0);
});
