import assert from "node:assert/strict";
import {
  type InetdEvent,
  inetdEventText,
  newTotals,
  serveDatagrams,
  summaryOf,
} from "./listener.ts";

Deno.test("inetdEventText names the service, the program and TLS on the listening line", () => {
  const base = { event: "listening", proto: "tcp", address: "::", port: 13, family: 6 } as const;
  assert.equal(inetdEventText({ ...base, service: "daytime" }), "listening tcp [::]:13 (daytime)");
  assert.equal(
    inetdEventText({ ...base, service: "exec", command: ["tr", "a-z", "A-Z"], tls: true }),
    "listening tcp [::]:13 (exec: tr a-z A-Z, tls)",
  );
  assert.equal(
    inetdEventText({ ...base, service: "echo", tls: true, alpn: ["h2", "x"] }),
    "listening tcp [::]:13 (echo, tls alpn=h2,x)",
  );
});

Deno.test("inetdEventText gives a child's exit status or signal on close", () => {
  const close = {
    event: "close",
    proto: "tcp",
    peer: "127.0.0.1",
    port: 5000,
    bytes_in: 5,
    bytes_out: 7,
    duration_ms: 12,
  } as const;
  assert.equal(
    inetdEventText({ ...close, reason: "exit", pid: 9, exit_code: 0, exit_signal: null }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (exit, exit 0)",
  );
  assert.equal(
    inetdEventText({
      ...close,
      reason: "exec-timeout",
      pid: 9,
      exit_code: null,
      exit_signal: "SIGTERM",
    }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (exec-timeout, signal SIGTERM)",
  );
  assert.equal(
    inetdEventText({ ...close, reason: "tls-handshake", error: "bad cert" }),
    "close 127.0.0.1:5000 in=5 out=7 time=12ms (tls-handshake: bad cert)",
  );
});

Deno.test("inetdEventText renders the other events on one line each", () => {
  const p = { peer: "::1", port: 7 };
  assert.equal(
    inetdEventText({ event: "handshake", proto: "tcp", ...p, alpn: null }),
    "tls [::1]:7 alpn=none",
  );
  assert.equal(
    inetdEventText({ event: "drop", proto: "udp", ...p, bytes: 0, reason: "amplification" }),
    "drop 0 bytes from [::1]:7 (amplification)",
  );
  assert.equal(
    inetdEventText({ event: "spawn", proto: "udp", ...p, pid: 42 }),
    "spawn [::1]:7 pid=42",
  );
  assert.equal(
    inetdEventText({ event: "stderr", proto: "tcp", ...p, pid: 42, line: "oops" }),
    "[::1]:7: oops",
  );
  assert.equal(inetdEventText({ event: "error", proto: "tcp", error: "x" }), null);
});

Deno.test("summaryOf counts children only for exec, and the text lists refusals", () => {
  const t = { ...newTotals(), connections: 3, bytes_in: 10, bytes_out: 20, rejected: 2 };
  const s = summaryOf("tcp", "exec", t, performance.now());
  assert.equal(s.children, 0);
  assert.equal(
    inetdEventText({ ...s, duration_ms: 1500 }),
    "summary tcp (exec): 3 connections, in=10 out=20 bytes, 0 children, 2 rejected, 1.5s",
  );
  const u = summaryOf("udp", "chargen", { ...newTotals(), datagrams: 4, dropped: 1 }, 0);
  assert.equal("children" in u, false);
  assert.match(
    inetdEventText(u)!,
    /^summary udp \(chargen\): 4 datagrams, in=0 out=0 bytes, 1 dropped, /,
  );
});

Deno.test("inetdEventText renders a reject like every server does", () => {
  const p = { peer: "::1", port: 7 };
  assert.equal(
    inetdEventText({ event: "reject", proto: "tcp", ...p, reason: "max-conns" }),
    "reject [::1]:7 (max-conns)",
  );
  assert.equal(
    inetdEventText({
      event: "reject",
      proto: "udp",
      peer: "127.0.0.1",
      port: 9,
      reason: "ipv4-peer",
    }),
    "reject 127.0.0.1:9 (ipv4-peer)",
  );
});

/** A UDP socket on 127.0.0.1 that sends to `port` and waits (at most 2 s) for a datagram. */
function udpPeer(port: number) {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
  return {
    port: (sock.addr as Deno.NetAddr).port,
    send: (text: string) => sock.send(new TextEncoder().encode(text), to),
    async receive(): Promise<string> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const [data] = await Promise.race([
          sock.receive(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("no datagram within 2s")), 2000);
          }),
        ]);
        return new TextDecoder().decode(data);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => sock.close(),
  };
}

/** Resolves once `events` holds one that `match` accepts (at most 2 s). */
async function until(events: InetdEvent[], match: (ev: InetdEvent) => boolean) {
  const deadline = Date.now() + 2000;
  while (!events.some(match)) {
    if (Date.now() > deadline) throw new Error(`no such event in ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return events.find(match)!;
}

/** The `listening` event of serveDatagrams on 127.0.0.1:`port` for `service` (and `more`). */
function udpListening(port: number, service: string, more: Record<string, unknown> = {}) {
  return {
    event: "listening",
    proto: "udp",
    address: "127.0.0.1",
    port,
    family: 4,
    service,
    ...more,
  };
}

Deno.test("serveDatagrams answers through its handler, one datagram at a time", async () => {
  const events: InetdEvent[] = [];
  const ac = new AbortController();
  const order: string[] = [];
  const srv = serveDatagrams(
    { host: "127.0.0.1", port: 0, signal: ac.signal, onEvent: (ev) => events.push(ev) },
    "echo",
    {},
    async (d, s) => {
      const text = new TextDecoder().decode(d.data);
      order.push(`start ${text}`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`end ${text}`);
      s.totals.bytes_out += await s.sock.send(d.data, d.from);
    },
  );
  const peer = udpPeer(srv.port);
  try {
    await peer.send("hello");
    await peer.send("abc");
    assert.equal(await peer.receive(), "hello");
    assert.equal(await peer.receive(), "abc");
  } finally {
    peer.close();
    ac.abort();
  }
  const summary = await srv.finished;
  assert.deepEqual(order, ["start hello", "end hello", "start abc", "end abc"]);
  assert.deepEqual(events[0], udpListening(srv.port, "echo"));
  assert.equal(events.at(-1), summary);
  assert.deepEqual(
    { ...summary, duration_ms: 0 },
    {
      event: "summary",
      proto: "udp",
      service: "echo",
      connections: 0,
      datagrams: 2,
      bytes_in: 8,
      bytes_out: 8,
      rejected: 0,
      dropped: 0,
      duration_ms: 0,
    },
  );
});

Deno.test("serveDatagrams with maxRunning runs handlers on copies and refuses beyond", async () => {
  const events: InetdEvent[] = [];
  const ac = new AbortController();
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const srv = serveDatagrams(
    { host: "127.0.0.1", port: 0, signal: ac.signal, onEvent: (ev) => events.push(ev) },
    "exec",
    { command: ["cat"], maxRunning: 1 },
    async (d, s) => {
      started();
      await released;
      s.totals.bytes_out += await s.sock.send(d.data, d.from);
    },
  );
  const peer = udpPeer(srv.port);
  try {
    await peer.send("one");
    await running;
    // Received into the same buffer while "one" is still being handled.
    await peer.send("two");
    const rej = await until(events, (ev) => ev.event === "reject");
    assert.deepEqual(rej, {
      event: "reject",
      proto: "udp",
      peer: "127.0.0.1",
      port: peer.port,
      reason: "max-conns",
    });
    release();
    assert.equal(await peer.receive(), "one");
  } finally {
    peer.close();
    ac.abort();
  }
  const summary = await srv.finished;
  assert.deepEqual(events[0], udpListening(srv.port, "exec", { command: ["cat"] }));
  assert.deepEqual(
    [summary.datagrams, summary.rejected, summary.bytes_in, summary.bytes_out, summary.children],
    [1, 1, 3, 3, 0],
  );
});

Deno.test("serveDatagrams reports a handler that throws, naming the peer, and goes on", async () => {
  const events: InetdEvent[] = [];
  const ac = new AbortController();
  const srv = serveDatagrams(
    { host: "127.0.0.1", port: 0, signal: ac.signal, onEvent: (ev) => events.push(ev) },
    "echo",
    {},
    async (d, s) => {
      if (new TextDecoder().decode(d.data) === "bad") throw new Error("boom");
      await s.sock.send(d.data, d.from);
    },
  );
  const peer = udpPeer(srv.port);
  try {
    await peer.send("bad");
    await peer.send("good");
    assert.equal(await peer.receive(), "good");
  } finally {
    peer.close();
    ac.abort();
  }
  await srv.finished;
  assert.deepEqual(events.filter((ev) => ev.event === "error"), [
    {
      event: "error",
      proto: "udp",
      peer: "127.0.0.1",
      port: peer.port,
      error: `127.0.0.1:${peer.port}: boom`,
    },
  ]);
});

Deno.test("serveDatagrams stopped before it starts still binds, closes and summarizes", async () => {
  const ac = new AbortController();
  ac.abort();
  let called = false;
  const srv = serveDatagrams(
    { host: "127.0.0.1", port: 0, signal: ac.signal },
    "discard",
    {},
    () => {
      called = true;
      return Promise.resolve();
    },
  );
  assert.ok(srv.port > 0);
  const summary = await srv.finished;
  assert.equal(called, false);
  assert.deepEqual([summary.service, summary.datagrams], ["discard", 0]);
});
