/**
 * `sockbox completions bash|zsh|fish` loaded into the real shells and asked for
 * completions: bash in `bash -i` with COMP_WORDS/COMP_CWORD set and the completion function
 * called (as readline calls it), zsh with the completion builtins replaced by functions that
 * print what they are given, fish through `complete -C`. The expected words come from the
 * command tables main.ts dispatches on; interface names come from `sockbox ifaces`.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../main.ts";
import type { Command } from "../lib/cli/command.ts";
import { hasCommand, runSockbox, sh, shellQuote, skipped, sockboxCommand } from "./helpers.ts";

const load = async (name: string): Promise<Command> => await COMMANDS[name]!();
const words = async (name: string) => Object.keys((await load(name)).entries ?? {});
const TOP = [...Object.keys(COMMANDS), "help"];

/** A directory holding `sockbox` (a wrapper around the sockbox under test) and a file. */
async function sandbox(): Promise<{ dir: string; names: string[] } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-completions-" });
  const { cmd, args } = sockboxCommand([]);
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeTextFile(
    `${dir}/bin/sockbox`,
    `#!/bin/sh\nexec ${[cmd, ...args].map(shellQuote).join(" ")} "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(`${dir}/cert.pem`, "");
  const ifaces = await runSockbox(["ifaces", "--json"]);
  assert.equal(ifaces.code, 0, ifaces.stderr);
  const names = (JSON.parse(ifaces.stdout) as { name: string }[]).map((i) => i.name);
  return {
    dir,
    names,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const script = async (shell: string) => {
  const r = await runSockbox(["completions", shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

/** `[line, expected]`: a command line (the last word is being completed) and its answer. */
async function cases(dir: string, names: string[]): Promise<[string[], string[]][]> {
  const send = await load("send");
  const sctpFlags = Object.keys(send.entries!.sctp!.flags).map((f) => `--${f}`);
  return [
    [["sockbox", ""], TOP],
    [["sockbox", "se"], TOP.filter((w) => w.startsWith("se"))],
    // The protocol word may follow flags; a flag's value is not taken for it.
    [["sockbox", "serve", "--host", "::1", ""], await words("serve")],
    [["sockbox", "ping", "-c", "3", ""], await words("ping")],
    [["sockbox", "serve", "--host", ""], []],
    [
      ["sockbox", "send", "--timeout", "2s", "sctp", "--st"],
      sctpFlags.filter((f) => f.startsWith("--st")),
    ],
    [["sockbox", "mcast", "listen", "--iface", ""], names],
    [["sockbox", "mcast", ""], await words("mcast")],
    [["sockbox", "help", ""], Object.keys(COMMANDS)],
    [["sockbox", "completions", ""], ["bash", "zsh", "fish"]],
    [["sockbox", "serve", "tcp", "--cert", `${dir}/cert.p`], [`${dir}/cert.pem`]],
    [["sockbox", "-"], ["--help", "--version"]],
  ];
}

const sorted = (a: string[]) => [...a].sort();

Deno.test("completions bash: bash -i completes commands, protocols, flags, interfaces, files", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(`${box.dir}/sockbox.bash`, await script("bash"));
  const table = await cases(box.dir, box.names);
  const ask = (ws: string[]) => `t ${ws.map(shellQuote).map((w) => w === "" ? "''" : w).join(" ")}`;
  const lines = [
    `source ${shellQuote(`${box.dir}/sockbox.bash`)}`,
    `t() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _sockbox; printf '%s\\n' "\${COMPREPLY[*]}"; }`,
    "complete -p sockbox",
    ...table.map(([ws]) => ask(ws)),
    // "--iface=l": readline splits the word at "=" (COMP_WORDBREAKS).
    "t sockbox mcast send --iface = l",
    "t sockbox mcast send --iface =",
  ];
  const r = await sh("bash", ["--norc", "--noprofile", "-i", "-c", lines.join("\n")], {
    env: { PATH: `${box.dir}/bin:${Deno.env.get("PATH")}`, HOME: box.dir },
  });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split("\n");
  assert.equal(out[0], "complete -F _sockbox sockbox");
  table.forEach(([ws, want], i) => {
    assert.deepEqual(out[i + 1]!.split(" ").filter(Boolean), want, ws.join(" "));
  });
  assert.deepEqual(
    out[table.length + 1]!.split(" "),
    box.names.filter((n) => n.startsWith("l")),
  );
  assert.deepEqual(out[table.length + 2]!.split(" "), box.names);
});

Deno.test("completions bash: interface names come from sockbox ifaces, else /sys/class/net", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(`${box.dir}/sockbox.bash`, await script("bash"));
  await Deno.writeTextFile(
    `${box.dir}/fake`,
    "#!/bin/sh\necho '7: fake0  up  mtu 1500  <UP>'\necho '    inet 10.0.0.1/8  label fake0:1'\n",
    { mode: 0o755 },
  );
  const body = `source ${shellQuote(`${box.dir}/sockbox.bash`)}
COMP_WORDS=(${
    shellQuote(`${box.dir}/fake`)
  } beacon --iface ''); COMP_CWORD=3; _sockbox; echo "\${COMPREPLY[*]}"
COMP_WORDS=(/nonexistent/sockbox beacon --iface ''); COMP_CWORD=3; _sockbox; echo "\${COMPREPLY[*]}"`;
  const r = await sh("bash", ["--norc", "--noprofile", "-i", "-c", body]);
  const sys = [...Deno.readDirSync("/sys/class/net")].map((e) => e.name).sort();
  assert.deepEqual(r.stdout.split("\n").slice(0, 2), ["fake0", sys.join(" ")]);
});

const zshTest = {
  name: "completions zsh: the function completes commands, protocols, flags, interfaces, files",
};
Deno.test(
  hasCommand("zsh")
    ? {
      ...zshTest,
      async fn() {
        await using box = await sandbox();
        await Deno.writeTextFile(`${box.dir}/_sockbox`, await script("zsh"));
        const table = await cases(box.dir, box.names);
        // Outside a completion widget the builtins do nothing: functions stand in for them.
        const lines = [
          'compdef() { print -r -- "compdef $*"; }',
          'compadd() { [[ $1 == -- ]] && shift; got+=("$@"); }',
          "compset() { :; }",
          "_files() { got+=(_files); }",
          `source ${shellQuote(`${box.dir}/_sockbox`)}`,
          't() { local -a got; words=("$@"); CURRENT=${#words}; _sockbox; print -r -- "${(j: :)got}"; }',
          ...table.map(([ws]) => `t ${ws.map((w) => w === "" ? "''" : shellQuote(w)).join(" ")}`),
          "t sockbox mcast send --iface=l",
        ];
        const r = await sh("zsh", ["-f", "-c", lines.join("\n")], {
          env: { PATH: `${box.dir}/bin:${Deno.env.get("PATH")}` },
        });
        assert.equal(r.code, 0, r.stderr);
        const out = r.stdout.split("\n");
        assert.equal(out[0], "compdef _sockbox sockbox");
        table.forEach(([ws, want], i) => {
          const got = out[i + 1]!.split(" ").filter(Boolean);
          // zsh lists files through its own _files, and matches the prefix itself.
          if (ws.includes("--cert")) assert.deepEqual(got, ["_files"]);
          else assert.deepEqual(got.filter((w) => w.startsWith(ws.at(-1)!)), want, ws.join(" "));
        });
        // compset -P '*=' leaves "l" to match: every name is offered, zsh filters.
        assert.deepEqual(out[table.length + 1]!.split(" "), box.names);
      },
    }
    : skipped({ ...zshTest, fn() {} }, "zsh is not installed"),
);

const fishTest = {
  name: "completions fish: complete -C completes commands, protocols, flags, interfaces, files",
};
Deno.test(
  hasCommand("fish")
    ? {
      ...fishTest,
      async fn() {
        await using box = await sandbox();
        await Deno.writeTextFile(`${box.dir}/sockbox.fish`, await script("fish"));
        const table = await cases(box.dir, box.names);
        const lines = [
          `source ${shellQuote(`${box.dir}/sockbox.fish`)}`,
          ...table.map(([ws]) =>
            `echo (complete -C ${shellQuote(ws.join(" "))} | string replace -r '\\t.*' '')`
          ),
          `echo (complete -C 'sockbox mcast send --iface=l')`,
        ];
        const r = await sh("fish", ["--no-config", "-c", lines.join("\n")], {
          env: { PATH: `${box.dir}/bin:${Deno.env.get("PATH")}`, HOME: box.dir },
        });
        assert.equal(r.code, 0, r.stderr);
        const out = r.stdout.split("\n");
        // fish sorts what it offers.
        table.forEach(([ws, want], i) => {
          assert.deepEqual(sorted(out[i]!.split(" ").filter(Boolean)), sorted(want), ws.join(" "));
        });
        assert.deepEqual(
          sorted(out[table.length]!.split(" ")),
          sorted(box.names.filter((n) => n.startsWith("l")).map((n) => `--iface=${n}`)),
        );
      },
    }
    : skipped({ ...fishTest, fn() {} }, "fish is not installed"),
);

Deno.test("completion scripts parse in every shell installed here (-n)", async () => {
  for (const [shell, args] of [["bash", ["-n"]], ["zsh", ["-n"]], ["fish", ["-n"]]] as const) {
    if (!hasCommand(shell)) continue;
    const file = await Deno.makeTempFile({ prefix: "sockbox-completions-" });
    try {
      await Deno.writeTextFile(file, await script(shell));
      const r = await sh(shell, [...args, file]);
      assert.equal(r.code, 0, `${shell}: ${r.stderr}`);
    } finally {
      await Deno.remove(file);
    }
  }
});
