/**
 * One exec child: a program started with `Deno.Command` in a session of its own
 * (`detached`, setsid(2)), so that it and anything it starts form one process group
 * that can be signalled together, and it has no controlling terminal, as under inetd.
 * Its stdin and stdout are pipes the engine connects to the socket; its stderr is split
 * into lines for the engine to report. Only the three pipes are passed on: every socket
 * sockbox opens is close-on-exec (Deno's own, and the FFI layer's SOCK_CLOEXEC).
 *
 * @module
 */

/** Longest stderr line reported as one; longer lines are cut into pieces of this size. */
const MAX_LINE = 4096;

/** How a child ended. */
export interface ChildExit {
  /** The exit status, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
}

/** A running exec child. */
export interface ExecChild {
  pid: number;
  /** The child's standard input. */
  stdin: WritableStream<Uint8Array>;
  /** The child's standard output. */
  stdout: ReadableStream<Uint8Array>;
  /** Resolves when the program has exited. */
  exited: Promise<ChildExit>;
  /** Whether it has exited. */
  readonly done: boolean;
  /**
   * Ends the process group: SIGTERM, then SIGKILL if the program is still running after
   * `graceMs`. Resolves once the program has exited.
   */
  terminate(graceMs: number): Promise<ChildExit>;
}

/** Sends `signal` to process group `pgid`; false if the group is gone. */
function killGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `argv` (argv[0] a resolved path) with `env` added to the environment. Throws
 * if the program cannot be started. Each complete stderr line goes to `onStderr`.
 * When the program exits, whatever it left running in its process group is ended too
 * (SIGTERM, SIGKILL after `graceMs`), so no orphan outlives its connection.
 */
export function spawnChild(
  argv: string[],
  env: Record<string, string>,
  onStderr: (line: string) => void,
  graceMs: number,
): ExecChild {
  const proc = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const pid = proc.pid;
  let done = false;
  const exited = proc.status.then((st): ChildExit => {
    done = true;
    // Leftovers in the group (a background job of a shell): end them as well.
    if (killGroup(pid, "SIGTERM")) {
      const t = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      Deno.unrefTimer(t);
    }
    return st.signal ? { code: null, signal: st.signal } : { code: st.code, signal: null };
  });
  void readLines(proc.stderr, onStderr);
  return {
    pid,
    stdin: proc.stdin,
    stdout: proc.stdout,
    exited,
    get done() {
      return done;
    },
    terminate: async (ms: number) => {
      if (!done) {
        killGroup(pid, "SIGTERM");
        const t = setTimeout(() => killGroup(pid, "SIGKILL"), ms);
        try {
          return await exited;
        } finally {
          clearTimeout(t);
        }
      }
      return await exited;
    },
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0 || buf.length >= MAX_LINE) {
        const cut = i >= 0 && i < MAX_LINE ? i : MAX_LINE;
        onLine(buf.slice(0, cut).replace(/\r$/, ""));
        buf = buf.slice(i >= 0 && i < MAX_LINE ? cut + 1 : cut);
      }
    }
  } catch { /* the pipe broke: the child is gone */ }
  buf += dec.decode();
  if (buf) onLine(buf);
}
