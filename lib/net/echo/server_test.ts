import assert from "node:assert/strict";
import { SysError } from "../../base/errors.ts";
import {
  echoDiagnosticText,
  type EchoEvent,
  echoEventText,
  type EchoServerOptions,
  isConnectionEvent,
  listenWithFallback,
  serveTcp,
  serveUdp,
} from "./server.ts";

Deno.test("echoEventText renders every event as serve prints it", () => {
  const cases: [EchoEvent, string | null][] = [
    [
      { event: "listening", proto: "tcp", address: "::", port: 7, family: 6 },
      "listening tcp [::]:7",
    ],
    [
      { event: "listening", proto: "udp", address: "0.0.0.0", port: 9, family: 4 },
      "listening udp 0.0.0.0:9",
    ],
    [
      { event: "accept", proto: "tcp", peer: "127.0.0.1", port: 5000, open: 1 },
      "accept 127.0.0.1:5000",
    ],
    [
      { event: "reject", proto: "tcp", peer: "::1", port: 5000, reason: "max-conns" },
      "reject [::1]:5000 (max-conns)",
    ],
    [
      { event: "reject", proto: "udp", peer: "10.0.0.1", port: 1, reason: "ipv4-peer" },
      "reject 10.0.0.1:1 (ipv4-peer)",
    ],
    [
      { event: "read", proto: "udp", peer: "127.0.0.1", port: 40000, bytes: 5 },
      "Received 5 bytes from 127.0.0.1:40000",
    ],
    [
      {
        event: "close",
        proto: "tcp",
        peer: "127.0.0.1",
        port: 5000,
        bytes_in: 10,
        bytes_out: 10,
        duration_ms: 12,
        reason: "eof",
      },
      "close 127.0.0.1:5000 in=10 out=10 time=12ms (eof)",
    ],
    [
      {
        event: "close",
        proto: "tcp",
        peer: "::1",
        port: 5000,
        bytes_in: 3,
        bytes_out: 0,
        duration_ms: 0,
        reason: "error",
        error: "recv ECONNRESET [::1]:5000",
      },
      "close [::1]:5000 in=3 out=0 time=0ms (error: recv ECONNRESET [::1]:5000)",
    ],
    [{ event: "error", proto: "tcp", error: "accept EMFILE" }, null],
    [
      { event: "aborted", proto: "tcp", count: 1, total: 500 },
      "accept: 1 connection aborted by the peer before accept (500 in all)",
    ],
    [
      {
        event: "summary",
        proto: "tcp",
        connections: 1,
        datagrams: 0,
        bytes_in: 0,
        bytes_out: 0,
        duration_ms: 1000,
        aborted: 3,
      },
      "summary tcp: 1 connection, in=0 out=0 bytes, 1.0s, 3 aborted before accept",
    ],
    [
      {
        event: "summary",
        proto: "tcp",
        connections: 2,
        datagrams: 0,
        bytes_in: 100,
        bytes_out: 100,
        duration_ms: 1549,
      },
      "summary tcp: 2 connections, in=100 out=100 bytes, 1.5s",
    ],
    [
      {
        event: "summary",
        proto: "udp",
        connections: 0,
        datagrams: 3,
        bytes_in: 9,
        bytes_out: 9,
        duration_ms: 50,
      },
      "summary udp: 3 datagrams, in=9 out=9 bytes, 0.1s",
    ],
    [
      {
        event: "summary",
        proto: "tcp",
        connections: 1,
        datagrams: 0,
        bytes_in: 5,
        bytes_out: 5,
        duration_ms: 2000,
        running: true,
      },
      "summary tcp (running): 1 connection, in=5 out=5 bytes, 2.0s",
    ],
  ];
  for (const [ev, line] of cases) assert.equal(echoEventText(ev), line, ev.event);
});

Deno.test("echoDiagnosticText gives the stderr line of errors and of an out-of-fds episode", () => {
  const cases: [EchoEvent, string | null][] = [
    [{ event: "error", proto: "tcp", error: "accept EINVAL" }, "accept EINVAL"],
    [
      { event: "accept-paused", proto: "tcp", error: "accept EMFILE" },
      "accept EMFILE: out of resources, deferring accepts (connections wait in the backlog)",
    ],
    [
      { event: "accept-resumed", proto: "tcp", deferred: 2259, duration_ms: 1200 },
      "accept works again after 1200ms; 2259 accepts deferred",
    ],
    [{ event: "accept", proto: "tcp", peer: "::1", port: 1, open: 1 }, null],
  ];
  for (const [ev, line] of cases) assert.equal(echoDiagnosticText(ev), line, ev.event);
});

Deno.test("listenWithFallback falls back only when the family is missing, naming the address", () => {
  const inUse = Object.assign(new Error("Address in use (os error 98)"), { name: "AddrInUse" });
  const noV6 = new Error("Address family not supported by protocol (os error 97)");
  const tried: string[] = [];
  assert.throws(
    () =>
      listenWithFallback(["::", "0.0.0.0"], 7007, (h) => {
        tried.push(h);
        throw inUse;
      }),
    (e: unknown) => e instanceof SysError && e.message === "bind EADDRINUSE [::]:7007",
  );
  assert.deepEqual(tried, ["::"]);
  const r = listenWithFallback(["::", "0.0.0.0"], 7007, (h) => {
    if (h === "::") throw noV6;
    return h;
  });
  assert.deepEqual(r, { value: "0.0.0.0", host: "0.0.0.0" });
  assert.throws(
    () =>
      listenWithFallback(["::", "0.0.0.0"], 80, () => {
        throw noV6;
      }),
    (e: unknown) => e instanceof SysError && e.message === "bind EAFNOSUPPORT 0.0.0.0:80",
  );
});

/** Starts `serve` on 127.0.0.1, a port the kernel picks, with `opts`; records its events. */
async function start(
  serve: typeof serveTcp,
  opts: Partial<EchoServerOptions> = {},
): Promise<{ ac: AbortController; events: EchoEvent[]; srv: Awaited<ReturnType<typeof serve>> }> {
  const ac = new AbortController();
  const events: EchoEvent[] = [];
  const srv = await serve({
    host: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onEvent: (ev) => events.push(ev),
    ...opts,
  });
  return { ac, events, srv };
}

/** Waits until `events` holds an event of type `type`. */
async function seen(events: EchoEvent[], type: EchoEvent["event"]): Promise<void> {
  while (!events.some((e) => e.event === type)) await new Promise((r) => setTimeout(r, 5));
}

Deno.test("serveTcp echoes in-process and reports accept, close and summary", async () => {
  const { ac, events, srv } = await start(serveTcp, { verbose: true });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await conn.write(new TextEncoder().encode("hello"));
  await conn.closeWrite();
  const buf = new Uint8Array(16);
  let got = "";
  for (let n; (n = await conn.read(buf)) !== null;) {
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  assert.equal(got, "hello");
  await seen(events, "close");
  ac.abort();
  const summary = await srv.finished;
  assert.deepEqual(
    events.map((e) => e.event),
    ["listening", "accept", "read", "close", "summary"],
  );
  assert.deepEqual({ ...summary, duration_ms: 0 }, {
    event: "summary",
    proto: "tcp",
    connections: 1,
    datagrams: 0,
    bytes_in: 5,
    bytes_out: 5,
    duration_ms: 0,
    aborted: 0,
  });
});

Deno.test("serveUdp echoes a datagram in-process and stops on abort", async () => {
  const { ac, events, srv } = await start(serveUdp);
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await sock.send(new Uint8Array([1, 2, 3]), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: srv.port,
    });
    const [data] = await sock.receive();
    assert.deepEqual([...data], [1, 2, 3]);
  } finally {
    sock.close();
  }
  ac.abort();
  const summary = await srv.finished;
  assert.deepEqual([summary.datagrams, summary.bytes_in, summary.bytes_out], [1, 3, 3]);
  assert.deepEqual(events.map((e) => e.event), ["listening", "summary"]);
});

Deno.test("serveTcp snapshot counts open connections and drains an idle one at once", async () => {
  const { ac, events, srv } = await start(serveTcp);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await conn.write(new TextEncoder().encode("hello"));
  const buf = new Uint8Array(16);
  let got = 0;
  while (got < 5) got += (await conn.read(buf.subarray(got))) ?? 5;
  const snap = await srv.snapshot();
  assert.equal(snap.running, true);
  assert.deepEqual([snap.connections, snap.bytes_in, snap.bytes_out], [1, 5, 5]);
  assert.ok(!events.some((e) => e.event === "summary"), "a snapshot is not emitted");
  // Default drain (5s): the idle connection has nothing in flight, so it closes within
  // the quiet time, and the peer reads EOF.
  const t0 = performance.now();
  ac.abort();
  assert.equal(await conn.read(buf), null);
  conn.close();
  const summary = await srv.finished;
  assert.ok(performance.now() - t0 < 3000, `drained in ${performance.now() - t0}ms`);
  assert.equal(summary.running, undefined);
  const close = events.find((e) => e.event === "close");
  assert.ok(close?.event === "close");
  assert.equal(close.reason, "shutdown");
  assert.equal(close.bytes_dropped, undefined);
  // The listener closed at once.
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: srv.port }));
});

Deno.test("serveTcp with drainMs 0 closes connections at once on abort", async () => {
  const { ac, events, srv } = await start(serveTcp, { drainMs: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await seen(events, "accept");
  ac.abort();
  const summary = await srv.finished;
  assert.equal(summary.connections, 1);
  const close = events.find((e) => e.event === "close");
  assert.ok(close?.event === "close" && close.reason === "shutdown");
  conn.close();
});

Deno.test("serveUdp snapshot counts datagrams so far and marks running", async () => {
  const { ac, srv } = await start(serveUdp);
  const c = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to = { hostname: "127.0.0.1", port: srv.port, transport: "udp" as const };
  await c.send(new TextEncoder().encode("abc"), to);
  const [echo] = await c.receive();
  assert.equal(new TextDecoder().decode(echo), "abc");
  const snap = await srv.snapshot();
  assert.deepEqual([snap.running, snap.datagrams, snap.bytes_in, snap.bytes_out], [
    true,
    1,
    3,
    3,
  ]);
  ac.abort();
  const last = await srv.finished;
  assert.equal(last.running, undefined);
  assert.equal(last.datagrams, 1);
  c.close();
});

Deno.test("isConnectionEvent: quiet leaves out accept, close and reject, nothing else", () => {
  const peer = { peer: "127.0.0.1", port: 5 };
  const left: EchoEvent[] = [
    { event: "accept", proto: "tcp", ...peer, open: 1 },
    {
      event: "close",
      proto: "tcp",
      ...peer,
      bytes_in: 0,
      bytes_out: 0,
      duration_ms: 1,
      reason: "eof",
    },
    { event: "reject", proto: "tcp", ...peer, reason: "max-conns" },
    { event: "reject", proto: "udp", ...peer, reason: "ipv4-peer" },
  ];
  const kept: EchoEvent[] = [
    { event: "listening", proto: "tcp", address: "::", port: 7, family: 6 },
    { event: "read", proto: "tcp", ...peer, bytes: 3 },
    { event: "error", proto: "tcp", error: "accept EBADF" },
    { event: "accept-paused", proto: "tcp", error: "accept EMFILE" },
    { event: "urgent", proto: "tcp", ...peer, byte: 33, offset: 0 },
    {
      event: "summary",
      proto: "udp",
      connections: 0,
      datagrams: 1,
      bytes_in: 1,
      bytes_out: 1,
      duration_ms: 2,
    },
  ];
  for (const ev of left) assert.equal(isConnectionEvent(ev), true, ev.event);
  for (const ev of kept) assert.equal(isConnectionEvent(ev), false, ev.event);
});
