/**
 * sockbox: one binary to test sockets. This file parses the global flags, looks the
 * subcommand up in {@link COMMANDS}, runs it, and turns the result into an exit code.
 *
 * @module
 */
import { RuntimeError, SysError, UsageError } from "./lib/base/errors.ts";
import type { Io } from "./lib/cli/output.ts";
/** Interim shape of a command module (to be replaced by lib/cli/command.ts's Command). */
interface AnyCommand {
  summary: string;
  usage: string;
  parse(args: string[]): unknown;
  run(options: never, io: Io): Promise<number>;
}
import { VERSION } from "./lib/base/version.ts";
export { VERSION };

/**
 * Every subcommand, by name. Modules load on demand, so a command pays start-up time only
 * for its own code.
 */
export const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  serve: () => import("./lib/cli/commands/serve.ts"),
  send: () => import("./lib/cli/commands/send.ts"),
  ping: () => import("./lib/cli/commands/ping.ts"),
  mcast: () => import("./lib/cli/commands/mcast.ts"),
  beacon: () => import("./lib/cli/commands/beacon.ts"),
  hosts: () => import("./lib/cli/commands/hosts.ts"),
  ifaces: () => import("./lib/cli/commands/ifaces.ts"),
  resolve: () => import("./lib/cli/commands/resolve.ts"),
  doctor: () => import("./lib/cli/commands/doctor.ts"),
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

Commands:
${lines.join("\n")}

Exit status: 0 success, 1 runtime failure, 2 usage error.
`;
}

const enc = new TextEncoder();

/** Runs sockbox with `args` and returns the exit code; `io` carries the streams and signal. */
export async function main(args: string[], io: Io): Promise<number> {
  const out = (s: string) => io.stdout.write(enc.encode(s));
  const err = (s: string) => io.stderr.write(enc.encode(`sockbox: ${s}\n`));
  try {
    const [name, ...rest] = args;
    if (name === undefined || name === "-h" || name === "--help") {
      await out(await usage());
      return name === undefined ? 2 : 0;
    }
    if (name === "-V" || name === "--version") {
      await out(`sockbox ${VERSION}\n`);
      return 0;
    }
    if (name === "help") {
      const topic = rest[0];
      if (topic === undefined) {
        await out(await usage());
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
    const options = cmd.parse(rest);
    return await cmd.run(options as never, io);
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
    if (x?.name === "NotCapable") {
      await err(`missing permission: ${x.message}`);
      return 1;
    }
    await err(`internal error: ${x?.message ?? String(e)}`);
    if (Deno.env.get("SOCKBOX_DEBUG")) console.error(e);
    return 1;
  }
}

if (import.meta.main) {
  const ac = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130);
    ac.abort();
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  const code = await main(Deno.args, {
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    stdin: Deno.stdin.readable,
    signal: ac.signal,
    isTerminal: Deno.stdout.isTerminal(),
  });
  Deno.exit(code);
}
