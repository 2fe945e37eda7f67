import assert from "node:assert/strict";
import { RuntimeError, SysError } from "../../base/errors.ts";
import { type SendEvent, sendEventText, sendTcp, sendUdp, streamTcp } from "./send.ts";
import { serveTcp, serveUdp } from "./server.ts";
import { libc } from "../../ffi/libc.ts";
import { reactor } from "../../ffi/reactor.ts";

libc(); // the UDP sender's socket comes from libc: load it once, before any test

const enc = new TextEncoder();

Deno.test("sendEventText prints echoes only, bytes that could mislead escaped", () => {
  const echo = { event: "echo", from: "::1", port: 7, rtt_ms: 0.2 } as const;
  const cases: [SendEvent, string | null][] = [
    [{ event: "connect", proto: "tcp", address: "127.0.0.1", port: 7 }, null],
    [{ ...echo, bytes: 5, data: "hello", encoding: "utf-8" }, "Received 5 bytes: hello"],
    [{ ...echo, bytes: 1, data: "x", encoding: "utf-8" }, "Received 1 byte: x"],
    [{ ...echo, bytes: 3, data: "a\rb", encoding: "utf-8" }, "Received 3 bytes: a\\rb"],
    [{ ...echo, bytes: 2, data: "//4=", encoding: "base64" }, "Received 2 bytes: \\xff\\xfe"],
    [{ ...echo, bytes: 6, data: "0xfffe", encoding: "utf-8" }, "Received 6 bytes: 0xfffe"],
    [
      { event: "echo", bytes: 2, data: "hi", encoding: "utf-8", from: "::1", port: 7, offset: 5 },
      "Received 2 bytes at offset 5: hi",
    ],
    [{ event: "done", proto: "tcp", bytes_sent: 3, bytes_received: 3 }, null],
    [{ event: "done", proto: "udp", bytes_sent: 3, bytes_received: 3 }, null],
    // -v prints it on stderr (connectedEventText): stdout may carry the echoed stream.
    [{ event: "connected", proto: "tcp", local: "::1", local_port: 5, peer: "::1", port: 7 }, null],
  ];
  for (const [ev, line] of cases) assert.equal(sendEventText(ev), line, ev.event);
});

/** Runs `body` against an in-process echo server on 127.0.0.1. */
async function withServer(
  proto: "tcp" | "udp",
  body: (port: number) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const srv = await (proto === "tcp" ? serveTcp : serveUdp)({
    host: "127.0.0.1",
    port: 0,
    signal: ac.signal,
  });
  try {
    await body(srv.port);
  } finally {
    ac.abort();
    await srv.finished;
    // UDP clients wait on the FFI reactor: let its last epoll_wait return (op sanitizer).
    await reactor.idle();
  }
}

/** A TCP server on 127.0.0.1 that hands each connection to `handle`. */
async function withRawServer(
  handle: (c: Deno.TcpConn) => Promise<void>,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const c = await l.accept();
    try {
      await handle(c);
    } finally {
      c.close();
    }
  })();
  try {
    await body((l.addr as Deno.NetAddr).port);
  } finally {
    l.close();
    await served.catch(() => {});
  }
}

/** Runs `body` against a server on 127.0.0.1 that reads what comes and never echoes it. */
async function withSilentServer(body: (port: number) => Promise<void>): Promise<void> {
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  await withRawServer(async (c) => {
    await c.read(new Uint8Array(16));
    await held; // never echo
  }, async (port) => {
    try {
      await body(port);
    } finally {
      release();
    }
  });
}

/** Where the senders send, and a signal that never aborts. */
const common = { host: "127.0.0.1", timeoutMs: 2000, signal: new AbortController().signal };

/** Asserts that `p` rejects with an error of class `cls` whose message is exactly `message`. */
async function rejectsWith(
  p: Promise<unknown>,
  cls: typeof SysError | typeof RuntimeError,
  message: string,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof cls && e.message === message);
}

Deno.test("sendTcp sends each message and reports connect, then each echo", async () => {
  await withServer("tcp", async (port) => {
    const events: SendEvent[] = [];
    const r = await sendTcp({
      ...common,
      port,
      messages: [enc.encode("one"), enc.encode("two!")],
      onEvent: (ev) => events.push(ev),
    });
    assert.deepEqual(r, { echoes: 2, bytesSent: 7, bytesReceived: 7, aborted: false });
    assert.deepEqual(events[0], { event: "connect", proto: "tcp", address: "127.0.0.1", port });
    assert.deepEqual(
      events.slice(1, 3).map((e) => e.event === "echo" && [e.bytes, e.data, e.from, e.port]),
      [[3, "one", "127.0.0.1", port], [4, "two!", "127.0.0.1", port]],
    );
    assert.deepEqual(events[3], { event: "done", proto: "tcp", bytes_sent: 7, bytes_received: 7 });
  });
});

Deno.test("streamTcp streams the input, hands the checked echo to onData, then done", async () => {
  await withServer("tcp", async (port) => {
    const events: SendEvent[] = [];
    const echoed: number[] = [];
    const chunks = [enc.encode("abc"), new Uint8Array(100_000).fill(7), enc.encode("z")];
    const r = await streamTcp({
      ...common,
      port,
      input: ReadableStream.from(chunks),
      onData: (b) => (echoed.push(...b), Promise.resolve()),
      onEvent: (ev) => events.push(ev),
    });
    const total = 100_004;
    assert.deepEqual(r, { echoes: 0, bytesSent: total, bytesReceived: total, aborted: false });
    assert.deepEqual(echoed, chunks.flatMap((c) => [...c]));
    assert.deepEqual(events.at(-1), {
      event: "done",
      proto: "tcp",
      bytes_sent: total,
      bytes_received: total,
    });
  });
});

Deno.test("streamTcp fails on an echo that differs", async () => {
  await withRawServer(async (c) => {
    const buf = new Uint8Array(16);
    const n = (await c.read(buf))!;
    buf[1] = 0x21;
    await c.write(buf.subarray(0, n));
  }, async (port) => {
    await rejectsWith(
      streamTcp({
        ...common,
        port,
        input: ReadableStream.from([enc.encode("abc")]),
        onData: () => Promise.resolve(),
      }),
      RuntimeError,
      `echo mismatch from 127.0.0.1:${port}: byte 1 differs`,
    );
  });
});

Deno.test("sendTcp fails on a short echo before the connection closed", async () => {
  await withRawServer(async (c) => {
    await c.read(new Uint8Array(16));
    await c.write(enc.encode("he"));
  }, async (port) => {
    await rejectsWith(
      sendTcp({
        ...common,
        port,
        messages: [enc.encode("hello")],
      }),
      RuntimeError,
      `echo incomplete from 127.0.0.1:${port}: sent 5 bytes, got 2 before the connection closed`,
    );
  });
});

Deno.test("sendTcp resolves aborted when the signal stops it while waiting", async () => {
  await withSilentServer(async (port) => {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 50);
    const r = await sendTcp({ ...common, port, signal: ac.signal, messages: [enc.encode("x")] });
    clearTimeout(t);
    assert.deepEqual(r, { echoes: 0, bytesSent: 0, bytesReceived: 0, aborted: true });
  });
});

Deno.test("sendUdp sends each message as a datagram and checks the echo", async () => {
  await withServer("udp", async (port) => {
    const events: SendEvent[] = [];
    const r = await sendUdp({
      ...common,
      port,
      messages: ReadableStream.from([enc.encode("a"), enc.encode("bc")]),
      onEvent: (ev) => events.push(ev),
    });
    assert.deepEqual(r, { echoes: 2, bytesSent: 3, bytesReceived: 3, aborted: false });
    // The same event set as TCP: connect, each echo, done.
    assert.deepEqual(events.map((e) => e.event), ["connect", "echo", "echo", "done"]);
    assert.deepEqual(events[0], { event: "connect", proto: "udp", address: "127.0.0.1", port });
    assert.deepEqual(events.map((e) => e.event === "echo" && e.data).slice(1, 3), ["a", "bc"]);
  });
});

Deno.test("sendUdp reports a missing echo as ETIMEDOUT", async () => {
  const quiet = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (quiet.addr as Deno.NetAddr).port;
  try {
    await rejectsWith(
      sendUdp({
        ...common,
        port,
        timeoutMs: 50,
        messages: [enc.encode("x")],
      }),
      SysError,
      `recvfrom ETIMEDOUT 127.0.0.1:${port} (no echo within 50ms)`,
    );
  } finally {
    quiet.close();
    await reactor.idle();
  }
});

/** An input that yields `chunks`, each after `delayMs`. */
async function* slowly(delayMs: number, ...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await new Promise((r) => setTimeout(r, delayMs));
    yield c;
  }
}

Deno.test("streamTcp waits on an idle input for ever: the timeout runs only while echoes are owed", async () => {
  await withServer("tcp", async (port) => {
    const r = await streamTcp({
      ...common,
      port,
      timeoutMs: 100,
      input: slowly(300, enc.encode("hi"), enc.encode("again")),
      onData: () => Promise.resolve(),
    });
    assert.deepEqual(r, { echoes: 0, bytesSent: 7, bytesReceived: 7, aborted: false });
  });
});

Deno.test("streamTcp times out when sent bytes are not echoed", async () => {
  await withSilentServer(async (port) => {
    await rejectsWith(
      streamTcp({
        ...common,
        port,
        timeoutMs: 100,
        input: slowly(0, enc.encode("x")),
        onData: () => Promise.resolve(),
      }),
      SysError,
      `recv ETIMEDOUT 127.0.0.1:${port} (no echo for 100ms; 0 of 1 byte back)`,
    );
  });
});

Deno.test("streamTcp says so when the peer closes before anything was sent", async () => {
  await withRawServer(() => Promise.resolve(), async (port) => {
    await rejectsWith(
      streamTcp({
        ...common,
        port,
        input: new ReadableStream<Uint8Array>(), // stdin with nothing typed yet
        onData: () => Promise.resolve(),
      }),
      RuntimeError,
      `127.0.0.1:${port} closed the connection before anything was sent`,
    );
  });
});

Deno.test("streamTcp without onData reports each checked chunk as an echo event", async () => {
  await withServer("tcp", async (port) => {
    const events: SendEvent[] = [];
    await streamTcp({
      ...common,
      port,
      input: slowly(20, enc.encode("ab"), new Uint8Array([0xff])),
      onEvent: (ev) => events.push(ev),
    });
    const echoes = events.filter((e) => e.event === "echo");
    assert.deepEqual(
      echoes.map((e) => e.event === "echo" && [e.offset, e.data, e.encoding]),
      [[0, "ab", "utf-8"], [2, "/w==", "base64"]],
    );
  });
});

Deno.test("sendUdp fails at once with ECONNREFUSED on a closed port (ICMP port unreachable)", async () => {
  const gone = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (gone.addr as Deno.NetAddr).port;
  gone.close();
  const t0 = performance.now();
  await rejectsWith(
    sendUdp({
      ...common,
      port,
      timeoutMs: 5000,
      messages: [enc.encode("x")],
    }),
    SysError,
    `recvfrom ECONNREFUSED 127.0.0.1:${port}`,
  );
  assert.ok(performance.now() - t0 < 2000, "no wait for the timeout");
});

Deno.test("sendUdp takes IPv6 echoes of 65527 bytes whole", async () => {
  const ac = new AbortController();
  let srv;
  try {
    srv = await serveUdp({ host: "::1", port: 0, signal: ac.signal });
  } catch {
    return; // no IPv6 loopback here
  }
  try {
    const msg = new Uint8Array(65527).fill(0x61);
    const events: SendEvent[] = [];
    const r = await sendUdp({
      ...common,
      host: "::1",
      port: srv.port,
      messages: [msg],
      onEvent: (ev) => events.push(ev),
    });
    assert.deepEqual(r, { echoes: 1, bytesSent: 65527, bytesReceived: 65527, aborted: false });
  } finally {
    ac.abort();
    await srv.finished;
  }
});

/**
 * A TCP echo server on 127.0.0.1 made of Deno's own sockets (no engine): echoes each
 * connection until EOF and records the peer each connection came from.
 */
async function withEchoPeers(
  body: (port: number, peers: Deno.NetAddr[]) => Promise<void>,
): Promise<void> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peers: Deno.NetAddr[] = [];
  const conns: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const c of l) {
      peers.push(c.remoteAddr as Deno.NetAddr);
      conns.push((async () => {
        try {
          const buf = new Uint8Array(65536);
          for (let n; (n = await c.read(buf)) !== null;) {
            for (let off = 0; off < n;) off += await c.write(buf.subarray(off, n));
          }
        } catch {
          /* reset */
        } finally {
          c.close();
        }
      })());
    }
  })();
  try {
    await body((l.addr as Deno.NetAddr).port, peers);
  } finally {
    l.close();
    await accepting.catch(() => {});
    await Promise.all(conns);
    await reactor.idle();
  }
}

Deno.test("sendTcp with --bind binds the FFI socket first and reports connected", async () => {
  await withEchoPeers(async (port, peers) => {
    const events: SendEvent[] = [];
    const r = await sendTcp({
      ...common,
      port,
      messages: [enc.encode("hi")],
      client: { bind: { address: "127.0.0.9", port: 0 }, sockopts: { ttl: 7 }, readBack: true },
      onEvent: (ev) => events.push(ev),
    });
    assert.deepEqual(r, { echoes: 1, bytesSent: 2, bytesReceived: 2, aborted: false });
    assert.deepEqual(events.map((e) => e.event), ["connect", "connected", "echo", "done"]);
    const c = events[1]!;
    assert.ok(c.event === "connected");
    assert.equal(peers[0]!.hostname, "127.0.0.9");
    assert.deepEqual(
      { ...c, options: undefined },
      {
        event: "connected",
        proto: "tcp",
        local: "127.0.0.9",
        local_port: peers[0]!.port,
        peer: "127.0.0.1",
        port,
        options: undefined,
      },
    );
    assert.equal(c.options?.ttl, 7);
    assert.equal(c.options?.nodelay, true);
  });
});

Deno.test("sendTcp sets options on Deno's socket just after connect and reads them back", async () => {
  await withEchoPeers(async (port) => {
    const events: SendEvent[] = [];
    await sendTcp({
      ...common,
      port,
      messages: [enc.encode("x")],
      client: { sockopts: { tos: 184, rcvbuf: 65536, nodelay: false }, readBack: true },
      onEvent: (ev) => events.push(ev),
    });
    const c = events.find((e) => e.event === "connected");
    assert.ok(c?.event === "connected");
    assert.equal(c.local, "127.0.0.1");
    assert.equal(c.options?.tos, 184);
    assert.equal(c.options?.rcvbuf, 131072); // doubled by the kernel, socket(7)
    assert.equal(c.options?.nodelay, false);
  });
});

Deno.test("streamTcp over a bound FFI socket checks every byte and half-closes", async () => {
  await withEchoPeers(async (port, peers) => {
    const chunks = [
      enc.encode("abc"),
      new Uint8Array(300_000).map((_, i) => i * 7),
      enc.encode("z"),
    ];
    const echoed: Uint8Array[] = [];
    const r = await streamTcp({
      ...common,
      port,
      input: ReadableStream.from(chunks),
      client: { bind: { address: "127.0.0.10", port: 0 } },
      onData: (b) => (echoed.push(b.slice()), Promise.resolve()),
    });
    assert.equal(peers[0]!.hostname, "127.0.0.10");
    assert.deepEqual(r, { echoes: 0, bytesSent: 300_004, bytesReceived: 300_004, aborted: false });
    const all = new Uint8Array(300_004);
    let off = 0;
    for (const b of echoed) all.set(b, (off += b.length) - b.length);
    const sent = new Uint8Array(300_004);
    sent.set(chunks[0]!), sent.set(chunks[1]!, 3), sent.set(chunks[2]!, 300_003);
    assert.deepEqual(all, sent);
  });
});

Deno.test("sendTcp with --bind on a busy port fails with bind EADDRINUSE", async () => {
  await withEchoPeers(async (port) => {
    const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const busy = (held.addr as Deno.NetAddr).port;
    try {
      await rejectsWith(
        sendTcp({
          ...common,
          port,
          messages: [enc.encode("x")],
          client: { bind: { address: "127.0.0.1", port: busy } },
        }),
        SysError,
        `bind EADDRINUSE 127.0.0.1:${busy}`,
      );
    } finally {
      held.close();
    }
  });
});

Deno.test("sendUdp with --bind sends from that address and reports connected", async () => {
  const echo = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (echo.addr as Deno.NetAddr).port;
  const froms: Deno.NetAddr[] = [];
  const serving = (async () => {
    for await (const [d, from] of echo) {
      froms.push(from as Deno.NetAddr);
      await echo.send(d, from);
    }
  })();
  try {
    const events: SendEvent[] = [];
    await sendUdp({
      ...common,
      port,
      messages: [enc.encode("a"), enc.encode("b")],
      client: { bind: { address: "127.0.0.11", port: 0 }, sockopts: { ttl: 9 }, readBack: true },
      onEvent: (ev) => events.push(ev),
    });
    assert.deepEqual(events.map((e) => e.event), ["connect", "connected", "echo", "echo", "done"]);
    const c = events[1]!;
    assert.ok(c.event === "connected");
    assert.deepEqual(froms.map((f) => [f.hostname, f.port]), [
      ["127.0.0.11", c.local_port],
      ["127.0.0.11", c.local_port],
    ]);
    assert.equal(c.local, "127.0.0.11");
    assert.equal(c.options?.ttl, 9);
  } finally {
    echo.close();
    await serving.catch(() => {});
    await reactor.idle();
  }
});
