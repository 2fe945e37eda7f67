/**
 * `sockbox serve tcp|udp` against peers nobody here wrote: socat, nc (netcat-openbsd)
 * and python3, over IPv4 and IPv6.
 */
import assert from "node:assert/strict";
import { hasCommand, hasIPv6, runSockbox, sh, SockboxProcess } from "./helpers.ts";

const haveSocat = hasCommand("socat");
const haveNc = hasCommand("nc");

async function server(args: string[]): Promise<{ p: SockboxProcess; port: number }> {
  const p = new SockboxProcess(["serve", ...args, "--json"]);
  const { port } = await p.listening();
  return { p, port };
}

const py = (code: string, stdin?: string) =>
  sh("python3", ["-c", code], stdin === undefined ? {} : { stdin });

Deno.test("serve tcp prints its bound address first and a summary on SIGTERM", async () => {
  const p = new SockboxProcess(["serve", "tcp", "0", "--json"]);
  const first = await p.next();
  assert.equal(first.event, "listening");
  assert.equal(first.proto, "tcp");
  assert.equal(first.address, hasIPv6 ? "::" : "0.0.0.0");
  assert.ok((first.port as number) > 0);
  assert.equal(typeof first.ts, "string");
  const { code, rest } = await p.stop("SIGTERM");
  assert.equal(code, 0);
  assert.equal(rest.at(-1)?.event, "summary");
});

Deno.test("serve tcp human output starts with 'listening tcp [::]:PORT'", async () => {
  const { cmd, args } = (await import("./helpers.ts")).sockboxCommand(["serve", "tcp", "0"]);
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  child.kill("SIGINT");
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    text += r.value;
  }
  const st = await child.status;
  assert.equal(st.code, 0);
  assert.match(
    text.split("\n")[0]!,
    hasIPv6 ? /^listening tcp \[::\]:\d+$/ : /^listening tcp 0\.0\.0\.0:\d+$/,
  );
  assert.match(text, /\nsummary tcp: 0 connections, in=0 out=0 bytes, [\d.]+s\n$/);
});

Deno.test({
  name: "serve tcp echoes socat clients over IPv4 and IPv6 and logs peers as plain IPv4",
  ignore: !haveSocat,
  async fn() {
    const { p, port } = await server(["tcp", "0", "-v"]);
    try {
      const v4 = await sh("socat", ["-t", "5", "-", `TCP4:127.0.0.1:${port}`], {
        stdin: "hello v4\n",
      });
      assert.equal(v4.stdout, "hello v4\n");
      const acc = await p.next((e) => e.event === "accept");
      assert.equal(acc.peer, "127.0.0.1");
      const rd = await p.next((e) => e.event === "read");
      assert.equal(rd.bytes, 9);
      const cl = await p.next((e) => e.event === "close");
      assert.equal(cl.bytes_in, 9);
      assert.equal(cl.bytes_out, 9);
      assert.equal(cl.reason, "eof");
      if (hasIPv6) {
        const v6 = await sh("socat", ["-t", "5", "-", `TCP6:[::1]:${port}`], {
          stdin: "hello v6\n",
        });
        assert.equal(v6.stdout, "hello v6\n");
        const acc6 = await p.next((e) => e.event === "accept");
        assert.equal(acc6.peer, "::1");
      }
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name: "serve tcp echoes an nc (netcat-openbsd) client that half-closes with -N",
  ignore: !haveNc,
  async fn() {
    const { p, port } = await server(["tcp", "0"]);
    try {
      const r = await sh("nc", ["-N", "127.0.0.1", String(port)], {
        stdin: "line one\nline two\n",
      });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, "line one\nline two\n");
    } finally {
      await p.stop();
    }
  },
});

Deno.test("serve tcp echoes 1 MiB of random bytes byte-exact and honours half-close (python3)", async () => {
  const { p, port } = await server(["tcp", "0"]);
  try {
    const r = await py(`
import os, socket, threading, hashlib
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
  } finally {
    await p.stop();
  }
});

Deno.test("serve tcp serves 40 concurrent clients (python3 threads), IPv4 and IPv6", async () => {
  const { p, port } = await server(["tcp", "0"]);
  try {
    const r = await py(`
import socket, threading
ok = []
def one(i):
    fam, host = (socket.AF_INET6, "::1") if (i % 2 and ${
      hasIPv6 ? "True" : "False"
    }) else (socket.AF_INET, "127.0.0.1")
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(20); s.connect((host, ${port}))
    msg = ("client %d " % i).encode() * 50
    s.sendall(msg); got = b""
    while len(got) < len(msg):
        b = s.recv(65536)
        if not b: break
        got += b
    ok.append(got == msg); s.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(40)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sum(ok))
`);
    assert.equal(r.stdout.trim(), "40", r.stderr);
    const { rest } = await p.stop();
    const summary = [...p.events, ...rest].find((e) => e.event === "summary")!;
    assert.equal(summary.connections, 40);
  } finally {
    await p.stop().catch(() => {});
  }
});

Deno.test("serve tcp --max-conns rejects connections beyond the limit", async () => {
  const { p, port } = await server(["tcp", "0", "--max-conns", "1"]);
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    await p.next((e) => e.event === "accept");
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    const rej = await p.next((e) => e.event === "reject");
    assert.equal(rej.reason, "max-conns");
    assert.equal(await b.read(new Uint8Array(10)).catch(() => null), null);
    b.close();
    await a.write(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(3);
    assert.equal(await a.read(buf), 3);
    a.close();
  } finally {
    await p.stop();
  }
});

Deno.test("serve tcp --idle-timeout closes silent connections", async () => {
  const { p, port } = await server(["tcp", "0", "--idle-timeout", "300ms"]);
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    const cl = await p.next((e) => e.event === "close");
    assert.equal(cl.reason, "idle-timeout");
    assert.equal(await a.read(new Uint8Array(10)).catch(() => null), null);
    a.close();
  } finally {
    await p.stop();
  }
});

Deno.test("serve tcp survives a client that resets mid-stream", async () => {
  const { p, port } = await server(["tcp", "0"]);
  try {
    await py(`
import socket, struct
s = socket.create_connection(("127.0.0.1", ${port}))
s.sendall(b"x" * 100000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`);
    // Depending on timing the reset lands before or after accept(2) returns.
    const ev = await p.next((e) => e.event === "close" || e.event === "error");
    if (ev.event === "close") assert.ok(ev.reason === "error" || ev.reason === "eof");
    const r = await runSockbox(["send", "tcp", "127.0.0.1", String(port), "still here"]);
    assert.equal(r.stdout, "Received 10 bytes: still here\n");
  } finally {
    await p.stop();
  }
});

Deno.test("serve udp echoes datagrams of 1, 1400, 9000 and 65507 bytes from several peers", async () => {
  const { p, port } = await server(["udp", "0"]);
  try {
    const r = await py(`
import os, socket
res = []
peers = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ${
      hasIPv6 ? "True" : "False"
    } else [])
for fam, host in peers:
    for k in range(2):
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(5)
        for n in (1, 1400, 9000, 65507):
            d = os.urandom(n); s.sendto(d, (host, ${port}))
            got, _ = s.recvfrom(70000)
            res.append(got == d)
print(sum(res), len(res))
`);
    const [ok, total] = r.stdout.trim().split(" ");
    assert.equal(ok, total, r.stderr);
    assert.equal(Number(total), hasIPv6 ? 16 : 8);
  } finally {
    await p.stop();
  }
});

Deno.test({
  name: "serve udp answers a socat client over IPv6 and reports the summary",
  ignore: !haveSocat || !hasIPv6,
  async fn() {
    const { p, port } = await server(["udp", "0", "-v"]);
    const r = await sh("socat", ["-t", "2", "-T", "2", "-", `UDP6:[::1]:${port}`], {
      stdin: "dgram\n",
    });
    assert.equal(r.stdout, "dgram\n");
    const rd = await p.next((e) => e.event === "read");
    assert.equal(rd.peer, "::1");
    const { code, rest } = await p.stop("SIGINT");
    assert.equal(code, 0);
    const s = rest.find((e) => e.event === "summary")!;
    assert.equal(s.datagrams, 1);
    assert.equal(s.bytes_out, 6);
  },
});

Deno.test("serve -4 binds 0.0.0.0 and --host binds the address given", async () => {
  const a = new SockboxProcess(["serve", "udp", "0", "-4", "--json"]);
  assert.equal((await a.listening()).address, "0.0.0.0");
  await a.stop();
  const b = new SockboxProcess(["serve", "tcp", "0", "--host", "127.0.0.1", "--json"]);
  assert.equal((await b.listening()).address, "127.0.0.1");
  await b.stop();
});
