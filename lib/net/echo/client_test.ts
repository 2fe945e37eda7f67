import assert from "node:assert/strict";
import { RuntimeError } from "../../base/errors.ts";
import { checkEcho, sameAddress, withTimeout } from "./client.ts";

const ep = { address: "127.0.0.1", port: 7 };
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("checkEcho passes an exact echo and names what differs otherwise", () => {
  checkEcho(bytes("abc"), bytes("abc"), ep, false);
  checkEcho(new Uint8Array(), new Uint8Array(), ep, true);
  const cases: [string, string, boolean, string][] = [
    ["abc", "abd", false, "echo mismatch from 127.0.0.1:7: byte 2 differs (sent 3 bytes)"],
    ["abc", "ab", false, "echo incomplete from 127.0.0.1:7: sent 3 bytes, got 2"],
    [
      "abc",
      "a",
      true,
      "echo incomplete from 127.0.0.1:7: sent 3 bytes, got 1 before the connection closed",
    ],
    ["abc", "abcd", false, "echo mismatch from 127.0.0.1:7: sent 3 bytes, got 4"],
    ["abc", "xbc", false, "echo mismatch from 127.0.0.1:7: byte 0 differs (sent 3 bytes)"],
  ];
  for (const [sent, got, eof, message] of cases) {
    assert.throws(
      () => checkEcho(bytes(sent), bytes(got), ep, eof),
      (e: unknown) => e instanceof RuntimeError && e.message === message,
      message,
    );
  }
});

Deno.test("sameAddress compares IPv4-mapped forms and case", () => {
  assert.ok(sameAddress("::ffff:127.0.0.1", "127.0.0.1"));
  assert.ok(sameAddress("FE80::1", "fe80::1"));
  assert.ok(!sameAddress("127.0.0.1", "127.0.0.2"));
});

Deno.test("withTimeout settles with the promise, or rejects with onTimeout's error", async () => {
  assert.equal(await withTimeout(Promise.resolve(5), 1000, () => new Error("late")), 5);
  await assert.rejects(
    withTimeout(new Promise(() => {}), 10, () => new Error("late")),
    { message: "late" },
  );
});
