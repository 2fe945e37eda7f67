import assert from "node:assert/strict";
import { execEnv } from "./env.ts";

Deno.test("execEnv names both ends, IPv4-mapped peers as plain IPv4", () => {
  assert.deepEqual(
    execEnv({
      proto: "tcp",
      remote: { address: "::ffff:127.0.0.1", port: 40000 },
      local: { address: "::ffff:127.0.0.1", port: 7 },
    }),
    {
      SOCKBOX_PROTO: "tcp",
      SOCKBOX_REMOTE_ADDR: "127.0.0.1",
      SOCKBOX_REMOTE_PORT: "40000",
      SOCKBOX_LOCAL_ADDR: "127.0.0.1",
      SOCKBOX_LOCAL_PORT: "7",
    },
  );
});

Deno.test("execEnv keeps IPv6 peers and adds SCTP stream and PPID", () => {
  const env = execEnv({
    proto: "sctp",
    remote: { address: "::1", port: 5000 },
    local: { address: "::1", port: 9 },
    sctp: { stream: 3, ppid: 42 },
  });
  assert.equal(env.SOCKBOX_REMOTE_ADDR, "::1");
  assert.equal(env.SOCKBOX_SCTP_STREAM, "3");
  assert.equal(env.SOCKBOX_SCTP_PPID, "42");
  assert.equal(env.SOCKBOX_TLS, undefined);
});

Deno.test("execEnv says TLS and the ALPN protocol when there is one", () => {
  const base = {
    proto: "tcp" as const,
    remote: { address: "10.0.0.1", port: 1 },
    local: { address: "10.0.0.2", port: 2 },
  };
  const with_ = execEnv({ ...base, tls: { alpn: "h2" } });
  assert.equal(with_.SOCKBOX_TLS, "1");
  assert.equal(with_.SOCKBOX_TLS_ALPN, "h2");
  const without = execEnv({ ...base, tls: { alpn: null } });
  assert.equal(without.SOCKBOX_TLS, "1");
  assert.equal("SOCKBOX_TLS_ALPN" in without, false);
});
