import assert from "node:assert/strict";
import { exitFields, spawnError } from "./exec.ts";

Deno.test("exitFields: an exit status, a signal, or neither when the child never ran", () => {
  assert.deepEqual(exitFields(41, { code: 3, signal: null }), {
    pid: 41,
    exit_code: 3,
    exit_signal: null,
  });
  assert.deepEqual(exitFields(42, { code: null, signal: "SIGKILL" }), {
    pid: 42,
    exit_code: null,
    exit_signal: "SIGKILL",
  });
  assert.deepEqual(exitFields(0, null), { pid: 0, exit_code: null, exit_signal: null });
});

Deno.test("spawnError names the syscall, the errno and the program", () => {
  const notFound = new Deno.errors.NotFound("No such file or directory (os error 2)");
  const text = spawnError(["/no/such/prog", "-x"], notFound);
  assert.match(text, /^spawn ENOENT \/no\/such\/prog\b/);
  const denied = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  assert.match(spawnError(["./script.sh"], denied), /^spawn EACCES \.\/script\.sh\b/);
});
