/**
 * The start-up reference: a bare `Deno.listen` script that prints one line when it is
 * listening, as `sockbox serve tcp` does ("listening tcp 127.0.0.1:40123"), then, until
 * killed, accepts connections and echoes what the first read of each returns before closing
 * it (the bench times the first echo after the line).
 *
 * usage: deno run --no-config --allow-net=HOST deno_listen.ts PORT [HOST]
 *
 * @module
 */
const listener = Deno.listen({
  hostname: Deno.args[1] ?? "127.0.0.1",
  port: Number(Deno.args[0] ?? "0"),
});
const addr = listener.addr as Deno.NetAddr;
console.log(`listening tcp ${addr.hostname}:${addr.port}`);
for await (const conn of listener) {
  const buf = new Uint8Array(64);
  conn.read(buf)
    .then((n) => n ? conn.write(buf.subarray(0, n)) : 0)
    .catch(() => 0)
    .finally(() => conn.close());
}
