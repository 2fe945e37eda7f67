/**
 * Echo clients: connect (TCP) or bind (UDP) to an echo server, send data, and check that
 * exactly the same bytes come back. Used by `send`, `ping` and the library API.
 *
 * @module
 */
import { unmapV4 } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";
import { interfaceIndex } from "../../sys/interfaces.ts";
import { formatEndpoint, RuntimeError, SysError, toSysError } from "../../base/errors.ts";
import { IPPROTO_TCP, SHUT_WR, SOCK_DGRAM, SOCK_STREAM, TCP_NODELAY } from "../../ffi/constants.ts";
import { Socket } from "../../ffi/socket.ts";
import {
  clientConnState,
  type ClientSocketOptions,
  clientSocketState,
  needsSocketBeforeConnect,
  prepareClientSocket,
  type SockoptState,
} from "../sockopt/sockopt.ts";

/** The largest UDP payload: 65535 - 8 (UDP header) over IPv6; IPv4 allows 65507. */
export const MAX_UDP_PAYLOAD = 65527;

/** The largest UDP payload to an address of `family` (RFC 768 over IPv4, RFC 8200 over IPv6). */
export function maxUdpPayload(family: 4 | 6): number {
  return family === 6 ? 65527 : 65507;
}

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
  /** The connection (Nagle off). */
  conn: Deno.TcpConn;
  /** The address that accepted. */
  address: string;
  /** The server's port. */
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
 * A byte stream to a server: what the TCP senders need of a connection. A `Deno.Conn`
 * is one; so is an FFI socket opened by {@link connectTcpClient}.
 */
export interface StreamConn {
  /** Reads into `p`: the byte count, or null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`: the byte count. */
  write(p: Uint8Array): Promise<number>;
  /** Half-closes: shutdown(2) SHUT_WR. */
  closeWrite(): Promise<void>;
  /** Closes; a pending read rejects. */
  close(): void;
}

/** An FFI stream socket as a {@link StreamConn}. */
class SocketStream implements StreamConn {
  readonly #sock: Socket;

  constructor(sock: Socket) {
    this.#sock = sock;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    const n = await this.#sock.recv(p);
    return n === 0 ? null : n;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#sock.sendAll(p);
    return p.length;
  }

  closeWrite(): Promise<void> {
    this.#sock.shutdown(SHUT_WR);
    return Promise.resolve();
  }

  close(): void {
    this.#sock.close();
  }
}

/**
 * Runs `fn` with a signal that aborts on `parent` or after `ms`; rejects with `onTimeout()`
 * when the time ran out.
 */
export async function abortAfter<T>(
  ms: number,
  parent: AbortSignal | undefined,
  onTimeout: () => Error,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, ms);
  const onAbort = () => ac.abort();
  parent?.addEventListener("abort", onAbort, { once: true });
  try {
    return await fn(ac.signal);
  } catch (err) {
    if (timedOut) throw onTimeout();
    throw err;
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener("abort", onAbort);
  }
}

/** How {@link connectTcpSocket} and {@link connectTcpClient} connect. */
export interface TcpConnectOptions {
  /** Only addresses of this family. */
  family?: 4 | 6 | undefined;
  /** How long each connect attempt may take. */
  timeoutMs: number;
  /** Stops the attempts. */
  signal?: AbortSignal | undefined;
  /** The client socket's setup: source address and options. */
  socket?: ClientSocketOptions | undefined;
}

/** A TCP client socket opened through libc, connected, with its own address. */
export interface TcpSocketTarget {
  /** The connected socket (Nagle off unless `--no-nodelay`). */
  sock: Socket;
  /** The address that accepted. */
  address: string;
  /** The server's port. */
  port: number;
  /** The socket's own address and port (getsockname(2)). */
  local: { address: string; port: number };
  /** The options as read back, when asked for. */
  options?: SockoptState;
}

/**
 * Resolves `host` and connects an FFI TCP socket to each address in turn until one
 * accepts, within `timeoutMs` each: TCP_NODELAY on, then `socket`'s options and source
 * address (set before connect(2), so TCP_MAXSEG and `--bind` take effect), then a
 * non-blocking connect. The error of the last attempt is thrown if none accepts; a
 * failed bind(2) (`bind EADDRINUSE 127.0.0.1:5000`) at once.
 */
export async function connectTcpSocket(
  host: string,
  port: number,
  opts: TcpConnectOptions,
): Promise<TcpSocketTarget> {
  let last: unknown = new RuntimeError(`no address for ${host}`);
  for (const a of await resolveHost(host, opts.family)) {
    const ep = { address: a.address, port };
    const sock = Socket.open(a.family, SOCK_STREAM);
    try {
      sock.setOption(IPPROTO_TCP, TCP_NODELAY, 1);
      prepareClientSocket(sock, opts.socket);
    } catch (err) {
      sock.close();
      throw err;
    }
    try {
      await abortAfter(
        opts.timeoutMs,
        opts.signal,
        () => new SysError("connect", "ETIMEDOUT", ep),
        (signal) => sock.connect(a.address, port, signal),
      );
      const me = sock.localAddress();
      const options = clientSocketState(sock, opts.socket);
      return {
        sock,
        ...ep,
        local: { address: unmapV4(me.address), port: me.port },
        ...(options ? { options } : {}),
      };
    } catch (err) {
      sock.close();
      last = err;
      if (opts.signal?.aborted) break;
    }
  }
  throw last;
}

/** A connected TCP client of {@link connectTcpClient}. */
export interface ClientTarget {
  /** The connection. */
  conn: StreamConn;
  /** The address that accepted. */
  address: string;
  /** The server's port. */
  port: number;
  /** The connection's own address and port. */
  local: { address: string; port: number };
  /** The options as read back, when asked for. */
  options?: SockoptState;
}

/**
 * {@link connectTcp} with a client socket's setup: a Deno connection with the options
 * set just after connect, or, when they must come before it (`--bind`, `--mss`, see
 * {@link needsSocketBeforeConnect}), an FFI socket from {@link connectTcpSocket}.
 *
 * @example
 * ```ts
 * import { connectTcpClient } from "./client.ts";
 * const t = await connectTcpClient("127.0.0.1", 7, {
 *   timeoutMs: 2000, socket: { bind: { address: "127.0.0.5", port: 0 }, sockopts: { ttl: 7 } },
 * });
 * console.log(t.local, t.options?.ttl); // { address: "127.0.0.5", port: ... } 7
 * t.conn.close();
 * ```
 */
export async function connectTcpClient(
  host: string,
  port: number,
  opts: TcpConnectOptions,
): Promise<ClientTarget> {
  if (needsSocketBeforeConnect(opts.socket)) {
    const t = await connectTcpSocket(host, port, opts);
    const { sock, ...rest } = t;
    return { conn: new SocketStream(sock), ...rest };
  }
  const t = await connectTcp(host, port, opts);
  let options;
  try {
    options = clientConnState(t.conn, opts.socket);
  } catch (err) {
    t.conn.close();
    throw err;
  }
  const me = t.conn.localAddr as Deno.NetAddr;
  return {
    conn: t.conn,
    address: t.address,
    port: t.port,
    local: { address: unmapV4(me.hostname), port: me.port },
    ...(options ? { options } : {}),
  };
}

/**
 * Reads exactly `n` bytes (fewer only at EOF) within `timeoutMs`.
 * Returns what was read; the caller decides what a short read means.
 */
export async function readExact(
  conn: Pick<StreamConn, "read">,
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
  /** The payload. */
  data: Uint8Array;
  /** The sender's address (IPv4-mapped addresses unmapped). */
  address: string;
  /** The sender's port. */
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
  /** The socket, bound to the wildcard address of its family and an ephemeral port. */
  readonly sock: Deno.DatagramConn;
  #pending: Promise<Datagram> | null = null;
  #closed = false;

  /** Binds a socket of `family` (`0.0.0.0` or `::`, port 0). */
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
    // A buffer of its own for each datagram (the result is a view on it), big enough for
    // the largest over IPv6: Deno's default buffer stops at 65507 bytes and truncates.
    this.#pending ??= this.sock.receive(new Uint8Array(MAX_UDP_PAYLOAD + 1)).then(
      ([data, from]) => {
        const a = from as Deno.NetAddr;
        return { data, address: unmapV4(a.hostname), port: a.port };
      },
    );
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

  /** Closes the socket; a pending receive is dropped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending?.catch(() => {});
    this.sock.close();
  }

  /** Same as {@link UdpClient.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether a datagram came from `target` (IPv4-mapped forms compare equal). */
export function sameAddress(a: string, b: string): boolean {
  return unmapV4(a).toLowerCase() === unmapV4(b).toLowerCase();
}

/**
 * A UDP socket that talks to one peer. Where libc is reachable (Linux, `--allow-ffi`) it
 * is a connected socket (connect(2) on a datagram socket, udp(7)), so an ICMP port
 * unreachable from the peer ends a wait at once with `ECONNREFUSED` instead of a
 * timeout; elsewhere it is a Deno socket that only filters what arrives by sender.
 */
export interface UdpPeer extends Disposable {
  /** The peer's address (as given, zone included). */
  readonly address: string;
  /** The peer's port. */
  readonly port: number;
  /** Whether ICMP errors reach this socket (a connected socket). */
  readonly connected: boolean;
  /** The socket's own address and port (getsockname(2)). */
  readonly local: { address: string; port: number };
  /** The options as read back, when asked for (see {@link openUdpPeer}). */
  readonly options?: SockoptState | undefined;
  /** Sends one datagram; a refusal reported by an earlier ICMP error throws `ECONNREFUSED`. */
  send(data: Uint8Array): Promise<void>;
  /**
   * The next datagram from the peer (a copy), or null after `timeoutMs` or when `signal`
   * aborts. Throws `SysError` `recvfrom ECONNREFUSED` when the peer's host said that
   * nothing listens there.
   */
  receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** Closes the socket. Idempotent. */
  close(): void;
}

/** Whether `err` says the peer refused (ICMP port unreachable, a TCP RST). */
export function isRefused(err: unknown): boolean {
  return err instanceof SysError && err.code === "ECONNREFUSED";
}

class ConnectedUdpPeer implements UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly connected = true;
  readonly local: { address: string; port: number };
  readonly options?: SockoptState | undefined;
  readonly #sock: Socket;
  readonly #buf = new Uint8Array(MAX_UDP_PAYLOAD + 1);

  constructor(sock: Socket, address: string, port: number, options?: SockoptState) {
    this.#sock = sock;
    this.address = address;
    this.port = port;
    const me = sock.localAddress();
    this.local = { address: unmapV4(me.address), port: me.port };
    this.options = options;
  }

  #error(err: unknown, syscall: string): Error {
    const code = err instanceof SysError ? err.code : undefined;
    return code === undefined
      ? toSysError(err, syscall, this)
      : new SysError(syscall, code, { address: this.address, port: this.port });
  }

  async send(data: Uint8Array): Promise<void> {
    try {
      await this.#sock.sendAll(data);
    } catch (err) {
      throw this.#error(err, "sendto");
    }
  }

  async receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    if (signal?.aborted) return null;
    const ac = new AbortController();
    const stop = () => ac.abort();
    const timer = setTimeout(stop, Math.max(0, timeoutMs));
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const n = await this.#sock.recv(this.#buf, ac.signal);
      return this.#buf.slice(0, n);
    } catch (err) {
      if (ac.signal.aborted || this.#sock.closed) return null;
      throw this.#error(err, "recvfrom");
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
    }
  }

  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class DenoUdpPeer implements UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly connected = false;
  readonly local: { address: string; port: number };
  readonly #client: UdpClient;

  constructor(family: 4 | 6, address: string, port: number) {
    try {
      this.#client = new UdpClient(family);
    } catch (err) {
      throw toSysError(err, "bind", { address: family === 6 ? "::" : "0.0.0.0", port: 0 });
    }
    this.address = address;
    this.port = port;
    const me = this.#client.sock.addr as Deno.NetAddr;
    this.local = { address: unmapV4(me.hostname), port: me.port };
  }

  send(data: Uint8Array): Promise<void> {
    return this.#client.send(data, this.address, this.port);
  }

  async receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    const deadline = performance.now() + timeoutMs;
    while (!signal?.aborted) {
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const d = await this.#client.receive(Math.min(left, 250));
      if (d && sameAddress(d.address, this.address) && d.port === this.port) return d.data;
    }
    return null;
  }

  close(): void {
    this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether `err` means libc cannot be used here (no `--allow-ffi`, not Linux). */
function ffiUnusable(err: unknown): boolean {
  return (err as Error)?.name === "NotCapable" ||
    (err instanceof SysError && err.syscall === "dlopen");
}

/**
 * Opens a {@link UdpPeer} for `address` (IPv6 may carry `%zone`, a name or an index) and
 * `port`: a connected libc socket where it can, else a Deno socket. With `socket`, its
 * options are set and its source address bound before connect(2), and the options are
 * read back once connected (`peer.options`); that needs libc.
 *
 * @example
 * ```ts
 * import { openUdpPeer } from "./client.ts";
 * using peer = openUdpPeer("127.0.0.1", 4, 9);
 * await peer.send(new TextEncoder().encode("hi"));
 * await peer.receive(1000); // throws `recvfrom ECONNREFUSED 127.0.0.1:9` where nothing listens
 * ```
 */
export function openUdpPeer(
  address: string,
  family: 4 | 6,
  port: number,
  socket?: ClientSocketOptions,
): UdpPeer {
  let sock: Socket;
  try {
    sock = Socket.open(family, SOCK_DGRAM);
  } catch (err) {
    if (ffiUnusable(err) && !socket?.bind && !socket?.sockopts) {
      return new DenoUdpPeer(family, address, port);
    }
    throw toSysError(err, "socket");
  }
  try {
    prepareClientSocket(sock, socket);
    const [host, zone] = address.split("%");
    const scopeId = zone === undefined || zone === ""
      ? 0
      : /^\d+$/.test(zone)
      ? Number(zone)
      : interfaceIndex(zone);
    sock.connectNow(host!, port, scopeId);
    return new ConnectedUdpPeer(sock, address, port, clientSocketState(sock, socket));
  } catch (err) {
    sock.close();
    throw err;
  }
}
