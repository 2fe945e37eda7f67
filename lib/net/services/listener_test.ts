import assert from "node:assert/strict";
import { inetdEventText, newTotals, summaryOf } from "./listener.ts";

Deno.test("inetdEventText names the service, the program and TLS on the listening line", () => {
  const base = { event: "listening", proto: "tcp", address: "::", port: 13, family: 6 } as const;
  assert.equal(inetdEventText({ ...base, service: "daytime" }), "listening tcp [::]:13 (daytime)");
  assert.equal(
    inetdEventText({ ...base, service: "exec", command: ["tr", "a-z", "A-Z"], tls: true }),
    "listening tcp [::]:13 (exec: tr a-z A-Z, tls)",
  );
  assert.equal(
    inetdEventText({ ...base, service: "echo", tls: true, alpn: ["h2", "x"] }),
    "listening tcp [::]:13 (echo, tls alpn=h2,x)",
  );
});

Deno.test("inetdEventText gives a child's exit status or signal on close", () => {
  const close = {
    event: "close",
    proto: "tcp",
    peer: "127.0.0.1",
    port: 5000,
    bytes_in: 5,
    bytes_out: 7,
    duration_ms: 12,
  } as const;
  assert.equal(
    inetdEventText({ ...close, reason: "exit", pid: 9, exit_code: 0, exit_signal: null }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (exit, exit 0)",
  );
  assert.equal(
    inetdEventText({
      ...close,
      reason: "exec-timeout",
      pid: 9,
      exit_code: null,
      exit_signal: "SIGTERM",
    }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (exec-timeout, signal SIGTERM)",
  );
  assert.equal(
    inetdEventText({ ...close, reason: "tls-handshake", error: "bad cert" }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (tls-handshake: bad cert)",
  );
});

Deno.test("inetdEventText renders the other events on one line each", () => {
  const p = { peer: "::1", port: 7 };
  assert.equal(
    inetdEventText({ event: "handshake", proto: "tcp", ...p, alpn: null }),
    "tls [::1]:7 alpn=none",
  );
  assert.equal(
    inetdEventText({ event: "drop", proto: "udp", ...p, bytes: 0, reason: "amplification" }),
    "drop 0 bytes from [::1]:7 (amplification)",
  );
  assert.equal(
    inetdEventText({ event: "spawn", proto: "udp", ...p, pid: 42 }),
    "spawn [::1]:7 pid=42",
  );
  assert.equal(
    inetdEventText({ event: "stderr", proto: "tcp", ...p, pid: 42, line: "oops" }),
    "[::1]:7: oops",
  );
  assert.equal(inetdEventText({ event: "error", proto: "tcp", error: "x" }), null);
});

Deno.test("summaryOf counts children only for exec, and the text lists refusals", () => {
  const t = { ...newTotals(), connections: 3, bytes_in: 10, bytes_out: 20, rejected: 2 };
  const s = summaryOf("tcp", "exec", t, performance.now());
  assert.equal(s.children, 0);
  assert.equal(
    inetdEventText({ ...s, duration_ms: 1500 }),
    "summary tcp (exec): 3 connections, in=10 out=20 bytes, 0 children, 2 rejected, 1.5s",
  );
  const u = summaryOf("udp", "chargen", { ...newTotals(), datagrams: 4, dropped: 1 }, 0);
  assert.equal("children" in u, false);
  assert.match(
    inetdEventText(u)!,
    /^summary udp \(chargen\): 4 datagrams, in=0 out=0 bytes, 1 dropped, /,
  );
});
