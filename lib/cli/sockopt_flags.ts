/**
 * The command-line side of socket options, shared by `serve tcp|udp` and `send`/`ping`
 * (tcp, udp): the flags, the usage paragraph, and a pure parser whose `UsageError`s name
 * the option and the protocol where it does not apply. Applying them is
 * lib/net/sockopt/'s.
 *
 * @module
 */
import { UsageError } from "../base/errors.ts";
import { ipFamily, stripBrackets } from "../base/ip.ts";
import { parseTos } from "../base/tos.ts";
import type { ClientSocketOptions, SockoptProto, SockoptRequest } from "../net/sockopt/sockopt.ts";
import { SOCKOPTS } from "../net/sockopt/sockopt.ts";
import { parseInteger } from "./args.ts";

/** The socket option flags (servers and clients). */
export const SOCKOPT_FLAGS = {
  nodelay: { type: "boolean" },
  "no-nodelay": { type: "boolean" },
  keepalive: { type: "string" },
  rcvbuf: { type: "string" },
  sndbuf: { type: "string" },
  ttl: { type: "string" },
  tos: { type: "string" },
  reuseaddr: { type: "boolean" },
  reuseport: { type: "boolean" },
  linger: { type: "string" },
  mss: { type: "string" },
  v6only: { type: "boolean" },
} as const;

/** The client's source address flag. */
export const BIND_FLAG = { bind: { type: "string" } } as const;

/** The usage paragraph of the socket options. */
export const SOCKOPT_USAGE = `
Socket options (socket(7), ip(7), ipv6(7), tcp(7); the JSON "listening"/"connected" event
carries them as getsockopt(2) reads them back, -v prints them):
  --nodelay, --no-nodelay   tcp: TCP_NODELAY on or off
  --keepalive IDLE[,INTVL,CNT]  tcp: keepalive probes after IDLE seconds idle, every
                      INTVL seconds, CNT unanswered ones drop the connection
  --rcvbuf BYTES, --sndbuf BYTES  SO_RCVBUF / SO_SNDBUF (the kernel doubles the value
                      and caps it at net.core.rmem_max / wmem_max)
  --ttl N             tcp, udp: unicast TTL (IPv6: hop limit), 1-255
  --tos VALUE         IPv4 TOS / IPv6 traffic class: 0-255, 0xNN, lowdelay, throughput,
                      reliability, mincost, or a DSCP name: ef, af11-af43, cs0-cs7
  --reuseaddr, --reuseport  SO_REUSEADDR / SO_REUSEPORT: servers set them once bound,
                      so later sockets may share the port; clients need --bind
  --linger SECS       tcp: SO_LINGER; close waits SECS for unsent data (0: close resets)
  --mss BYTES         tcp: TCP_MAXSEG, 88-32767
  --v6only            servers: IPV6_V6ONLY before bind (not with --engine deno)
`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const str = (v: Values, k: string) => (typeof v[k] === "string" ? v[k] as string : undefined);

/**
 * Parses `--keepalive IDLE[,INTVL,CNT]` (seconds, seconds, probes; tcp(7) bounds:
 * TCP_KEEPIDLE and TCP_KEEPINTVL 1-32767, TCP_KEEPCNT 1-127).
 *
 * @example
 * ```ts
 * import { parseKeepalive } from "./sockopt_flags.ts";
 * parseKeepalive("60,10,5"); // { idle: 60, interval: 10, count: 5 }
 * ```
 */
export function parseKeepalive(
  value: string,
): { idle: number; interval?: number; count?: number } {
  const m = /^(\d{1,5})(?:,(\d{1,5})(?:,(\d{1,3}))?)?$/.exec(value);
  const idle = Number(m?.[1]), interval = m?.[2], count = m?.[3];
  const within = (x: string | undefined, max: number) =>
    x === undefined || (Number(x) >= 1 && Number(x) <= max);
  if (!m || !within(m[1], 32767) || !within(interval, 32767) || !within(count, 127)) {
    throw new UsageError(
      `invalid --keepalive "${value}": must be IDLE[,INTVL,CNT] (seconds 1-32767, seconds ` +
        `1-32767, probes 1-127)`,
    );
  }
  return {
    idle,
    ...(interval !== undefined ? { interval: Number(interval) } : {}),
    ...(count !== undefined ? { count: Number(count) } : {}),
  };
}

/**
 * Parses a client's `--bind ADDR[:PORT]` (`127.0.0.2`, `127.0.0.2:5000`, `[::1]:5000`,
 * `::1`): an IP literal, and a source port (0, or absent: the kernel picks one).
 *
 * @example
 * ```ts
 * import { parseBind } from "./sockopt_flags.ts";
 * parseBind("[::1]:5000"); // { address: "::1", port: 5000 }
 * ```
 */
export function parseBind(value: string): { address: string; port: number } {
  let host = value, port = "0";
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  if (m) [host, port] = [m[1]!, m[2] ?? "0"];
  host = stripBrackets(host);
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (ipFamily(host) === 0 || host.includes("%") || !(n >= 0 && n <= 65535)) {
    throw new UsageError(
      `invalid --bind "${value}": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)`,
    );
  }
  return { address: host, port: n };
}

/**
 * Parses the socket option flags of a `proto` `role` ("server" or "client"); null when
 * none is given. An option that does not apply is `--nodelay cannot be used with udp`.
 *
 * @example
 * ```ts
 * import { parseSockopts } from "./sockopt_flags.ts";
 * parseSockopts("tcp", "server", { tos: "ef", nodelay: true }); // { nodelay: true, tos: 184 }
 * ```
 */
export function parseSockopts(
  proto: SockoptProto,
  role: "server" | "client",
  v: Values,
): SockoptRequest | null {
  const given = Object.keys(SOCKOPT_FLAGS).filter((k) => v[k] !== undefined);
  if (given.length === 0) return null;
  for (const k of given) {
    const flag = `--${k}`;
    if (!SOCKOPTS[flag]!.protos.includes(proto)) {
      throw new UsageError(`${flag} cannot be used with ${proto}`);
    }
    if (role === "client" && (k === "v6only" || k === "reuseport" || k === "reuseaddr")) {
      if (k === "v6only" || v.bind === undefined) {
        throw new UsageError(
          k === "v6only" ? "--v6only cannot be used with a client" : `${flag} needs --bind`,
        );
      }
    }
  }
  if (v.nodelay && v["no-nodelay"]) {
    throw new UsageError("--nodelay cannot be used with --no-nodelay");
  }
  const req: SockoptRequest = {};
  if (v.nodelay) req.nodelay = true;
  if (v["no-nodelay"]) req.nodelay = false;
  const keepalive = str(v, "keepalive");
  if (keepalive !== undefined) req.keepalive = parseKeepalive(keepalive);
  const int = (k: string, min: number, max: number) => {
    const s = str(v, k);
    return s === undefined ? undefined : parseInteger(`--${k}`, s, min, max);
  };
  const rcvbuf = int("rcvbuf", 1, 2 ** 31 - 1), sndbuf = int("sndbuf", 1, 2 ** 31 - 1);
  const ttl = int("ttl", 1, 255), linger = int("linger", 0, 65535), mss = int("mss", 88, 32767);
  if (rcvbuf !== undefined) req.rcvbuf = rcvbuf;
  if (sndbuf !== undefined) req.sndbuf = sndbuf;
  if (ttl !== undefined) req.ttl = ttl;
  const tos = str(v, "tos");
  if (tos !== undefined) req.tos = parseTos("--tos", tos);
  if (v.reuseaddr) req.reuseaddr = true;
  if (v.reuseport) req.reuseport = true;
  if (linger !== undefined) req.linger = linger;
  if (mss !== undefined) req.mss = mss;
  if (v.v6only) req.v6only = true;
  return req;
}

/**
 * Parses the socket options of `serve tcp|udp` and checks them against the rest of the
 * command line: the inetd flags (served elsewhere) take none, `--v6only` needs an IPv6
 * socket that is not yet bound (so not `-4`, an IPv4 `--host` or `--engine deno`).
 */
export function parseServeSockopts(proto: "tcp" | "udp", v: Values): SockoptRequest | null {
  const req = parseSockopts(proto, "server", v);
  if (!req) return null;
  const first = `--${Object.keys(SOCKOPT_FLAGS).find((k) => v[k] !== undefined)}`;
  for (const k of ["exec", "sh-exec", "service", "tls"]) {
    if (v[k] !== undefined) throw new UsageError(`${first} cannot be used with --${k}`);
  }
  if (req.v6only) {
    if (v["4"]) throw new UsageError("--v6only cannot be used with -4");
    const host = str(v, "host");
    if (host !== undefined && ipFamily(stripBrackets(host)) === 4) {
      throw new UsageError("--v6only cannot be used with an IPv4 --host");
    }
    if (v.engine === "deno") throw new UsageError("--v6only cannot be used with --engine deno");
  }
  return req;
}

/** The usage paragraph of a client's `--bind`. */
export const BIND_USAGE =
  `  --bind ADDR[:PORT]  bind(2) the socket to source address ADDR (an IP address of this
                      host; IPv6 as [ADDR]:PORT) and PORT (default 0: the kernel picks
                      one) before connecting; HOST's addresses of ADDR's family only.
                      A busy PORT fails: "bind EADDRINUSE ADDR:PORT"; so does one an
                      earlier connection left in TIME_WAIT, unless both had --reuseaddr
`;

/**
 * Parses a client's `--bind` and socket option flags (`send`, `ping`) against its HOST
 * and `-4`/`-6`: `--bind`'s family must be HOST's (an IP literal) and the one `-4`/`-6`
 * asks for. Resolves to the socket setup (undefined when none is asked for) and the
 * family to resolve HOST in (`--bind`'s, else `family`). A setup always asks for every
 * option to be read back (the `connected` event carries them); `readBack` (`-v`) gives
 * one even when no flag asks for any.
 *
 * @example
 * ```ts
 * import { parseClientSocket } from "./sockopt_flags.ts";
 * parseClientSocket("udp", { bind: "[::1]:5000", ttl: "7" }, "localhost", undefined);
 * // { socket: { readBack: true, bind: { address: "::1", port: 5000 }, sockopts: { ttl: 7 } },
 * //   family: 6 }
 * ```
 */
export function parseClientSocket(
  proto: SockoptProto,
  v: Values,
  host: string | undefined,
  family: 4 | 6 | undefined,
  readBack = false,
): { socket?: ClientSocketOptions; family?: 4 | 6 } {
  const sockopts = parseSockopts(proto, "client", v);
  const bindValue = str(v, "bind");
  const bind = bindValue === undefined ? undefined : parseBind(bindValue);
  let fam = family;
  if (bind) {
    const bf = ipFamily(bind.address) as 4 | 6;
    const named = `--bind ${bindValue} (IPv${bf})`;
    if (family !== undefined && family !== bf) {
      throw new UsageError(`${named} cannot be used with -${family}`);
    }
    const literal = host === undefined ? 0 : ipFamily(stripBrackets(host).split("%")[0]!);
    if (literal !== 0 && literal !== bf) {
      throw new UsageError(`${named} cannot be used with an IPv${literal} HOST (${host})`);
    }
    fam = bf;
  }
  const socket: ClientSocketOptions = { readBack: true };
  if (bind) socket.bind = bind;
  if (sockopts) socket.sockopts = sockopts;
  return {
    ...(bind || sockopts || readBack ? { socket } : {}),
    ...(fam !== undefined ? { family: fam } : {}),
  };
}

/**
 * The first client socket flag given, as typed (`--bind`, `--ttl`), for a usage error
 * where none of them applies (`--ttl cannot be used with --tls`); undefined when none is.
 */
export function firstClientSocketFlag(v: Values): string | undefined {
  const k = ["bind", ...Object.keys(SOCKOPT_FLAGS)].find((k) => v[k] !== undefined);
  return k === undefined ? undefined : `--${k}`;
}
