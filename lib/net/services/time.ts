/**
 * The Time Protocol's wire format (RFC 868): the time as a 32-bit unsigned big-endian
 * count of seconds since 1900-01-01 00:00 UTC. The count wraps in February 2036; as NTP
 * does (RFC 5905, era numbers), a value below 2^31 is read as the next era (after 2036)
 * and one at or above it as the first.
 *
 * @module
 */

/** Seconds from 1900-01-01 to 1970-01-01 (RFC 868: 2208988800). */
export const EPOCH_1900 = 2_208_988_800;
const ERA = 2 ** 32;

/**
 * The 4 bytes a time server sends for `date`.
 *
 * @example
 * ```ts
 * import { encodeTime } from "./time.ts";
 * encodeTime(new Date(0)); // Uint8Array [131, 170, 126, 128] (2208988800)
 * ```
 */
export function encodeTime(date: Date): Uint8Array {
  const secs = Math.floor(date.getTime() / 1000) + EPOCH_1900;
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, ((secs % ERA) + ERA) % ERA);
  return out;
}

/** The seconds-since-1900 count in 4 big-endian bytes. */
export function timeSeconds(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new RangeError(`A time reply is 4 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

/**
 * The date 4 bytes from a time server stand for (values below 2^31 are after 2036).
 *
 * @example
 * ```ts
 * import { decodeTime } from "./time.ts";
 * decodeTime(new Uint8Array([131, 170, 126, 128])).toISOString(); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function decodeTime(bytes: Uint8Array): Date {
  const secs = timeSeconds(bytes);
  const unix = secs - EPOCH_1900 + (secs < 2 ** 31 ? ERA : 0);
  return new Date(unix * 1000);
}
