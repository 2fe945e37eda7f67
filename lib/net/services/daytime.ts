/**
 * The Daytime Protocol's reply (RFC 867). The RFC leaves the format open; sockbox sends
 * what BSD inetd's built-in daytime sends, the ctime(3) line and CR LF:
 * `Sun Nov 29 16:19:42 2026\r\n`.
 *
 * @module
 */

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number) => String(n).padStart(2, "0");

/**
 * The ctime(3) text of `date` (24 characters, no newline), in local time or UTC.
 *
 * @example
 * ```ts
 * import { ctimeText } from "./daytime.ts";
 * ctimeText(new Date("1993-06-03T21:49:08Z"), true); // "Thu Jun  3 21:49:08 1993"
 * ```
 */
export function ctimeText(date: Date, utc = false): string {
  const f = utc
    ? [
      date.getUTCDay(),
      date.getUTCMonth(),
      date.getUTCDate(),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCFullYear(),
    ]
    : [
      date.getDay(),
      date.getMonth(),
      date.getDate(),
      date.getHours(),
      date.getMinutes(),
      date.getSeconds(),
      date.getFullYear(),
    ];
  const [wd, mon, day, h, m, s, y] = f as [number, number, number, number, number, number, number];
  return `${DAYS[wd]} ${MONTHS[mon]} ${String(day).padStart(2, " ")} ${two(h)}:${two(m)}:${
    two(s)
  } ${y}`;
}

/** The bytes a daytime server sends: the ctime(3) line (local time) and CR LF. */
export function daytimeReply(date: Date, utc = false): Uint8Array {
  return new TextEncoder().encode(`${ctimeText(date, utc)}\r\n`);
}
