/**
 * Boots User-Mode Linux on this machine's own filesystem (hostfs, read-write) to run a
 * job with a kernel that has SCTP, for hosts whose kernel has none. Used by
 * tests/sctp_test.ts and scripts/bench_sctp.ts. The boot takes about 2 s; a hard timeout
 * kills the UML process so CI can never hang on it.
 *
 * @module
 */

/**
 * The UML kernel: where Debian's user-mode-linux package installs it, unless
 * `SOCKBOX_UML_KERNEL` names another.
 */
export const UML_KERNEL: string = Deno.env.get("SOCKBOX_UML_KERNEL") ?? "/usr/bin/linux.uml";
const INIT = new URL("./init.sh", import.meta.url).pathname;

/** Why UML cannot be used here, or null when it can. */
export function umlUnavailableReason(): string | null {
  try {
    Deno.statSync(UML_KERNEL);
  } catch {
    return `${UML_KERNEL} is not installed (apt-get install user-mode-linux)`;
  }
  if (Deno.uid() !== 0) return "booting UML with the host filesystem as root needs root";
  return null;
}

/** The result of one UML boot. */
export interface UmlResult {
  /** Exit code of the UML process (0 after a clean power-off). */
  code: number;
  /**
   * Exit status of the job script inside UML (its last command's), as init.sh wrote it to
   * the host filesystem; null when the job never finished (boot failure, crash, timeout).
   */
  jobStatus: number | null;
  /** True when the hard timeout killed it. */
  timedOut: boolean;
  /** Kernel console output (for diagnosing a failed boot). */
  console: string;
  /** Wall-clock time of the whole boot, job and power-off, ms. */
  ms: number;
}

/**
 * Boots UML, runs `job` (a /bin/sh script body) as root inside it with lo up, 127.0.0.2
 * on lo and the sctp module loaded, then powers off. `job` runs with HOME, DENO_DIR and
 * PATH of the calling process, in `cwd`. The job must write its results to a host file
 * (the whole host filesystem is mounted read-write); its exit status comes back as
 * `jobStatus`.
 */
export async function runInUml(
  job: string,
  opts: { cwd: string; timeoutMs: number; memMb?: number },
): Promise<UmlResult> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-uml-" });
  const jobPath = `${dir}/job.sh`;
  const env = (k: string, v: string | undefined) =>
    v === undefined ? "" : `export ${k}='${v.replaceAll("'", "'\\''")}'\n`;
  const home = Deno.env.get("HOME") ?? "/root";
  const script = env("HOME", home) +
    env("DENO_DIR", Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`) +
    env("PATH", `${Deno.env.get("PATH") ?? ""}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`) +
    env("NO_COLOR", "1") +
    env("SOCKBOX_IN_UML", "1") +
    env("SOCKBOX_BIN", Deno.env.get("SOCKBOX_BIN")) + // the artifact under test (tests/helpers.ts)
    `cd '${opts.cwd.replaceAll("'", "'\\''")}' || exit 1\n` + job + "\n";
  await Deno.writeTextFile(jobPath, script);
  const started = performance.now();
  const child = new Deno.Command(UML_KERNEL, {
    args: [
      `mem=${opts.memMb ?? 1024}M`,
      "root=/dev/root",
      "rootfstype=hostfs",
      "rootflags=/",
      "rw",
      `init=${INIT}`,
      "con=null",
      "con0=null,fd:1",
      "quiet",
      `SOCKBOX_JOB=${jobPath}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: dir,
  }).spawn();
  const pgidLog = Deno.env.get("SOCKBOX_TEST_PGIDS");
  if (pgidLog) {
    await Deno.writeTextFile(pgidLog, `${child.pid}\n`, { append: true }).catch(() => {});
  }
  // UML makes itself a process-group leader and forks helper processes that keep our
  // pipes open, so the hard timeout (and the clean-up after a normal exit) kills the
  // whole group, not just the main process.
  const killGroup = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* gone */ }
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  try {
    const status = await child.status;
    killGroup();
    const written = await Deno.readTextFile(`${jobPath}.status`).catch(() => "");
    return {
      code: status.code,
      jobStatus: /^\d+\s*$/.test(written) ? Number(written) : null,
      timedOut,
      console: (await stdout) + (await stderr),
      ms: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
