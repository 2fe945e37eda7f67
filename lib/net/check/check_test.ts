import assert from "node:assert/strict";
import {
  type CellEvent,
  cellText,
  checkEventText,
  type PathEvent,
  pathText,
  summaryText,
} from "./check.ts";

const base = { event: "cell", host: "server", port: 7, address: "192.0.2.7", family: 4 } as const;

function cell(o: Partial<CellEvent>): CellEvent {
  return {
    ...base,
    proto: "tcp",
    result: "ok",
    sent: 3,
    received: 3,
    rtt_ms: 0.4123,
    reason: null,
    from: null,
    ...o,
  };
}

Deno.test("cellText shows RTT and count for ok, reason and sender otherwise", () => {
  assert.equal(cellText(cell({})), "ok 0.41ms 3/3");
  assert.equal(cellText(cell({ rtt_ms: 12.34, received: 2 })), "ok 12.3ms 2/3");
  assert.equal(
    cellText(
      cell({
        result: "rejected",
        rtt_ms: null,
        received: 0,
        reason: "ICMP admin-prohibited",
        from: "192.0.2.1",
      }),
    ),
    "rejected (ICMP admin-prohibited from 192.0.2.1)",
  );
  assert.equal(cellText(cell({ result: "refused", reason: "TCP RST" })), "refused (TCP RST)");
  assert.equal(cellText(cell({ result: "filtered" })), "filtered");
});

Deno.test("pathText names the MTU, the largest echo and who said too big", () => {
  const p: PathEvent = {
    event: "path",
    host: "server",
    port: 7,
    address: "192.0.2.7",
    family: 4,
    mtu: 1400,
    max_payload: 1372,
    from: "192.0.2.1",
  };
  assert.equal(
    pathText(p),
    "path 192.0.2.7: mtu 1400, max payload 1372, frag-needed from 192.0.2.1",
  );
  assert.equal(
    pathText({ ...p, address: "2001:db8::7", family: 6, max_payload: null, from: "2001:db8::1" }),
    "path 2001:db8::7: mtu 1400, max payload none (no echo came back), packet-too-big from 2001:db8::1",
  );
  assert.equal(
    pathText({ ...p, mtu: 1500, max_payload: 1472, from: null }),
    "path 192.0.2.7: mtu 1500, max payload 1472",
  );
  assert.equal(
    pathText({ ...p, error: "connect ENETUNREACH 192.0.2.7:7" }),
    "path 192.0.2.7: connect ENETUNREACH 192.0.2.7:7",
  );
});

Deno.test("summaryText and checkEventText give one line per event", () => {
  const s = { event: "summary", hosts: 3, ok: 1, partly: 1, unreachable: 1 } as const;
  assert.equal(summaryText(s), "3 hosts: 1 ok, 1 partly, 1 unreachable");
  assert.equal(
    summaryText({ ...s, hosts: 1, partly: 0, unreachable: 0 }),
    "1 host: 1 ok, 0 partly, 0 unreachable",
  );
  assert.equal(checkEventText(cell({ proto: "udp" })), "192.0.2.7 udp ok 0.41ms 3/3");
  assert.equal(
    checkEventText({
      event: "host",
      host: "2001:db8::7",
      port: 7,
      addresses: [],
      status: "unreachable",
      error: null,
    }),
    "[2001:db8::7]:7 unreachable",
  );
});
