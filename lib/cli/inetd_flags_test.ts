import assert from "node:assert/strict";
import {
  checkIdleTimeout,
  parseAlpn,
  parseRecv,
  parseSctpExec,
  parseServeInetd,
  parseTlsClient,
  tlsEventText,
} from "./inetd_flags.ts";

type V = Record<string, string | boolean | undefined>;

Deno.test("parseServeInetd reads exec, services and TLS", () => {
  assert.equal(parseServeInetd("tcp", {}, []), null);
  assert.equal(parseServeInetd("udp", { service: "echo" }, []), null); // the echo server itself
  assert.deepEqual(parseServeInetd("tcp", { exec: "tr a-z A-Z", "exec-timeout": "2s" }, []), {
    exec: { kind: "exec", command: "tr a-z A-Z" },
    execTimeoutMs: 2000,
  });
  assert.deepEqual(parseServeInetd("udp", { "sh-exec": "echo $X" }, []), {
    exec: { kind: "sh", command: "echo $X" },
  });
  assert.deepEqual(parseServeInetd("tcp", { service: "qotd", "quote-file": "q.txt" }, []), {
    service: "qotd",
    quoteFile: "q.txt",
  });
  assert.deepEqual(
    parseServeInetd("tcp", { tls: true, cert: "c.pem", key: "k.pem", alpn: "h2,x" }, []),
    { tls: { certFile: "c.pem", keyFile: "k.pem", alpn: ["h2", "x"] } },
  );
  assert.deepEqual(
    parseServeInetd("tcp", { service: "echo", tls: true, cert: "c", key: "k" }, []),
    { service: "echo", tls: { certFile: "c", keyFile: "k" } },
  );
});

const BAD: [string, "tcp" | "udp", V, string[], string][] = [
  ["exec+sh", "tcp", { exec: "a", "sh-exec": "b" }, [], "--exec cannot be used with --sh-exec"],
  [
    "exec+service",
    "tcp",
    { exec: "a", service: "time" },
    [],
    "--exec cannot be used with --service",
  ],
  [
    "sh+service",
    "udp",
    { "sh-exec": "a", service: "time" },
    [],
    "--sh-exec cannot be used with --service",
  ],
  ["empty exec", "tcp", { exec: "  " }, [], 'invalid --exec "  ": the command is empty'],
  ["empty sh", "tcp", { "sh-exec": "" }, [], 'invalid --sh-exec "": the command is empty'],
  [
    "timeout alone",
    "tcp",
    { "exec-timeout": "1s" },
    [],
    "--exec-timeout needs --exec or --sh-exec",
  ],
  [
    "bad timeout",
    "tcp",
    { exec: "cat", "exec-timeout": "soon" },
    [],
    'invalid --exec-timeout "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [
    "bad service",
    "tcp",
    { service: "finger" },
    [],
    'invalid --service "finger": must be echo, discard, chargen, daytime, time or qotd',
  ],
  ["quote without qotd", "tcp", { "quote-file": "q" }, [], "--quote-file needs --service qotd"],
  ["udp tls", "udp", { tls: true, cert: "c", key: "k" }, [], "--tls cannot be used with udp"],
  ["tls no key", "tcp", { tls: true, cert: "c" }, [], "--tls needs --cert FILE and --key FILE"],
  ["cert no tls", "tcp", { cert: "c" }, [], "--cert needs --tls"],
  ["alpn no tls", "tcp", { alpn: "h2" }, [], "--alpn needs --tls"],
  [
    "engine+exec",
    "tcp",
    { exec: "cat" },
    ["--engine ffi"],
    "--engine ffi cannot be used with --exec",
  ],
  [
    "workers+tls",
    "tcp",
    { tls: true, cert: "c", key: "k" },
    ["--workers"],
    "--workers cannot be used with --tls",
  ],
  [
    "engine+service",
    "udp",
    { service: "time" },
    ["--engine ffi"],
    "--engine ffi cannot be used with --service",
  ],
];

for (const [name, proto, v, echoOnly, message] of BAD) {
  Deno.test(`parseServeInetd rejects ${name}`, () => {
    assert.throws(() => parseServeInetd(proto, v, echoOnly), { name: "UsageError", message });
  });
}

Deno.test("checkIdleTimeout allows echo and discard only", () => {
  checkIdleTimeout({ service: "discard" });
  checkIdleTimeout({ tls: { certFile: "c", keyFile: "k" } });
  assert.throws(() => checkIdleTimeout({ service: "chargen" }), {
    message: "--idle-timeout cannot be used with --service chargen",
  });
  assert.throws(() => checkIdleTimeout({ exec: { kind: "sh", command: "x" } }), {
    message: "--idle-timeout cannot be used with --sh-exec",
  });
});

Deno.test("parseAlpn takes comma-separated names of 1-255 bytes (RFC 7301)", () => {
  assert.deepEqual(parseAlpn("h2,http/1.1"), ["h2", "http/1.1"]);
  for (const bad of ["", "h2,", "x".repeat(256)]) {
    assert.throws(() => parseAlpn(bad), {
      message:
        `invalid --alpn "${bad}": must be protocol names separated by commas (1-255 bytes each)`,
    });
  }
});

Deno.test("parseSctpExec reads exec, its timeout and --max-conns", () => {
  assert.equal(parseSctpExec({}), null);
  assert.deepEqual(parseSctpExec({ exec: "cat", "max-conns": "2", "exec-timeout": "500ms" }), {
    exec: { kind: "exec", command: "cat" },
    execTimeoutMs: 500,
    maxConns: 2,
  });
  assert.throws(() => parseSctpExec({ "max-conns": "2" }), {
    message: "--max-conns needs --exec or --sh-exec with sctp",
  });
  assert.throws(() => parseSctpExec({ exec: "cat", "max-conns": "0" }), {
    message: 'invalid --max-conns "0": must be 1-1000000',
  });
});

Deno.test("parseTlsClient reads the client TLS flags", () => {
  assert.equal(parseTlsClient("tcp", {}), null);
  assert.deepEqual(parseTlsClient("tcp", { tls: true }), { insecure: false });
  assert.deepEqual(
    parseTlsClient("tcp", { tls: true, ca: "ca.pem", servername: "localhost", alpn: "h2" }),
    { insecure: false, caFile: "ca.pem", servername: "localhost", alpn: ["h2"] },
  );
  assert.deepEqual(parseTlsClient("tcp", { tls: true, insecure: true }), { insecure: true });
});

const BAD_CLIENT: [string, V, string][] = [
  ["udp", { tls: true }, "--tls cannot be used with udp"],
  ["ca alone", { ca: "x" }, "--ca needs --tls"],
  ["insecure alone", { insecure: true }, "--insecure needs --tls"],
  ["servername alone", { servername: "x" }, "--servername needs --tls"],
  ["insecure+ca", { tls: true, insecure: true, ca: "x" }, "--insecure cannot be used with --ca"],
  [
    "address servername",
    { tls: true, servername: "127.0.0.1" },
    'invalid --servername "127.0.0.1": must be a host name (RFC 6066 sends no addresses)',
  ],
];

for (const [name, v, message] of BAD_CLIENT) {
  Deno.test(`parseTlsClient rejects ${name}`, () => {
    assert.throws(() => parseTlsClient(name === "udp" ? "udp" : "tcp", v), {
      name: "UsageError",
      message,
    });
  });
}

Deno.test("parseRecv reads --recv and --max-bytes", () => {
  assert.equal(parseRecv("tcp", {}), null);
  assert.deepEqual(parseRecv("tcp", { recv: true }), {});
  assert.deepEqual(parseRecv("tcp", { recv: true, "max-bytes": "1000" }), { maxBytes: 1000 });
  assert.throws(() => parseRecv("tcp", { "max-bytes": "5" }), {
    message: "--max-bytes needs --recv",
  });
  assert.throws(() => parseRecv("udp", { recv: true }), {
    message: "--recv cannot be used with udp",
  });
  assert.throws(() => parseRecv("tcp", { recv: true, "max-bytes": "0" }), {
    message: 'invalid --max-bytes "0": must be 1-9007199254740991',
  });
});

Deno.test("tlsEventText gives the version, ALPN and whether the certificate was checked", () => {
  assert.equal(
    tlsEventText({ version: "TLSv1.3", alpn: "h2", verified: true }),
    "TLS TLSv1.3, alpn=h2",
  );
  assert.equal(
    tlsEventText({ version: null, alpn: null, verified: false }),
    "TLS (version unknown), alpn=none, certificate NOT verified (--insecure)",
  );
});
