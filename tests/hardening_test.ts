/**
 * A server you can leave running, tried from outside with python3 peers: socket options
 * as the kernel reads them back and as a peer sees them on the wire (the TTL of the
 * echo), SO_REUSEPORT shared with another process, usage errors naming the option and
 * the protocol.
 */
import assert from "node:assert/strict";
import { requires, runSockbox, sh, SockboxProcess } from "./helpers.ts";

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
