import assert from "node:assert/strict";
import { isService, type Service, SERVICES } from "./names.ts";

Deno.test("SERVICES lists every built-in service once, in the order of its RFC list", () => {
  // A Record over the union: the compiler fails here when a service is added to one only.
  const rfc: Record<Service, number> = {
    echo: 862,
    discard: 863,
    chargen: 864,
    daytime: 867,
    time: 868,
    qotd: 865,
  };
  assert.deepEqual(SERVICES, ["echo", "discard", "chargen", "daytime", "time", "qotd"]);
  assert.deepEqual([...SERVICES].sort(), Object.keys(rfc).sort());
  assert.equal(new Set(SERVICES).size, SERVICES.length);
});

Deno.test("isService takes exactly the service names", () => {
  for (const s of SERVICES) assert.equal(isService(s), true, s);
  for (
    const s of [
      "exec",
      "",
      "Echo",
      "ECHO",
      " echo",
      "echo ",
      "ech",
      "echo\0",
      "toString",
      "__proto__",
    ]
  ) {
    assert.equal(isService(s), false, JSON.stringify(s));
  }
});
