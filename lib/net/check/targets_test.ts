import assert from "node:assert/strict";
import { UsageError } from "../../base/errors.ts";
import { parseHostsFile, parseTarget } from "./targets.ts";

Deno.test("parseTarget splits host[:port] and keeps bare IPv6 whole", () => {
  const cases: [string, ReturnType<typeof parseTarget>][] = [
    ["web1", { host: "web1", port: 7 }],
    ["web1:7007", { host: "web1", port: 7007 }],
    ["192.0.2.7:9", { host: "192.0.2.7", port: 9 }],
    ["2001:db8::7", { host: "2001:db8::7", port: 7 }],
    ["::1", { host: "::1", port: 7 }],
    ["[2001:db8::7]:7007", { host: "2001:db8::7", port: 7007 }],
    ["[::1]", { host: "::1", port: 7 }],
    ["web1:0", "port must be 1-65535"],
    ["web1:65536", "port must be 1-65535"],
    ["web1:", "port must be 1-65535"],
    ["web1:x", "port must be 1-65535"],
    [":7", "empty host"],
    ["[web1]:7", "brackets hold an IPv6 address"],
    ["a b", "not a host name or address"],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseTarget(text, 7), want, text);
});

Deno.test("parseHostsFile reads one host[:port] a line, skipping comments and blanks", () => {
  const text = "# fleet\nweb1\n  web2:7007  \n\n[2001:db8::7]:9 # spare\n2001:db8::8\r\n";
  assert.deepEqual(parseHostsFile(text, 7, "--hosts"), [
    { host: "web1", port: 7 },
    { host: "web2", port: 7007 },
    { host: "2001:db8::7", port: 9 },
    { host: "2001:db8::8", port: 7 },
  ]);
  assert.deepEqual(parseHostsFile("# nothing\n\n", 7, "--hosts"), []);
});

Deno.test("parseHostsFile names the line of a bad entry", () => {
  assert.throws(
    () => parseHostsFile("web1\n\ndb:99999\n", 7, "--hosts"),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === 'invalid --hosts line 3 "db:99999": port must be 1-65535',
  );
});
