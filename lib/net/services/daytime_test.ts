import assert from "node:assert/strict";
import { ctimeText, daytimeReply } from "./daytime.ts";

Deno.test("ctimeText is ctime(3)'s 24 characters, day of month padded with a space", () => {
  assert.equal(ctimeText(new Date("1993-06-03T21:49:08Z"), true), "Thu Jun  3 21:49:08 1993");
  assert.equal(ctimeText(new Date("2026-11-29T04:05:06Z"), true), "Sun Nov 29 04:05:06 2026");
  assert.equal(ctimeText(new Date()).length, 24);
});

Deno.test("daytimeReply ends the line with CR LF as inetd does", () => {
  assert.equal(
    new TextDecoder().decode(daytimeReply(new Date("2000-01-01T00:00:00Z"), true)),
    "Sat Jan  1 00:00:00 2000\r\n",
  );
});
