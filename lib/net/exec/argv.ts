/**
 * What `--exec` and `--sh-exec` run: the command line split into a program and its
 * arguments without a shell, as ncat's `--exec` splits it (whitespace separates; a
 * backslash makes the next character literal; quotes are ordinary characters), or
 * handed to `/bin/sh -c`; and the program found on PATH once, before listening.
 *
 * @module
 */

/** A command as the user gave it. */
export type ExecSpec = { kind: "exec"; command: string } | { kind: "sh"; command: string };

/**
 * Splits a command line on whitespace; `\` escapes the next character.
 *
 * @example
 * ```ts
 * import { splitCommand } from "./argv.ts";
 * splitCommand("tr a-z A-Z"); // ["tr", "a-z", "A-Z"]
 * splitCommand("printf 'a b'"); // ["printf", "'a", "b'"] (no quoting, as in ncat)
 * splitCommand("cat my\\ file"); // ["cat", "my file"]
 * ```
 */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/** The argv a spec runs: the split words, or `/bin/sh -c COMMAND`. Throws on an empty one. */
export function specArgv(spec: ExecSpec): string[] {
  if (spec.kind === "sh") {
    if (spec.command.trim() === "") throw new RangeError("The command is empty");
    return ["/bin/sh", "-c", spec.command];
  }
  const argv = splitCommand(spec.command);
  if (argv.length === 0) throw new RangeError("The command is empty");
  return argv;
}

/** What a path is, as far as running it goes. */
export type PathKind = "executable" | "not-executable" | "directory" | "missing";

/**
 * Finds `program` the way execvp(3) does: a name with a `/` is taken as it is; any other
 * is looked up in each PATH directory in turn (an empty entry is the current directory).
 * Returns the path, or throws `Error` with a one-line reason.
 *
 * @example
 * ```ts
 * import { resolveProgram } from "./argv.ts";
 * const probe = (p: string) => (p === "/usr/bin/tr" ? "executable" : "missing");
 * resolveProgram("tr", "/bin:/usr/bin", probe); // "/usr/bin/tr"
 * ```
 */
export function resolveProgram(
  program: string,
  path: string,
  probe: (path: string) => PathKind,
): string {
  if (program.includes("/")) {
    const kind = probe(program);
    if (kind === "executable") return program;
    throw new Error(`program "${program}" ${kindText(kind)}`);
  }
  let seen: PathKind = "missing";
  for (const dir of path.split(":")) {
    const full = `${dir === "" ? "." : dir.replace(/\/+$/, "")}/${program}`;
    const kind = probe(full);
    if (kind === "executable") return full;
    if (kind !== "missing") seen = kind;
  }
  if (seen !== "missing") throw new Error(`program "${program}" on PATH ${kindText(seen)}`);
  throw new Error(`program "${program}" not found on PATH`);
}

function kindText(kind: PathKind): string {
  switch (kind) {
    case "missing":
      return "does not exist";
    case "directory":
      return "is a directory";
    default:
      return "is not executable";
  }
}

/** {@link PathKind} of a real path (stat(2); needs read permission). */
export function probePath(path: string): PathKind {
  try {
    const st = Deno.statSync(path);
    if (st.isDirectory) return "directory";
    if (!st.isFile) return "not-executable";
    return ((st.mode ?? 0) & 0o111) !== 0 ? "executable" : "not-executable";
  } catch {
    return "missing";
  }
}
