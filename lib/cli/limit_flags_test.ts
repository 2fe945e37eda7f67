import assert from "node:assert/strict";
import { formatCidr } from "../base/acl.ts";
import { UsageError } from "../base/errors.ts";
import { reflectGuardText } from "../base/reflect.ts";
import { limitFlagsGiven, parseLimits } from "./limit_flags.ts";

const usage = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.message, message);
    return true;
  });

Deno.test("parseLimits reads the lists and limits", () => {
  assert.deepEqual(parseLimits("tcp", {}), {});
  const o = parseLimits("tcp", {
    allow: ["127.0.0.0/8", "::1"],
    deny: ["127.0.0.9"],
    "max-per-ip": "4",
    rate: "10/s",
    "max-bytes": "1000",
  });
  assert.deepEqual(o.acl!.allow.map(formatCidr), ["127.0.0.0/8", "::1/128"]);
  assert.deepEqual(o.acl!.deny.map(formatCidr), ["127.0.0.9/32"]);
  assert.equal(o.maxPerIp, 4);
  assert.deepEqual(o.rate, { perSecond: 10, burst: 10 });
  assert.equal(o.maxBytes, 1000);
  assert.equal(o.reflect, undefined);
});

Deno.test("--reflect-guard sets the guard (without it the engines use the default)", () => {
  assert.equal(parseLimits("udp", {}).reflect, undefined);
  assert.equal(reflectGuardText(parseLimits("udp", { "reflect-guard": "off" }).reflect!), "off");
  assert.equal(
    reflectGuardText(parseLimits("udp", { "reflect-guard": "53,9000" }).reflect!),
    "53,9000",
  );
});

Deno.test("parseLimits names the option and the protocol where it does not apply", () => {
  usage(() => parseLimits("udp", { "max-per-ip": "1" }), "--max-per-ip cannot be used with udp");
  usage(() => parseLimits("udp", { "max-bytes": "1" }), "--max-bytes cannot be used with udp");
  usage(
    () => parseLimits("tcp", { "reflect-guard": "off" }),
    "--reflect-guard cannot be used with tcp",
  );
  usage(
    () => parseLimits("tcp", { allow: ["10.0.0.0/33"] }),
    'invalid --allow "10.0.0.0/33": must be an IP address or prefix (10.0.0.0/8, 2001:db8::/32)',
  );
  usage(
    () => parseLimits("udp", { deny: ["example.com"] }),
    'invalid --deny "example.com": must be an IP address or prefix (10.0.0.0/8, 2001:db8::/32)',
  );
  usage(
    () => parseLimits("tcp", { "max-per-ip": "0" }),
    'invalid --max-per-ip "0": must be 1-1000000',
  );
  usage(
    () => parseLimits("udp", { rate: "fast" }),
    'invalid --rate "fast": must be a number of events a second, e.g. 100 or 100/s',
  );
});

Deno.test("parseLimits takes lists, --max-per-ip and --rate for sctp, not --max-bytes", () => {
  const o = parseLimits("sctp", { allow: ["127.0.0.1"], "max-per-ip": "2", rate: "5" });
  assert.deepEqual(o.acl!.allow.map(formatCidr), ["127.0.0.1/32"]);
  assert.equal(o.maxPerIp, 2);
  assert.deepEqual(o.rate, { perSecond: 5, burst: 5 });
  usage(() => parseLimits("sctp", { "max-bytes": "1" }), "--max-bytes cannot be used with sctp");
  usage(
    () => parseLimits("sctp", { "reflect-guard": "off" }),
    "--reflect-guard cannot be used with sctp",
  );
});

Deno.test("limitFlagsGiven lists the flags as typed", () => {
  assert.deepEqual(limitFlagsGiven({ rate: "1", deny: ["::1"], json: true }), ["--deny", "--rate"]);
});
