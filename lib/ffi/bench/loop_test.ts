import assert from "node:assert/strict";
import { type Scheduled, ScheduleHeap } from "./loop.ts";

Deno.test("the schedule heap pops in time order and removes from anywhere", () => {
  const heap = new ScheduleHeap<Scheduled & { id: number }>();
  let s = 12345;
  const items = Array.from({ length: 200 }, (_, id) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return { id, next: s % 1000, heapPos: -1 };
  });
  for (const x of items) heap.push(x);
  for (const x of items.filter((x) => x.id % 3 === 0)) heap.remove(x);
  assert.ok(items.every((x) => (x.id % 3 === 0) === (x.heapPos === -1)));
  const out: number[] = [];
  for (let x = heap.pop(); x; x = heap.pop()) {
    assert.equal(x.heapPos, -1);
    out.push(x.next);
  }
  const want = items.filter((x) => x.id % 3 !== 0).map((x) => x.next).sort((a, b) => a - b);
  assert.deepEqual(out, want);
  assert.equal(heap.peek(), undefined);
  heap.remove({ next: 1, heapPos: -1, id: -1 }); // not in the heap: nothing happens
});
