/**
 * The client side of TLS. `Deno.connectTls` can neither skip certificate verification
 * (`--insecure`) nor report the negotiated TLS version, so the client uses `node:tls`,
 * which Deno implements on the same rustls stack, and wraps the socket as a `Deno.Conn`
 * so every TCP client (send, ping, --recv) runs unchanged over it.
 *
 * @module
 */
// Types only here: node:tls itself loads on the first connect, because a static import of
// it is hoisted to the top of the one-file bundle and would cost every command's start-up.
import type tls from "node:tls";
import type { Buffer } from "node:buffer";
import { formatEndpoint, RuntimeError, SysError, toSysError } from "../../base/errors.ts";
import { ipFamily, unmapV4 } from "../../base/ip.ts";
import { resolveHost } from "../../sys/resolver.ts";

/** How to verify and what to offer. */
export interface TlsClientOptions {
  /** PEM text of the CA certificates to trust instead of the system's. */
  ca?: string | undefined;
  /** Skip certificate verification altogether (chain and name). */
  insecure?: boolean | undefined;
  /** The name to send (SNI, RFC 6066) and to verify; default: the host as given. */
  servername?: string | undefined;
  /** ALPN protocols to offer (RFC 7301). */
  alpn?: string[] | undefined;
  /** Use only IPv4 or only IPv6 addresses of the host. */
  family?: 4 | 6 | undefined;
  /** Limit for the TCP connect and the handshake together (ms). */
  timeoutMs: number;
  /** Aborting gives up connecting. */
  signal?: AbortSignal | undefined;
}

/** A connected, verified (unless insecure) TLS client. */
export interface TlsTarget {
  conn: Deno.Conn<Deno.NetAddr>;
  address: string;
  port: number;
  /** The TLS version agreed (`TLSv1.3`), or null if the stack did not say. */
  version: string | null;
  /** The ALPN protocol the server chose, or null. */
  alpn: string | null;
  /** Whether the certificate was verified (false only with `insecure`). */
  verified: boolean;
}

/** Codes node:tls uses for a certificate the client does not trust. */
const UNTRUSTED = /CERT|UNABLE_TO|SELF_SIGNED|ALTNAME|HOSTNAME|ISSUER|SIGNATURE|CHAIN/;

/** node:tls, once {@link connectTls} has loaded it. */
let nodeTls: typeof tls | undefined;

function connectOne(
  address: string,
  port: number,
  host: string,
  o: TlsClientOptions,
): Promise<TlsTarget> {
  const ep = { address, port };
  const where = formatEndpoint(address, port);
  const servername = o.servername ?? (ipFamily(host) === 0 ? host : undefined);
  return new Promise<TlsTarget>((resolve, reject) => {
    let done = false;
    const socket = nodeTls!.connect({
      host: address,
      port,
      ...(servername !== undefined ? { servername } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.alpn?.length ? { ALPNProtocols: o.alpn } : {}),
      rejectUnauthorized: !o.insecure,
      allowHalfOpen: true,
    } as tls.ConnectionOptions);
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (err) {
        socket.destroy();
        reject(err);
        return;
      }
      socket.removeListener("error", onError);
      resolve({
        conn: new NodeTlsConn(socket),
        address,
        port,
        version: socket.getProtocol() ?? null,
        alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
        verified: socket.authorized,
      });
    };
    const onError = (err: Error & { code?: string }) => {
      const code = err.code ?? "";
      if (UNTRUSTED.test(code)) {
        finish(
          new RuntimeError(
            `TLS ${where}: server certificate not trusted: ${err.message} (${code})`,
          ),
        );
      } else if (/^E[A-Z]+$/.test(code)) {
        finish(toSysError(err, "connect", ep));
      } else {
        finish(new RuntimeError(`TLS handshake with ${where} failed: ${err.message}`));
      }
    };
    const onAbort = () => finish(new SysError("connect", "ECANCELED", ep));
    const timer = setTimeout(
      () => finish(new SysError("connect", "ETIMEDOUT", ep, "TLS handshake did not finish")),
      o.timeoutMs,
    );
    o.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => finish(null));
    socket.on("error", onError);
    socket.once(
      "close",
      () => finish(new RuntimeError(`TLS handshake with ${where} failed: connection closed`)),
    );
  });
}

/**
 * Resolves `host` and opens a TLS connection to the first address that accepts TCP; a
 * certificate the client does not trust ends the attempt at once with a one-line
 * `RuntimeError` giving the verification reason.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "./client.ts";
 * const t = await connectTls("localhost", 4433, { ca: caPem, alpn: ["h2"], timeoutMs: 5000 });
 * console.log(t.version, t.alpn); // "TLSv1.3" "h2"
 * ```
 */
export async function connectTls(
  host: string,
  port: number,
  o: TlsClientOptions,
): Promise<TlsTarget> {
  nodeTls ??= (await import("node:tls")).default;
  const addrs = await resolveHost(host, o.family);
  let last: unknown;
  for (const a of addrs) {
    try {
      return await connectOne(a.address, port, host, o);
    } catch (err) {
      last = err;
      // Only a failure to reach the address is worth trying the next one.
      if (!(err instanceof SysError) || o.signal?.aborted) break;
    }
  }
  throw last;
}

/**
 * Bytes received and not yet read that end the connection with an error. The socket is
 * never paused: Deno's node:tls (2.9) loses the peer's end-of-stream when a paused socket
 * is resumed, so a slow reader is bounded by this limit instead.
 */
const MAX_BUFFERED = 64 * 1024 * 1024;

/** A node:tls socket seen as a `Deno.Conn`: buffered reads, awaited writes. */
class NodeTlsConn implements Deno.Conn<Deno.NetAddr> {
  readonly #s: tls.TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #closed = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;

  constructor(s: tls.TLSSocket) {
    this.#s = s;
    this.localAddr = {
      transport: "tcp",
      hostname: unmapV4(s.localAddress ?? ""),
      port: s.localPort ?? 0,
    };
    this.remoteAddr = {
      transport: "tcp",
      hostname: unmapV4(s.remoteAddress ?? ""),
      port: s.remotePort ?? 0,
    };
    s.on("data", (d: Buffer) => {
      this.#chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      this.#buffered += d.byteLength;
      if (this.#buffered > MAX_BUFFERED) {
        this.#error ??= new RuntimeError(
          `more than ${MAX_BUFFERED} bytes received and not yet read; giving up`,
        );
        s.destroy();
      }
      this.#poke();
    });
    s.on("end", () => {
      this.#ended = true;
      this.#poke();
    });
    s.on("error", (err: Error) => {
      this.#error ??= err;
      this.#poke();
    });
    s.on("close", () => {
      this.#ended = true;
      this.#poke();
    });
  }

  #poke(): void {
    this.#wake?.();
    this.#wake = null;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
    const head = this.#chunks[0]!;
    const n = Math.min(p.length, head.length);
    p.set(head.subarray(0, n));
    if (n === head.length) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#s.write(copy, (err?: Error | null) => (err ? reject(err) : resolve(copy.length)));
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#s.end(() => resolve()));
  }

  /**
   * Closes the connection; a socket that can still write sends TLS close_notify first
   * (RFC 8446 section 6.1), so the server sees an orderly end, not a truncation.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = true;
    this.#poke();
    const s = this.#s;
    if (s.destroyed || !s.writable) {
      s.destroy();
      return;
    }
    const t = setTimeout(() => s.destroy(), 1000);
    Deno.unrefTimer(t);
    s.end(() => {
      clearTimeout(t);
      s.destroy();
    });
  }

  ref(): void {
    this.#s.ref();
  }

  unref(): void {
    this.#s.unref();
  }

  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return (this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (ctl) => {
        const buf = new Uint8Array(64 * 1024);
        const n = await this.read(buf);
        if (n === null) ctl.close();
        else ctl.enqueue(buf.subarray(0, n));
      },
      cancel: () => this.close(),
    }));
  }

  get writable(): WritableStream<Uint8Array> {
    return (this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    }));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
