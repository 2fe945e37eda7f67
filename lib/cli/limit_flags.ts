/**
 * The command-line side of access control and limits for servers: `--allow`/`--deny`
 * CIDR lists, `--max-per-ip`, `--rate`, `--max-bytes` and the UDP `--reflect-guard`;
 * their flags, usage paragraph and a pure parser (exact `UsageError` messages naming the
 * option and the protocol where it does not apply).
 *
 * @module
 */
import { AccessList, type Cidr, parseCidr } from "../base/acl.ts";
import { UsageError } from "../base/errors.ts";
import type { AdmissionOptions } from "../base/gate.ts";
import { parseRate } from "../base/rate.ts";
import { parseReflectGuard } from "../base/reflect.ts";
import { parseInteger } from "./args.ts";

/** The flags of the limits. */
export const LIMIT_FLAGS = {
  allow: { type: "string", multiple: true },
  deny: { type: "string", multiple: true },
  "max-per-ip": { type: "string" },
  rate: { type: "string" },
  "max-bytes": { type: "string" },
  "reflect-guard": { type: "string" },
} as const;

/** The usage paragraph of the limits. */
export const LIMIT_USAGE = `
Access control and limits (checked before a byte is read or echoed; each refusal is a
"reject" line (udp: a "drop" line with -v) and is counted by reason in the summary):
  --allow CIDR        serve only these sources (repeatable; 10.0.0.0/8, 2001:db8::/32,
                      an address alone; IPv4-mapped IPv6 peers match as IPv4)
  --deny CIDR         never serve these sources (repeatable; deny wins over allow)
  --max-per-ip N      tcp, sctp: connections (associations) at once from one source
                      address
  --rate R[/s]        tcp connections, udp datagrams or sctp associations a second from
                      one source address (a token bucket of R); beyond it they are
                      refused/dropped
  --max-bytes N       tcp: echo at most N bytes per connection; after the N-th, send FIN,
                      read and drop what the peer still sends until it closes, is quiet
                      for 100ms or 2s pass, then close ("max-bytes"; the close line counts
                      the bytes dropped; meanwhile it keeps its --max-conns place)
  --reflect-guard LIST|off  udp: never answer datagrams from these source ports
                      (default: 7,13,17,19,37,53,111,123,137-138,161,389,1900,5353,11211
                      and the server's own port; "default,PORT" adds to it), from port 0
                      or from a broadcast or multicast address
`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function cidrs(flag: string, given: unknown): Cidr[] {
  if (given === undefined) return [];
  return (given as string[]).map((t) => {
    const c = parseCidr(t);
    if (!c) {
      throw new UsageError(
        `invalid ${flag} "${t}": must be an IP address or prefix (10.0.0.0/8, 2001:db8::/32)`,
      );
    }
    return c;
  });
}

/**
 * Parses the limits of a `proto` server. Without `--reflect-guard` a UDP server uses the
 * default guard (the engines apply it), so it is absent here.
 *
 * @example
 * ```ts
 * import { parseLimits } from "./limit_flags.ts";
 * parseLimits("tcp", { "max-per-ip": "4" }); // { maxPerIp: 4 }
 * ```
 */
export function parseLimits(proto: "tcp" | "udp" | "sctp", v: Values): AdmissionOptions {
  const out: AdmissionOptions = {};
  const allow = cidrs("--allow", v.allow), deny = cidrs("--deny", v.deny);
  if (allow.length || deny.length) out.acl = new AccessList(allow, deny);
  const str = (k: string) => (typeof v[k] === "string" ? v[k] as string : undefined);
  const only = (k: string, protos: readonly string[]) => {
    if (!protos.includes(proto) && v[k] !== undefined) {
      throw new UsageError(`--${k} cannot be used with ${proto}`);
    }
  };
  only("max-per-ip", ["tcp", "sctp"]);
  only("max-bytes", ["tcp"]);
  const perIp = str("max-per-ip"), maxBytes = str("max-bytes"), rate = str("rate");
  if (perIp !== undefined) out.maxPerIp = parseInteger("--max-per-ip", perIp, 1, 1_000_000);
  if (maxBytes !== undefined) out.maxBytes = parseInteger("--max-bytes", maxBytes, 1, 2 ** 53 - 1);
  if (rate !== undefined) out.rate = parseRate("--rate", rate);
  const guard = str("reflect-guard");
  if (proto !== "udp" && guard !== undefined) {
    throw new UsageError(`--reflect-guard cannot be used with ${proto}`);
  }
  if (guard !== undefined) out.reflect = parseReflectGuard("--reflect-guard", guard);
  return out;
}

/** The limit flags given, as typed (`--allow`), for conflicts with other flags. */
export function limitFlagsGiven(v: Values): string[] {
  return Object.keys(LIMIT_FLAGS).filter((k) => v[k] !== undefined).map((k) => `--${k}`);
}

/** The first inetd flag given (`--exec`, `--sh-exec`, `--service`, `--tls`), if any. */
export function inetdFlagGiven(v: Values): string | undefined {
  const k = ["exec", "sh-exec", "service", "tls"].find((k) => v[k] !== undefined);
  return k === undefined ? undefined : `--${k}`;
}
