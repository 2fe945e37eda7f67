import assert from "node:assert/strict";
import { type IdleLink, IdleList } from "./idle.ts";

interface M extends IdleLink {
  id: string;
}
const m = (id: string): M => ({ id, idlePrev: null, idleNext: null, lastActive: 0 });

Deno.test("IdleList expires the least recently active member first", () => {
  const l = new IdleList<M>(100);
  const a = m("a"), b = m("b"), c = m("c");
  l.add(a, 0);
  l.add(b, 10);
  l.add(c, 20);
  assert.equal(l.nextTimeout(50), 50);
  l.touch(a, 60); // a moves behind c
  assert.equal(l.expired(105), null);
  assert.equal(l.expired(110)?.id, "b");
  l.remove(b);
  assert.equal(l.expired(120)?.id, "c");
  l.remove(c);
  assert.equal(l.expired(159), null);
  assert.equal(l.nextTimeout(159), 1);
  assert.equal(l.expired(160)?.id, "a");
});

Deno.test("IdleList remove is harmless twice and on members never added", () => {
  const l = new IdleList<M>(10);
  const a = m("a"), b = m("b"), stray = m("stray");
  l.add(a, 0);
  l.add(b, 0);
  l.remove(a);
  l.remove(a);
  l.remove(stray);
  assert.equal(l.expired(10)?.id, "b");
  l.remove(b);
  assert.equal(l.nextTimeout(0), -1);
  assert.equal(l.expired(1000), null);
});

Deno.test("IdleList touch of the tail only refreshes its time", () => {
  const l = new IdleList<M>(10);
  const a = m("a");
  l.add(a, 0);
  l.touch(a, 5);
  assert.equal(l.nextTimeout(5), 10);
  assert.equal(l.expired(15)?.id, "a");
});
