/**
 * sockbox: one binary to test sockets. This file parses the global flags, looks the
 * subcommand up in {@link COMMANDS}, runs it, and turns the result into an exit code.
 *
 * @module
 */
import { RuntimeError, SysError, UsageError } from "./lib/base/errors.ts";
import type { Command } from "./lib/cli/command.ts";
import { denoCapabilityError, type Io, signalExitCode, writeAll } from "./lib/cli/output.ts";
import { VERSION } from "./lib/base/version.ts";
import { buildInfo, versionText } from "./lib/sys/build.ts";
export { VERSION };

/**
 * Every subcommand, by name (iproute2's `cmds[]`). Each command file exports its
 * {@link Command} as `cmd`; modules load on demand, so a command pays start-up time only
 * for its own code.
 */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./lib/cli/commands/serve.ts")).cmd,
  send: async () => (await import("./lib/cli/commands/send.ts")).cmd,
  ping: async () => (await import("./lib/cli/commands/ping.ts")).cmd,
  bench: async () => (await import("./lib/cli/commands/bench.ts")).cmd,
  mcast: async () => (await import("./lib/cli/commands/mcast.ts")).cmd,
  beacon: async () => (await import("./lib/cli/commands/beacon.ts")).cmd,
  hosts: async () => (await import("./lib/cli/commands/hosts.ts")).cmd,
  ifaces: async () => (await import("./lib/cli/commands/ifaces.ts")).cmd,
  resolve: async () => (await import("./lib/cli/commands/resolve.ts")).cmd,
  doctor: async () => (await import("./lib/cli/commands/doctor.ts")).cmd,
  check: async () => (await import("./lib/cli/commands/check.ts")).cmd,
  completions: async () =>
    (await import("./lib/cli/commands/completions.ts")).completions(COMMANDS),
};

/** The top-level help text. */
export async function usage(): Promise<string> {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = await Promise.all(
    Object.entries(COMMANDS).map(async ([n, load]) =>
      `  ${n.padEnd(width)}  ${(await load()).summary}`
    ),
  );
  return `sockbox ${VERSION}: test sockets from one binary

Usage: sockbox COMMAND [ARGS...]
       sockbox help [COMMAND] | sockbox COMMAND --help | sockbox --version
       sockbox help --man | man -l -     (all of the help as a manual page)

Commands:
${lines.join("\n")}

Exit status: 0 success, 1 runtime failure, 2 usage error; a client stopped by SIGINT or
SIGTERM before it finished exits 130 or 143 (128 + the signal's number).
`;
}

const enc = new TextEncoder();

/** Runs sockbox with `args` and returns the exit code; `io` carries the streams and signal. */
export async function main(args: string[], io: Io): Promise<number> {
  const out = (s: string) => writeAll(io.stdout, enc.encode(s));
  const err = (s: string) => writeAll(io.stderr, enc.encode(`sockbox: ${s}\n`), "stderr");
  try {
    const [name, ...rest] = args;
    if (name === undefined) {
      // Nothing asked: the help is a diagnostic here, so it goes to stderr (exit 2).
      await writeAll(io.stderr, enc.encode(await usage()), "stderr");
      return 2;
    }
    if (name === "-h" || name === "--help") {
      await out(await usage());
      return 0;
    }
    if (name === "-V" || name === "--version") {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      await out(`${versionText(buildInfo())}\n`);
      return 0;
    }
    if (name === "help") {
      const topic = rest[0];
      if (topic === undefined) {
        await out(await usage());
        return 0;
      }
      if (topic === "--man") {
        const { manPage } = await import("./lib/cli/man.ts");
        await out(await manPage(await usage(), COMMANDS, buildInfo()));
        return 0;
      }
      const load = COMMANDS[topic];
      if (!load) throw new UsageError(`unknown command "${topic}" (try "sockbox help")`);
      await out((await load()).usage);
      return 0;
    }
    if (name.startsWith("-")) throw new UsageError(`unknown option "${name}" (try "sockbox help")`);
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command "${name}" (try "sockbox help")`);
    const cmd = await load();
    if (rest.includes("--help") || rest.includes("-h")) {
      await out(cmd.usage);
      return 0;
    }
    return await cmd.exec(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      await err(e.message);
      return 2;
    }
    if (e instanceof SysError || e instanceof RuntimeError) {
      await err(e.message);
      return 1;
    }
    const x = e as Error;
    if (x?.name === "BrokenPipe") return 141; // stdout closed (e.g. `| head`): stop quietly, like SIGPIPE
    const denied = denoCapabilityError(e);
    if (denied?.name === "NotCapable") {
      await err(`missing permission: ${denied.message}`);
      return 1;
    }
    if (denied) {
      await err(denied.message);
      return 1;
    }
    await err(`internal error: ${x?.message ?? String(e)}`);
    if (Deno.env.get("SOCKBOX_DEBUG")) console.error(e);
    return 1;
  }
}

/** A repeat of the first stop signal within this many ms is the same keypress, not a second. */
const DUPLICATE_SIGNAL_MS = 300;

/** The SIGHUP listeners of {@link onHangup}; the OS handler is installed only while any exist. */
const hangups = new Set<() => void>();
const hangup = () => {
  for (const l of [...hangups]) l();
};

/**
 * Io.onHangup: SIGHUP calls `listener` until the returned function is called. SIGHUP is
 * caught only while some command listens (a server), so elsewhere it keeps its default
 * action (signal(7): terminate), as a client's should.
 */
function onHangup(listener: () => void): () => void {
  const l = () => listener(); // one registration per call, even for the same function
  if (hangups.size === 0) Deno.addSignalListener("SIGHUP", hangup);
  hangups.add(l);
  return () => {
    if (!hangups.delete(l) || hangups.size > 0) return;
    Deno.removeSignalListener("SIGHUP", hangup);
  };
}

if (import.meta.main) {
  const ac = new AbortController();
  let first = -Infinity;
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(s, () => {
      // The first asks the command to stop (the abort reason names the signal); a second
      // ends the process at once, with the shell's code for that signal (128 + number).
      // One Ctrl-C can arrive twice: the terminal signals the whole foreground group, and
      // `deno task` forwards what it got to sockbox too; so a repeat of the same signal
      // within DUPLICATE_SIGNAL_MS counts as the same one.
      const now = performance.now();
      if (!ac.signal.aborted) {
        first = now;
        ac.abort(s);
      } else if (ac.signal.reason !== s || now - first >= DUPLICATE_SIGNAL_MS) {
        Deno.exit(signalExitCode(s));
      }
    });
  }
  const code = await main(Deno.args, {
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    // Made on first use: the first Deno.stdin.readable loads the runtime's web streams
    // (several milliseconds), which a server never reads.
    get stdin() {
      return Deno.stdin.readable;
    },
    signal: ac.signal,
    onHangup,
    isTerminal: Deno.stdout.isTerminal(),
  });
  Deno.exit(code);
}
