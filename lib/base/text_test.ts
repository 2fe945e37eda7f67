import assert from "node:assert/strict";
import { payloadBytes, payloadFields, payloadText, plural, visibleText } from "./text.ts";

const enc = new TextEncoder();
const u8 = (...b: number[]) => new Uint8Array(b);

Deno.test("payloadText shows printable UTF-8 as text", () => {
  const cases = ["hello", "", "héllo ✓ 日本語", "emoji 😀", "tab\tCR\rLF\nVT\vFF\f", " "];
  for (const s of cases) assert.equal(payloadText(enc.encode(s)), s, JSON.stringify(s));
});

Deno.test("payloadText shows hex for control bytes, DEL and invalid UTF-8", () => {
  const cases: [Uint8Array, string][] = [
    [u8(0x00), "0x00"],
    [u8(0x61, 0x01, 0x62), "0x610162"],
    [u8(0x61, 0x08), "0x6108"],
    [u8(0x0e), "0x0e"],
    [u8(0x1b, 0x5b, 0x6d), "0x1b5b6d"],
    [u8(0x7f), "0x7f"],
    [u8(0xff, 0xfe), "0xfffe"],
    [u8(0x63, 0x61, 0x66, 0xc3), "0x636166c3"], // cut inside "é"
    [u8(0xc0, 0xaf), "0xc0af"], // overlong "/"
    [u8(0xed, 0xa0, 0x80), "0xeda080"], // a UTF-16 surrogate
  ];
  for (const [data, want] of cases) assert.equal(payloadText(data), want, want);
});

Deno.test("payloadText cuts text at max characters and marks the cut", () => {
  assert.equal(payloadText(enc.encode("a".repeat(200))), "a".repeat(200));
  assert.equal(payloadText(enc.encode("a".repeat(201))), "a".repeat(200) + "…");
  assert.equal(payloadText(enc.encode("abcdef"), 4), "abcd…");
  assert.equal(payloadText(enc.encode("abcd"), 4), "abcd");
  // max counts UTF-16 units of the decoded text, not bytes: 200 "é" are 400 bytes.
  assert.equal(payloadText(enc.encode("é".repeat(200))), "é".repeat(200));
});

Deno.test("payloadText cuts hex at max/2 bytes and marks the cut", () => {
  const zeros = (n: number) => new Uint8Array(n);
  assert.equal(payloadText(zeros(100)), "0x" + "00".repeat(100));
  assert.equal(payloadText(zeros(101)), "0x" + "00".repeat(100) + "…");
  assert.equal(payloadText(zeros(65507)), "0x" + "00".repeat(100) + "…");
  assert.equal(payloadText(u8(1, 2, 3, 4, 5), 4), "0x0102…");
  assert.equal(payloadText(u8(1, 2), 4), "0x0102");
});

Deno.test("payloadFields keeps UTF-8 as text and anything else as base64, losslessly", () => {
  const cases: [Uint8Array, string, string][] = [
    [enc.encode("hello"), "hello", "utf-8"],
    [enc.encode("a\rb\x00"), "a\rb\x00", "utf-8"],
    [u8(0xff, 0xfe), "//4=", "base64"],
    [u8(0xef, 0xbb, 0xbf, 0x61), "\ufeffa", "utf-8"],
    [u8(0x63, 0x61, 0x66, 0xc3), "Y2Fmww==", "base64"],
  ];
  for (const [bytes, data, encoding] of cases) {
    const f = payloadFields(bytes);
    assert.deepEqual(f, { data, encoding });
    assert.deepEqual(payloadBytes(f), bytes);
  }
  const big = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
  assert.deepEqual(payloadBytes(payloadFields(big)), big);
});

Deno.test("visibleText escapes control characters, backslashes and bytes that are not UTF-8", () => {
  const cases: [Uint8Array, string][] = [
    [enc.encode("hello ✓ 日本語 😀"), "hello ✓ 日本語 😀"],
    [enc.encode("a\r\n\tb"), "a\\r\\n\\tb"],
    [u8(0xff, 0xfe), "\\xff\\xfe"],
    [enc.encode("0xfffe"), "0xfffe"], // the literal text stays distinguishable
    [enc.encode("\\xff"), "\\\\xff"],
    [u8(0x00, 0x1b, 0x7f), "\\x00\\x1b\\x7f"],
    [u8(0x63, 0x61, 0x66, 0xc3), "caf\\xc3"], // cut inside "é"
    [u8(0xc0, 0xaf), "\\xc0\\xaf"], // overlong "/"
    [u8(0xed, 0xa0, 0x80), "\\xed\\xa0\\x80"], // a UTF-16 surrogate
    [u8(0xc2, 0x85), "\\u0085"], // C1 control NEL
  ];
  for (const [data, want] of cases) assert.equal(visibleText(data), want, want);
  assert.equal(visibleText(enc.encode("abcdef"), 4), "abcd…");
  assert.equal(visibleText(enc.encode("abcd"), 4), "abcd");
});

Deno.test("plural picks the noun's form by count", () => {
  assert.equal(plural(1, "byte"), "1 byte");
  assert.equal(plural(0, "byte"), "0 bytes");
  assert.equal(plural(2, "reply", "replies"), "2 replies");
});
