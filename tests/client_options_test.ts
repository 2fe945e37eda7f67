/**
 * `send tcp|udp` with a client socket setup, tried against python3 echo peers that say
 * where each connection or datagram came from (and, for UDP over IPv4, with which TTL
 * and TOS it arrived: ip(7) IP_RECVTTL, IP_RECVTOS): `--bind ADDR[:PORT]` is the source
 * the peer sees, the options are on the wire and in the JSON `connected` event as
 * getsockopt(2) reads them back, a busy source port is `bind EADDRINUSE`, and streaming
 * stdin through a bound socket stays byte-exact.
 */
import assert from "node:assert/strict";
import {
  jsonLines,
  type JsonProcess,
  pyEchoPeer,
  requires,
  runSockbox,
  silentPort,
} from "./helpers.ts";

/** Runs `sockbox send PROTO 127.0.0.1 PORT ARGS...` and fails unless it exits 0. */
async function sendOk(
  proto: "tcp" | "udp",
  port: number,
  args: string[],
  opts?: Parameters<typeof runSockbox>[1],
): Promise<Awaited<ReturnType<typeof runSockbox>>> {
  const r = await runSockbox(["send", proto, "127.0.0.1", String(port), ...args], opts);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

/** The first connection or datagram source `peer` reports. */
const firstSeen = (peer: JsonProcess) => peer.next((e) => e.peer !== undefined);

/** A port that is free on `address` just now (bound, read back, released). */
function freePort(proto: "tcp" | "udp", address: string): number {
  const s = proto === "tcp"
    ? Deno.listen({ hostname: address, port: 0 })
    : Deno.listenDatagram({ transport: "udp", hostname: address, port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

const connected = (out: string) => jsonLines(out).find((e) => e.event === "connected");

for (const proto of ["tcp", "udp"] as const) {
  Deno.test(
    requires(["python3"], {
      name: `send ${proto} --bind 127.0.0.5:PORT is seen from 127.0.0.5:PORT`,
      async fn() {
        await using peer = await pyEchoPeer(proto);
        const src = freePort(proto, "127.0.0.5");
        const r = await sendOk(proto, peer.port, ["x", "--bind", `127.0.0.5:${src}`, "--json"]);
        const seen = await firstSeen(peer);
        assert.deepEqual([seen.peer, seen.peer_port], ["127.0.0.5", src]);
        assert.deepEqual(jsonLines(r.stdout).map((e) => e.event), [
          "connect",
          "connected",
          "echo",
          "done",
        ]);
        const c = connected(r.stdout)!;
        assert.deepEqual(
          [c.proto, c.local, c.local_port, c.peer, c.port],
          [proto, "127.0.0.5", src, "127.0.0.1", peer.port],
        );
        assert.equal(typeof (c.options as { rcvbuf: number }).rcvbuf, "number");
      },
    }),
  );

  Deno.test(
    requires(["python3", "ipv6"], {
      name: `send ${proto} --bind [::1] talks IPv6 from ::1`,
      async fn() {
        await using peer = await pyEchoPeer(proto, { host: "::1" });
        // HOST is a name: --bind's family picks its IPv6 address.
        const r = await runSockbox([
          "send",
          proto,
          "::1",
          String(peer.port),
          "x",
          "--bind",
          "[::1]",
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Received 1 byte: x\n");
        const seen = await firstSeen(peer);
        assert.equal(seen.peer, "::1");
      },
    }),
  );

  Deno.test(
    requires(["python3"], {
      name: `send ${proto} --bind on a busy port: bind EADDRINUSE, exit 1`,
      async fn() {
        await using peer = await pyEchoPeer(proto);
        await using held = await silentPort(proto);
        const r = await runSockbox([
          "send",
          proto,
          "127.0.0.1",
          String(peer.port),
          "x",
          "--bind",
          `127.0.0.1:${held.port}`,
        ]);
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `sockbox: bind EADDRINUSE 127.0.0.1:${held.port}\n`);
        assert.equal(r.stdout, "");
      },
    }),
  );
}

Deno.test(
  requires(["python3"], {
    name: "send udp --ttl 7 --tos ef: datagrams arrive with TTL 7 and TOS 184",
    async fn() {
      await using peer = await pyEchoPeer("udp");
      const r = await sendOk("udp", peer.port, ["x", "--ttl", "7", "--tos", "ef", "--json"]);
      const seen = await firstSeen(peer);
      assert.deepEqual([seen.ttl, seen.tos], [7, 184]);
      const o = connected(r.stdout)!.options as Record<string, unknown>;
      assert.deepEqual([o.ttl, o.tos], [7, 184]);
    },
  }),
);

for (const bind of [[], ["--bind", "127.0.0.6"]]) {
  const how = bind.length ? "an FFI socket bound first" : "Deno's socket after connect";
  Deno.test(
    requires(["python3"], {
      name: `send tcp: connected carries every option as read back (${how})`,
      async fn() {
        await using peer = await pyEchoPeer("tcp");
        const r = await sendOk("tcp", peer.port, ["x", ...bind, ...[
          "--tos",
          "ef",
          "--ttl",
          "9",
          "--rcvbuf",
          "65536",
          "--no-nodelay",
        ], ...["--keepalive", "30,5,4", "--linger", "2", "--json"]]);
        const c = connected(r.stdout)!;
        const o = c.options as Record<string, unknown>;
        assert.deepEqual(o, {
          rcvbuf: 131072, // doubled by the kernel, socket(7)
          sndbuf: o.sndbuf,
          ttl: 9,
          tos: 184,
          reuseaddr: false,
          reuseport: false,
          nodelay: false,
          keepalive: { idle: 30, interval: 5, count: 4 },
          linger: 2,
          mss: o.mss,
        });
        assert.equal(c.local, bind.length ? "127.0.0.6" : "127.0.0.1");
        const seen = await firstSeen(peer);
        assert.deepEqual([seen.peer, seen.peer_port], [c.local, c.local_port]);
      },
    }),
  );
}

Deno.test(
  requires(["python3"], {
    name: "send tcp --mss 1000: set before connect, read back at most 1000",
    async fn() {
      await using peer = await pyEchoPeer("tcp");
      const r = await sendOk("tcp", peer.port, ["x", "--mss", "1000", "--json"]);
      const mss = (connected(r.stdout)!.options as { mss: number }).mss;
      assert.ok(mss > 0 && mss <= 1000, `mss ${mss}`);
    },
  }),
);

Deno.test(
  requires(["python3"], {
    name: "send -v prints connected on stderr, stdout as without it",
    async fn() {
      await using peer = await pyEchoPeer("tcp");
      const r = await sendOk("tcp", peer.port, ["hello", "-v", "--bind", "127.0.0.7"]);
      assert.equal(r.stdout, "Received 5 bytes: hello\n");
      assert.match(
        r.stderr,
        new RegExp(
          `^sockbox: connected tcp 127\\.0\\.0\\.7:\\d+ -> 127\\.0\\.0\\.1:${peer.port} options ` +
            "rcvbuf=\\d+ sndbuf=\\d+ ttl=64 tos=cs0 reuseaddr=off reuseport=off nodelay=on " +
            "keepalive=off linger=off mss=\\d+\\n$",
        ),
      );
      // Without -v or a socket flag, neither the text nor the JSON output changes.
      const plain = await runSockbox([
        "send",
        "tcp",
        "127.0.0.1",
        String(peer.port),
        "hi",
        "--json",
      ]);
      assert.deepEqual(jsonLines(plain.stdout).map((e) => e.event), ["connect", "echo", "done"]);
    },
  }),
);

Deno.test(
  requires(["python3"], {
    name: "send tcp --urgent --bind sends from the bound address",
    async fn() {
      await using peer = await pyEchoPeer("tcp");
      const r = await sendOk("tcp", peer.port, [
        "x",
        "--urgent",
        "7",
        "--bind",
        "127.0.0.8",
        "--json",
      ]);
      assert.deepEqual(jsonLines(r.stdout).map((e) => e.event), [
        "connect",
        "connected",
        "echo",
        "urgent",
      ]);
      const seen = await firstSeen(peer);
      assert.equal(seen.peer, "127.0.0.8");
    },
  }),
);

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

for (const json of [false, true]) {
  Deno.test(
    requires(["python3"], {
      name: `send tcp streaming stdin with --bind stays byte-exact${json ? " (--json)" : ""}`,
      async fn() {
        await using peer = await pyEchoPeer("tcp");
        const size = json ? 1 << 20 : 4 << 20;
        const input = new Uint8Array(size);
        for (let off = 0; off < size; off += 65536) {
          crypto.getRandomValues(input.subarray(off, off + 65536));
        }
        const r = await sendOk(
          "tcp",
          peer.port,
          ["--bind", "127.0.0.9", "--timeout", "30s", ...(json ? ["--json"] : [])],
          { stdin: input, timeoutMs: 120_000 },
        );
        const seen = await firstSeen(peer);
        assert.equal(seen.peer, "127.0.0.9");
        if (!json) {
          assert.equal(r.stdoutBytes.length, size);
          assert.equal(await sha256(r.stdoutBytes), await sha256(input));
          return;
        }
        const evs = jsonLines(r.stdout);
        const echoed = evs.filter((e) => e.event === "echo");
        const bytes = new Uint8Array(size);
        for (const e of echoed) {
          const data = e.encoding === "base64"
            ? Uint8Array.from(atob(e.data as string), (c) => c.charCodeAt(0))
            : new TextEncoder().encode(e.data as string);
          bytes.set(data, e.offset as number);
        }
        assert.equal(await sha256(bytes), await sha256(input));
        assert.deepEqual(evs.at(-1), {
          ...evs.at(-1),
          event: "done",
          bytes_sent: size,
          bytes_received: size,
        });
      },
    }),
  );
}
