import assert from "node:assert/strict";
import { VERSION } from "./version.ts";

Deno.test("VERSION equals deno.json's version", async () => {
  // Read, not imported: lib/ never pulls deno.json into its module graph (tests/layers_test.ts).
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});
