/**
 * `sockbox serve tcp|udp` against peers nobody here wrote: socat, nc (netcat-openbsd)
 * and python3, over IPv4 and IPv6 (each IPv6 half its own test, skipped with the reason
 * where the host has no ::1).
 */
import assert from "node:assert/strict";
import {
  hasIPv6,
  ISO_TS,
  requires,
  runSockbox,
  sh,
  sockboxCommand,
  SockboxProcess,
  TextProcess,
} from "./helpers.ts";

const py = (code: string, stdin?: string) =>
  sh("python3", ["-c", code], stdin === undefined ? {} : { stdin });

Deno.test("serve tcp prints its bound address first and a summary on SIGTERM, with ISO ts", async () => {
  const before = Date.now();
  await using p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
  const first = await p.next();
  assert.equal(first.event, "listening");
  assert.equal(first.proto, "tcp");
  assert.equal(first.address, hasIPv6 ? "::" : "0.0.0.0");
  assert.ok((first.port as number) > 0);
  assert.match(first.ts as string, ISO_TS);
  const { code, rest } = await p.stop("SIGTERM");
  assert.equal(code, 0);
  const summary = rest.at(-1)!;
  assert.equal(summary.event, "summary");
  assert.match(summary.ts as string, ISO_TS);
  const t0 = Date.parse(first.ts as string), t1 = Date.parse(summary.ts as string);
  assert.ok(before - 1000 <= t0 && t0 <= t1 && t1 <= Date.now() + 1000, `${t0} ${t1}`);
});

Deno.test("serve tcp human output starts with 'listening tcp [::]:PORT' and ends on SIGINT", async () => {
  const { cmd, args } = sockboxCommand(["serve", "tcp", "0"]);
  await using p = new TextProcess([cmd, ...args]);
  await p.out.until("\n");
  const { code, stdout } = await p.stop("SIGINT");
  assert.equal(code, 0);
  assert.match(
    stdout.split("\n")[0]!,
    hasIPv6 ? /^listening tcp \[::\]:\d+$/ : /^listening tcp 0\.0\.0\.0:\d+$/,
  );
  assert.match(stdout, /\nsummary tcp: 0 connections, in=0 out=0 bytes, [\d.]+s\n$/);
});

Deno.test(requires(["socat"], {
  name: "serve tcp echoes a socat TCP4 client and logs the peer as plain IPv4",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "-v", "--json"]);
    const { port } = await p.listening();
    const v4 = await sh("socat", ["-t", "5", "-", `TCP4:127.0.0.1:${port}`], {
      stdin: "hello v4\n",
    });
    assert.equal(v4.code, 0, v4.stderr);
    assert.equal(v4.stdout, "hello v4\n");
    const acc = await p.next((e) => e.event === "accept");
    assert.equal(acc.peer, "127.0.0.1");
    const rd = await p.next((e) => e.event === "read");
    assert.equal(rd.bytes, 9);
    const cl = await p.next((e) => e.event === "close");
    assert.equal(cl.bytes_in, 9);
    assert.equal(cl.bytes_out, 9);
    assert.equal(cl.reason, "eof");
  },
}));

Deno.test(requires(["socat", "ipv6"], {
  name: "serve tcp echoes a socat TCP6 client and logs the peer as ::1",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "-v", "--json"]);
    const { port } = await p.listening();
    const v6 = await sh("socat", ["-t", "5", "-", `TCP6:[::1]:${port}`], {
      stdin: "hello v6\n",
    });
    assert.equal(v6.code, 0, v6.stderr);
    assert.equal(v6.stdout, "hello v6\n");
    const acc6 = await p.next((e) => e.event === "accept");
    assert.equal(acc6.peer, "::1");
    const cl = await p.next((e) => e.event === "close");
    assert.deepEqual([cl.bytes_in, cl.bytes_out, cl.reason], [9, 9, "eof"]);
  },
}));

Deno.test(requires(["nc"], {
  name: "serve tcp echoes an nc (netcat-openbsd) client that half-closes with -N",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await sh("nc", ["-N", "127.0.0.1", String(port)], {
      stdin: "line one\nline two\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "line one\nline two\n");
  },
}));

Deno.test(requires(["python3"], {
  name: "serve tcp echoes 1 MiB of random bytes byte-exact and honours half-close (python3)",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await py(`
import os, socket, threading
data = os.urandom(1 << 20)
s = socket.create_connection(("127.0.0.1", ${port}), timeout=20)
def w():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=w); t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b: break
    got += b
t.join()
print(len(got), got == data)
`);
    assert.equal(r.stdout.trim(), "1048576 True", r.stderr);
    const cl = await p.next((e) => e.event === "close");
    assert.equal(cl.bytes_in, 1 << 20);
    assert.equal(cl.bytes_out, 1 << 20);
    assert.equal(cl.reason, "eof");
  },
}));

/** python3: `n` threads each connect to `host`, echo 500 bytes and check them. */
const concurrentClients = (family: "AF_INET" | "AF_INET6", host: string, port: number, n: number) =>
  py(`
import socket, threading
ok = []
def one(i):
    s = socket.socket(socket.${family}, socket.SOCK_STREAM); s.settimeout(20); s.connect(("${host}", ${port}))
    msg = ("client %d " % i).encode() * 50
    s.sendall(msg); got = b""
    while len(got) < len(msg):
        b = s.recv(65536)
        if not b: break
        got += b
    ok.append(got == msg); s.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(${n})]
[t.start() for t in ts]; [t.join() for t in ts]
print(sum(ok))
`);

Deno.test(requires(["python3"], {
  name: "serve tcp serves 40 concurrent IPv4 clients (python3 threads)",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await concurrentClients("AF_INET", "127.0.0.1", port, 40);
    assert.equal(r.stdout.trim(), "40", r.stderr);
    const { code, rest } = await p.stop();
    assert.equal(code, 0);
    assert.equal(rest.find((e) => e.event === "summary")?.connections, 40);
  },
}));

Deno.test(requires(["python3", "ipv6"], {
  name: "serve tcp serves 40 concurrent IPv6 clients (python3 threads)",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await concurrentClients("AF_INET6", "::1", port, 40);
    assert.equal(r.stdout.trim(), "40", r.stderr);
    const { code, rest } = await p.stop();
    assert.equal(code, 0);
    assert.equal(rest.find((e) => e.event === "summary")?.connections, 40);
  },
}));

Deno.test("serve tcp --max-conns rejects connections beyond the limit", async () => {
  await using p = new SockboxProcess(["serve", "tcp", "0", "--max-conns", "1", "--json"]);
  const { port } = await p.listening();
  const a = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await p.next((e) => e.event === "accept");
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const rej = await p.next((e) => e.event === "reject");
      assert.equal(rej.reason, "max-conns");
      assert.equal(await b.read(new Uint8Array(10)).catch(() => null), null);
    } finally {
      b.close();
    }
    await a.write(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(3);
    assert.equal(await a.read(buf), 3);
    assert.deepEqual([...buf], [1, 2, 3]);
  } finally {
    a.close();
  }
});

Deno.test(requires(["python3"], {
  name: "serve tcp -q prints no accept, close or reject line; the summary still counts them",
  async fn() {
    const { cmd, args } = sockboxCommand([
      "serve",
      "tcp",
      "0",
      "--host",
      "127.0.0.1",
      "-q",
      "--max-conns",
      "1",
    ]);
    await using p = new TextProcess([cmd, ...args]);
    const port = (await p.out.until(/^listening tcp 127\.0\.0\.1:(\d+)\n/) as RegExpExecArray)[1];
    // One connection echoed, a second refused (--max-conns 1) while the first is open.
    const r = await py(`
import socket
a = socket.create_connection(("127.0.0.1", ${port}))
a.sendall(b"hello")
print(a.recv(10).decode())
b = socket.create_connection(("127.0.0.1", ${port}))
print(repr(b.recv(10)))
a.close()
`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello\nb''\n");
    const { code, stdout } = await p.stop("SIGTERM");
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^listening tcp 127\.0\.0\.1:\d+\nsummary tcp: 1 connection, in=5 out=5 bytes, [\d.]+s, refused: max-conns 1\n$/,
    );
  },
}));

Deno.test(requires(["nc"], {
  name: "serve tcp whose stdout reader goes away exits 141, as a SIGPIPE would, with no trace",
  async fn() {
    // `sockbox serve ... | head -1`: the next line (an nc client's accept) meets a closed pipe.
    const { cmd, args } = sockboxCommand(["serve", "tcp", "0", "--host", "127.0.0.1"]);
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    const reader = child.stdout.getReader();
    let head = "";
    while (!head.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      head += new TextDecoder().decode(value);
    }
    const port = head.match(/^listening tcp 127\.0\.0\.1:(\d+)\n/)?.[1];
    await reader.cancel(); // the pipe's read end closes
    assert.ok(port, head);
    // Whether the echo comes back first depends on the engine (the Deno engine writes the
    // accept line before it reads); the exit does not.
    await sh("nc", ["-N", "127.0.0.1", port], { stdin: "hi\n" });
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assert.equal(stderr, "");
    assert.equal(status.code, 141);
  },
}));

Deno.test("serve tcp --idle-timeout closes silent connections", async () => {
  await using p = new SockboxProcess(["serve", "tcp", "0", "--idle-timeout", "300ms", "--json"]);
  const { port } = await p.listening();
  const a = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const cl = await p.next((e) => e.event === "close");
    assert.equal(cl.reason, "idle-timeout");
    assert.ok((cl.duration_ms as number) >= 300, `closed after ${cl.duration_ms} ms`);
    assert.equal(await a.read(new Uint8Array(10)).catch(() => null), null);
  } finally {
    a.close();
  }
});

Deno.test("serve tcp closes open connections with reason=shutdown on SIGTERM", async () => {
  await using p = new SockboxProcess(["serve", "tcp", "0", "--host", "127.0.0.1", "--json"]);
  const { port } = await p.listening();
  const conns = [
    await Deno.connect({ hostname: "127.0.0.1", port }),
    await Deno.connect({ hostname: "127.0.0.1", port }),
  ];
  try {
    // Both connections are up and echoing before the signal.
    for (const c of conns) {
      await c.write(new Uint8Array([7]));
      assert.equal(await c.read(new Uint8Array(1)), 1);
    }
    await p.next((e) => e.event === "accept" && e.open === 2);
    const { code, rest } = await p.stop("SIGTERM");
    assert.equal(code, 0);
    const closes = rest.filter((e) => e.event === "close");
    assert.deepEqual(closes.map((e) => e.reason), ["shutdown", "shutdown"]);
    assert.deepEqual(closes.map((e) => [e.bytes_in, e.bytes_out]), [[1, 1], [1, 1]]);
    const summary = rest.at(-1)!;
    assert.deepEqual([summary.event, summary.connections], ["summary", 2]);
    // The server really closed them: each client reads EOF (or a reset).
    for (const c of conns) {
      assert.equal(await c.read(new Uint8Array(1)).catch(() => null), null);
    }
  } finally {
    for (const c of conns) c.close();
  }
});

Deno.test(requires(["python3"], {
  name: "serve tcp reports a client's reset as an error and keeps serving",
  async fn() {
    await using p = new SockboxProcess(["serve", "tcp", "0", "--host", "127.0.0.1", "--json"]);
    const { port } = await p.listening();
    // The client waits for the echo to start (so the server has accepted and is echoing),
    // then closes with SO_LINGER 0: an RST while the server still has echo to send.
    const r = await py(`
import socket, struct
s = socket.create_connection(("127.0.0.1", ${port}), timeout=10)
s.sendall(b"x" * 100000)
first = s.recv(1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset after", len(first))
`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "reset after 1\n");
    const acc = await p.next((e) => e.event === "accept");
    const cl = await p.next((e) => e.event === "close");
    assert.equal(cl.port, acc.port);
    assert.equal(cl.reason, "error", JSON.stringify(cl));
    const again = await runSockbox(["send", "tcp", "127.0.0.1", String(port), "still here"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "Received 10 bytes: still here\n");
  },
}));

Deno.test(requires(["python3", "ipv6"], {
  name: "serve -6 refuses IPv4-mapped peers (tcp and udp) and serves ::1",
  async fn() {
    for (const proto of ["tcp", "udp"]) {
      await using p = new SockboxProcess(["serve", proto, "0", "-6", "--json"]);
      const { address, port } = await p.listening();
      assert.equal(address, "::");
      const r = await py(`
import socket
kind = socket.SOCK_STREAM if "${proto}" == "tcp" else socket.SOCK_DGRAM
def echo(fam, host):
    s = socket.socket(fam, kind); s.settimeout(1)
    try:
        s.connect((host, ${port})); s.send(b"ping"); return s.recv(10).decode() or "eof"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()
print(echo(socket.AF_INET, "127.0.0.1"), echo(socket.AF_INET6, "::1"))
`);
      assert.equal(r.code, 0, r.stderr);
      const [v4, v6] = r.stdout.trim().split(" ");
      // ffi engine: IPV6_V6ONLY, so the kernel refuses IPv4 (TCP RST, UDP ICMP port
      // unreachable). deno engine: TCP accepted by the kernel, then closed unanswered, with
      // a reject line; UDP no answer.
      const ffi = p.events.find((e) => e.event === "listening")?.engine === "ffi";
      assert.ok(
        ffi
          ? v4 === "ConnectionRefusedError"
          : proto === "tcp"
          ? ["eof", "ConnectionResetError"].includes(v4!)
          : ["TimeoutError", "timeout"].includes(v4!),
        `${proto} IPv4 peer got ${v4}`,
      );
      assert.equal(v6, "ping", proto);
      if (!ffi) {
        const rej = await p.next((e) => e.event === "reject");
        assert.deepEqual([rej.proto, rej.peer, rej.reason], [proto, "127.0.0.1", "ipv4-peer"]);
      }
    }
  },
}));

/** python3: echoes of datagrams of each size from two sockets; prints "OK TOTAL". */
const udpSizes = (family: "AF_INET" | "AF_INET6", host: string, port: number, sizes: number[]) =>
  py(`
import os, socket
res = []
for k in range(2):
    s = socket.socket(socket.${family}, socket.SOCK_DGRAM); s.settimeout(5)
    for n in ${JSON.stringify(sizes)}:
        d = os.urandom(n); s.sendto(d, ("${host}", ${port}))
        got, _ = s.recvfrom(70000)
        res.append(got == d)
print(sum(res), len(res))
`);

Deno.test(requires(["python3"], {
  name: "serve udp echoes IPv4 datagrams of 1, 1400, 9000 and 65507 bytes whole",
  async fn() {
    await using p = new SockboxProcess(["serve", "udp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await udpSizes("AF_INET", "127.0.0.1", port, [1, 1400, 9000, 65507]);
    assert.equal(r.stdout.trim(), "8 8", r.stderr);
  },
}));

Deno.test(requires(["python3", "ipv6"], {
  name: "serve udp echoes IPv6 datagrams of 1, 1400, 9000 and 65527 bytes whole",
  async fn() {
    await using p = new SockboxProcess(["serve", "udp", "0", "--json"]);
    const { port } = await p.listening();
    const r = await udpSizes("AF_INET6", "::1", port, [1, 1400, 9000, 65527]);
    assert.equal(r.stdout.trim(), "8 8", r.stderr);
    const { rest } = await p.stop();
    const summary = rest.find((e) => e.event === "summary")!;
    assert.equal(summary.datagrams, 8);
    assert.equal(summary.bytes_out, 2 * (1 + 1400 + 9000 + 65527));
  },
}));

Deno.test(requires(["socat", "ipv6"], {
  name: "serve udp answers a socat client over IPv6 and reports the summary",
  async fn() {
    await using p = new SockboxProcess(["serve", "udp", "0", "-v", "--json"]);
    const { port } = await p.listening();
    // UDP has no EOF: socat waits -t after its stdin ends (the echo is back long before).
    const r = await sh("socat", ["-t", "1", "-T", "1", "-", `UDP6:[::1]:${port}`], {
      stdin: "dgram\n",
    });
    assert.equal(r.stdout, "dgram\n", r.stderr);
    const rd = await p.next((e) => e.event === "read");
    assert.equal(rd.peer, "::1");
    const { code, rest } = await p.stop("SIGINT");
    assert.equal(code, 0);
    const s = rest.find((e) => e.event === "summary")!;
    assert.equal(s.datagrams, 1);
    assert.equal(s.bytes_out, 6);
  },
}));

Deno.test("serve -4 binds 0.0.0.0 and --host binds the address given", async () => {
  {
    await using a = new SockboxProcess(["serve", "udp", "0", "-4", "--json"]);
    assert.equal((await a.listening()).address, "0.0.0.0");
    assert.equal((await a.stop()).code, 0);
  }
  {
    await using b = new SockboxProcess(["serve", "tcp", "0", "--host", "127.0.0.1", "--json"]);
    assert.equal((await b.listening()).address, "127.0.0.1");
    assert.equal((await b.stop()).code, 0);
  }
});
