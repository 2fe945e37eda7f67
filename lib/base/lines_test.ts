import assert from "node:assert/strict";
import { readAllLines, readLines } from "./lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A stream that delivers `chunks` one by one, as a pipe might split them. */
const streamOf = (...chunks: (string | number[])[]) =>
  ReadableStream.from(chunks.map((c) => typeof c === "string" ? enc.encode(c) : new Uint8Array(c)));

const texts = async (...chunks: (string | number[])[]) =>
  (await readAllLines(streamOf(...chunks))).map((l) => dec.decode(l));

Deno.test("readAllLines splits on LF and drops it", async () => {
  assert.deepEqual(await texts("a\nb\n"), ["a", "b"]);
  assert.deepEqual(await texts("one line\n"), ["one line"]);
});

Deno.test("readAllLines keeps a last line that has no LF", async () => {
  assert.deepEqual(await texts("a\nb"), ["a", "b"]);
  assert.deepEqual(await texts("no newline at all"), ["no newline at all"]);
});

Deno.test("readAllLines joins a line split across chunks", async () => {
  const cases: [(string | number[])[], string[]][] = [
    [["he", "llo\nwor", "ld\n"], ["hello", "world"]],
    [["a", "\n", "b"], ["a", "b"]],
    [["a\n", "b\n"], ["a", "b"]],
    [["a", "b", "c", "\nd"], ["abc", "d"]],
    [[..."split\ninto\nsingle\nbytes\n"], ["split", "into", "single", "bytes"]],
  ];
  for (const [chunks, want] of cases) {
    assert.deepEqual(await texts(...chunks), want, JSON.stringify(chunks));
  }
});

Deno.test("readAllLines joins a UTF-8 character split across chunks", async () => {
  // "é" is C3 A9; "✓" is E2 9C 93.
  assert.deepEqual(await texts([0x63, 0x61, 0x66, 0xc3], [0xa9, 0x0a, 0xe2, 0x9c], [0x93]), [
    "café",
    "✓",
  ]);
});

Deno.test("readAllLines skips empty lines", async () => {
  assert.deepEqual(await texts("\n\na\n\n\nb\n\n"), ["a", "b"]);
  assert.deepEqual(await texts("\n"), []);
  assert.deepEqual(await texts("\n", "\n", "\n"), []);
  assert.deepEqual(await texts("a\n", "\n", "b"), ["a", "b"]);
});

Deno.test("readAllLines keeps CR bytes: a CRLF line ends in CR, a lone CR is a line", async () => {
  assert.deepEqual(await texts("a\r\nb\r\n"), ["a\r", "b\r"]);
  assert.deepEqual(await texts("a\r", "\nb"), ["a\r", "b"]);
  assert.deepEqual(await texts("\r\n"), ["\r"]);
  assert.deepEqual(await texts("a\rb\n"), ["a\rb"]);
});

Deno.test("readAllLines of an empty stream or empty chunks is no lines", async () => {
  assert.deepEqual(await texts(), []);
  assert.deepEqual(await texts("", ""), []);
  assert.deepEqual(await texts("", "a", "", "\n", ""), ["a"]);
});

Deno.test("readAllLines passes binary bytes through", async () => {
  const lines = await readAllLines(streamOf([0x00, 0xff, 0x0a, 0x80, 0x0d]));
  assert.deepEqual(lines.map((l) => Array.from(l)), [[0x00, 0xff], [0x80, 0x0d]]);
});

Deno.test("readLines yields each line as soon as its LF arrives", async () => {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
  const lines = readLines(stream);
  ctl.enqueue(enc.encode("first\nsec"));
  assert.equal(dec.decode((await lines.next()).value!), "first");
  ctl.enqueue(enc.encode("ond\n"));
  assert.equal(dec.decode((await lines.next()).value!), "second");
  ctl.close();
  assert.equal((await lines.next()).done, true);
});

Deno.test("readLines yields copies that later chunks do not overwrite", async () => {
  const lines = await readAllLines(streamOf("aaaa\nbb", "bb\ncccc\n"));
  assert.deepEqual(lines.map((l) => dec.decode(l)), ["aaaa", "bbbb", "cccc"]);
  assert.ok(lines.every((l) => l.byteOffset === 0 && l.buffer.byteLength === l.length));
});
