/**
 * The start-up reference: a bare `Deno.listen` script that prints one line when it is
 * listening, as `sockbox serve tcp` does ("listening tcp 127.0.0.1:40123"), then accepts
 * and closes connections until killed.
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
for await (const conn of listener) conn.close();
