import assert from "node:assert/strict";
import { type Command, command } from "./command.ts";
import { manPage, roffBlocks, roffEscape } from "./man.ts";

Deno.test("roffEscape keeps backslashes and hyphens literal and protects a leading dot", () => {
  assert.equal(roffEscape("--host ADDR"), "\\-\\-host ADDR");
  assert.equal(roffEscape("a \\ quotes"), "a \\e quotes");
  assert.equal(roffEscape(".hidden"), "\\&.hidden");
  assert.equal(roffEscape("'quoted'"), "\\&'quoted'");
  assert.equal(roffEscape("plain"), "plain");
});

Deno.test("roffBlocks fills prose, keeps tables and Usage lines as laid out", () => {
  const usage = `Usage: x serve PORT
              [--json]

An echo server. It echoes
every byte.

Options:
  --json      one JSON object per line
  -h, --help  show this help
`;
  assert.deepEqual(roffBlocks(usage), [
    ".PP",
    ".nf",
    "Usage: x serve PORT",
    "              [\\-\\-json]",
    ".fi",
    ".PP",
    "An echo server. It echoes",
    "every byte.",
    ".PP",
    ".B Options:",
    ".RS 2",
    ".nf",
    "\\-\\-json      one JSON object per line",
    "\\-h, \\-\\-help  show this help",
    ".fi",
    ".RE",
  ]);
});

Deno.test("roffBlocks: a line ending in ':' with nothing indented after it is prose", () => {
  assert.deepEqual(roffBlocks("Note:\n\nmore"), [".PP", "Note:", ".PP", "more"]);
});

Deno.test("manPage: NAME and SYNOPSIS from the top help, one section per command", async () => {
  const top = `sockbox 9.9.9: test sockets from one binary

Usage: sockbox COMMAND [ARGS...]
       sockbox help [COMMAND]

Commands:
  serve  run a server

Exit status: 0 success.
`;
  const serve: Command = command({
    summary: "run a server",
    usage: "Usage: sockbox serve PORT\n\nServes.\n",
    flags: {},
    parse: () => ({}),
    run: () => Promise.resolve(0),
  });
  const page = await manPage(top, { serve: () => Promise.resolve(serve) }, { version: "9.9.9" });
  const lines = page.split("\n");
  assert.equal(lines[1], '.TH SOCKBOX 1 "" "sockbox 9.9.9" "User Commands"');
  const at = (s: string) => lines.indexOf(s);
  assert.equal(lines[at(".SH NAME") + 1], "sockbox \\- test sockets from one binary");
  assert.deepEqual(lines.slice(at(".SH SYNOPSIS") + 1, at(".SH SYNOPSIS") + 5), [
    ".nf",
    "sockbox COMMAND [ARGS...]",
    "sockbox help [COMMAND]",
    ".fi",
  ]);
  assert.deepEqual(lines.slice(at(".SH DESCRIPTION") + 1, at(".SH COMMANDS")), [
    ".PP",
    ".B Commands:",
    ".RS 2",
    ".nf",
    "serve  run a server",
    ".fi",
    ".RE",
    ".PP",
    "Exit status: 0 success.",
  ]);
  assert.deepEqual(lines.slice(at(".SS sockbox serve") + 1, at(".SH ENVIRONMENT")), [
    ".PP",
    ".nf",
    "Usage: sockbox serve PORT",
    ".fi",
    ".PP",
    "Serves.",
  ]);
  assert.ok(page.endsWith(".BR getaddrinfo (3)\n"));
});
