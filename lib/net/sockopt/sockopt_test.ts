import assert from "node:assert/strict";
import {
  beforeBindFlags,
  connectedEventText,
  needsSocketBeforeConnect,
  sockoptsText,
} from "./sockopt.ts";

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

Deno.test("needsSocketBeforeConnect: a source address or an option that acts before connect", () => {
  assert.equal(needsSocketBeforeConnect(undefined), false);
  assert.equal(needsSocketBeforeConnect({ readBack: true }), false);
  assert.equal(
    needsSocketBeforeConnect({ sockopts: { ttl: 7, tos: 184, nodelay: false, linger: 0 } }),
    false,
  );
  assert.equal(needsSocketBeforeConnect({ bind: { address: "127.0.0.5", port: 0 } }), true);
  assert.equal(needsSocketBeforeConnect({ sockopts: { mss: 1000 } }), true);
  assert.equal(needsSocketBeforeConnect({ sockopts: { reuseaddr: true } }), true);
  assert.equal(needsSocketBeforeConnect({ sockopts: { reuseport: false } }), true);
});

Deno.test("connectedEventText shows both ends, IPv6 in brackets, then the options", () => {
  const ev = {
    event: "connected",
    proto: "tcp",
    local: "127.0.0.5",
    local_port: 4000,
    peer: "127.0.0.1",
    port: 7,
  } as const;
  assert.equal(connectedEventText(ev), "connected tcp 127.0.0.5:4000 -> 127.0.0.1:7");
  assert.equal(
    connectedEventText({ ...ev, proto: "udp", local: "::1", peer: "::1" }),
    "connected udp [::1]:4000 -> [::1]:7",
  );
  assert.equal(
    connectedEventText({
      ...ev,
      options: {
        rcvbuf: 131072,
        sndbuf: 16384,
        ttl: 7,
        tos: 184,
        reuseaddr: false,
        reuseport: false,
        nodelay: true,
        keepalive: false,
        linger: false,
        mss: 1000,
      },
    }),
    "connected tcp 127.0.0.5:4000 -> 127.0.0.1:7 options rcvbuf=131072 sndbuf=16384 ttl=7 " +
      "tos=ef reuseaddr=off reuseport=off nodelay=on keepalive=off linger=off mss=1000",
  );
});
