/**
 * Environment checks for "why doesn't X work here": kernel SCTP, IPv6 and bindv6only,
 * multicast/broadcast-capable interfaces, rp_filter, igmp_max_memberships, somaxconn,
 * the local port range, the open-file limit, and the permissions sockbox needs. Each
 * check gives a status (ok, warn, fail), what it found and a one-line hint.
 *
 * @module
 */
import { SysError } from "../base/errors.ts";
import { IPPROTO_SCTP, SOCK_DGRAM, SOCK_STREAM } from "../ffi/constants.ts";
import { Socket } from "../ffi/socket.ts";
import { openFileLimit, readSmallFile } from "../ffi/sysinfo.ts";
import { listInterfaces } from "./interfaces.ts";
import { buildInfo, buildText } from "./build.ts";

/** How a check came out. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One doctor check. */
export interface CheckResult {
  /** Short identifier, e.g. "sctp", "ipv6", "rp_filter". */
  name: string;
  /** ok, warn or fail. */
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it, in one line (present for warn/fail, sometimes for ok). */
  hint?: string;
  /** The raw value read, when there is one (number, string or list). */
  value?: unknown;
}

function result(
  name: string,
  status: CheckStatus,
  detail: string,
  hint?: string,
  value?: unknown,
): CheckResult {
  const r: CheckResult = { name, status, detail };
  if (hint !== undefined) r.hint = hint;
  if (value !== undefined) r.value = value;
  return r;
}

/** Reads a sysctl through /proc/sys (`net.core.somaxconn`); null when absent. */
export function readSysctl(key: string): string | null {
  try {
    return new TextDecoder().decode(readSmallFile(`/proc/sys/${key.replaceAll(".", "/")}`))
      .trim();
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") return null;
    throw e;
  }
}

/** The errno name of a failed probe; permission errors propagate (reported as fail). */
function errCode(err: unknown): string {
  if ((err as Error)?.name === "NotCapable") throw err;
  return err instanceof SysError ? err.code : (err as Error)?.name ?? String(err);
}

/** Whether this process may use each Deno permission sockbox needs. */
export function checkPermissions(): CheckResult[] {
  const need: [Deno.PermissionDescriptor, string, CheckStatus, string][] = [
    [{ name: "net" }, "net", "fail", "sockets: run with --allow-net (deno task start grants it)"],
    [{ name: "ffi" }, "ffi", "fail", "libc (SCTP, ioctl, resolver): run with --allow-ffi"],
    [{ name: "sys" }, "sys", "warn", "host information: run with --allow-sys"],
    [{ name: "env" }, "env", "warn", "NO_COLOR and friends: run with --allow-env"],
  ];
  const out = need.map(([desc, label, bad, hint]) => {
    const state = Deno.permissions.querySync(desc).state;
    return state === "granted"
      ? result(`permission.${label}`, "ok", `--allow-${label} granted`, undefined, state)
      : result(`permission.${label}`, bad, `--allow-${label} is ${state}`, hint, state);
  });
  const unstable = typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
  out.push(
    unstable
      ? result("unstable-net", "ok", "Deno.listenDatagram available (UDP, multicast)")
      : result(
        "unstable-net",
        "fail",
        "Deno.listenDatagram is missing",
        'UDP needs --unstable-net (deno.json "unstable": ["net"])',
      ),
  );
  return out;
}

/** Probes kernel SCTP with socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP). */
export function checkSctp(): CheckResult {
  try {
    Socket.open(4, SOCK_STREAM, IPPROTO_SCTP).close();
    return result("sctp", "ok", "kernel SCTP available");
  } catch (err) {
    const code = errCode(err);
    if (code === "EPROTONOSUPPORT" || code === "ESOCKTNOSUPPORT") {
      return result(
        "sctp",
        "warn",
        `socket(IPPROTO_SCTP) failed: ${code}`,
        "load the module: modprobe sctp (or run SCTP tests inside user-mode Linux)",
        code,
      );
    }
    return result(
      "sctp",
      "warn",
      `socket(IPPROTO_SCTP) failed: ${code}`,
      "check seccomp or container limits",
      code,
    );
  }
}

/** IPv6: enabled (disable_ipv6, an AF_INET6 socket) and bindv6only. */
export function checkIpv6(): CheckResult[] {
  const disabled = readSysctl("net.ipv6.conf.all.disable_ipv6");
  let socketOk = true, code = "";
  try {
    Socket.open(6, SOCK_DGRAM).close();
  } catch (err) {
    socketOk = false;
    code = errCode(err);
  }
  const out: CheckResult[] = [];
  if (disabled === null || !socketOk) {
    out.push(result(
      "ipv6",
      "warn",
      `IPv6 is not available${code ? ` (socket(AF_INET6) ${code})` : ""}`,
      "the kernel has no IPv6 (ipv6.disable=1?); -6 tests will fail",
    ));
    return out;
  }
  out.push(
    disabled === "0" ? result("ipv6", "ok", "IPv6 enabled", undefined, 0) : result(
      "ipv6",
      "warn",
      "IPv6 disabled on all interfaces",
      "sysctl -w net.ipv6.conf.all.disable_ipv6=0",
      Number(disabled),
    ),
  );
  const v6only = readSysctl("net.ipv6.bindv6only");
  if (v6only !== null) {
    out.push(
      v6only === "0"
        ? result("bindv6only", "ok", "[::] sockets also accept IPv4 (dual stack)", undefined, 0)
        : result(
          "bindv6only",
          "warn",
          "[::] sockets accept IPv6 only",
          "listen on 0.0.0.0 as well, or sysctl -w net.ipv6.bindv6only=0",
          Number(v6only),
        ),
    );
  }
  return out;
}

/** Interfaces that are UP with MULTICAST, and with BROADCAST. */
export function checkInterfaces(): CheckResult[] {
  const list = listInterfaces().filter((i) => i.flags.includes("UP"));
  const mc = list.filter((i) => i.flags.includes("MULTICAST")).map((i) => i.name);
  const bc = list.filter((i) => i.flags.includes("BROADCAST")).map((i) => i.name);
  return [
    mc.length > 0
      ? result("multicast", "ok", `UP with MULTICAST: ${mc.join(", ")}`, undefined, mc)
      : result(
        "multicast",
        "warn",
        "no interface is UP with MULTICAST (lo has no MULTICAST flag)",
        "multicast needs such an interface: ip link set lo multicast on, or a veth pair",
        mc,
      ),
    bc.length > 0
      ? result("broadcast", "ok", `UP with BROADCAST: ${bc.join(", ")}`, undefined, bc)
      : result(
        "broadcast",
        "warn",
        "no interface is UP with BROADCAST",
        "broadcast tests can still use 127.255.255.255 on lo",
        bc,
      ),
  ];
}

/** Reverse-path filtering (all and default): strict mode drops asymmetric/multicast traffic. */
export function checkRpFilter(): CheckResult {
  const all = Number(readSysctl("net.ipv4.conf.all.rp_filter") ?? "0");
  const def = Number(readSysctl("net.ipv4.conf.default.rp_filter") ?? "0");
  // The kernel uses max(all, interface) for each interface.
  const eff = Math.max(all, def);
  const names = ["off", "strict", "loose"];
  const detail = `rp_filter all=${all} default=${def} (${names[eff] ?? eff})`;
  return eff === 1
    ? result(
      "rp_filter",
      "warn",
      detail,
      "strict mode drops packets arriving on an unexpected interface (multicast, asymmetric routes): sysctl -w net.ipv4.conf.all.rp_filter=2",
      { all, default: def },
    )
    : result("rp_filter", "ok", detail, undefined, { all, default: def });
}

/** Numeric sysctls with a lower bound below which sockbox tests suffer. */
export function checkLimits(): CheckResult[] {
  const out: CheckResult[] = [];
  const igmp = readSysctl("net.ipv4.igmp_max_memberships");
  if (igmp !== null) {
    const n = Number(igmp);
    out.push(
      n >= 20
        ? result("igmp_max_memberships", "ok", `${n} IPv4 groups per socket`, undefined, n)
        : result(
          "igmp_max_memberships",
          "warn",
          `only ${n} IPv4 groups per socket`,
          "sysctl -w net.ipv4.igmp_max_memberships=20 (or more)",
          n,
        ),
    );
  }
  const somax = readSysctl("net.core.somaxconn");
  if (somax !== null) {
    const n = Number(somax);
    out.push(
      n >= 511 ? result("somaxconn", "ok", `listen backlog up to ${n}`, undefined, n) : result(
        "somaxconn",
        "warn",
        `listen backlog capped at ${n}`,
        "connection bursts may be refused: sysctl -w net.core.somaxconn=4096",
        n,
      ),
    );
  }
  const range = readSysctl("net.ipv4.ip_local_port_range");
  if (range !== null) {
    const [lo, hi] = range.split(/\s+/).map(Number) as [number, number];
    const count = hi - lo + 1;
    out.push(
      count >= 10000
        ? result("ip_local_port_range", "ok", `${lo}-${hi} (${count} ephemeral ports)`, undefined, [
          lo,
          hi,
        ])
        : result(
          "ip_local_port_range",
          "warn",
          `${lo}-${hi}: only ${count} ephemeral ports`,
          'many short connections may fail with EADDRNOTAVAIL: sysctl -w net.ipv4.ip_local_port_range="32768 60999"',
          [lo, hi],
        ),
    );
  }
  const lim = openFileLimit();
  const fmt = (n: number) => (n === Infinity ? "unlimited" : String(n));
  const detail = `open files: soft ${fmt(lim.soft)}, hard ${fmt(lim.hard)}`;
  const value = {
    soft: lim.soft === Infinity ? null : lim.soft,
    hard: lim.hard === Infinity ? null : lim.hard,
  };
  out.push(
    lim.soft >= 4096 ? result("nofile", "ok", detail, undefined, value) : result(
      "nofile",
      "warn",
      detail,
      `many connections will hit EMFILE: ulimit -n ${fmt(Math.min(lim.hard, 65536))}`,
      value,
    ),
  );
  return out;
}

/**
 * Runs every check. Permission checks come first; when FFI is not allowed the checks that
 * need libc report `fail` with a hint instead of throwing.
 *
 * @example
 * ```ts
 * import { runChecks } from "./doctor.ts";
 * for (const c of runChecks()) if (c.status !== "ok") console.log(c.name, c.detail, c.hint);
 * ```
 */
export function runChecks(): CheckResult[] {
  const build = buildInfo();
  const out = [result("sockbox", "ok", buildText(build), undefined, build), ...checkPermissions()];
  const groups: [string, () => CheckResult | CheckResult[]][] = [
    ["sctp", checkSctp],
    ["ipv6", checkIpv6],
    ["interfaces", checkInterfaces],
    ["rp_filter", checkRpFilter],
    ["limits", checkLimits],
  ];
  for (const [name, fn] of groups) {
    try {
      const r = fn();
      out.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      const e = err as Error;
      out.push(
        e?.name === "NotCapable"
          ? result(name, "fail", "cannot use libc", "run with --allow-ffi")
          : result(name, "fail", `check failed: ${e?.message ?? String(err)}`),
      );
    }
  }
  return out;
}
