/**
 * A plain Deno UDP echo server: `Deno.listenDatagram` (needs `--unstable-net`), one
 * reused 64 KiB buffer, each datagram back to its sender.
 *
 * usage: deno run --unstable-net --allow-net=HOST deno_udp_echo.ts PORT [HOST]
 *
 * @module
 */
const port = Number(Deno.args[0] ?? "7777");
const hostname = Deno.args[1] ?? "127.0.0.1";

const sock = Deno.listenDatagram({ transport: "udp", hostname, port });
const buf = new Uint8Array(65536);
for (;;) {
  const [data, addr] = await sock.receive(buf);
  await sock.send(data, addr);
}
