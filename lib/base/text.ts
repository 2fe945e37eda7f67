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
