import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { parseTos, TOS_NAMES, tosName } from "./tos.ts";

Deno.test("parseTos knows the RFC 1349 and DSCP names", () => {
  const cases: [string, number][] = [
    ["lowdelay", 0x10],
    ["throughput", 0x08],
    ["reliability", 0x04],
    ["mincost", 0x02],
    ["ef", 0xb8],
    ["EF", 0xb8],
    ["af11", 0x28],
    ["af12", 0x30],
    ["af13", 0x38],
    ["af21", 0x48],
    ["af31", 0x68],
    ["af41", 0x88],
    ["af43", 0x98],
    ["cs0", 0],
    ["cs1", 0x20],
    ["cs6", 0xc0],
    ["cs7", 0xe0],
    ["0", 0],
    ["255", 255],
    ["0x10", 16],
    ["0XB8", 0xb8],
  ];
  for (const [v, want] of cases) assert.equal(parseTos("--tos", v), want, v);
  assert.equal(Object.keys(TOS_NAMES).length, 4 + 1 + 12 + 8);
});

Deno.test("parseTos names the flag for a bad value", () => {
  for (const bad of ["", "256", "-1", "0x100", "af14", "af51", "cs8", "toString", "1.5"]) {
    assert.throws(() => parseTos("--tos", bad), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(
        e.message,
        `invalid --tos "${bad}": must be 0-255, 0xNN, lowdelay, throughput, reliability, ` +
          `mincost, ef, af11-af43 or cs0-cs7`,
      );
      return true;
    }, bad);
  }
});

Deno.test("tosName turns a byte read back into its name", () => {
  assert.equal(tosName(0xb8), "ef");
  assert.equal(tosName(0x10), "lowdelay");
  assert.equal(tosName(0), "cs0");
  assert.equal(tosName(0x28), "af11");
  assert.equal(tosName(0xb9), "0xb9");
  assert.equal(tosName(1), "0x01");
  for (const [name, v] of Object.entries(TOS_NAMES)) assert.equal(tosName(v), name);
});
