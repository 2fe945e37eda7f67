import assert from "node:assert/strict";
import { beforeBindFlags, sockoptsText } from "./sockopt.ts";

Deno.test("sockoptsText shows every option read back, TCP ones only when present", () => {
  const base = {
    rcvbuf: 212992,
    sndbuf: 212992,
    ttl: 64,
    tos: 0,
    reuseaddr: true,
    reuseport: false,
  };
  assert.equal(
    sockoptsText(base),
    "rcvbuf=212992 sndbuf=212992 ttl=64 tos=cs0 reuseaddr=on reuseport=off",
  );
  assert.equal(
    sockoptsText({
      ...base,
      tos: 0x10,
      nodelay: true,
      keepalive: { idle: 30, interval: 5, count: 4 },
      linger: 0,
      mss: 1448,
      v6only: false,
    }),
    "rcvbuf=212992 sndbuf=212992 ttl=64 tos=lowdelay reuseaddr=on reuseport=off nodelay=on " +
      "keepalive=30,5,4 linger=0 mss=1448 v6only=off",
  );
  assert.equal(
    sockoptsText({ ...base, keepalive: false, linger: false, tos: 0xb9 }),
    "rcvbuf=212992 sndbuf=212992 ttl=64 tos=0xb9 reuseaddr=on reuseport=off keepalive=off " +
      "linger=off",
  );
});

Deno.test("beforeBindFlags names the options a bound socket is too late for", () => {
  assert.deepEqual(beforeBindFlags({ ttl: 3, nodelay: true }), []);
  assert.deepEqual(beforeBindFlags({ v6only: true, reuseport: true, reuseaddr: false }), [
    "--v6only",
  ]);
});
