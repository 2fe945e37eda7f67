import assert from "node:assert/strict";
import { BUILTIN_QUOTE, MAX_QUOTE, parseQuotes, quoteBytes } from "./qotd.ts";

Deno.test("parseQuotes reads fortune(6) files: quotes between lines holding only %", () => {
  assert.deepEqual(parseQuotes("one\n%\ntwo\nlines\n%\n\n"), ["one", "two\nlines"]);
  assert.deepEqual(parseQuotes("%\nonly\r\n%\r\n"), ["only"]);
});

Deno.test("parseQuotes takes one quote per non-empty line without any % line", () => {
  assert.deepEqual(parseQuotes("first\n\n  second  \n"), ["first", "second"]);
});

Deno.test("parseQuotes rejects an empty file and a quote over 512 bytes", () => {
  assert.throws(() => parseQuotes("\n \n"), { name: "RangeError", message: "No quote found" });
  assert.throws(() => parseQuotes(`short\n${"x".repeat(511)}\n`), {
    name: "RangeError",
    message: "Quote 2 is 513 bytes; RFC 865 allows at most 512",
  });
  assert.deepEqual(parseQuotes("x".repeat(510)), ["x".repeat(510)]);
});

Deno.test("quoteBytes ends every line with CR LF and the built-in quote fits", () => {
  assert.equal(new TextDecoder().decode(quoteBytes("a\nb")), "a\r\nb\r\n");
  assert.ok(quoteBytes(BUILTIN_QUOTE).length <= MAX_QUOTE);
});
