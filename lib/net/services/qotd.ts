/**
 * Quotes for the Quote of the Day Protocol (RFC 865): each reply is one quote of at most
 * 512 characters. A quote file is in fortune(6) form (quotes separated by lines holding
 * only `%`) or, without any `%` line, one quote per non-empty line.
 *
 * @module
 */

/** RFC 865's limit on a quote, in bytes on the wire (CR LF line ends included). */
export const MAX_QUOTE = 512;

/** The quote served when no file is given. */
export const BUILTIN_QUOTE =
  '"Be conservative in what you do, be liberal in what you accept from others." (RFC 761)';

const enc = new TextEncoder();

/** A quote as sent: its lines joined and ended with CR LF. */
export function quoteBytes(quote: string): Uint8Array {
  return enc.encode(quote.split(/\r?\n/).join("\r\n") + "\r\n");
}

/**
 * Splits the text of a quote file into quotes; throws `RangeError` when a quote is
 * longer than {@link MAX_QUOTE} bytes on the wire or when there is none.
 *
 * @example
 * ```ts
 * import { parseQuotes } from "./qotd.ts";
 * parseQuotes("one\n%\ntwo\nlines\n"); // ["one", "two\nlines"]
 * parseQuotes("first\n\nsecond\n"); // ["first", "second"]
 * ```
 */
export function parseQuotes(text: string): string[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const fortune = lines.some((l) => l === "%");
  const quotes = fortune
    ? text.replace(/\r\n/g, "\n").split(/^%$/m).map((q) => q.replace(/^\n+|\n+$/g, ""))
    : lines.map((l) => l.trim());
  const out = quotes.filter((q) => q.trim() !== "");
  if (out.length === 0) throw new RangeError("No quote found");
  for (const [i, q] of out.entries()) {
    const n = quoteBytes(q).length;
    if (n > MAX_QUOTE) {
      throw new RangeError(
        `Quote ${i + 1} is ${n} bytes; RFC 865 allows at most ${MAX_QUOTE}`,
      );
    }
  }
  return out;
}
