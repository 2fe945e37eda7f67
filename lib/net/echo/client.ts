/**
 * Echo clients: connect (TCP) or bind (UDP) to an echo server, send data, and check that
 * exactly the same bytes come back. Used by `send`, `ping` and the library API.
 *
 * @module
 */
import { unmapV4 } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";
import { formatEndpoint, RuntimeError, SysError, toSysError } from "../../base/errors.ts";

/** Rejects with `onTimeout()` if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A connected TCP echo client. */
export interface TcpTarget {
  conn: Deno.TcpConn;
  address: string;
  port: number;
}

/**
 * Resolves `host` and connects to each address in order until one accepts; the error of
 * the last attempt is thrown if none does.
 *
 * @example
 * ```ts
 * import { connectTcp, readExact } from "./client.ts";
 * const t = await connectTcp("localhost", 7, { timeoutMs: 2000 });
 * await t.conn.write(new TextEncoder().encode("hi"));
 * const echo = await readExact(t.conn, 2, 2000, t); // the 2 bytes back
 * t.conn.close();
 * ```
 */
export async function connectTcp(
  host: string,
  port: number,
  opts: { family?: 4 | 6 | undefined; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<TcpTarget> {
  const addrs = await resolveHost(host, opts.family);
  let last: unknown;
  for (const a of addrs) {
    const ep = { address: a.address, port };
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const conn = await withTimeout(
        Deno.connect({ hostname: a.address, port, transport: "tcp", signal: ac.signal }),
        opts.timeoutMs,
        () => {
          ac.abort();
          return new SysError("connect", "ETIMEDOUT", ep);
        },
      );
      conn.setNoDelay(true);
      return { conn, address: a.address, port };
    } catch (err) {
      last = err instanceof SysError ? err : toSysError(err, "connect", ep);
      if (opts.signal?.aborted) break;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }
  throw last;
}

/**
 * Reads exactly `n` bytes (fewer only at EOF) within `timeoutMs`.
 * Returns what was read; the caller decides what a short read means.
 */
export async function readExact(
  conn: Deno.Conn,
  n: number,
  timeoutMs: number,
  ep: { address: string; port: number },
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  const read = async () => {
    while (got < n) {
      const r = await conn.read(out.subarray(got));
      if (r === null) break;
      got += r;
    }
  };
  await withTimeout(
    read(),
    timeoutMs,
    () =>
      new SysError(
        "recv",
        "ETIMEDOUT",
        ep,
        `no echo within ${timeoutMs}ms; got ${got} of ${n} bytes`,
      ),
  );
  return out.subarray(0, got);
}

/**
 * Throws the right error when `got` is not the echo of `sent`: `RuntimeError("echo
 * mismatch ...")` or `RuntimeError("echo incomplete ...")`.
 *
 * @example
 * ```ts
 * import { checkEcho } from "./client.ts";
 * const sent = new TextEncoder().encode("abc");
 * checkEcho(sent, sent, { address: "127.0.0.1", port: 7 }, false); // passes
 * ```
 */
export function checkEcho(
  sent: Uint8Array,
  got: Uint8Array,
  ep: { address: string; port: number },
  eof: boolean,
): void {
  const where = formatEndpoint(ep.address, ep.port);
  const n = Math.min(sent.length, got.length);
  for (let i = 0; i < n; i++) {
    if (sent[i] !== got[i]) {
      throw new RuntimeError(
        `echo mismatch from ${where}: byte ${i} differs (sent ${sent.length} bytes)`,
      );
    }
  }
  if (got.length < sent.length) {
    throw new RuntimeError(
      `echo incomplete from ${where}: sent ${sent.length} bytes, got ${got.length}${
        eof ? " before the connection closed" : ""
      }`,
    );
  }
  if (got.length > sent.length) {
    throw new RuntimeError(
      `echo mismatch from ${where}: sent ${sent.length} bytes, got ${got.length}`,
    );
  }
}

/** A datagram with its sender. */
export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
}

/**
 * A UDP client socket with receive timeouts: one receive stays pending across timeouts,
 * so no datagram is lost between waits.
 *
 * @example
 * ```ts
 * import { UdpClient } from "./client.ts";
 * using c = new UdpClient(4);
 * await c.send(new TextEncoder().encode("hi"), "127.0.0.1", 7);
 * const d = await c.receive(1000); // { data, address, port } or null after 1 s
 * ```
 */
export class UdpClient implements Disposable {
  readonly sock: Deno.DatagramConn;
  #pending: Promise<Datagram> | null = null;
  #closed = false;

  constructor(family: 4 | 6) {
    this.sock = Deno.listenDatagram({
      transport: "udp",
      hostname: family === 6 ? "::" : "0.0.0.0",
      port: 0,
    });
  }

  /** Sends one datagram to `address:port`. */
  async send(data: Uint8Array, address: string, port: number): Promise<void> {
    try {
      await this.sock.send(data, { transport: "udp", hostname: address, port });
    } catch (err) {
      throw toSysError(err, "sendto", { address, port });
    }
  }

  /** The next datagram, or null after `timeoutMs`. */
  async receive(timeoutMs: number): Promise<Datagram | null> {
    this.#pending ??= this.sock.receive().then(([data, from]) => {
      const a = from as Deno.NetAddr;
      return { data, address: unmapV4(a.hostname), port: a.port };
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      this.#pending,
      new Promise<null>((res) => {
        timer = setTimeout(() => res(null), Math.max(0, timeoutMs));
      }),
    ]).finally(() => clearTimeout(timer));
    if (r !== null) this.#pending = null;
    return r;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending?.catch(() => {});
    this.sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether a datagram came from `target` (IPv4-mapped forms compare equal). */
export function sameAddress(a: string, b: string): boolean {
  return unmapV4(a).toLowerCase() === unmapV4(b).toLowerCase();
}
