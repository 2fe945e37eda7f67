import assert from "node:assert/strict";
import { chargenDatagram, chargenLine, ChargenRing, LINE_BYTES, PERIOD } from "./chargen.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("chargenLine gives RFC 864's first lines: space first, 72 characters, CR LF", () => {
  assert.equal(
    text(chargenLine(0)),
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n",
  );
  assert.equal(
    text(chargenLine(1)),
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n",
  );
  assert.equal(chargenLine(0).length, 74);
});

Deno.test("chargenLine wraps the 95-character ring after '~'", () => {
  const l = text(chargenLine(30)); // characters 30..101 of the ring: '>' .. '~', then ' ' ..
  assert.equal(l[0], ">");
  assert.equal(l.indexOf("~"), 126 - 32 - 30);
  assert.equal(l[126 - 32 - 30 + 1], " ");
  assert.deepEqual(chargenLine(95), chargenLine(0));
});

Deno.test("ChargenRing windows continue the stream across the period", () => {
  const ring = new ChargenRing();
  assert.equal(PERIOD, 95 * 74);
  const all = new Uint8Array(3 * PERIOD);
  for (let n = 0; n < 3 * 95; n++) all.set(chargenLine(n), n * LINE_BYTES);
  for (const [off, n] of [[0, 10], [PERIOD - 5, 100], [PERIOD + 3, PERIOD], [12345, 999]]) {
    assert.deepEqual(ring.window(off!, n!), all.subarray(off!, off! + n!));
  }
  assert.equal(ring.window(0, 10 * PERIOD).length, PERIOD);
});

Deno.test("chargenDatagram is the pattern cut to the size asked", () => {
  assert.equal(chargenDatagram(0).length, 0);
  assert.deepEqual(chargenDatagram(74), chargenLine(0));
  const d = chargenDatagram(512, 3);
  assert.equal(d.length, 512);
  assert.deepEqual(d.subarray(0, 74), chargenLine(3));
  assert.deepEqual(d.subarray(74, 148), chargenLine(4));
});
