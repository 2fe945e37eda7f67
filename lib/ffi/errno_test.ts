/** errno names (<asm-generic/errno-base.h>, <asm-generic/errno.h>) and the SysError shape. */
import assert from "node:assert/strict";
import { SysError } from "../base/errors.ts";
import { ERRNO } from "./constants.ts";
import { ERRNO_NAMES, errnoName, errnoOf, orWouldBlock, sysError } from "./errno.ts";

Deno.test("errnoName names Linux errno values and falls back to the number", () => {
  const cases: [number, string][] = [
    [1, "EPERM"],
    [2, "ENOENT"],
    [4, "EINTR"],
    [11, "EAGAIN"],
    [22, "EINVAL"],
    [93, "EPROTONOSUPPORT"],
    [98, "EADDRINUSE"],
    [111, "ECONNREFUSED"],
    [115, "EINPROGRESS"],
    [0, "errno 0"],
    [8, "errno 8"],
    [4095, "errno 4095"],
  ];
  for (const [n, name] of cases) assert.equal(errnoName(n), name, String(n));
});

Deno.test("ERRNO_NAMES is exactly the inverse of the ERRNO table", () => {
  const entries = Object.entries(ERRNO);
  assert.equal(new Set(entries.map(([, n]) => n)).size, entries.length, "numbers are unique");
  for (const [name, n] of entries) assert.equal(ERRNO_NAMES[n], name);
  assert.equal(Object.keys(ERRNO_NAMES).length, entries.length);
});

Deno.test("sysError builds the one SysError shape and keeps the number", () => {
  const e = sysError("connect", 111, { address: "::1", port: 7 });
  assert.ok(e instanceof SysError);
  assert.equal(e.message, "connect ECONNREFUSED [::1]:7");
  assert.equal(e.code, "ECONNREFUSED");
  assert.equal(errnoOf(e), 111);
  assert.equal(
    sysError("read", 27, { address: "/k" }, "larger than 9 bytes").message,
    "read EFBIG /k (larger than 9 bytes)",
  );
  assert.equal(errnoOf(new Error("x")), undefined);
  assert.equal(errnoOf(null), undefined);
});

Deno.test("orWouldBlock passes a successful result through without reading errno", () => {
  assert.equal(orWouldBlock(0, "recv"), 0);
  assert.equal(orWouldBlock(1500, "recv"), 1500);
});
