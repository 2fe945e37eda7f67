import assert from "node:assert/strict";
import { serveAllEventText } from "./all.ts";

Deno.test("serveAllEventText says which protocols listen and why one does not", () => {
  const at = { address: "::", port: 7007, family: 6 } as const;
  assert.equal(
    serveAllEventText({ event: "listening", proto: "tcp", ...at, up: true }),
    "listening tcp [::]:7007",
  );
  assert.equal(
    serveAllEventText({
      event: "listening",
      proto: "sctp",
      ...at,
      up: false,
      reason: "SCTP is not available in this kernel (socket: EPROTONOSUPPORT); try 'modprobe sctp'",
    }),
    "not listening sctp [::]:7007: SCTP is not available in this kernel (socket: EPROTONOSUPPORT); try 'modprobe sctp'",
  );
  assert.equal(serveAllEventText({ event: "warning", proto: "sctp", message: "x" }), null);
});

Deno.test("serveAllEventText renders the echo and SCTP servers' own events as they do", () => {
  assert.equal(
    serveAllEventText({ event: "accept", proto: "tcp", peer: "192.0.2.9", port: 4000, open: 1 }),
    "accept 192.0.2.9:4000",
  );
  assert.equal(
    serveAllEventText({ event: "summary", proto: "sctp", associations: 2, messages: 5, bytes: 90 }),
    "stopped: 2 associations, 5 messages, 90 bytes echoed",
  );
});
