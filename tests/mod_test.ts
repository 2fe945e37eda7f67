/** The library API (mod.ts), in-process, with the resource and op sanitizers on. */
import assert from "node:assert/strict";
import {
  connectTcp,
  type EchoEvent,
  runPing,
  serveTcp,
  serveUdp,
  summarize,
  tcpTransport,
  UdpClient,
  udpTransport,
} from "../mod.ts";

Deno.test("serveTcp echoes, reports events and stops cleanly on abort", async () => {
  const ac = new AbortController();
  const events: EchoEvent[] = [];
  const { promise: closed, resolve: onClose } = Promise.withResolvers<void>();
  const srv = await serveTcp({
    host: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.event === "close") onClose();
    },
  });
  const t = await connectTcp("127.0.0.1", srv.port, { timeoutMs: 2000 });
  await t.conn.write(new TextEncoder().encode("ping"));
  const buf = new Uint8Array(4);
  assert.equal(await t.conn.read(buf), 4);
  assert.equal(new TextDecoder().decode(buf), "ping");
  t.conn.close();
  await closed; // the server has seen the client go before it is told to stop
  ac.abort();
  const summary = await srv.finished;
  assert.equal(summary.connections, 1);
  assert.equal(summary.bytes_in, 4);
  assert.deepEqual(events.map((e) => e.event), ["listening", "accept", "close", "summary"]);
});

Deno.test("runPing over TCP and UDP transports counts every reply", async () => {
  const ac = new AbortController();
  const tcp = await serveTcp({ host: "127.0.0.1", port: 0, signal: ac.signal });
  const udp = await serveUdp({ host: "127.0.0.1", port: 0, signal: ac.signal });
  const t = await connectTcp("127.0.0.1", tcp.port, { timeoutMs: 2000 });
  const base = {
    address: "127.0.0.1",
    count: 4,
    intervalMs: 0,
    size: 32,
    timeoutMs: 2000,
    onEvent: () => {},
  };
  const s1 = await runPing(tcpTransport(t.conn, 32, { address: "127.0.0.1", port: tcp.port }), {
    ...base,
    proto: "tcp",
    port: tcp.port,
    signal: ac.signal,
  });
  assert.equal(s1.received, 4);
  const s2 = await runPing(
    udpTransport(new UdpClient(4), { address: "127.0.0.1", port: udp.port }),
    {
      ...base,
      proto: "udp",
      port: udp.port,
      signal: ac.signal,
    },
  );
  assert.equal(s2.received, 4);
  assert.equal(s2.lost, 0);
  ac.abort();
  await tcp.finished;
  await udp.finished;
});

Deno.test("summarize gives nearest-rank percentiles and ping's mdev", () => {
  const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])!;
  assert.equal(s.min, 1);
  assert.equal(s.max, 10);
  assert.equal(s.avg, 5.5);
  assert.equal(s.p50, 5);
  assert.equal(s.p90, 9);
  assert.equal(s.p99, 10);
  assert.ok(Math.abs(s.mdev - 2.8722813232690143) < 1e-12);
  assert.equal(summarize([]), null);
});
