import assert from "node:assert/strict";
import { RuntimeError, SysError, UsageError } from "../../base/errors.ts";
import type { ProbeOutcome, ProberAddress } from "../../ffi/ping/client.ts";
import { type PingEvent, PingTally } from "./ping.ts";
import {
  connectedAddress,
  finishRun,
  proberAddresses,
  tallyOutcomes,
  udpSizeError,
} from "./fast_events.ts";

/** A tally for udp 127.0.0.1:7 with a 1000 ms timeout, and the events it emits. */
function tallied(address = "127.0.0.1", port = 7) {
  const events: PingEvent[] = [];
  const tally = new PingTally({
    proto: "udp",
    address,
    port,
    timeoutMs: 1000,
    onEvent: (ev) => events.push(ev),
  });
  return { tally, events };
}

Deno.test("tallyOutcomes turns each outcome into its ping event, rtt ns to ms", () => {
  const cases: [ProbeOutcome, PingEvent][] = [
    [
      { k: "reply", seq: 1, bytes: 64, rttNs: 215_400 },
      { event: "reply", seq: 1, bytes: 64, rtt_ms: 0.215, from: "127.0.0.1", port: 7 },
    ],
    // rounded to the microsecond
    [
      { k: "reply", seq: 2, bytes: 12, rttNs: 1_234_600 },
      { event: "reply", seq: 2, bytes: 12, rtt_ms: 1.235, from: "127.0.0.1", port: 7 },
    ],
    [{ k: "late", seq: 3, rttNs: 2_500_500_600 }, { event: "late", seq: 3, rtt_ms: 2500.501 }],
    [{ k: "duplicate", seq: 4 }, { event: "duplicate", seq: 4 }],
    [
      { k: "corrupt", seq: 5, bytes: 64, reason: "echo differs from probe" },
      { event: "corrupt", seq: 5, bytes: 64, reason: "echo differs from probe" },
    ],
    [
      { k: "corrupt", seq: null, bytes: 3, reason: "not our probe" },
      { event: "corrupt", seq: null, bytes: 3, reason: "not our probe" },
    ],
    [{ k: "timeout", seq: 6 }, { event: "timeout", seq: 6, timeout_ms: 1000 }],
    [{ k: "refused", seq: 7 }, { event: "refused", seq: 7, from: "127.0.0.1", port: 7 }],
  ];
  for (const [outcome, event] of cases) {
    const { tally, events } = tallied();
    tallyOutcomes(tally, [outcome]);
    assert.deepEqual(events, [event], outcome.k);
  }
});

Deno.test("tallyOutcomes names the tally's peer in reply and refused events", () => {
  const { tally, events } = tallied("::1", 9);
  tallyOutcomes(tally, [{ k: "reply", seq: 1, bytes: 12, rttNs: 1e6 }, { k: "refused", seq: 2 }]);
  assert.deepEqual(events, [
    { event: "reply", seq: 1, bytes: 12, rtt_ms: 1, from: "::1", port: 9 },
    { event: "refused", seq: 2, from: "::1", port: 9 },
  ]);
});

Deno.test("tallyOutcomes keeps the prober's order within and across batches", () => {
  const { tally, events } = tallied();
  // Out of sequence order, as the prober may see them: a timeout before an earlier reply.
  tallyOutcomes(tally, [
    { k: "timeout", seq: 2 },
    { k: "reply", seq: 3, bytes: 12, rttNs: 3e6 },
    { k: "late", seq: 2, rttNs: 1.2e9 },
  ]);
  tallyOutcomes(tally, []);
  tallyOutcomes(tally, [{ k: "duplicate", seq: 3 }, { k: "reply", seq: 1, bytes: 12, rttNs: 1e6 }]);
  assert.deepEqual(events.map((e) => `${e.event} ${"seq" in e ? e.seq : ""}`), [
    "timeout 2",
    "reply 3",
    "late 2",
    "duplicate 3",
    "reply 1",
  ]);
});

Deno.test("tallyOutcomes neither reports nor counts a sent outcome", () => {
  const { tally, events } = tallied();
  tallyOutcomes(tally, [{ k: "sent", count: 5 }]);
  assert.deepEqual(events, []);
  assert.equal(tally.sent, 0);
  const { summary } = finishRun(tally, { sent: 0, elapsedMs: 1 }, "127.0.0.1", 7);
  assert.deepEqual([summary.sent, summary.received, summary.lost], [0, 0, 0]);
});

Deno.test("finishRun counts what the outcomes were: late is lost, refused is not", () => {
  const { tally, events } = tallied();
  tallyOutcomes(tally, [
    { k: "reply", seq: 1, bytes: 12, rttNs: 1_000_000 },
    { k: "reply", seq: 2, bytes: 12, rttNs: 3_000_000 },
    { k: "duplicate", seq: 2 },
    { k: "timeout", seq: 3 },
    { k: "late", seq: 3, rttNs: 1_500_000_000 },
    { k: "corrupt", seq: null, bytes: 5, reason: "not our probe" },
    { k: "refused", seq: 4 },
    { k: "timeout", seq: 5 },
  ]);
  const { summary, error } = finishRun(tally, { sent: 6, elapsedMs: 1234.6 }, "127.0.0.1", 7);
  assert.equal(error, null);
  assert.deepEqual(summary, {
    event: "summary",
    proto: "udp",
    address: "127.0.0.1",
    port: 7,
    sent: 6,
    received: 2,
    lost: 3, // seq 3 (late), 5, 6 (never answered); seq 4 was refused
    refused: 1,
    late: 1,
    duplicates: 1,
    corrupt: 1,
    loss_pct: 50,
    time_ms: 1235,
    // only replies in time count: not the late 1500 ms
    min_ms: 1,
    avg_ms: 2,
    max_ms: 3,
    mdev_ms: 1,
    p50_ms: 1, // nearest rank
    p90_ms: 3,
    p99_ms: 3,
  });
  assert.equal(events.at(-1), summary, "the summary is emitted last");
});

Deno.test("finishRun without a reply has no round-trip fields and rounds the loss", () => {
  const { tally } = tallied();
  tallyOutcomes(tally, [{ k: "timeout", seq: 1 }]);
  const { summary } = finishRun(tally, { sent: 3, elapsedMs: 0.4 }, "127.0.0.1", 7);
  assert.equal(summary.loss_pct, 100);
  assert.equal(summary.time_ms, 0);
  assert.equal("min_ms" in summary || "p99_ms" in summary, false);
  const two = tallied();
  tallyOutcomes(two.tally, [
    { k: "reply", seq: 1, bytes: 12, rttNs: 1e6 },
    { k: "reply", seq: 2, bytes: 12, rttNs: 1e6 },
  ]);
  assert.equal(finishRun(two.tally, { sent: 3, elapsedMs: 1 }, "x", 1).summary.loss_pct, 33.3);
  assert.equal(finishRun(tallied().tally, { sent: 0, elapsedMs: 1 }, "x", 1).summary.loss_pct, 0);
});

Deno.test("finishRun gives a peer's close as a runtime error after the summary", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1:7 closed the connection"],
    ["::1", "[::1]:7 closed the connection"],
  ];
  for (const [address, text] of cases) {
    const { tally, events } = tallied(address);
    const eof = new SysError("recv", "EOF", { address, port: 7 });
    const { summary, error } = finishRun(tally, { sent: 1, elapsedMs: 5, error: eof }, address, 7);
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, text);
    assert.deepEqual(events, [summary]);
  }
  const reset = new SysError("recv", "ECONNRESET", { address: "127.0.0.1", port: 7 });
  const { error } = finishRun(tallied().tally, { sent: 2, elapsedMs: 5, error: reset }, "h", 7);
  assert.equal(error, reset, "any other error is thrown as the prober gave it");
});

Deno.test("proberAddresses turns an IPv6 zone into the scope id", () => {
  const asked: string[] = [];
  const ifIndex = (name: string) => {
    asked.push(name);
    return name === "eth0" ? 2 : 0;
  };
  assert.deepEqual(
    proberAddresses([
      { address: "127.0.0.1", family: 4 },
      { address: "::1", family: 6 },
      { address: "fe80::1%eth0", family: 6 },
      { address: "fe80::2%7", family: 6 },
      { address: "fe80::3%", family: 6 },
      { address: "fe80::4%nosuch", family: 6 },
    ], ifIndex),
    [
      { address: "127.0.0.1", family: 4, scopeId: 0 },
      { address: "::1", family: 6, scopeId: 0 },
      { address: "fe80::1", family: 6, scopeId: 2 },
      { address: "fe80::2", family: 6, scopeId: 7 },
      { address: "fe80::3", family: 6, scopeId: 0 },
      { address: "fe80::4", family: 6, scopeId: 0 },
    ],
  );
  // Only names are looked up: a number is the index itself.
  assert.deepEqual(asked, ["eth0", "nosuch"]);
  assert.deepEqual(proberAddresses([], ifIndex), []);
});

Deno.test("connectedAddress names the prober's address, or keeps the resolver's", () => {
  const addresses: ProberAddress[] = [
    { address: "fe80::1", family: 6, scopeId: 2 },
    { address: "127.0.0.1", family: 4, scopeId: 0 },
  ];
  assert.equal(connectedAddress(addresses, "127.0.0.1", "fe80::1%eth0"), "127.0.0.1");
  assert.equal(connectedAddress(addresses, "fe80::1", "fe80::1%eth0"), "fe80::1");
  assert.equal(connectedAddress(addresses, "10.0.0.1", "fe80::1%eth0"), "fe80::1%eth0");
});

Deno.test("udpSizeError refuses a probe over the largest payload, naming the address", () => {
  assert.equal(udpSizeError(65507, 65507, "localhost", { address: "127.0.0.1", family: 4 }), null);
  assert.equal(udpSizeError(12, 65507, "localhost", { address: "127.0.0.1", family: 4 }), null);
  const e = udpSizeError(65508, 65507, "localhost", { address: "127.0.0.1", family: 4 });
  assert.ok(e instanceof UsageError);
  assert.equal(
    e.message,
    'invalid --size "65508": must be 12-65507 (localhost is IPv4 127.0.0.1)',
  );
  assert.equal(
    udpSizeError(70000, 65527, "h", { address: "::1", family: 6 })?.message,
    'invalid --size "70000": must be 12-65527 (h is IPv6 ::1)',
  );
});
