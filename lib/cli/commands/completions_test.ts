import assert from "node:assert/strict";
import { type Command, command, wordTable } from "../command.ts";
import { assertUsageError, memoryIo } from "../test_util.ts";
import {
  bashScript,
  completions,
  completionTree,
  fishScript,
  flatten,
  levelOf,
  parse,
  zshScript,
} from "./completions.ts";

const leafCmd = (flags: Command["flags"], usage = "Usage: x\n"): Command =>
  command({ summary: "s", usage, flags, parse: () => ({}), run: () => Promise.resolve(0) });

const tcp = leafCmd(
  {
    "4": { type: "boolean", short: "4" },
    host: { type: "string" },
    count: { type: "string", short: "c" },
    cert: { type: "string" },
    iface: { type: "string", multiple: true },
    json: { type: "boolean" },
  },
  "Usage: x tcp [--cert FILE] [--host ADDR]\n  --cert FILE  the certificate\n",
);
const serve = wordTable({
  summary: "serve",
  usage: "Usage: x serve tcp\n",
  kind: "protocol",
  entries: { tcp, udp: leafCmd({ json: { type: "boolean" } }) },
});
const TABLE = {
  serve: () => Promise.resolve(serve as Command),
  doctor: () => Promise.resolve(leafCmd({ json: { type: "boolean" } })),
};

Deno.test("levelOf lists flags as typed, the ones taking values, interfaces and FILEs", () => {
  assert.deepEqual(levelOf(tcp), {
    words: {},
    flags: ["-4", "--host", "--count", "--cert", "--iface", "--json", "--help"],
    valued: ["--host", "--count", "-c", "--cert", "--iface"],
    ifaceFlags: ["--iface"],
    fileFlags: ["--cert"],
  });
});

Deno.test("completionTree follows word tables and adds help, --man, --help and --version", async () => {
  const tree = await completionTree(TABLE);
  assert.deepEqual(Object.keys(tree.words), ["serve", "doctor", "help"]);
  assert.deepEqual(tree.flags, ["--help", "--version"]);
  assert.deepEqual(Object.keys(tree.words.serve!.words), ["tcp", "udp"]);
  // Before the protocol word, every entry's flags are accepted (the word may follow them).
  assert.ok(tree.words.serve!.valued.includes("-c"));
  assert.deepEqual(tree.words.serve!.words.tcp!.fileFlags, ["--cert"]);
  assert.deepEqual(Object.keys(tree.words.help!.words), ["serve", "doctor"]);
  assert.deepEqual(tree.words.help!.flags, ["--man"]);
  assert.deepEqual(flatten(tree).map(([p]) => p), [
    "",
    "serve",
    "serve tcp",
    "serve udp",
    "doctor",
    "help",
    "help serve",
    "help doctor",
  ]);
});

Deno.test("every script holds every level of the tree", async () => {
  const tree = await completionTree(TABLE);
  const bash = bashScript(tree), zsh = zshScript(tree), fish = fishScript(tree);
  for (const [path, level] of flatten(tree)) {
    assert.ok(bash.includes(`    "${path}")\n      words="${Object.keys(level.words).join(" ")}"`));
    assert.ok(
      zsh.includes(`    ("${path}")\n      sb_words=(${Object.keys(level.words).join(" ")})`),
    );
    assert.ok(fish.includes(`        case '${path}'\n            set words `));
  }
  assert.match(bash, /\ncomplete -F _sockbox sockbox\n$/);
  assert.match(zsh, /^#compdef sockbox\n/);
  assert.match(fish, /\ncomplete -c sockbox -f -a '\(__sockbox_candidates\)'\n$/);
});

Deno.test("a flag name a shell could misread is refused, not written into the script", async () => {
  const odd = { x: () => Promise.resolve(leafCmd({ "a b": { type: "boolean" } })) };
  const tree = await completionTree(odd);
  assert.throws(() => bashScript(tree), {
    name: "TypeError",
    message: 'cannot complete "--a b": not a plain word or flag',
  });
});

Deno.test("completions picks the shell word and takes nothing else", async () => {
  const cmd = completions(TABLE);
  assert.deepEqual(Object.keys(cmd.entries!), ["bash", "zsh", "fish"]);
  const io = memoryIo();
  assert.equal(await cmd.exec(["bash"], io), 0);
  assert.equal(io.stdout.text(), bashScript(await completionTree(TABLE)));
  assertUsageError(() => parse(["extra"]), 'unexpected argument "extra"');
  assertUsageError(() => parse(["--x"]), 'unknown option "--x"');
  await assert.rejects(() => cmd.exec(["tcsh"], memoryIo()), {
    name: "UsageError",
    message: 'unknown shell "tcsh": must be bash, zsh or fish',
  });
  await assert.rejects(() => cmd.exec([], memoryIo()), {
    name: "UsageError",
    message: "missing shell (bash, zsh, fish)",
  });
});
