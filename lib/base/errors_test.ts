import assert from "node:assert/strict";
import {
  asError,
  formatEndpoint,
  RuntimeError,
  streamClosedError,
  streamSilentError,
  SysError,
  toSysError,
  UsageError,
} from "./errors.ts";

Deno.test("formatEndpoint brackets IPv6 only when a port follows", () => {
  const cases: [string, number | undefined, string][] = [
    ["1.2.3.4", 7, "1.2.3.4:7"],
    ["::1", 7, "[::1]:7"],
    ["fe80::1%eth0", 7, "[fe80::1%eth0]:7"],
    ["::ffff:10.0.0.1", 0, "[::ffff:10.0.0.1]:0"],
    ["localhost", 65535, "localhost:65535"],
    ["::1", undefined, "::1"],
    ["eth0", undefined, "eth0"],
  ];
  for (const [address, port, want] of cases) assert.equal(formatEndpoint(address, port), want);
});

Deno.test("SysError reads `syscall CODE address:port (detail)`", () => {
  const cases: [SysError, string][] = [
    [
      new SysError("connect", "ECONNREFUSED", { address: "127.0.0.1", port: 1 }),
      "connect ECONNREFUSED 127.0.0.1:1",
    ],
    [
      new SysError("listen", "EADDRINUSE", { address: "::", port: 7007 }),
      "listen EADDRINUSE [::]:7007",
    ],
    [new SysError("socket", "EPROTONOSUPPORT"), "socket EPROTONOSUPPORT"],
    [
      new SysError("socket", "EPROTONOSUPPORT", {}, "try 'modprobe sctp'"),
      "socket EPROTONOSUPPORT (try 'modprobe sctp')",
    ],
    [
      new SysError("if_nametoindex", "ENODEV", { address: "nosuchif0" }, "no such interface"),
      "if_nametoindex ENODEV nosuchif0 (no such interface)",
    ],
    [
      new SysError(
        "recvfrom",
        "ETIMEDOUT",
        { address: "127.0.0.1", port: 7 },
        "no echo within 5000ms",
      ),
      "recvfrom ETIMEDOUT 127.0.0.1:7 (no echo within 5000ms)",
    ],
    [new SysError("bind", "EACCES", { port: 80 }), "bind EACCES"],
    [new SysError("read", "EIO", {}, ""), "read EIO"],
  ];
  for (const [err, want] of cases) assert.equal(err.message, want);
});

Deno.test("SysError carries its parts and its cause", () => {
  const cause = new Error("underneath");
  const e = new SysError("sendto", "ENETUNREACH", { address: "192.0.2.1", port: 9 }, undefined, {
    cause,
  });
  assert.ok(e instanceof Error);
  assert.equal(e.name, "SysError");
  assert.deepEqual([e.syscall, e.code, e.address, e.port], [
    "sendto",
    "ENETUNREACH",
    "192.0.2.1",
    9,
  ]);
  assert.equal(e.cause, cause);
  const bare = new SysError("socket", "EMFILE");
  assert.deepEqual([bare.address, bare.port], [undefined, undefined]);
});

Deno.test("UsageError and RuntimeError keep the message as given", () => {
  const u = new UsageError('invalid PORT "70000": must be 0-65535');
  assert.ok(u instanceof Error);
  assert.equal(u.name, "UsageError");
  assert.equal(u.message, 'invalid PORT "70000": must be 0-65535');
  const r = new RuntimeError("echo mismatch from 127.0.0.1:7: byte 0 differs (sent 3 bytes)");
  assert.equal(r.name, "RuntimeError");
  assert.equal(r.message, "echo mismatch from 127.0.0.1:7: byte 0 differs (sent 3 bytes)");
});

Deno.test("toSysError names the errno of every Deno network error", () => {
  const cases: [string, string][] = [
    ["ConnectionRefused", "ECONNREFUSED"],
    ["ConnectionReset", "ECONNRESET"],
    ["ConnectionAborted", "ECONNABORTED"],
    ["NotConnected", "ENOTCONN"],
    ["AddrInUse", "EADDRINUSE"],
    ["AddrNotAvailable", "EADDRNOTAVAIL"],
    ["BrokenPipe", "EPIPE"],
    ["PermissionDenied", "EACCES"],
    ["TimedOut", "ETIMEDOUT"],
    ["NetworkUnreachable", "ENETUNREACH"],
    ["HostUnreachable", "EHOSTUNREACH"],
    ["Interrupted", "EINTR"],
    ["WouldBlock", "EAGAIN"],
    ["NotFound", "ENOENT"],
    ["InvalidData", "EINVAL"],
  ];
  const classes = Deno.errors as unknown as Record<string, new (msg: string) => Error>;
  for (const [name, code] of cases) {
    // Deno 2.9 has no Deno.errors.HostUnreachable; such an error is matched by its name.
    const Class = classes[name];
    const cause = Class ? new Class("Some text (os error 99)") : new Error("Some text");
    if (!Class) cause.name = name;
    assert.equal(cause.name, name);
    const e = toSysError(cause, "connect", { address: "127.0.0.1", port: 1 });
    assert.ok(e instanceof SysError, name);
    assert.equal(e.code, code);
    // A known errno name says it all: Deno's text is dropped.
    assert.equal(e.message, `connect ${code} 127.0.0.1:1`);
    assert.equal(e.cause, cause);
  }
});

Deno.test("toSysError keeps an error's own errno-style code (node:* errors)", () => {
  const node = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  assert.equal(
    toSysError(node, "read", { address: "::1", port: 7 }).message,
    "read ECONNRESET [::1]:7",
  );
  const gai = Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "EAI_NONAME" });
  assert.equal(
    toSysError(gai, "getaddrinfo", { address: "x" }).message,
    "getaddrinfo EAI_NONAME x",
  );
});

Deno.test("toSysError falls back to `errno N` and keeps the text without `(os error N)`", () => {
  const e = toSysError(new Error("Protocol not available (os error 92)"), "setsockopt");
  assert.ok(e instanceof SysError);
  assert.equal(e.code, "errno 92");
  assert.equal(e.message, "setsockopt errno 92 (Protocol not available)");
  const exists = toSysError(new Deno.errors.AlreadyExists("File exists (os error 17)"), "bind", {
    address: "/tmp/s",
  });
  assert.equal(exists.message, "bind errno 17 /tmp/s (File exists)");
});

Deno.test("toSysError says EUNKNOWN, with the text, when nothing names the errno", () => {
  assert.equal(toSysError(new Error("weird"), "bind").message, "bind EUNKNOWN (weird)");
  assert.equal(toSysError("boom", "read").message, "read EUNKNOWN (boom)");
  assert.equal(
    toSysError(42, "write", { address: "10.0.0.1", port: 2 }).message,
    "write EUNKNOWN 10.0.0.1:2 (42)",
  );
  const coded = Object.assign(new Error("odd failure"), { code: 7 });
  assert.equal(toSysError(coded, "send").message, "send EUNKNOWN (odd failure)");
});

Deno.test("toSysError passes sockbox's own errors through unchanged", () => {
  const errs = [
    new SysError("connect", "ECONNREFUSED", { address: "127.0.0.1", port: 1 }),
    new UsageError("bad flag"),
    new RuntimeError("echo mismatch"),
  ];
  for (const e of errs) assert.equal(toSysError(e, "other", { address: "x", port: 2 }), e);
});

Deno.test("toSysError maps a real refused Deno.connect to `connect ECONNREFUSED`", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr;
  l.close();
  const err = await Deno.connect({ hostname: "127.0.0.1", port }).then(
    (c) => (c.close(), null),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Deno.errors.ConnectionRefused, String(err));
  assert.match(err.message, /\(os error 111\)$/);
  const e = toSysError(err, "connect", { address: "127.0.0.1", port });
  assert.equal(e.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
});

Deno.test("toSysError lets Deno's own refusals through: no syscall caused them", () => {
  const denied = Object.assign(
    new Error('Requires net access to "127.0.0.1:7", run again with the --allow-net flag'),
    { name: "NotCapable" },
  );
  assert.equal(toSysError(denied, "connect", { address: "127.0.0.1", port: 7 }), denied);
  const missing = new TypeError("listenDatagram is not a function");
  assert.equal(toSysError(missing, "bind"), missing);
});

Deno.test("toSysError names errno numbers Deno reports only as (os error N)", () => {
  const e = toSysError(new Error("Protocol error (os error 71)"), "accept");
  assert.ok(e instanceof SysError);
  assert.equal(e.message, "accept EPROTO");
  assert.equal(toSysError(new Error("odd (os error 4095)"), "x").message, "x errno 4095 (odd)");
});

Deno.test("streamClosedError says who closed and what was owed", () => {
  const w = "127.0.0.1:7";
  assert.equal(
    streamClosedError(w, 0, 0).message,
    "127.0.0.1:7 closed the connection before anything was sent",
  );
  assert.equal(
    streamClosedError(w, 1, 1).message,
    "127.0.0.1:7 closed the connection before the input ended (1 byte sent, all echoed)",
  );
  assert.equal(
    streamClosedError(w, 5, 2).message,
    "echo incomplete from 127.0.0.1:7: sent 5 bytes, got 2 before the connection closed",
  );
  assert.equal(
    streamSilentError({ address: "::1", port: 7 }, 500, 0, 1).message,
    "recv ETIMEDOUT [::1]:7 (no echo for 500ms; 0 of 1 byte back)",
  );
});

Deno.test("asError keeps an Error (subclasses too) and wraps anything else in one", () => {
  const e = new RuntimeError("x");
  assert.equal(asError(e), e);
  const s = asError("plain text");
  assert.ok(s instanceof Error);
  assert.equal(s.message, "plain text");
  assert.equal(asError(42).message, "42");
});
