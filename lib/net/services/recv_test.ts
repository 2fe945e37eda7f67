import assert from "node:assert/strict";
import { looksLikeTime, receiveStream, type RecvEvent, recvEventText } from "./recv.ts";
import { encodeTime } from "./time.ts";

/** A stream that yields `chunks`, then end of stream; records writes. */
function fakeConn(chunks: Uint8Array[]): Deno.Conn & { written: number[]; shut: boolean } {
  const queue = [...chunks];
  const c = {
    written: [] as number[],
    shut: false,
    read(p: Uint8Array): Promise<number | null> {
      const head = queue.shift();
      if (!head) return Promise.resolve(null);
      const n = Math.min(p.length, head.length);
      p.set(head.subarray(0, n));
      if (n < head.length) queue.unshift(head.subarray(n));
      return Promise.resolve(n);
    },
    write(p: Uint8Array): Promise<number> {
      c.written.push(p.length);
      return Promise.resolve(p.length);
    },
    closeWrite(): Promise<void> {
      c.shut = true;
      return Promise.resolve();
    },
  };
  return c as unknown as Deno.Conn & { written: number[]; shut: boolean };
}

async function run(chunks: Uint8Array[], maxBytes?: number, messages?: Uint8Array[]) {
  const conn = fakeConn(chunks);
  const events: RecvEvent[] = [];
  const summary = await receiveStream(conn, {
    address: "127.0.0.1",
    port: 13,
    maxBytes,
    messages,
    timeoutMs: 1000,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  return { conn, events, summary };
}

const enc = new TextEncoder();

Deno.test("receiveStream decodes a lone 4-byte reply as an RFC 868 time", async () => {
  const when = new Date("2026-11-29T16:00:00Z");
  const { events, summary } = await run([
    encodeTime(when).subarray(0, 1),
    encodeTime(when).subarray(1),
  ]);
  assert.deepEqual(events[0], { event: "time", seconds: 4_004_956_800, date: when.toISOString() });
  assert.equal(summary.bytes_received, 4);
  assert.equal(
    recvEventText(events[0]!),
    "time 2026-11-29T16:00:00Z (RFC 868: 4004956800 seconds since 1900)",
  );
});

Deno.test("receiveStream passes text through, short or long", async () => {
  const a = await run([enc.encode("hi\r\n")]); // 4 bytes, but not a date this century
  assert.deepEqual(a.events.map((e) => e.event), ["data", "done"]);
  const b = await run([enc.encode("Sun Nov"), enc.encode(" 29 16:19:42 2026\r\n")]);
  const data = b.events.filter((e) => e.event === "data");
  assert.equal(
    new TextDecoder().decode(new Uint8Array(data.flatMap((e) => [...e.data]))),
    "Sun Nov 29 16:19:42 2026\r\n",
  );
  assert.equal(b.summary.reason, "eof");
});

Deno.test("receiveStream stops at maxBytes exactly", async () => {
  const { events, summary } = await run([new Uint8Array(1000), new Uint8Array(1000)], 1500);
  const got = events.filter((e) => e.event === "data").reduce((n, e) => n + e.bytes, 0);
  assert.equal(got, 1500);
  assert.equal(summary.reason, "max-bytes");
  assert.equal(summary.bytes_received, 1500);
});

Deno.test("receiveStream sends the messages, then closes its sending side", async () => {
  const { conn, summary } = await run([], undefined, [enc.encode("abc"), enc.encode("de")]);
  assert.deepEqual(conn.written, [3, 2]);
  assert.equal(conn.shut, true);
  assert.equal(summary.bytes_sent, 5);
  assert.equal(summary.bytes_received, 0);
});

Deno.test("looksLikeTime accepts only 4 bytes that decode to 2000-2049", () => {
  assert.equal(looksLikeTime(encodeTime(new Date("2001-01-01T00:00:00Z"))), true);
  assert.equal(looksLikeTime(encodeTime(new Date("1999-12-31T23:59:59Z"))), false);
  assert.equal(looksLikeTime(encodeTime(new Date("2050-01-01T00:00:00Z"))), false);
  assert.equal(looksLikeTime(new TextEncoder().encode(" ok\n")), false);
  assert.equal(looksLikeTime(new Uint8Array(3)), false);
});
