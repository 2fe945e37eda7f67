/**
 * Keeps README.md's "Commands" section and `--help` from one source: the section between
 * `<!-- usage:begin -->` and `<!-- usage:end -->` is every `Usage:` block of every
 * command's help text, verbatim, in the order of main.ts's command table.
 *
 *   deno run -A scripts/readme_usage.ts           rewrites README.md
 *   deno run -A scripts/readme_usage.ts --check   exits 1 when README.md is out of date
 *
 * tests/cli_contract_test.ts fails when the README and the help texts differ.
 *
 * @module
 */
import { COMMANDS, usage } from "../main.ts";
import type { Command } from "../lib/cli/command.ts";

const BEGIN = "<!-- usage:begin -->";
const END = "<!-- usage:end -->";

/**
 * The `Usage:` blocks of a help text: each runs from a line that starts with `Usage:` to
 * the first empty line.
 */
export function usageBlocksOf(help: string): string[] {
  const out: string[] = [];
  const lines = help.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith("Usage: ")) continue;
    let j = i;
    while (j < lines.length && lines[j]!.trim() !== "") j++;
    out.push(lines.slice(i, j).join("\n"));
    i = j;
  }
  return out;
}

/** Every command's `Usage:` blocks, the top-level one first, without repeats. */
export async function usageBlocks(
  commands: Record<string, () => Promise<Command>>,
): Promise<string[]> {
  const out = usageBlocksOf(await usage());
  for (const load of Object.values(commands)) {
    for (const b of usageBlocksOf((await load()).usage)) if (!out.includes(b)) out.push(b);
  }
  return out;
}

/** `readme` with its usage section replaced by `blocks` (one code block). */
export function readmeUsage(readme: string, blocks: string[]): string {
  const a = readme.indexOf(BEGIN), b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} ... ${END} section`);
  const body = "\n\n```\n" + blocks.join("\n\n") + "\n```\n\n"; // as deno fmt leaves it
  return readme.slice(0, a + BEGIN.length) + body + readme.slice(b);
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const readme = await Deno.readTextFile(path);
  const next = readmeUsage(readme, await usageBlocks(COMMANDS));
  if (Deno.args.includes("--check")) {
    if (next !== readme) {
      console.error("README.md is out of date: run deno run -A scripts/readme_usage.ts");
      Deno.exit(1);
    }
  } else if (next !== readme) {
    await Deno.writeTextFile(path, next);
    console.error("README.md: usage section rewritten");
  }
}
