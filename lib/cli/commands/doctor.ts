/**
 * `sockbox doctor`: check the environment sockbox runs in and say what to fix.
 *
 * @module
 */
import { noExtra, parseFlags } from "../args.ts";
import { type CheckResult, runChecks } from "../../sys/doctor.ts";
import { type Io, Reporter } from "../output.ts";
import { command, type CommandModule } from "../command.ts";

/** One line for `sockbox help`. */
export const summary = "check this host for what sockets tests need (SCTP, IPv6, limits)";

/** The full help text. */
export const usage = `Usage: sockbox doctor [--json]

Check what a socket test on this host depends on, one line per check with its status
(ok, warn or fail), what was found and, when something is off, a one-line hint:
  sockbox              its version, the Deno version, the target triple, and whether it
                       runs as a compiled binary, the bundle or from source
  permission.*         the Deno permissions sockbox needs (net, ffi: fail; sys, env: warn)
  unstable-net         Deno.listenDatagram available (UDP, multicast)
  sctp                 kernel SCTP: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)
  ipv6, bindv6only     IPv6 enabled; whether [::] sockets also accept IPv4
  multicast, broadcast interfaces that are UP with MULTICAST / BROADCAST
  rp_filter            reverse-path filtering (strict mode warns)
  igmp_max_memberships IPv4 multicast groups per socket (warn below 20)
  somaxconn            listen backlog limit (warn below 511)
  ip_local_port_range  ephemeral ports (warn below 10000)
  nofile               open-file limit, soft and hard (warn below 4096)
Values are read from /proc/sys through libc.

Options:
  --json      one JSON object per check: {"event":"check","name","status","detail",
              "hint","value"}, then {"event":"summary","ok","warn","fail"}
  -h, --help  show this help

Exit status: 0 when no check failed (warnings included), 1 when one failed.
`;

/** Parsed `doctor` options. */
export interface DoctorOptions {
  json: boolean;
}

const FLAGS = { json: { type: "boolean" } } as const;

/** Parses `doctor` arguments (pure). */
export function parse(args: string[]): DoctorOptions {
  const { values, positionals } = parseFlags(args, FLAGS);
  noExtra(positionals, 0);
  return { json: values.json ?? false };
}

/** Runs `doctor`. */
export function run(opts: DoctorOptions, io: Io): Promise<number> {
  const out = new Reporter(io, { json: opts.json });
  const checks = runChecks();
  const width = Math.max(...checks.map((c) => c.name.length));
  const styles = { ok: "green", warn: "yellow", fail: "red" } as const;
  for (const c of checks) {
    out.emit({ event: "check", ...c }, (e: CheckResult) => {
      const status = out.style(styles[e.status], e.status.padEnd(4));
      return `${status}  ${e.name.padEnd(width)}  ${e.detail}${
        e.hint ? `  (hint: ${e.hint})` : ""
      }`;
    });
  }
  const count = (s: string) => checks.filter((c) => c.status === s).length;
  const summary = { event: "summary", ok: count("ok"), warn: count("warn"), fail: count("fail") };
  out.emit(summary, `${summary.ok} ok, ${summary.warn} warnings, ${summary.fail} failed`);
  return Promise.resolve(summary.fail > 0 ? 1 : 0);
}

/** `doctor`, as the command table holds it. */
export const cmd = command(
  { summary, usage, flags: FLAGS, parse, run } satisfies CommandModule<DoctorOptions>,
);
