/**
 * `sockbox help --man`: man-db's `man -l` opens the page it prints, groff finds nothing to
 * warn about, and the page carries every command's help text.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../main.ts";
import { hasCommand, runSockbox, sh, skipped } from "./helpers.ts";

const test = { name: "help --man prints a page man -l renders, with every command's help" };
const why = !hasCommand("man")
  ? "man (man-db) is not installed"
  : !hasCommand("groff")
  ? "groff (groff-base) is not installed"
  : null;

Deno.test(
  why !== null ? skipped({ ...test, fn() {} }, why) : {
    ...test,
    async fn() {
      const r = await runSockbox(["help", "--man"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\.\\" /);
      const file = await Deno.makeTempFile({ prefix: "sockbox-", suffix: ".1" });
      try {
        await Deno.writeTextFile(file, r.stdout);
        const lint = await sh("groff", ["-man", "-ww", "-z", file]);
        assert.deepEqual([lint.code, lint.stderr], [0, ""]);
        // MANWIDTH keeps lines as wide as the help texts' 80 columns.
        const page = await sh("sh", ["-c", 'man -l "$1" | col -b', "sh", file], {
          env: { MANWIDTH: "100", MAN_KEEP_FORMATTING: "0" },
        });
        assert.equal(page.code, 0, page.stderr);
        const text = page.stdout;
        for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "SEE ALSO"]) {
          assert.match(text, new RegExp(`^${section}$`, "m"), section);
        }
        assert.match(text, /^ +sockbox - test sockets from one binary$/m);
        for (const [name, load] of Object.entries(COMMANDS)) {
          assert.match(text, new RegExp(`^ +sockbox ${name}$`, "m"), `no section for ${name}`);
          // Each help text's first line is on the page as the help prints it.
          const first = (await load()).usage.split("\n")[0]!;
          assert.ok(text.includes(first), `${name}: "${first}" is not on the page`);
        }
      } finally {
        await Deno.remove(file);
      }
    },
  },
);
