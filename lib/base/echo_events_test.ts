import assert from "node:assert/strict";
import { type RejectEvent, rejectEventText } from "./echo_events.ts";

Deno.test("rejectEventText names the peer, bracketing IPv6, and the reason", () => {
  const cases: [RejectEvent<string, string>, string][] = [
    [
      { event: "reject", proto: "tcp", peer: "127.0.0.1", port: 5000, reason: "max-conns" },
      "reject 127.0.0.1:5000 (max-conns)",
    ],
    [
      { event: "reject", proto: "udp", peer: "::1", port: 7, reason: "ipv4-peer" },
      "reject [::1]:7 (ipv4-peer)",
    ],
    [
      { event: "reject", proto: "sctp", peer: "fe80::1", port: 0, reason: "denied" },
      "reject [fe80::1]:0 (denied)",
    ],
  ];
  for (const [ev, line] of cases) assert.equal(rejectEventText(ev), line);
});
