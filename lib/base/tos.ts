/**
 * The IPv4 TOS byte and IPv6 Traffic Class, pure: the names `--tos` accepts and the name
 * a value read back with getsockopt(2) is shown as. The RFC 1349 names are nc(1)'s
 * (`lowdelay`, `throughput`, `reliability`, `mincost`: the IPTOS_* values of
 * `<netinet/ip.h>`); the DSCP names are RFC 2474 class selectors `cs0`..`cs7`, RFC 2597
 * assured forwarding `af11`..`af43` and RFC 3246 expedited forwarding `ef`, placed in
 * the upper six bits of the byte (the two ECN bits, RFC 3168, stay zero).
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** Every name `--tos` accepts, and the byte it stands for. */
export const TOS_NAMES: Readonly<Record<string, number>> = (() => {
  const t: Record<string, number> = {
    lowdelay: 0x10,
    throughput: 0x08,
    reliability: 0x04,
    mincost: 0x02,
    ef: 46 << 2,
  };
  for (let c = 1; c <= 4; c++) {
    for (let d = 1; d <= 3; d++) t[`af${c}${d}`] = (8 * c + 2 * d) << 2;
  }
  for (let n = 0; n <= 7; n++) t[`cs${n}`] = (8 * n) << 2;
  return t;
})();

/**
 * Parses `--tos VALUE`: a name (case-insensitive), or a byte as decimal or `0x` hex
 * (0-255).
 *
 * @example
 * ```ts
 * import { parseTos } from "./tos.ts";
 * parseTos("--tos", "ef"); // 184
 * parseTos("--tos", "0x10"); // 16
 * ```
 */
export function parseTos(flag: string, value: string): number {
  const named = TOS_NAMES[value.toLowerCase()];
  if (named !== undefined && Object.hasOwn(TOS_NAMES, value.toLowerCase())) return named;
  const n = /^0x[0-9a-f]{1,2}$/i.test(value)
    ? parseInt(value.slice(2), 16)
    : /^\d{1,3}$/.test(value)
    ? Number(value)
    : NaN;
  if (!(n >= 0 && n <= 255)) {
    throw new UsageError(
      `invalid ${flag} "${value}": must be 0-255, 0xNN, lowdelay, throughput, reliability, ` +
        `mincost, ef, af11-af43 or cs0-cs7`,
    );
  }
  return n;
}

/**
 * The name of a TOS byte as a `-v` line shows it: the DSCP or RFC 1349 name when one
 * matches exactly (`ef`, `lowdelay`; 0 is `cs0`), else `0xNN`.
 */
export function tosName(value: number): string {
  for (const [name, v] of Object.entries(TOS_NAMES)) if (v === value) return name;
  return `0x${value.toString(16).padStart(2, "0")}`;
}
