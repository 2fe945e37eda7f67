/**
 * The character generator pattern of RFC 864: the 95 printing ASCII characters (space
 * through `~`) as a ring; line N holds characters N through N+71 of the ring (mod 95),
 * then CR LF. The stream repeats every 95 lines (7030 bytes), so one period, stored
 * twice over, lets a sender hand out any window of it without copying.
 *
 * @module
 */

/** Characters on a line, before CR LF (RFC 864). */
export const LINE_CHARS = 72;
/** Bytes per line with its CR LF. */
export const LINE_BYTES = LINE_CHARS + 2;
/** The printing ASCII characters, space (32) through `~` (126). */
export const RING = 95;
/** Bytes before the stream repeats: 95 lines. */
export const PERIOD = RING * LINE_BYTES;

/**
 * Line `n` (0-based) of the RFC 864 pattern, with its CR LF.
 *
 * @example
 * ```ts
 * import { chargenLine } from "./chargen.ts";
 * new TextDecoder().decode(chargenLine(1)).slice(0, 5); // '!"#$%'
 * ```
 */
export function chargenLine(n: number): Uint8Array {
  const line = new Uint8Array(LINE_BYTES);
  const start = ((n % RING) + RING) % RING;
  for (let i = 0; i < LINE_CHARS; i++) line[i] = 32 + (start + i) % RING;
  line[LINE_CHARS] = 13;
  line[LINE_CHARS + 1] = 10;
  return line;
}

/**
 * Two periods of the pattern back to back: `window(offset, n)` is then one subarray for
 * any `offset < PERIOD` and `n <= PERIOD`.
 */
export class ChargenRing {
  readonly #twice: Uint8Array;

  constructor() {
    this.#twice = new Uint8Array(2 * PERIOD);
    for (let n = 0; n < 2 * RING; n++) this.#twice.set(chargenLine(n), n * LINE_BYTES);
  }

  /** `n` bytes of the stream starting at stream offset `offset` (n is capped at PERIOD). */
  window(offset: number, n: number): Uint8Array {
    const start = offset % PERIOD;
    return this.#twice.subarray(start, start + Math.min(n, PERIOD));
  }
}

/**
 * One UDP chargen reply (RFC 864): `size` bytes of the pattern from the start of line
 * `line`; the RFC asks for a random size between 0 and 512, which the caller picks.
 */
export function chargenDatagram(size: number, line = 0): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (let n = line; off < size; n++) {
    const l = chargenLine(n);
    const take = Math.min(l.length, size - off);
    out.set(l.subarray(0, take), off);
    off += take;
  }
  return out;
}
