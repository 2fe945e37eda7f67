/**
 * inetd mode (`--exec`, `--sh-exec`), the simple services (`--service`, `send --recv`)
 * and TLS (`--tls`), against peers nobody here wrote: python3, socat, nc (OpenBSD) and
 * openssl. Certificates are made at test time with `openssl req -x509` (a CA, a server
 * certificate it signs for localhost, 127.0.0.1 and ::1, and an unrelated CA). The SCTP
 * exec case runs with the other SCTP cases (tests/sctp/cases.ts).
 */
import assert from "node:assert/strict";
import {
  delay,
  hasCommand,
  killGroup,
  requires,
  runSockbox,
  sh,
  skipped,
  SockboxProcess,
  spawnGroup,
} from "./helpers.ts";

// --- peers and fixtures ---------------------------------------------------------------

/** `requires(caps, ...)`, also skipped (with the reason) where openssl is missing. */
function withOpenssl(
  caps: Parameters<typeof requires>[0],
  def: Omit<Deno.TestDefinition, "fn">,
  fn: Deno.TestDefinition["fn"],
): Deno.TestDefinition {
  const d = requires(caps, def, fn);
  return hasCommand("openssl") ? d : skipped(d, "openssl is not installed");
}

const py = (code: string, ...args: string[]) => sh("python3", ["-c", code, ...args]);

/** Starts `sockbox serve ARGS --json` and waits for its `listening` event. */
async function serve(args: string[]): Promise<{ p: SockboxProcess; port: number }> {
  const p = new SockboxProcess(["serve", ...args, "--json"]);
  const { port } = await p.listening();
  return { p, port };
}

/** A port that was free a moment ago (for peers that cannot bind port 0 and say so). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Processes still running in session `sid` (exec children lead their own session). */
function aliveInSession(sid: number): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[3]) === sid && f[0] !== "Z") out.push(`${e.name} ${stat.slice(0, 60)}`);
  }
  return out;
}

/** Polls until `cond` holds, at most `ms`. */
async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await delay(50);
  }
  return cond();
}

/** The RFC 864 stream from its start, as python's reference (kept independent of ours). */
const PY_CHARGEN = String.raw`
def chargen(n):
    ring = bytes(range(32, 127))
    out, line = b"", 0
    while len(out) < n:
        out += bytes(ring[(line + i) % 95] for i in range(72)) + b"\r\n"
        line += 1
    return out[:n]
`;

interface Certs {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  otherCa: string;
}

/** `sockbox serve tcp 0 EXTRA --tls` with the test certificate, as {@link serve} starts it. */
function serveTls(c: Certs, ...extra: string[]): Promise<{ p: SockboxProcess; port: number }> {
  return serve(["tcp", "0", ...extra, "--tls", "--cert", c.cert, "--key", c.key]);
}

/** The client flags of TLS that trusts the test CA. */
const trustingTls = (c: Certs) => ["--tls", "--ca", c.ca];

let certsMade: Promise<Certs> | undefined;

/** Makes the test certificates once (openssl req -x509; the server's is signed by the CA). */
function certs(): Promise<Certs> {
  return certsMade ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sockbox-tls-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    const ec = [
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
    ];
    const req = async (args: string[]) => {
      const r = await sh("openssl", ["req", "-x509", ...ec, ...args]);
      assert.equal(r.code, 0, r.stderr);
    };
    await req([
      "-keyout",
      `${dir}/ca.key`,
      "-out",
      `${dir}/ca.pem`,
      "-subj",
      "/CN=sockbox test CA",
    ]);
    await req([
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-subj",
      "/CN=localhost",
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ]);
    await req([
      "-keyout",
      `${dir}/other.key`,
      "-out",
      `${dir}/other.pem`,
      "-subj",
      "/CN=another CA",
    ]);
    return {
      dir,
      ca: `${dir}/ca.pem`,
      cert: `${dir}/cert.pem`,
      key: `${dir}/key.pem`,
      otherCa: `${dir}/other.pem`,
    };
  })();
}

// --- exec -----------------------------------------------------------------------------

Deno.test(
  requires(["python3"], {
    name: "serve tcp --sh-exec tells the child its peer (a python client on a fixed port)",
  }, async () => {
    const { p, port } = await serve([
      "tcp",
      "0",
      "--host",
      "127.0.0.1",
      "--sh-exec",
      "echo $SOCKBOX_PROTO $SOCKBOX_REMOTE_ADDR $SOCKBOX_REMOTE_PORT $SOCKBOX_LOCAL_PORT; cat",
    ]);
    try {
      const src = freePort();
      const r = await py(
        `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.connect(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
print(f.readline().decode().strip())
s.sendall(b"ping\\n")
print(f.readline().decode().strip())
s.shutdown(socket.SHUT_WR)
print(repr(f.read()))
`,
        String(port),
        String(src),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `tcp 127.0.0.1 ${src} ${port}\nping\nb''\n`);
      const spawn = await p.next((e) => e.event === "spawn");
      assert.equal(spawn.peer, "127.0.0.1");
      assert.equal(spawn.port, src);
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "exit");
      assert.equal(close.exit_code, 0);
      assert.equal(close.exit_signal, null);
      assert.equal(close.pid, spawn.pid);
      assert.equal(close.bytes_in, 5);
      assert.equal(typeof close.duration_ms, "number");
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  requires(
    ["socat"],
    { name: 'serve tcp --exec "tr a-z A-Z" answers socat, which half-closes' },
    async () => {
      const { p, port } = await serve(["tcp", "0", "--exec", "tr a-z A-Z"]);
      try {
        const r = await sh("socat", ["-t", "5", "-", `TCP4:127.0.0.1:${port}`], {
          stdin: "hello world\n",
        });
        assert.equal(r.stdout, "HELLO WORLD\n");
        const listening = p.events[0]!;
        assert.deepEqual(listening.command, ["tr", "a-z", "A-Z"]);
        assert.equal(listening.service, "exec");
        const close = await p.next((e) => e.event === "close");
        assert.deepEqual([close.reason, close.bytes_in, close.bytes_out], ["exit", 12, 12]);
      } finally {
        const { code, rest } = await p.stop();
        assert.equal(code, 0);
        const summary = rest.at(-1)!;
        assert.equal(summary.event, "summary");
        assert.equal(summary.children, 1);
      }
    },
  ),
);

Deno.test(
  requires(["python3"], {
    name: 'serve udp --exec "tr a-z A-Z" runs one child per datagram and answers each',
  }, async () => {
    const { p, port } = await serve(["udp", "0", "--host", "127.0.0.1", "--exec", "tr a-z A-Z"]);
    try {
      const r = await py(
        `
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
for m in (b"first", b"second datagram"):
    u.sendto(m, ("127.0.0.1", int(sys.argv[1])))
    print(u.recvfrom(100)[0].decode())
`,
        String(port),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "FIRST\nSECOND DATAGRAM\n");
      const closes = [
        await p.next((e) => e.event === "close"),
        await p.next((e) => e.event === "close"),
      ];
      assert.deepEqual(closes.map((c) => [c.proto, c.reason, c.exit_code]), [
        ["udp", "exit", 0],
        ["udp", "exit", 0],
      ]);
      assert.notEqual(closes[0]!.pid, closes[1]!.pid);
    } finally {
      const { rest } = await p.stop();
      const s = rest.at(-1)!;
      assert.deepEqual([s.datagrams, s.children, s.bytes_in, s.bytes_out], [2, 2, 20, 20]);
    }
  }),
);

Deno.test(
  requires(["python3"], {
    name: "half-close closes the child's stdin and what it writes after that still arrives",
  }, async () => {
    const { p, port } = await serve(["tcp", "0", "--sh-exec", "cat; echo after-eof"]);
    try {
      const r = await py(
        `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"abc")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(100)
    if not d: break
    data += d
print(repr(data))
`,
        String(port),
      );
      assert.equal(r.stdout, "b'abcafter-eof\\n'\n");
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "exit");
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  requires(["python3"], {
    name: "a client that vanishes ends its child and everything the child started",
  }, async () => {
    const { p, port } = await serve([
      "tcp",
      "0",
      "--sh-exec",
      "while echo tick; do sleep 0.2; done",
    ]);
    try {
      // The client reads one line and exits without a word: the next tick meets a reset.
      const r = await py(
        `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.recv(5).decode().strip())
`,
        String(port),
      );
      assert.equal(r.stdout, "tick\n");
      const spawn = await p.next((e) => e.event === "spawn");
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "peer-reset");
      assert.equal(close.exit_signal, "SIGTERM");
      const pid = spawn.pid as number;
      assert.ok(
        await eventually(() => aliveInSession(pid).length === 0),
        `left running: ${aliveInSession(pid).join("; ")}`,
      );
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  requires(
    ["python3"],
    { name: "a client that resets ends a child that never writes" },
    async () => {
      const { p, port } = await serve(["tcp", "0", "--exec", "sleep 30"]);
      const client = spawnGroup("python3", [
        "-c",
        `
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sys.stdin.readline()  # accepted and its child started
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # SO_LINGER 0: an RST
`,
        String(port),
      ], { stdin: "piped", stdout: "null" });
      const clientErr = new Response(client.stderr).text();
      try {
        const spawn = await p.next((e) => e.event === "spawn");
        const w = client.stdin.getWriter();
        await w.write(new TextEncoder().encode("\n"));
        await w.close();
        assert.equal((await client.status).code, 0, await clientErr);
        const close = await p.next((e) => e.event === "close");
        assert.equal(close.reason, "peer-reset");
        assert.equal(close.exit_signal, "SIGTERM");
        assert.ok(await eventually(() => aliveInSession(spawn.pid as number).length === 0));
      } finally {
        killGroup(client.pid);
        await client.status;
        await clientErr;
        await p.stop();
      }
    },
  ),
);

Deno.test(
  requires(
    ["python3"],
    { name: "--max-conns 2 serves two of five clients and refuses three" },
    async () => {
      const { p, port } = await serve(["tcp", "0", "--exec", "cat", "--max-conns", "2"]);
      try {
        const r = await py(
          `
import select, socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(5)]
# The server closes the three it refuses: wait until three connections read as ended.
ended, t = set(), time.time()
while len(ended) < 3 and time.time() - t < 10:
    r, _, _ = select.select([c for c in conns if c not in ended], [], [], 0.1)
    ended.update(r)
got = []
for c in conns:
    c.settimeout(5)
    try:
        c.sendall(b"x")
        got.append(c.recv(10))
    except OSError as e:
        got.append(type(e).__name__)
print(sum(1 for g in got if g == b"x"))
`,
          String(port),
        );
        assert.equal(r.stdout, "2\n", r.stderr);
        for (let i = 0; i < 2; i++) await p.next((e) => e.event === "close");
      } finally {
        const { rest } = await p.stop();
        const all = p.events;
        assert.equal(all.filter((e) => e.event === "reject" && e.reason === "max-conns").length, 3);
        const s = rest.at(-1)!;
        assert.deepEqual([s.connections, s.children, s.rejected], [2, 2, 3]);
      }
    },
  ),
);

Deno.test(
  requires(["python3"], { name: "--exec-timeout ends a child that runs too long" }, async () => {
    const { p, port } = await serve([
      "tcp",
      "0",
      "--exec",
      "sleep 30",
      "--exec-timeout",
      "300ms",
    ]);
    try {
      const r = await py(
        `
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.time()
print(repr(s.recv(10)), time.time() - t < 5)
`,
        String(port),
      );
      assert.equal(r.stdout, "b'' True\n");
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "exec-timeout");
      assert.equal(close.exit_signal, "SIGTERM");
      assert.ok((close.duration_ms as number) >= 300);
    } finally {
      await p.stop();
    }
  }),
);

Deno.test("serve --exec with a missing program says so in one line before listening", async () => {
  const r = await runSockbox(["serve", "tcp", "0", "--exec", "sockbox-no-such-program -x"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, 'sockbox: program "sockbox-no-such-program" not found on PATH\n');
  const file = await Deno.makeTempFile();
  try {
    await Deno.chmod(file, 0o644);
    const notExec = await runSockbox(["serve", "udp", "0", "--exec", file]);
    assert.equal(notExec.code, 1);
    assert.equal(notExec.stderr, `sockbox: program "${file}" is not executable\n`);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test(
  requires(["socat"], {
    name: "an exec child holds no socket, and its stderr comes out prefixed with the peer",
  }, async () => {
    const { p, port } = await serve([
      "tcp",
      "0",
      "--sh-exec",
      "ls -l /proc/$$/fd; echo oops >&2",
    ]);
    let peerPort = 0;
    try {
      const r = await sh("socat", ["-t", "5", "-", `TCP4:127.0.0.1:${port}`], { stdin: "" });
      assert.match(r.stdout, / 0 -> /);
      assert.doesNotMatch(r.stdout, /socket:/);
      peerPort = (await p.next((e) => e.event === "spawn")).port as number;
      await p.next((e) => e.event === "close");
    } finally {
      const { stderr } = await p.stop();
      assert.match(stderr, new RegExp(`^sockbox: 127\\.0\\.0\\.1:${peerPort}: oops$`, "m"));
    }
  }),
);

// --- the simple services --------------------------------------------------------------

Deno.test(
  requires(["python3"], { name: "chargen sends RFC 864's lines, byte for byte" }, async () => {
    const { p, port } = await serve(["tcp", "0", "--service", "chargen"]);
    try {
      const r = await py(
        PY_CHARGEN + `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
want = 100000
data = b""
while len(data) < want:
    d = s.recv(65536)
    if not d: break
    data += d
data = data[:want]
print(data[:74] == b' !"#$%&\\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_\`abcdefg\\r\\n')
print(data == chargen(want))
`,
        String(port),
      );
      assert.equal(r.stdout, "True\nTrue\n", r.stderr);
      const close = await p.next((e) => e.event === "close");
      assert.equal(close.reason, "peer-closed");
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  requires(
    ["python3"],
    { name: "chargen waits for a reader that does not read (flow control)" },
    async () => {
      const { p, port } = await serve(["tcp", "0", "--service", "chargen"]);
      try {
        await py(
          `
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(0.5)
s.recv(1000)
s.close()
`,
          String(port),
        );
        const close = await p.next((e) => e.event === "close");
        // Unbounded, 0.5 s of loopback would be gigabytes; TCP's window holds it to buffers.
        assert.ok((close.bytes_out as number) < 16 * 1024 * 1024, `sent ${close.bytes_out}`);
      } finally {
        await p.stop();
      }
    },
  ),
);

Deno.test(
  requires(["python3"], {
    name: "time sends 4 bytes within seconds of the clock; daytime a line that parses",
  }, async () => {
    const time = await serve(["tcp", "0", "--service", "time"]);
    const day = await serve(["tcp", "0", "--service", "daytime"]);
    try {
      const r = await py(
        `
import socket, sys, time
def get(port):
    s = socket.create_connection(("127.0.0.1", port))
    data = b""
    while True:
        d = s.recv(100)
        if not d: break
        data += d
    return data
t = get(int(sys.argv[1]))
print(len(t), abs(int.from_bytes(t, "big") - 2208988800 - time.time()) < 5)
d = get(int(sys.argv[2])).decode()
parsed = time.mktime(time.strptime(d, "%a %b %d %H:%M:%S %Y\\r\\n"))
print(d.endswith("\\r\\n"), len(d), abs(parsed - time.time()) < 5)
`,
        String(time.port),
        String(day.port),
      );
      assert.equal(r.stdout, "4 True\nTrue 26 True\n", r.stderr);
      assert.equal((await time.p.next((e) => e.event === "close")).reason, "done");
    } finally {
      await time.p.stop();
      await day.p.stop();
    }
  }),
);

Deno.test(
  requires(["python3"], {
    name: "discard returns nothing and keeps the connection until the peer closes",
  }, async () => {
    const { p, port } = await serve(["tcp", "0", "--service", "discard"]);
    try {
      const r = await py(
        `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * 100000)
s.settimeout(0.7)
try:
    s.recv(10)
    print("got data")
except socket.timeout:
    print("silent")
s.sendall(b"still open")
s.shutdown(socket.SHUT_WR)
s.settimeout(5)
print(repr(s.recv(10)))
`,
        String(port),
      );
      assert.equal(r.stdout, "silent\nb''\n", r.stderr);
      const close = await p.next((e) => e.event === "close");
      assert.deepEqual([close.reason, close.bytes_in, close.bytes_out], ["eof", 100010, 0]);
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  requires(["nc", "socat"], {
    name: "qotd serves a quote file's quotes in turn to nc; daytime to socat",
  }, async () => {
    const file = await Deno.makeTempFile();
    await Deno.writeTextFile(file, "First quote.\n%\nSecond quote,\non two lines.\n%\n");
    const q = await serve(["tcp", "0", "--service", "qotd", "--quote-file", file]);
    const d = await serve(["tcp", "0", "--service", "daytime"]);
    try {
      const one = await sh("nc", ["-d", "127.0.0.1", String(q.port)]);
      const two = await sh("nc", ["-d", "127.0.0.1", String(q.port)]);
      assert.equal(one.stdout, "First quote.\r\n");
      assert.equal(two.stdout, "Second quote,\r\non two lines.\r\n");
      const day = await sh("socat", ["-u", `TCP4:127.0.0.1:${d.port}`, "-"]);
      assert.match(day.stdout, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
      const cg = await serve(["tcp", "0", "--service", "chargen"]);
      try {
        const head = await sh("sh", ["-c", `nc -d 127.0.0.1 ${cg.port} | head -c 148`]);
        assert.equal(
          head.stdout,
          " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n" +
            "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n",
        );
      } finally {
        await cg.p.stop();
      }
    } finally {
      await q.p.stop();
      await d.p.stop();
      await Deno.remove(file);
    }
  }),
);

Deno.test("a quote file with a quote over 512 bytes is one line, exit 1", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, `short\n${"x".repeat(600)}\n`);
    const r = await runSockbox(["serve", "tcp", "0", "--service", "qotd", "--quote-file", file]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `sockbox: quote file "${file}": quote 2 is 602 bytes; RFC 865 allows at most 512\n`,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test(
  requires(["python3"], {
    name: "udp services never answer with more than arrived, except rate-limited chargen",
  }, async () => {
    const day = await serve(["udp", "0", "--host", "127.0.0.1", "--service", "daytime", "-v"]);
    const cg = await serve(["udp", "0", "--host", "127.0.0.1", "--service", "chargen"]);
    try {
      const r = await py(
        PY_CHARGEN + `
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.5)
day, cg = int(sys.argv[1]), int(sys.argv[2])
def ask(port, msg):
    u.sendto(msg, ("127.0.0.1", port))
    try:
        return u.recvfrom(2000)[0]
    except socket.timeout:
        return None
print(ask(day, b""))
print(len(ask(day, b"x" * 64)))
reply = ask(cg, b"")
ring = chargen(95 * 74 * 2)
print(len(reply) <= 512, reply in ring)
for _ in range(100):
    u.sendto(b"", ("127.0.0.1", cg))
u.settimeout(0.5)
answered = 0
try:
    while True:
        u.recvfrom(2000)
        answered += 1
except socket.timeout:
    pass
print(answered < 60)
`,
        String(day.port),
        String(cg.port),
      );
      assert.equal(r.stdout, "None\n26\nTrue True\nTrue\n", r.stderr);
      const drop = await day.p.next((e) => e.event === "drop");
      assert.deepEqual([drop.bytes, drop.reason], [0, "amplification"]);
    } finally {
      const a = await day.p.stop();
      const b = await cg.p.stop();
      assert.equal(a.rest.at(-1)!.dropped, 1);
      assert.equal(a.rest.at(-1)!.bytes_out, 26);
      assert.ok((b.rest.at(-1)!.dropped as number) > 40);
    }
  }),
);

// --- send --recv ------------------------------------------------------------------------

Deno.test("send tcp --recv prints daytime's line, time as a date, qotd's quote", async () => {
  const day = await serve(["tcp", "0", "--service", "daytime"]);
  const time = await serve(["tcp", "0", "--service", "time"]);
  const qotd = await serve(["tcp", "0", "--service", "qotd"]);
  const discard = await serve(["tcp", "0", "--service", "discard"]);
  try {
    const d = await runSockbox(["send", "tcp", "127.0.0.1", String(day.port), "--recv"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
    const t = await runSockbox(["send", "tcp", "127.0.0.1", String(time.port), "--recv"]);
    const m = /^time (\S+) \(RFC 868: (\d+) seconds since 1900\)\n$/.exec(t.stdout);
    assert.ok(m, t.stdout + t.stderr);
    assert.ok(Math.abs(Date.parse(m[1]!) - Date.now()) < 5000);
    const tj = await runSockbox([
      "send",
      "tcp",
      "127.0.0.1",
      String(time.port),
      "--recv",
      "--json",
    ]);
    const ev = tj.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(ev.map((e) => e.event), ["connect", "time", "done"]);
    assert.equal(ev[2].bytes_received, 4);
    const q = await runSockbox(["send", "tcp", "localhost", String(qotd.port), "--recv"]);
    assert.equal(
      q.stdout,
      '"Be conservative in what you do, be liberal in what you accept from others." (RFC 761)\r\n',
    );
    const nothing = await runSockbox(["send", "tcp", "127.0.0.1", String(discard.port), "--recv"]);
    assert.deepEqual([nothing.code, nothing.stdout], [0, ""]);
  } finally {
    for (const s of [day, time, qotd, discard]) await s.p.stop();
  }
});

Deno.test(
  requires(["python3"], {
    name: "send tcp --recv --max-bytes stops chargen; a python time server is decoded",
  }, async () => {
    const cg = await serve(["tcp", "0", "--service", "chargen"]);
    try {
      const r = await runSockbox([
        "send",
        "tcp",
        "127.0.0.1",
        String(cg.port),
        "--recv",
        "--max-bytes",
        "1000",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const ref = await py(PY_CHARGEN + "import sys; sys.stdout.buffer.write(chargen(1000))");
      assert.deepEqual(r.stdoutBytes, ref.bytes);
    } finally {
      await cg.p.stop();
    }
    // inetd's time service, as a python one-shot server sends it.
    const server = new Deno.Command("python3", {
      args: [
        "-c",
        `
import socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.sendall((int(time.time()) + 2208988800).to_bytes(4, "big"))
c.close()
`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    const t = await runSockbox(["send", "tcp", "127.0.0.1", String(port), "--recv"]);
    assert.match(
      t.stdout,
      /^time 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \(RFC 868: \d+ seconds since 1900\)\n$/,
    );
    await reader.cancel();
    await server.status;
  }),
);

// --- TLS ------------------------------------------------------------------------------

Deno.test(
  withOpenssl(
    [],
    { name: "serve --tls talks to openssl s_client and agrees on ALPN" },
    async () => {
      const c = await certs();
      const { p, port } = await serveTls(c, "--service", "daytime", "--alpn", "h2,x");
      try {
        const r = await sh("openssl", [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-servername",
          "localhost",
          "-CAfile",
          c.ca,
          "-verify_return_error",
          "-alpn",
          "x",
          "-quiet",
        ], { stdin: "" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
        assert.equal(p.events[0]!.tls, true);
        assert.deepEqual(p.events[0]!.alpn, ["h2", "x"]);
        const hs = await p.next((e) => e.event === "handshake");
        assert.equal(hs.alpn, "x");
        assert.equal((await p.next((e) => e.event === "close")).reason, "done");
      } finally {
        await p.stop();
      }
    },
  ),
);

Deno.test(
  withOpenssl(["socat"], {
    name: "serve --tls --exec answers socat OPENSSL:, and a failed handshake does not stop it",
  }, async () => {
    const c = await certs();
    const { p, port } = await serveTls(c, "--exec", "tr a-z A-Z");
    try {
      // A peer that speaks no TLS: its connection ends in a "close" with the reason.
      const plain = await sh("socat", ["-t", "2", "-", `TCP4:127.0.0.1:${port}`], {
        stdin: "GET / HTTP/1.0\r\n\r\n",
      });
      assert.doesNotMatch(plain.stdout, /GET/); // at most a TLS alert comes back
      const failed = await p.next((e) => e.event === "close");
      assert.equal(failed.reason, "tls-handshake");
      assert.equal(typeof failed.error, "string");
      const r = await sh("socat", ["-t", "5", "-", `OPENSSL:localhost:${port},cafile=${c.ca}`], {
        stdin: "over tls\n",
      });
      assert.equal(r.stdout, "OVER TLS\n", r.stderr);
      const ok = await p.next((e) => e.event === "close");
      assert.deepEqual([ok.reason, ok.exit_code], ["exit", 0]);
    } finally {
      await p.stop();
    }
  }),
);

Deno.test(
  withOpenssl(["socat"], {
    name: "send and ping --tls check their echoes through socat OPENSSL-LISTEN",
  }, async () => {
    const c = await certs();
    const port = freePort();
    const server = new Deno.Command("socat", {
      args: [
        `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${c.cert},key=${c.key},verify=0`,
        "PIPE",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let r;
      for (let i = 0; i < 50; i++) {
        r = await runSockbox([
          ...["send", "tcp", "localhost", String(port), "hello", "tls"],
          ...trustingTls(c),
          ...["-4", "--json"],
        ]);
        if (r.code === 0 || !/ECONNREFUSED/.test(r.stderr)) break;
        await delay(100); // socat not listening yet
      }
      assert.equal(r!.code, 0, r!.stderr);
      const ev = r!.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
      assert.deepEqual(ev.map((e) => e.event).slice(0, 4), ["tls", "connect", "echo", "echo"]);
      assert.match(ev[0].version, /^TLSv1\.[23]$/);
      assert.equal(ev[0].verified, true);
      assert.equal(ev[3].data, "tls");
      const ping = await runSockbox([
        ...["ping", "tcp", "127.0.0.1", String(port)],
        ...trustingTls(c),
        ...["-c", "3", "-i", "0"],
      ]);
      assert.equal(ping.code, 0, ping.stderr);
      assert.match(ping.stdout, /^TLS TLSv1\.[23], alpn=none$/m);
      assert.match(ping.stdout, /3 probes sent, 3 received, 0% loss/);
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
  }),
);

Deno.test(
  withOpenssl([], {
    name: "a client that does not trust the server says why in one line, exit 1",
  }, async () => {
    const c = await certs();
    const { p, port } = await serveTls(c);
    const send = (...extra: string[]) =>
      runSockbox(["send", "tcp", "127.0.0.1", String(port), "hi", "--tls", ...extra]);
    try {
      const wrongCa = await send("--ca", c.otherCa);
      assert.equal(wrongCa.code, 1);
      assert.match(
        wrongCa.stderr,
        /^sockbox: TLS 127\.0\.0\.1:\d+: server certificate not trusted: .+ \([A-Z_]+\)\n$/,
      );
      const noCa = await send();
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /^sockbox: TLS .*not trusted/);
      const wrongName = await send("--ca", c.ca, "--servername", "example.com");
      assert.equal(wrongName.code, 1);
      assert.match(wrongName.stderr, /^sockbox: TLS .*not trusted: .*example\.com.*\n$/);
      const insecure = await send("--insecure", "--json");
      assert.equal(insecure.code, 0, insecure.stderr);
      const tls = JSON.parse(insecure.stdout.split("\n")[0]!);
      assert.deepEqual([tls.event, tls.verified], ["tls", false]);
      assert.match(insecure.stdout, /"event":"echo".*"data":"hi"/);
      // The server served on through the three refused connections.
      await p.next((e) => e.event === "close" && e.reason === "eof");
    } finally {
      const { rest } = await p.stop();
      const reasons = p.events.filter((e) => e.event === "close").map((e) => e.reason);
      // A refused certificate fails the handshake; a refused name is checked after it.
      assert.equal(reasons.filter((r) => r === "tls-handshake").length >= 2, true);
      assert.equal(reasons.filter((r) => r !== "eof").length, 3, JSON.stringify(reasons));
      assert.equal(rest.at(-1)!.connections, 4);
    }
  }),
);

Deno.test(
  withOpenssl(
    [],
    { name: "--alpn: the client's offer meets the server's list, or fails" },
    async () => {
      const c = await certs();
      const { p, port } = await serveTls(c, "--alpn", "h2,sockbox/1");
      const send = (alpn: string) =>
        runSockbox([
          "send",
          "tcp",
          "localhost",
          String(port),
          "abc",
          ...trustingTls(c),
          "--alpn",
          alpn,
        ]);
      try {
        const r = await send("x,sockbox/1");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "TLS TLSv1.3, alpn=sockbox/1\nReceived 3 bytes: abc\n");
        assert.equal((await p.next((e) => e.event === "handshake")).alpn, "sockbox/1");
        const none = await send("zz");
        assert.equal(none.code, 1);
        assert.match(
          none.stderr,
          /^sockbox: TLS handshake with \S+ failed: .*NoApplicationProtocol.*\n$/i,
        );
      } finally {
        await p.stop();
      }
    },
  ),
);

Deno.test(
  withOpenssl([], {
    name: "a bad certificate or key file is one line naming it, exit 1, before listening",
  }, async () => {
    const c = await certs();
    const garbage = `${c.dir}/garbage.key`;
    await Deno.writeTextFile(
      garbage,
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const cases: [string, string, string][] = [
      [c.cert, `${c.dir}/missing.key`, `cannot read key file "${c.dir}/missing.key": no such file`],
      [c.key, c.key, `certificate file "${c.key}": holds PRIVATE KEY, not a CERTIFICATE`],
      [c.cert, c.cert, `key file "${c.cert}": holds CERTIFICATE, not a PRIVATE KEY`],
      [
        c.cert,
        `${c.dir}/other.key`,
        `key file "${c.dir}/other.key" does not match certificate file "${c.cert}"`,
      ],
    ];
    for (const [cert, key, message] of cases) {
      const r = await runSockbox(["serve", "tcp", "0", "--tls", "--cert", cert, "--key", key]);
      assert.equal(r.code, 1, message);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `sockbox: ${message}\n`);
    }
    const g = await runSockbox(["serve", "tcp", "0", "--tls", "--cert", c.cert, "--key", garbage]);
    assert.equal(g.code, 1);
    assert.match(g.stderr, new RegExp(`^sockbox: key file "${garbage}": .+\\n$`));
  }),
);
