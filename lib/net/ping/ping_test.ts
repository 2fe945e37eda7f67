import assert from "node:assert/strict";
import { makeProbe, MIN_PROBE, type PingEvent, pingEventText, REFUSED, runPing } from "./ping.ts";
import { memoryTransport } from "./test_util.ts";

Deno.test("makeProbe lays out magic, session, sequence and filler", () => {
  const p = makeProbe(16, 0x01020304, 0x0a0b0c0d);
  assert.deepEqual(
    [...p],
    [
      ...[0x53, 0x42, 0x58, 0x50], // "SBXP"
      ...[1, 2, 3, 4],
      ...[0x0a, 0x0b, 0x0c, 0x0d],
      ...[0x5b, 0x00, 0xec, 0xd2], // filler: xorshift32 from a hash of the whole seq
    ],
  );
  // A flipped bit anywhere in the seq changes the filler too (no other probe's bytes).
  for (let bit = 0; bit < 32; bit++) {
    const other = makeProbe(16, 0x01020304, (0x0a0b0c0d ^ (1 << bit)) >>> 0);
    assert.notDeepEqual(other.subarray(12), p.subarray(12), `bit ${bit}`);
  }
  assert.equal(makeProbe(MIN_PROBE, 1, 1).length, 12);
  assert.equal(new TextDecoder().decode(makeProbe(12, 0, 0).subarray(0, 4)), "SBXP");
  assert.notDeepEqual(makeProbe(64, 1, 1), makeProbe(64, 1, 2));
  assert.deepEqual(makeProbe(300, 9, 4), makeProbe(300, 9, 4));
});

Deno.test("pingEventText renders each event like ping(8)", () => {
  const cases: [PingEvent, string][] = [
    [
      { event: "reply", seq: 1, bytes: 64, rtt_ms: 0.2154, from: "127.0.0.1", port: 7 },
      "64 bytes from 127.0.0.1:7: seq=1 time=0.215 ms",
    ],
    [
      { event: "reply", seq: 2, bytes: 12, rtt_ms: 3, from: "::1", port: 9 },
      "12 bytes from [::1]:9: seq=2 time=3.000 ms",
    ],
    [{ event: "timeout", seq: 3, timeout_ms: 2000 }, "no echo for seq=3 within 2000ms"],
    [
      { event: "late", seq: 3, rtt_ms: 2500.5 },
      "late echo for seq=3 after 2500.500 ms (counted as lost)",
    ],
    [{ event: "duplicate", seq: 4 }, "duplicate echo for seq=4"],
    [
      { event: "refused", seq: 6, from: "127.0.0.1", port: 9 },
      "seq=6 refused by 127.0.0.1:9 (port unreachable: nothing listens there)",
    ],
    [
      { event: "corrupt", seq: null, bytes: 3, reason: "not our probe" },
      "bad echo (3 bytes): not our probe",
    ],
    [
      { event: "corrupt", seq: 5, bytes: 64, reason: "echo differs from probe" },
      "bad echo for seq=5 (64 bytes): echo differs from probe",
    ],
  ];
  for (const [ev, line] of cases) assert.equal(pingEventText(ev), line, ev.event);
});

Deno.test("pingEventText renders the summary with and without round trips", () => {
  const base = {
    event: "summary" as const,
    proto: "udp",
    address: "127.0.0.1",
    port: 7,
    sent: 3,
    received: 0,
    lost: 3,
    refused: 0,
    late: 0,
    duplicates: 0,
    corrupt: 0,
    loss_pct: 100,
    time_ms: 2010,
  };
  assert.equal(
    pingEventText(base),
    "--- 127.0.0.1:7 udp ping statistics ---\n3 probes sent, 0 received, 100% loss, time 2010ms",
  );
  const answered = {
    ...base,
    received: 2,
    lost: 1,
    late: 1,
    corrupt: 1,
    loss_pct: 33.3,
    min_ms: 0.1,
    avg_ms: 0.15,
    max_ms: 0.2,
    mdev_ms: 0.05,
    p50_ms: 0.1,
    p90_ms: 0.2,
    p99_ms: 0.2,
  };
  for (const [duplicates, said] of [[2, "2 duplicates"], [1, "1 duplicate"]] as const) {
    assert.equal(
      pingEventText({ ...answered, duplicates }),
      [
        "--- 127.0.0.1:7 udp ping statistics ---",
        `3 probes sent, 2 received, 33.3% loss, 1 late, ${said}, 1 corrupt, time 2010ms`,
        "rtt min/avg/max/mdev = 0.100/0.150/0.200/0.050 ms",
        "rtt p50/p90/p99 = 0.100/0.200/0.200 ms",
      ].join("\n"),
    );
  }
  assert.equal(
    pingEventText({ ...base, sent: 1, received: 0, lost: 0, refused: 1, loss_pct: 0 }).split(
      "\n",
    )[1],
    "1 probe sent, 0 received, 0% loss, 1 refused, time 2010ms",
  );
});

const schedule = { count: 4, intervalMs: 0, size: 32, timeoutMs: 30 };
const target = { proto: "tcp", address: "127.0.0.1", port: 7 };

Deno.test("runPing counts replies, duplicates, bad echoes and timeouts", async () => {
  const events: PingEvent[] = [];
  const summary = await runPing(
    memoryTransport((probe, seq) => {
      if (seq === 1) return [probe];
      if (seq === 2) return [probe, probe]; // a duplicate
      if (seq === 3) return [new Uint8Array([1, 2, 3]), probe.slice().fill(0, 20)]; // junk, then damaged
      return []; // seq 4 times out
    }),
    {
      ...target,
      ...schedule,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    },
  );
  assert.deepEqual(
    events.map((e) => e.event === "summary" ? "summary" : `${e.event}:${"seq" in e ? e.seq : ""}`),
    [
      "reply:1",
      "reply:2",
      "duplicate:2",
      "corrupt:null",
      "corrupt:3",
      "timeout:3",
      "timeout:4",
      "summary",
    ],
  );
  assert.deepEqual(
    [summary.sent, summary.received, summary.lost, summary.duplicates, summary.corrupt],
    [4, 2, 2, 1, 2],
  );
  assert.equal(summary.loss_pct, 50);
  assert.equal(events.at(-1), summary);
  assert.ok(summary.min_ms !== undefined && summary.p99_ms !== undefined);
});

Deno.test("runPing stops when the signal aborts and still summarizes", async () => {
  const ac = new AbortController();
  let n = 0;
  const summary = await runPing(
    memoryTransport((probe) => {
      if (++n === 3) ac.abort();
      return [probe];
    }),
    { ...target, ...schedule, count: Infinity, signal: ac.signal, onEvent: () => {} },
  );
  assert.equal(summary.sent, 3);
  assert.ok(summary.received >= 2);
});

Deno.test("runPing counts a refusal against the oldest unanswered probe, not as lost", async () => {
  const events: PingEvent[] = [];
  const transport = memoryTransport((probe, seq) => [seq === 2 ? probe : REFUSED]);
  const summary = await runPing(transport, {
    ...target,
    ...schedule,
    count: 3,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(
    events.map((e) => e.event === "summary" ? "summary" : `${e.event}:${"seq" in e ? e.seq : ""}`),
    ["refused:1", "reply:2", "refused:3", "summary"],
  );
  assert.deepEqual([summary.sent, summary.received, summary.refused, summary.lost], [3, 1, 2, 0]);
});
