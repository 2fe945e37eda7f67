import assert from "node:assert/strict";
import { type PathKind, resolveProgram, specArgv, splitCommand } from "./argv.ts";

Deno.test("splitCommand splits on any whitespace, no shell quoting (as ncat --exec)", () => {
  assert.deepEqual(splitCommand("tr a-z A-Z"), ["tr", "a-z", "A-Z"]);
  assert.deepEqual(splitCommand("  cat\t-u \n"), ["cat", "-u"]);
  assert.deepEqual(splitCommand(`echo "a b"`), ["echo", `"a`, `b"`]);
  assert.deepEqual(splitCommand(""), []);
});

Deno.test("splitCommand takes the character after a backslash literally", () => {
  assert.deepEqual(splitCommand("cat my\\ file"), ["cat", "my file"]);
  assert.deepEqual(splitCommand("printf a\\\\b"), ["printf", "a\\b"]);
  assert.deepEqual(splitCommand("x \\ "), ["x", " "]);
  assert.deepEqual(splitCommand("end\\"), ["end\\"]);
});

Deno.test("specArgv runs --sh-exec through /bin/sh -c and rejects empty commands", () => {
  assert.deepEqual(specArgv({ kind: "sh", command: "echo $X; cat" }), [
    "/bin/sh",
    "-c",
    "echo $X; cat",
  ]);
  assert.deepEqual(specArgv({ kind: "exec", command: "tr a-z A-Z" }), ["tr", "a-z", "A-Z"]);
  for (const kind of ["exec", "sh"] as const) {
    assert.throws(() => specArgv({ kind, command: "  " }), {
      name: "RangeError",
      message: "The command is empty",
    });
  }
});

const fs: Record<string, PathKind> = {
  "/bin/tr": "executable",
  "/usr/bin/tr": "executable",
  "/usr/bin/notes": "not-executable",
  "/opt/dir": "directory",
  "./local": "executable",
};
const probe = (p: string): PathKind => fs[p] ?? "missing";

Deno.test("resolveProgram searches PATH in order, like execvp(3)", () => {
  assert.equal(resolveProgram("tr", "/usr/bin:/bin", probe), "/usr/bin/tr");
  assert.equal(resolveProgram("tr", "/sbin:/bin/", probe), "/bin/tr");
  assert.equal(resolveProgram("local", "/sbin::/bin", probe), "./local");
  assert.equal(resolveProgram("/bin/tr", "", probe), "/bin/tr");
});

Deno.test("resolveProgram says why a program cannot run", () => {
  assert.throws(() => resolveProgram("nope", "/bin:/usr/bin", probe), {
    message: 'program "nope" not found on PATH',
  });
  assert.throws(() => resolveProgram("notes", "/bin:/usr/bin", probe), {
    message: 'program "notes" on PATH is not executable',
  });
  assert.throws(() => resolveProgram("/opt/dir", "/bin", probe), {
    message: 'program "/opt/dir" is a directory',
  });
  assert.throws(() => resolveProgram("./missing", "/bin", probe), {
    message: 'program "./missing" does not exist',
  });
});
