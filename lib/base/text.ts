/**
 * Text for bytes that came off the network, for human lines and JSON fields alike.
 *
 * @module
 */

/** Text for a byte payload: UTF-8 when it decodes cleanly and is printable, else hex. */
export function payloadText(data: Uint8Array, max = 200): string {
  try {
    const s = new TextDecoder("utf-8", { fatal: true }).decode(data);
    // deno-lint-ignore no-control-regex
    if (!/[\x00-\x08\x0e-\x1f\x7f]/.test(s)) {
      return s.length > max ? s.slice(0, max) + "…" : s;
    }
  } catch {
    // not UTF-8
  }
  const hex = Array.from(data.subarray(0, max / 2), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `0x${hex}${data.length > max / 2 ? "…" : ""}`;
}

/** How {@link payloadFields} wrote the bytes: as the UTF-8 text itself, or in base64. */
export type PayloadEncoding = "utf-8" | "base64";

/** Bytes as two JSON fields that give them back exactly (see {@link payloadFields}). */
export interface PayloadFields {
  /** The bytes: their text when they are valid UTF-8, else base64 (RFC 4648). */
  data: string;
  /** Which of the two `data` is. */
  encoding: PayloadEncoding;
}

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a BOM is data too

/**
 * Bytes as JSON-safe fields that lose nothing: valid UTF-8 as its text (JSON escapes
 * control characters itself), anything else as base64 with `encoding: "base64"`.
 *
 * @example
 * ```ts
 * import { payloadFields } from "./text.ts";
 * payloadFields(new Uint8Array([0x68, 0x69])); // { data: "hi", encoding: "utf-8" }
 * payloadFields(new Uint8Array([0xff, 0xfe])); // { data: "//4=", encoding: "base64" }
 * ```
 */
export function payloadFields(data: Uint8Array): PayloadFields {
  try {
    return { data: fatal.decode(data), encoding: "utf-8" };
  } catch {
    let bin = "";
    for (let i = 0; i < data.length; i += 0x8000) {
      bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
    }
    return { data: btoa(bin), encoding: "base64" };
  }
}

/** The bytes {@link payloadFields} wrote. */
export function payloadBytes(p: PayloadFields): Uint8Array {
  if (p.encoding === "utf-8") return new TextEncoder().encode(p.data);
  return Uint8Array.from(atob(p.data), (c) => c.charCodeAt(0));
}

const NAMED: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x5c: "\\\\" };

/**
 * Bytes as one line a person can read without being misled, as `cat -v` and Python's
 * `repr` show them: printable UTF-8 as is; a backslash as `\\`; TAB, LF and CR as `\t`,
 * `\n`, `\r`; other control characters, DEL and bytes that are not UTF-8 as `\xNN`; C1
 * controls as `\u0085`. Cut at `max` characters of output, marked with "…".
 *
 * @example
 * ```ts
 * import { visibleText } from "./text.ts";
 * visibleText(new Uint8Array([0x61, 0x0d, 0xff])); // "a\\r\\xff" (a, backslash, r, ...)
 * ```
 */
export function visibleText(data: Uint8Array, max = 200): string {
  let out = "";
  let i = 0;
  const hex = (b: number) => `\\x${b.toString(16).padStart(2, "0")}`;
  while (i < data.length) {
    if (out.length >= max) return out + "…";
    const b = data[i]!;
    if (b < 0x80) {
      out += NAMED[b] ?? (b < 0x20 || b === 0x7f ? hex(b) : String.fromCharCode(b));
      i++;
      continue;
    }
    // One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    const n = b >= 0xc2 && b <= 0xdf
      ? 2
      : b >= 0xe0 && b <= 0xef
      ? 3
      : b >= 0xf0 && b <= 0xf4
      ? 4
      : 0;
    let cp = n === 2 ? b & 0x1f : n === 3 ? b & 0x0f : b & 0x07;
    let ok = n > 0 && i + n <= data.length;
    for (let k = 1; ok && k < n; k++) {
      const c = data[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok && n === 4 && (cp < 0x10000 || cp > 0x10ffff)) ok = false;
    if (!ok) {
      out += hex(b);
      i++;
      continue;
    }
    out += cp <= 0x9f ? `\\u${cp.toString(16).padStart(4, "0")}` : String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

/**
 * A count and its noun: `1 byte`, `2 bytes`, `0 replies`.
 *
 * @example
 * ```ts
 * import { plural } from "./text.ts";
 * plural(1, "reply", "replies"); // "1 reply"
 * ```
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
