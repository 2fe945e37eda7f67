/** Socket options through libc on Deno-owned and FFI sockets, read back from the kernel. */
import assert from "node:assert/strict";
import { SOCK_STREAM } from "../lib/ffi/constants.ts";
import { Socket } from "../lib/ffi/socket.ts";
import {
  applyDenoSocketOptions,
  applySocketOptions,
  readDenoSocketOptions,
  readSocketOptions,
} from "../lib/ffi/sockopt.ts";
import { libc } from "../lib/ffi/libc.ts";

libc(); // loaded once for the process, before any test (the sanitizer would count it)

Deno.test("options set on a Deno listener read back, buffers as the kernel doubles them", () => {
  using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const s = applyDenoSocketOptions({ transport: "tcp", local: l.addr }, {
    rcvbuf: 65536,
    sndbuf: 65536,
    ttl: 9,
    tos: 0xb8,
    nodelay: true,
    keepalive: { idle: 30, interval: 5, count: 4 },
    linger: 0,
    mss: 1200,
  });
  assert.equal(s.rcvbuf, 131072);
  assert.equal(s.sndbuf, 131072);
  assert.equal(s.ttl, 9);
  assert.equal(s.tos, 0xb8);
  assert.equal(s.nodelay, true);
  assert.deepEqual(s.keepalive, { idle: 30, interval: 5, count: 4 });
  assert.equal(s.linger, 0);
  assert.equal(s.reuseaddr, true); // Deno.listen sets it
  assert.equal(s.v6only, undefined);
});

Deno.test("an accepted socket inherits the listener's options and is told from it", async () => {
  using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  applyDenoSocketOptions({ transport: "tcp", local: l.addr }, { ttl: 7, tos: 0x10 });
  using c = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  using a = await l.accept();
  const srv = readDenoSocketOptions({
    transport: "tcp",
    local: a.localAddr as Deno.NetAddr,
    remote: a.remoteAddr as Deno.NetAddr,
  });
  assert.equal(srv.ttl, 7);
  assert.equal(srv.tos, 0x10);
  const cli = readDenoSocketOptions({
    transport: "tcp",
    local: c.localAddr as Deno.NetAddr,
    remote: c.remoteAddr as Deno.NetAddr,
  });
  assert.equal(cli.ttl, 64);
  assert.equal(cli.tos, 0);
});

Deno.test("UDP sockets take the IP options and report no TCP ones", () => {
  const u = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  let s;
  try {
    s = applyDenoSocketOptions({ transport: "udp", local: u.addr as Deno.NetAddr }, {
      ttl: 3,
      tos: 0x28,
    });
  } finally {
    u.close();
  }
  assert.equal(s.ttl, 3);
  assert.equal(s.tos, 0x28);
  assert.equal(s.nodelay, undefined);
  assert.equal(typeof s.v6only, "boolean");
});

Deno.test("an FFI socket takes options before bind", () => {
  using s = Socket.open(6, SOCK_STREAM);
  const st = applySocketOptions(s, { v6only: true, reuseport: true, linger: 3 });
  assert.equal(st.v6only, true);
  assert.equal(st.reuseport, true);
  assert.equal(st.linger, 3);
  assert.equal(readSocketOptions(s).keepalive, false);
});

Deno.test("a socket that is not ours is a one-line SysError", () => {
  assert.throws(
    () => readDenoSocketOptions({ transport: "udp", local: { hostname: "127.0.0.1", port: 9 } }),
    /^SysError: getsockname ENOENT 127\.0\.0\.1:9 \(no socket of this process has that address\)$/,
  );
});
