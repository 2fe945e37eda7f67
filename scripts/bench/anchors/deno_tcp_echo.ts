/**
 * A plain Deno TCP echo server, the reference for what `Deno.listen` gives with no
 * framework around it (`deno task bench`'s "deno" column).
 *
 * - `loop`: a read/write loop per connection, one reused 64 KiB buffer each;
 * - `pipe`: `conn.readable.pipeTo(conn.writable)`.
 *
 * usage: deno run --allow-net=HOST deno_tcp_echo.ts PORT [loop|pipe] [HOST]
 *
 * @module
 */
const port = Number(Deno.args[0] ?? "7777");
const mode = Deno.args[1] ?? "loop";
const hostname = Deno.args[2] ?? "127.0.0.1";

async function echoLoop(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // reset by the peer, broken pipe: drop the connection
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

async function echoPipe(conn: Deno.Conn): Promise<void> {
  try {
    await conn.readable.pipeTo(conn.writable); // closes the writable (and conn) at EOF
  } catch {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

if (mode !== "loop" && mode !== "pipe") {
  console.error(`deno_tcp_echo: unknown mode "${mode}": must be loop or pipe`);
  Deno.exit(2);
}
const listener = Deno.listen({ hostname, port });
for await (const conn of listener) {
  void (mode === "pipe" ? echoPipe(conn) : echoLoop(conn));
}
