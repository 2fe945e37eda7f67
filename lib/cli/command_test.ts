import assert from "node:assert/strict";
import { parseFlags } from "./args.ts";
import {
  command,
  type CommandModule,
  firstWord,
  type FlagSpec,
  mergeFlags,
  protocolModule,
  protocolTable,
  type SharedModule,
  wordTable,
} from "./command.ts";
import { assertUsageError, memoryIo } from "./test_util.ts";

const FLAGS: FlagSpec = {
  timeout: { type: "string" },
  json: { type: "boolean" },
  count: { type: "string", short: "c" },
};

Deno.test("firstWord finds the first positional, skipping flags and their values", () => {
  const cases: [string[], number][] = [
    [["tcp", "h", "1"], 0],
    [["--timeout", "2s", "sctp", "h"], 2],
    [["--timeout=2s", "sctp"], 1],
    [["--json", "udp"], 1],
    [["-c", "3", "tcp"], 2],
    [["-c3", "tcp"], 1],
    [["--json"], -1],
    [[], -1],
    [["--", "tcp"], 1],
    [["--json", "--"], -1],
    [["--unknown", "tcp"], 1], // an unknown flag is taken as boolean
  ];
  for (const [args, want] of cases) assert.equal(firstWord(args, FLAGS), want, args.join(" "));
});

Deno.test("mergeFlags keeps the first spec of a name and adds a later short letter", () => {
  const merged = mergeFlags([
    { count: { type: "string" }, json: { type: "boolean" } },
    { count: { type: "string", short: "c" }, bind: { type: "string", multiple: true } },
  ]);
  assert.deepEqual(merged, {
    count: { type: "string", short: "c" },
    json: { type: "boolean" },
    bind: { type: "string", multiple: true },
  });
  assert.equal(firstWord(["-c", "5", "send"], merged), 2);
});

interface Echo {
  word: string;
  args: string[];
  json: boolean;
}

function entry(word: string, flags: FlagSpec): CommandModule<Echo> {
  return {
    summary: `the ${word} entry`,
    usage: `Usage: ${word}\n`,
    flags,
    parse(args) {
      const { values, positionals } = parseFlags(args, { ...flags, json: { type: "boolean" } });
      return { word, args: positionals, json: values.json === true };
    },
    async run(o, io) {
      await io.stdout.write(new TextEncoder().encode(JSON.stringify(o)));
      return o.word.length;
    },
  };
}

const table = wordTable({
  summary: "a test table",
  usage: "Usage: t tcp|sctp\n",
  kind: "protocol",
  entries: {
    tcp: command(entry("tcp", { timeout: { type: "string" } })),
    sctp: command(entry("sctp", { style: { type: "string" }, timeout: { type: "string" } })),
  },
});

Deno.test("command wraps a module: exec parses then runs, texts and flags are kept", async () => {
  const m = entry("abc", { json: { type: "boolean" } });
  const c = command(m);
  assert.equal(c.summary, m.summary);
  assert.equal(c.usage, m.usage);
  assert.equal(c.flags, m.flags);
  const io = memoryIo();
  assert.equal(await c.exec(["x", "--json"], io), 3);
  assert.deepEqual(JSON.parse(io.stdout.text()), { word: "abc", args: ["x"], json: true });
});

Deno.test("wordTable picks the entry wherever the flags put the word", () => {
  const cases: [string[], string, string[]][] = [
    [["tcp", "h", "1"], "tcp", ["h", "1"]],
    [["--timeout", "2s", "sctp", "h", "9"], "sctp", ["--timeout", "2s", "h", "9"]],
    [["--style", "one-to-many", "sctp", "0"], "sctp", ["--style", "one-to-many", "0"]],
    [["--json", "tcp"], "tcp", ["--json"]],
    // A negative value is the flag's (getopt(3) reads it so), not a flag or the word.
    [["--timeout", "-1s", "tcp", "h"], "tcp", ["--timeout=-1s", "h"]],
  ];
  for (const [args, word, rest] of cases) {
    const p = table.pick(args);
    assert.equal(p.word, word, args.join(" "));
    assert.deepEqual(p.rest, rest, args.join(" "));
    assert.equal(p.entry, table.entries[word]);
  }
});

Deno.test("wordTable merges every entry's flags and keeps the table's texts", () => {
  assert.deepEqual(Object.keys(table.flags).sort(), ["style", "timeout"]);
  assert.equal(table.usage, "Usage: t tcp|sctp\n");
  assert.equal(table.summary, "a test table");
});

Deno.test("wordTable rejects a missing or unknown word, bad flags first", () => {
  const cases: [string[], string][] = [
    [[], "missing protocol (tcp, sctp)"],
    [["--timeout", "2s"], "missing protocol (tcp, sctp)"],
    [["icmp", "7"], 'unknown protocol "icmp": must be tcp or sctp'],
    [["--bogus"], 'unknown option "--bogus"'],
    [["icmp", "--bogus"], 'unknown option "--bogus"'],
    [["--timeout"], 'option "--timeout" needs a value'],
  ];
  for (const [args, message] of cases) {
    assertUsageError(() => table.pick(args), message, args.join(" "));
  }
});

Deno.test("wordTable messages can be given", () => {
  const verbs = wordTable({
    summary: "",
    usage: "",
    kind: "mcast subcommand",
    entries: { listen: command(entry("listen", {})), send: command(entry("send", {})) },
    missing: "missing subcommand (listen or send)",
    unknown: (w) => `no such verb "${w}"`,
  });
  assertUsageError(() => verbs.pick([]), "missing subcommand (listen or send)");
  assertUsageError(() => verbs.pick(["x"]), 'no such verb "x"');
});

Deno.test("wordTable exec runs the picked entry with the word removed", async () => {
  const io = memoryIo();
  assert.equal(await table.exec(["--json", "sctp", "a", "b"], io), 4);
  assert.deepEqual(JSON.parse(io.stdout.text()), { word: "sctp", args: ["a", "b"], json: true });
});

Deno.test("wordTable's word may not be inherited from Object.prototype", () => {
  assertUsageError(
    () => table.pick(["toString"]),
    'unknown protocol "toString": must be tcp or sctp',
  );
});

Deno.test("protocolTable lists the protocols with 'or' in its messages", () => {
  const t = protocolTable({
    summary: "",
    usage: "",
    entries: {
      tcp: command(entry("tcp", {})),
      udp: command(entry("udp", {})),
      sctp: command(entry("sctp", {})),
    },
  });
  assertUsageError(() => t.pick([]), "missing protocol (tcp, udp, sctp)");
  assertUsageError(() => t.pick(["icmp"]), 'unknown protocol "icmp": must be tcp or udp or sctp');
});

Deno.test("protocolModule shares usage, flags and runner; parse learns its word", async () => {
  const shared = {
    usage: "Usage: t tcp|udp\n",
    flags: { json: { type: "boolean" } },
    parse: (proto, args) => ({ word: proto, args, json: false }),
    async run(o, io) {
      await io.stdout.write(new TextEncoder().encode(JSON.stringify(o)));
      return o.word.length;
    },
  } satisfies SharedModule<"tcp" | "udp", Echo>;
  const tcp = protocolModule("tcp", "the tcp entry", shared);
  const udp = protocolModule("udp", "the udp entry", shared);
  assert.deepEqual([tcp.summary, udp.summary], ["the tcp entry", "the udp entry"]);
  for (const m of [tcp, udp]) {
    assert.equal(m.usage, shared.usage);
    assert.equal(m.flags, shared.flags);
    assert.equal(m.run, shared.run);
  }
  assert.deepEqual(udp.parse(["h", "7"]), { word: "udp", args: ["h", "7"], json: false });
  const t = protocolTable({
    summary: "",
    usage: "",
    entries: { tcp: command(tcp), udp: command(udp) },
  });
  const io = memoryIo();
  assert.equal(await t.exec(["tcp", "h", "7"], io), 3);
  assert.deepEqual(JSON.parse(io.stdout.text()), { word: "tcp", args: ["h", "7"], json: false });
});
