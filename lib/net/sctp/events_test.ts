/**
 * SCTP events: decoded notifications become events with the JSON field names and order
 * the CLI prints, and each event has one human line (the server's, the client's in the
 * words of the Solaris Socket Interfaces guide's SCTP echo client, the status table).
 */
import assert from "node:assert/strict";
import type { SctpNotification } from "../../ffi/sctp_codec.ts";
import {
  notificationEvent,
  sctpClientEventText,
  type SctpEvent,
  sctpEventText,
  sctpStatusText,
} from "./events.ts";

const up: SctpNotification = {
  type: "assoc_change",
  typeCode: 0x8001,
  state: "COMM_UP",
  error: 0,
  outstreams: 10,
  instreams: 12,
  assocId: 3,
};
const paddr: SctpNotification = {
  type: "paddr_change",
  typeCode: 0x8002,
  address: "10.0.0.2",
  state: "ADDR_UNREACHABLE",
  error: 110,
  assocId: 3,
};
const sendFailed: SctpNotification = {
  type: "send_failed",
  typeCode: 0x8003,
  error: 1,
  length: 5,
  stream: 2,
  ppid: 9,
  context: 0,
  assocId: 3,
};
const remoteError: SctpNotification = {
  type: "remote_error",
  typeCode: 0x8004,
  error: 1,
  length: 20,
  assocId: 3,
};

Deno.test("notificationEvent keeps the JSON field names and order", () => {
  const ev = notificationEvent(up, { address: "127.0.0.1", port: 4000 }, ["127.0.0.1", "::1"]);
  assert.deepEqual(Object.keys(ev), [
    "event",
    "type_code",
    "assoc",
    "state",
    "error",
    "outstreams",
    "instreams",
    "peer",
    "peers",
  ]);
  assert.deepEqual(ev, {
    event: "assoc_change",
    type_code: 0x8001,
    assoc: 3,
    state: "COMM_UP",
    error: 0,
    outstreams: 10,
    instreams: 12,
    peer: { address: "127.0.0.1", port: 4000 },
    peers: ["127.0.0.1", "::1"],
  });
  // Without a sender there is no peer field at all.
  assert.equal("peer" in notificationEvent(up), false);
  const cases: [SctpNotification, string[]][] = [
    [paddr, ["event", "type_code", "assoc", "address", "state", "error"]],
    [sendFailed, ["event", "type_code", "assoc", "error", "length", "stream", "ppid", "context"]],
    [remoteError, ["event", "type_code", "assoc", "error", "length"]],
    [
      { type: "shutdown_event", typeCode: 0x8005, assocId: 3 },
      ["event", "type_code", "assoc"],
    ],
    [
      { type: "type 32800", typeCode: 0x8020, assocId: 0 },
      ["event", "type_code", "assoc"],
    ],
  ];
  for (const [n, keys] of cases) {
    const ev = notificationEvent(n);
    assert.equal(ev.event, n.type);
    assert.deepEqual(Object.keys(ev), keys, n.type);
  }
});

Deno.test("sctpEventText prints one line per event", () => {
  const lines: [SctpEvent, string][] = [
    [notificationEvent(up), "assoc_change state=COMM_UP instr=12 outstr=10"],
    [
      notificationEvent({ ...up, state: "COMM_LOST", error: 5 }),
      "assoc_change state=COMM_LOST instr=12 outstr=10 error=5",
    ],
    [notificationEvent(paddr), "paddr_change addr=10.0.0.2 state=ADDR_UNREACHABLE error=110"],
    [notificationEvent(sendFailed), "send_failed error=1 len=5 stream=2 ppid=9"],
    [notificationEvent(remoteError), "remote_error error=1 len=20"],
    [notificationEvent({ type: "shutdown_event", typeCode: 0x8005, assocId: 3 }), "shutdown_event"],
    [notificationEvent({ type: "sender_dry", typeCode: 0x8009, assocId: 3 }), "sender_dry"],
    [notificationEvent({ type: "type 32800", typeCode: 0x8020, assocId: 0 }), "type 32800"],
    [
      { event: "message", bytes: 5, stream: 1, ppid: 42, ssn: 0, flags: 0, assoc: 3 },
      "got 5 bytes on stream 1 ppid 42",
    ],
    [
      { event: "summary", proto: "sctp", associations: 2, messages: 7, bytes: 90 },
      "stopped: 2 associations, 7 messages, 90 bytes echoed",
    ],
    [
      {
        event: "summary",
        proto: "sctp",
        associations: 1,
        messages: 3,
        bytes: 12,
        refused: { "not-allowed": 2, rate: 1 },
        running: true,
      },
      "running: 1 associations, 3 messages, 12 bytes echoed, refused: not-allowed 2, rate 1",
    ],
    [
      { event: "reject", proto: "sctp", peer: "::1", port: 4000, reason: "denied" },
      "reject [::1]:4000 (denied)",
    ],
  ];
  for (const [ev, line] of lines) assert.equal(sctpEventText(ev), line);
});

Deno.test("sctpClientEventText prints the echo and the notification type number", () => {
  assert.equal(
    sctpClientEventText({
      event: "echo",
      bytes: 5,
      stream: 3,
      ssn: 1,
      flags: 0x81,
      ppid: 42,
      assoc: 0,
      data: "hello",
    }),
    "[ Receive echo (5 bytes): stream = 3, ssn = 1, flags = 81, ppid = 42 ]",
  );
  assert.equal(sctpClientEventText(notificationEvent(up)), "[ Receive notification type 32769 ]");
});

Deno.test("sctpStatusText prints the status line and a path table marking the primary", () => {
  const primary = {
    address: "127.0.0.1",
    port: 5000,
    state: "ACTIVE",
    cwnd: 4380,
    srtt: 1,
    rto: 200,
    mtu: 65535,
  };
  const text = sctpStatusText(
    {
      assocId: 1,
      state: "ESTABLISHED",
      rwnd: 106496,
      unackdata: 0,
      penddata: 0,
      instreams: 10,
      outstreams: 12,
      fragmentationPoint: 65484,
      primary,
    },
    [primary, { ...primary, address: "::1", state: "INACTIVE", cwnd: 0, srtt: 0 }],
  );
  assert.equal(
    text,
    [
      "SCTP status: assoc 1 state ESTABLISHED rwnd 106496 unackdata 0 penddata 0 instrms 10 " +
      "outstrms 12 fragpoint 65484",
      "PATH (* primary)  STATE     CWND  SRTT(ms)  RTO(ms)  MTU",
      "127.0.0.1:5000 *  ACTIVE    4380  1         200      65535",
      "[::1]:5000        INACTIVE  0     0         200      65535",
    ].join("\n"),
  );
});
