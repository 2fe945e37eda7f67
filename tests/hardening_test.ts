/**
 * A server you can leave running, tried from outside with python3 peers: socket options
 * as the kernel reads them back and as a peer sees them on the wire (the TTL of the
 * echo), SO_REUSEPORT shared with another process, usage errors naming the option and
 * the protocol.
 */
import assert from "node:assert/strict";
import { PY_RECV_TO_EOF, requires, runSockbox, sh, SockboxProcess } from "./helpers.ts";

const py = (code: string) => sh("python3", ["-c", code]);

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(`serve tcp --engine ${engine} reports every socket option as read back`, async () => {
    await using p = new SockboxProcess([
      "serve",
      "tcp",
      "0",
      "--host",
      "127.0.0.1",
      "--engine",
      engine,
      "--json",
      "--tos",
      "ef",
      "--ttl",
      "9",
      "--nodelay",
      "--keepalive",
      "30,5,4",
      "--rcvbuf",
      "65536",
      "--linger",
      "0",
      "--mss",
      "1200",
      "--reuseport",
    ]);
    const ev = await p.next((e) => e.event === "listening");
    assert.deepEqual(ev.options, {
      rcvbuf: 131072, // doubled by the kernel, socket(7)
      sndbuf: (ev.options as { sndbuf: number }).sndbuf,
      ttl: 9,
      tos: 0xb8,
      reuseaddr: true,
      reuseport: true,
      nodelay: true,
      keepalive: { idle: 30, interval: 5, count: 4 },
      linger: 0,
      mss: 1200,
    });
    assert.equal((await p.stop()).code, 0);
  });

  Deno.test(
    requires(["python3"], {
      name: `serve udp --engine ${engine} --ttl: the echo arrives with that TTL`,
      async fn() {
        await using p = new SockboxProcess([
          "serve",
          "udp",
          "0",
          "--host",
          "127.0.0.1",
          "--engine",
          engine,
          "--ttl",
          "7",
          "--tos",
          "lowdelay",
          "--json",
        ]);
        const { port } = await p.listening();
        // IP_RECVTTL = 12, IP_TTL = 2, IP_RECVTOS = 13, IP_TOS = 1 (ip(7)).
        const r = await py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 12, 1)
s.setsockopt(socket.IPPROTO_IP, 13, 1)
s.settimeout(5)
s.sendto(b"ttl?", ("127.0.0.1", ${port}))
data, anc, flags, addr = s.recvmsg(100, 256)
got = {t: c[0] for (l, t, c) in anc}
print(data.decode(), got.get(2), got.get(1))
`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), "ttl? 7 16");
        assert.equal((await p.stop()).code, 0);
      },
    }),
  );

  Deno.test(
    requires(["python3"], {
      name: `serve udp --engine ${engine} --reuseport lets another process share the port`,
      async fn() {
        for (const reuse of [true, false]) {
          await using p = new SockboxProcess([
            "serve",
            "udp",
            "0",
            "--host",
            "127.0.0.1",
            "--engine",
            engine,
            ...(engine === "ffi" ? ["--workers", "1"] : []),
            ...(reuse ? ["--reuseport"] : ["--ttl", "64"]),
            "--json",
          ]);
          const { port } = await p.listening();
          const r = await py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
    s.bind(("127.0.0.1", ${port}))
    print("bound")
except OSError as e:
    print(e.strerror)
`);
          assert.equal(r.stdout.trim(), reuse ? "bound" : "Address already in use", r.stderr);
          assert.equal((await p.stop()).code, 0);
        }
      },
    }),
  );
}

Deno.test("a socket option where it does not apply is a one-line usage error", async () => {
  const cases: [string[], string][] = [
    [["serve", "udp", "0", "--nodelay"], "sockbox: --nodelay cannot be used with udp\n"],
    [["serve", "udp", "0", "--mss", "1000"], "sockbox: --mss cannot be used with udp\n"],
    [["serve", "tcp", "0", "--ttl", "0"], 'sockbox: invalid --ttl "0": must be 1-255\n'],
    [["serve", "tcp", "0", "--v6only", "-4"], "sockbox: --v6only cannot be used with -4\n"],
    [
      ["serve", "tcp", "0", "--ttl", "5", "--service", "daytime"],
      "sockbox: --ttl cannot be used with --service\n",
    ],
  ];
  for (const [args, stderr] of cases) {
    const r = await runSockbox(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr, stderr);
  }
});

// --- access control and limits ---------------------------------------------------------

/** A python3 TCP client from `src`: sends `data`, prints what came back before the close. */
const tcpPeer = (src: string, port: number, data: string) =>
  py(`
import socket
${PY_RECV_TO_EOF}
s = socket.socket()
s.bind(("${src}", 0))
s.settimeout(5)
s.connect(("127.0.0.1", ${port}))
try:
    s.sendall(b"${data}")
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
got, err = recv_to_eof(s)
if err:
    got += b"<" + err.strerror.encode() + b">"
print(got.decode())
`);

/**
 * The engine flags of a limits test: the ffi engine with two workers, each accepting on its
 * own SO_REUSEPORT socket, so counts and rates per source must hold across them.
 */
const on = (engine: "ffi" | "deno") =>
  engine === "ffi" ? ["--engine", "ffi", "--workers", "2"] : ["--engine", "deno"];

/** `serve tcp` on 127.0.0.1, a port the kernel picks, with `engine`'s flags and `limits`. */
const limitedServer = (engine: "ffi" | "deno", limits: string[]) => {
  const serve = ["serve", "tcp", "0", "--host", "127.0.0.1", "--json"];
  return new SockboxProcess([...serve, ...on(engine), ...limits]);
};

/**
 * A python3 peer of a --max-bytes server on `port`: sends `size` random bytes (`data`) in
 * one write, reads the echo into `got` up to EOF (or `limit` bytes), then runs `afterEcho`
 * and closes.
 */
const maxBytesPeer = (port: number, size: number, limit: number | null, afterEcho: string) =>
  py(`
import os, socket, time
${PY_RECV_TO_EOF}
s = socket.create_connection(("127.0.0.1", ${port}))
s.settimeout(5)
data = os.urandom(${size})
s.sendall(data)
got, err = recv_to_eof(s, ${limit ?? "None"})
if err:
    raise err
${afterEcho.trim()}
s.close()
`);

/** A `close` event's reason and byte counts. */
function closeCounts(e: Record<string, unknown>): unknown[] {
  return [e.reason, e.bytes_in, e.bytes_out, e.bytes_dropped];
}

/**
 * Python: connects to 127.0.0.1:PORT, gets one echo, then takes a duplicate of the server's
 * own socket for that connection (found through /proc/net/tcp and /proc/PID/fd, taken with
 * pidfd_getfd(2), as root) and prints its TCP_NODELAY: what the server's accepted
 * connection really has, not what the listener reports.
 */
const PY_ACCEPTED_NODELAY = `
import ctypes, os, socket, sys
port = int(sys.argv[1])
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"x")
assert c.recv(1) == b"x"
me = c.getsockname()[1]
inode = None
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if int(f[1].split(":")[1], 16) == port and int(f[2].split(":")[1], 16) == me:
        inode = f[9]
assert inode, "the server's socket is not in /proc/net/tcp"
want = "socket:[%s]" % inode
found = None
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        for fd in os.listdir("/proc/%s/fd" % pid):
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == want:
                    found = (int(pid), int(fd))
            except OSError:
                pass
    except OSError:
        pass
assert found, "no process holds " + want
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(found[0])
dup = libc.syscall(438, pidfd, found[1], 0)  # pidfd_getfd
assert dup >= 0, os.strerror(ctypes.get_errno())
s = socket.socket(fileno=dup)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
`;

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(requires(["python3", "root"], {
    name: `serve tcp --engine ${engine}: accepted connections have Nagle off, on with --no-nodelay`,
    async fn() {
      const serve = ["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", engine, "--json"];
      const cases: [string[], string][] = [
        [[], "1"],
        [["--no-nodelay"], "0"],
        [["--nodelay"], "1"],
      ];
      for (const [flags, want] of cases) {
        await using p = new SockboxProcess([...serve, ...flags]);
        const { port } = await p.listening();
        const r = await sh("python3", ["-c", PY_ACCEPTED_NODELAY, String(port)]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), want, `TCP_NODELAY of the accepted socket with [${flags}]`);
        assert.equal((await p.stop()).code, 0);
      }
    },
  }));
}

/** A summary's connections, byte counts and refusals. */
function summaryCounts(e: Record<string, unknown>): unknown[] {
  return [e.connections, e.bytes_in, e.bytes_out, e.refused];
}

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} --allow/--deny refuse before a byte is echoed, and count it`,
    async fn() {
      await using p = limitedServer(engine, ["--allow", "127.0.0.0/30", "--deny", "127.0.0.2"]);
      const { port } = await p.listening();
      assert.equal((await tcpPeer("127.0.0.1", port, "ok")).stdout, "ok\n");
      assert.equal((await tcpPeer("127.0.0.2", port, "denied")).stdout.includes("denied"), false);
      assert.equal((await tcpPeer("127.0.0.9", port, "other")).stdout.includes("other"), false);
      const { code, rest } = await p.stop();
      assert.equal(code, 0);
      const rejects = p.events.filter((e) => e.event === "reject");
      assert.deepEqual(rejects.map((e) => [e.peer, e.reason]), [
        ["127.0.0.2", "denied"],
        ["127.0.0.9", "not-allowed"],
      ]);
      const summary = rest.at(-1)!;
      assert.equal(summary.connections, 1);
      assert.deepEqual(summary.refused, { denied: 1, "not-allowed": 1 });
    },
  }));

  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} --max-per-ip holds N connections per source, others still served`,
    async fn() {
      await using p = limitedServer(engine, ["--max-per-ip", "2"]);
      const { port } = await p.listening();
      const r = await py(`
import socket
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", ${port}))
    return s
held = [conn("127.0.0.1"), conn("127.0.0.1")]
for s in held:
    s.sendall(b"x")
    assert s.recv(1) == b"x"
third = conn("127.0.0.1")
try:
    # Closed at once on refusal: a FIN, or a reset when the byte arrived first.
    third.sendall(b"y")
    print("third", third.recv(1) or b"closed")
except OSError:
    print("third", b"closed")
other = conn("127.0.0.3")
other.sendall(b"z")
print("other", other.recv(1))
  `);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "third b'closed'\nother b'z'\n");
      const { rest } = await p.stop();
      assert.deepEqual(rest.at(-1)!.refused, { "max-per-ip": 1 });
    },
  }));

  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} --rate refuses connections beyond the bucket from one source`,
    async fn() {
      await using p = limitedServer(engine, ["--rate", "3/s"]);
      const { port } = await p.listening();
      const r = await py(`
import socket
ok = 0
for i in range(8):
    s = socket.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", ${port}))
    try:  # a refused connection is closed at once: a FIN, or a reset if "r" came first
        s.sendall(b"r")
        ok += s.recv(1) == b"r"
    except OSError:
        pass
    s.close()
print(ok)
  `);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "3");
      const { rest } = await p.stop();
      assert.deepEqual(rest.at(-1)!.refused, { rate: 5 });
    },
  }));

  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} --max-bytes echoes N bytes, closes, and accounts for the rest`,
    async fn() {
      await using p = limitedServer(engine, ["--max-bytes", "10"]);
      const { port } = await p.listening();
      const r = await tcpPeer("127.0.0.1", port, "abcdefghijklmnopqrstuvwxy");
      assert.equal(r.stdout.slice(0, 10), "abcdefghij");
      assert.doesNotMatch(r.stdout, /k/);
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "max-bytes");
      assert.equal(close.bytes_out, 10);
      assert.equal(close.bytes_in, (close.bytes_out as number) + (close.bytes_dropped as number));
      const { rest } = await p.stop();
      assert.deepEqual(rest.at(-1)!.refused, { "max-bytes": 1 });
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} --max-bytes closes gracefully on a peer still sending: ` +
      "the whole echo, then EOF, no reset",
    async fn() {
      await using p = limitedServer(engine, ["--max-bytes", "65536"]);
      const { port } = await p.listening();
      // The peer sends 1 MiB blocks until it has read EOF, then half-closes: the server
      // reads and drops all of it, so its close is a FIN, not a RST (RFC 1122 4.2.2.13).
      const r = await py(`
import os, socket, threading
${PY_RECV_TO_EOF}
s = socket.create_connection(("127.0.0.1", ${port}))
s.settimeout(10)
block = os.urandom(1 << 20)
state = {"sent": 0, "error": None}
done = threading.Event()
def send():
    try:
        while not done.is_set():
            s.sendall(block)
            state["sent"] += len(block)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        state["error"] = e.__class__.__name__
t = threading.Thread(target=send)
t.start()
got, err = recv_to_eof(s)
end = err.__class__.__name__ if err else "eof"
done.set()
t.join()
s.close()
print(len(got), got == block[:65536], end, state["error"], state["sent"])
`);
      assert.equal(r.code, 0, r.stderr);
      const [got, same, end, sendError, sent] = r.stdout.trim().split(" ");
      assert.deepEqual([got, same, end, sendError], ["65536", "True", "eof", "None"]);
      // The linger read everything up to the peer's FIN.
      assert.deepEqual(closeCounts(await p.next((e) => e.event === "close")), [
        "max-bytes",
        Number(sent),
        65536,
        Number(sent) - 65536,
      ]);
      const { rest } = await p.stop();
      assert.deepEqual(summaryCounts(rest.at(-1)!), [1, Number(sent), 65536, { "max-bytes": 1 }]);
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} --max-bytes: a lingering connection keeps its ` +
      "--max-conns place, and --drain ends it",
    async fn() {
      await using p = limitedServer(engine, [
        ...["--max-bytes", "1000", "--max-conns", "1", "--drain", "300ms"],
      ]);
      const { port } = await p.listening();
      // A sends until the server closes it; once A has its echo and EOF, B is refused
      // (A's place is still taken), and the stop ends A's linger at the drain deadline.
      const peers = py(`
import socket, sys, threading
a = socket.create_connection(("127.0.0.1", ${port}))
a.settimeout(10)
state = {"error": None}
def send():
    try:
        while True:
            a.sendall(b"a" * 65536)
    except OSError as e:
        state["error"] = e.__class__.__name__
t = threading.Thread(target=send, daemon=True)
t.start()
got = 0
while True:
    b = a.recv(65536)
    if not b:
        break
    got += len(b)
b = socket.create_connection(("127.0.0.1", ${port}))
b.settimeout(5)
print(got, b.recv(100) == b"")
sys.stdout.flush()
t.join(10)
print(state["error"])
`);
      const reject = await p.next((e) => e.event === "reject");
      assert.equal(reject.reason, "max-conns");
      const { code, rest } = await p.stop();
      const r = await peers;
      assert.equal(r.code, 0, r.stderr);
      const [first, sendError] = r.stdout.trim().split("\n");
      assert.equal(first, "1000 True");
      // A was still sending when the drain closed it: that close resets it.
      assert.match(sendError!, /^(ConnectionResetError|BrokenPipeError)$/);
      assert.equal(code, 0);
      const close = p.events.find((e) => e.event === "close")!;
      assert.equal(close.reason, "max-bytes");
      assert.equal(close.bytes_out, 1000);
      assert.equal(close.bytes_in, 1000 + (close.bytes_dropped as number));
      // The drain ended it, not the linger's 2 s.
      assert.ok((close.duration_ms as number) < 2000, `closed after ${close.duration_ms} ms`);
      assert.deepEqual(rest.at(-1)!.refused, { "max-bytes": 1, "max-conns": 1 });
    },
  }));

  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} --max-bytes: a peer that stops sending but stays ` +
      "open is closed once quiet, with FIN",
    async fn() {
      await using p = limitedServer(engine, ["--max-bytes", "65536"]);
      const { port } = await p.listening();
      // 100000 bytes at once, then nothing, and the socket left open for a second: the
      // server drops the rest and closes after its quiet time (no reset: nothing unread).
      const afterEcho = `
time.sleep(1)
try:
    after = "eof" if s.recv(1) == b"" else "data"
except OSError as e:
    after = e.__class__.__name__
print(len(got), got == data[:65536], after)
`;
      const r = await maxBytesPeer(port, 100000, null, afterEcho);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "65536 True eof\n");
      const close = await p.next((e) => e.event === "close");
      assert.deepEqual(closeCounts(close), ["max-bytes", 100000, 65536, 34464]);
      // Closed by the quiet time (100 ms), long before the peer's second was up.
      assert.ok((close.duration_ms as number) < 900, `closed after ${close.duration_ms} ms`);
    },
  }));

  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} --max-bytes N: a peer that sends N gets them, then EOF at once`,
    async fn() {
      await using p = limitedServer(engine, ["--max-bytes", "65536"]);
      const { port } = await p.listening();
      // The peer neither half-closes nor sends more: the FIN must follow the N-th byte, not
      // the linger's quiet time or the peer's next byte.
      const afterEcho = `
t0 = time.monotonic()
try:
    eof = s.recv(1) == b""
except socket.timeout:
    eof = False
print(len(got), got == data, eof, round((time.monotonic() - t0) * 1000))
`;
      const r = await maxBytesPeer(port, 65536, 65536, afterEcho);
      assert.equal(r.code, 0, r.stderr);
      const [got, same, eof, waitedMs] = r.stdout.trim().split(" ");
      assert.deepEqual([got, same, eof], ["65536", "True", "True"]);
      // The linger's quiet time (100 ms) is not waited for: the FIN comes with the echo.
      assert.ok(Number(waitedMs) < 80, `EOF came ${waitedMs} ms after the echo`);
      assert.deepEqual(closeCounts(await p.next((e) => e.event === "close")), [
        "max-bytes",
        65536,
        65536,
        undefined,
      ]);
      const { rest } = await p.stop();
      assert.deepEqual(summaryCounts(rest.at(-1)!), [1, 65536, 65536, { "max-bytes": 1 }]);
    },
  }));
}

// --- the UDP reflection guard ----------------------------------------------------------

const isRoot = Deno.uid() === 0;

for (const engine of ["ffi", "deno"] as const) {
  // Without -v the ffi engine decides on the sockaddr's bytes, with -v on the peer's text.
  for (const verbose of [true, false]) {
    Deno.test({
      name: `serve udp --engine ${engine}${
        verbose ? " -v" : ""
      } never answers the reflector ports (python3 as root)`,
      ignore: !isRoot,
      async fn() {
        await using p = new SockboxProcess([
          ...["serve", "udp", "0", "--host", "127.0.0.1", "--engine", engine, "--json"],
          ...(verbose ? ["-v"] : []),
        ]);
        const { port } = await p.listening();
        const r = await py(`
import socket
for sport in (7, 19, 53, 40123):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", sport))
    s.settimeout(0.5)
    s.sendto(b"from %d" % sport, ("127.0.0.1", ${port}))
    try:
        print(sport, s.recv(100).decode())
    except socket.timeout:
        print(sport, "-")
    s.close()
`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "7 -\n19 -\n53 -\n40123 from 40123\n");
        const { rest } = await p.stop();
        const drops = p.events.filter((e) => e.event === "drop");
        assert.deepEqual(
          drops.map((e) => [e.port, e.reason, e.bytes]),
          verbose
            ? [[7, "reflector-port", 6], [19, "reflector-port", 7], [53, "reflector-port", 7]]
            : [],
        );
        const summary = rest.at(-1)!;
        assert.equal(summary.datagrams, 1);
        assert.deepEqual(summary.refused, { "reflector-port": 3 });
      },
    });
  }

  Deno.test({
    name: `two serve udp --engine ${engine} servers pointed at each other do not loop`,
    ignore: !isRoot,
    async fn() {
      // Both on the same port (127.0.0.1:P and 127.0.0.2:P); a datagram forged from B to A
      // (a raw socket) would bounce for ever between two plain echo servers.
      await using a = new SockboxProcess([
        ...["serve", "udp", "0", "--host", "127.0.0.1", "--engine", engine, "--json", "-v"],
      ]);
      const { port } = await a.listening();
      await using b = new SockboxProcess([
        ...["serve", "udp", String(port), "--host", "127.0.0.2", "--engine", engine, "--json"],
      ]);
      await b.listening();
      const r = await py(`
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.bind(("127.0.0.2", 0))
payload = b"ping-pong"
udp = struct.pack("!HHHH", ${port}, ${port}, 8 + len(payload), 0) + payload
s.sendto(udp, ("127.0.0.1", 0))
`);
      assert.equal(r.code, 0, r.stderr);
      const drop = await a.next((e) => e.event === "drop");
      assert.deepEqual([drop.peer, drop.port, drop.reason], ["127.0.0.2", port, "reflector-port"]);
      await new Promise((res) => setTimeout(res, 300));
      const sa = (await a.stop()).rest.at(-1)!, sb = (await b.stop()).rest.at(-1)!;
      assert.equal(sa.datagrams, 0);
      assert.equal(sb.datagrams, 0);
      assert.deepEqual(sa.refused, { "reflector-port": 1 });
    },
  });
}

Deno.test("limits where they do not apply are one-line usage errors", async () => {
  const cases: [string[], string][] = [
    [["serve", "udp", "0", "--max-per-ip", "1"], "sockbox: --max-per-ip cannot be used with udp\n"],
    [
      ["serve", "tcp", "0", "--reflect-guard", "off"],
      "sockbox: --reflect-guard cannot be used with tcp\n",
    ],
    [
      ["serve", "tcp", "0", "--deny", "::1", "--exec", "cat"],
      "sockbox: --deny cannot be used with --exec\n",
    ],
    [
      ["serve", "udp", "0", "--allow", "10.0.0.0/40"],
      'sockbox: invalid --allow "10.0.0.0/40": must be an IP address or prefix (10.0.0.0/8, 2001:db8::/32)\n',
    ],
  ];
  for (const [args, stderr] of cases) {
    const r = await runSockbox(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr, stderr);
  }
});

Deno.test({
  name: "without the guard the same forged datagram does loop (the test above means something)",
  ignore: !isRoot,
  async fn() {
    const off = ["--reflect-guard", "off", "--engine", "deno", "--json"];
    await using a = new SockboxProcess(["serve", "udp", "0", "--host", "127.0.0.1", ...off]);
    const { port } = await a.listening();
    await using b = new SockboxProcess([
      "serve",
      "udp",
      String(port),
      "--host",
      "127.0.0.2",
      ...off,
    ]);
    await b.listening();
    await py(`
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.bind(("127.0.0.2", 0))
s.sendto(struct.pack("!HHHH", ${port}, ${port}, 12, 0) + b"loop", ("127.0.0.1", 0))
`);
    await new Promise((res) => setTimeout(res, 300));
    const sa = (await a.stop()).rest.at(-1)!;
    await b.stop();
    assert.ok((sa.datagrams as number) > 50, `only ${sa.datagrams} datagrams bounced`);
  },
});

for (const service of [["--service", "chargen"], ["--service", "echo"], ["--exec", "cat"]]) {
  Deno.test({
    name: `serve udp ${service.join(" ")} never answers a reflector port either`,
    ignore: !isRoot,
    async fn() {
      await using p = new SockboxProcess([
        ...["serve", "udp", "0", "--host", "127.0.0.1", ...service, "--json", "-v"],
      ]);
      const { port } = await p.listening();
      const r = await py(`
import socket
for sport in (19, 7, 40124):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", sport))
    s.settimeout(1)
    s.sendto(b"x" * 600, ("127.0.0.1", ${port}))
    try:
        print(sport, len(s.recv(1000)) > 0)
    except socket.timeout:
        print(sport, "-")
    s.close()
`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "19 -\n7 -\n40124 True\n");
      const { rest } = await p.stop();
      const drops = p.events.filter((e) => e.event === "drop").map((e) => [e.port, e.reason]);
      assert.deepEqual(drops, [[19, "reflector-port"], [7, "reflector-port"]]);
      // --service echo is the echo engine itself, which counts refusals by reason.
      const summary = rest.at(-1)!;
      if (service[1] === "echo") assert.deepEqual(summary.refused, { "reflector-port": 2 });
      else assert.equal(summary.dropped, 2);
    },
  });
}

// --- out of file descriptors -----------------------------------------------------------

/** CPU seconds (user + system) used so far by every process of group `pgid`. */
function groupCpuSeconds(pgid: number): number {
  const tick = 100; // sysconf(_SC_CLK_TCK) on Linux
  let sum = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) === pgid) sum += (Number(f[11]) + Number(f[12])) / tick;
    } catch { /* gone */ }
  }
  return sum;
}

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine} out of fds (ulimit -n 256): waits without spinning, recovers`,
    async fn() {
      await using p = new SockboxProcess(
        [
          ...["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", engine, "--json"],
          ...(engine === "ffi" ? ["--workers", "1"] : []),
        ],
        { wrap: ["sh", "-c", 'ulimit -n 256 && exec "$0" "$@"'] },
      );
      const { port } = await p.listening();
      const peer = new Deno.Command("python3", {
        args: [
          "-c",
          `
import socket, sys
conns = []
for i in range(400):
    s = socket.socket()
    s.connect(("127.0.0.1", ${port}))
    s.sendall(b"e")
    conns.append(s)
print("opened", flush=True)
sys.stdin.readline()
for s in conns[:300]:
    s.close()
ok = 0
for s in conns[300:]:
    s.settimeout(10)
    try:
        ok += s.recv(1) == b"e"
    except OSError:
        pass
print("echoed", ok, flush=True)
`,
        ],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const out = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.match((await out.read()).value ?? "", /opened/);
      await p.next((e) => e.event === "accept-paused", 20_000);
      // Keep reading its events (a full stdout pipe would stall the server).
      const resumed = p.next((e) => e.event === "accept-resumed", 60_000);
      const cpu0 = groupCpuSeconds(p.child.pid), t0 = performance.now();
      await new Promise((r) => setTimeout(r, 2000));
      const cpu = (groupCpuSeconds(p.child.pid) - cpu0) / ((performance.now() - t0) / 1000);
      console.log(`  ${engine}: CPU while out of fds: ${(cpu * 100).toFixed(1)}% of one core`);
      assert.ok(cpu < 0.2, `the server used ${(cpu * 100).toFixed(0)}% of a CPU while out of fds`);
      const w = peer.stdin.getWriter();
      await w.write(new TextEncoder().encode("close\n"));
      await w.close();
      let text = "";
      while (!/echoed[^\n]*\n/.test(text)) {
        const r = await out.read();
        if (r.done) break;
        text += r.value;
      }
      await peer.status;
      assert.match(text, /echoed 100\n/);
      const ev = await resumed;
      assert.ok((ev.deferred as number) > 0);
      assert.equal((await p.stop()).code, 0);
    },
  }));
}

// --- scale ------------------------------------------------------------------------------

/** VmRSS (KiB) of the largest process of group `pgid` (the server under `deno task`). */
function groupRssKiB(pgid: number): number {
  let best = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${e.name}/status`));
      best = Math.max(best, Number(m?.[1] ?? 0));
    } catch { /* gone */ }
  }
  return best;
}

const CONNS = 10_000;

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(requires(["python3"], {
    name: `serve tcp --engine ${engine} holds ${CONNS} connections from 4 sources, each echoed`,
    async fn() {
      await using p = new SockboxProcess([
        ...["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", engine, "--json"],
        ...(engine === "ffi" ? ["--workers", "1"] : []),
      ]);
      const { port } = await p.listening();
      const summary = p.next((e) => e.event === "summary", 120_000); // drains the events
      await new Promise((r) => setTimeout(r, 500));
      const rss0 = groupRssKiB(p.child.pid);
      const peer = new Deno.Command("python3", {
        args: [
          "-c",
          `
import resource, socket, sys, selectors
resource.setrlimit(resource.RLIMIT_NOFILE, (${
            CONNS + 100
          }, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
conns = []
for i in range(${CONNS}):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (1 + i % 4), 0))
    s.connect(("127.0.0.1", ${port}))
    s.sendall(b"s")
    conns.append(s)
ok = 0
for s in conns:
    s.settimeout(20)
    ok += s.recv(1) == b"s"
print("held", ok, flush=True)
sys.stdin.readline()
`,
        ],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const out = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/held \d+\n/.test(text)) {
        const r = await out.read();
        if (r.done) break;
        text += r.value;
      }
      assert.match(text, new RegExp(`held ${CONNS}\\n`));
      const rss1 = groupRssKiB(p.child.pid);
      console.log(
        `  ${engine}: ${CONNS} connections held, RSS ${rss0} -> ${rss1} KiB, ` +
          `${((rss1 - rss0) * 1024 / CONNS).toFixed(0)} bytes per connection`,
      );
      const w = peer.stdin.getWriter();
      await w.write(new TextEncoder().encode("\n"));
      await w.close();
      await peer.status;
      p.child.kill("SIGTERM"); // the summary reader above takes the rest of its output
      const s = await summary;
      assert.equal(s.connections, CONNS);
      assert.equal(s.bytes_in, CONNS);
      assert.equal(s.bytes_out, CONNS);
    },
  }));
}

for (const engine of ["ffi", "deno"] as const) {
  Deno.test(requires(["python3"], {
    name:
      `serve tcp --engine ${engine}: ${CONNS} slowloris peers starve no one; --idle-timeout reclaims them`,
    async fn() {
      await using p = new SockboxProcess([
        ...["serve", "tcp", "0", "--host", "127.0.0.1", "--engine", engine, "--json"],
        ...["--idle-timeout", "3s", ...(engine === "ffi" ? ["--workers", "1"] : [])],
      ]);
      const { port } = await p.listening();
      const summary = p.next((e) => e.event === "summary", 120_000); // drains the events
      const r = await py(`
import resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (${
        CONNS + 100
      }, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
slow = []
for i in range(${CONNS}):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 4), 0))
    s.connect(("127.0.0.1", ${port}))
    s.send(b"x")  # one byte, then nothing
    slow.append(s)
worst = 0
for i in range(20):
    t = time.monotonic()
    c = socket.create_connection(("127.0.0.1", ${port}), timeout=5)
    c.sendall(b"normal")
    got = b""
    while len(got) < 6:
        got += c.recv(6)
    c.close()
    worst = max(worst, time.monotonic() - t)
    assert got == b"normal"
print("worst %.3f" % worst)
time.sleep(4.5)
closed = 0
for s in slow:
    s.settimeout(0.01)
    try:
        s.recv(10)
        closed += s.recv(10) == b""
    except OSError:
        pass
print("reclaimed", closed)
`);
      assert.equal(r.code, 0, r.stderr);
      const worst = Number(/worst ([\d.]+)/.exec(r.stdout)![1]);
      console.log(`  ${engine}: worst normal round trip beside ${CONNS} slow peers: ${worst}s`);
      assert.ok(worst < 1, r.stdout);
      assert.match(r.stdout, new RegExp(`reclaimed ${CONNS}\\n`));
      p.child.kill("SIGTERM");
      const s = await summary;
      assert.equal(s.connections, CONNS + 20);
      const idle = p.events.filter((e) => e.event === "close" && e.reason === "idle-timeout");
      assert.equal(idle.length, CONNS);
    },
  }));
}
