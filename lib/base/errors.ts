/**
 * The two error shapes sockbox reports: {@link UsageError} (bad input, exit 2) and
 * {@link SysError} (a system call failed, exit 1). Errors from `Deno.*` and from libc
 * calls made through FFI are mapped into the same `SysError` so both paths read alike:
 * `connect ECONNREFUSED 127.0.0.1:1`.
 *
 * @module
 */

/** Bad command-line input. `main.ts` prints it as `sockbox: MESSAGE` and exits 2. */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override name = "UsageError";
}

/** Where a failed call was aimed, when it has an address. */
export interface Endpoint {
  /** The address (or interface, or file) the call was aimed at. */
  address?: string | undefined;
  /** The port, when the endpoint has one. */
  port?: number | undefined;
}

/** Formats an address and port the way every sockbox line does: `1.2.3.4:7`, `[::1]:7`. */
export function formatEndpoint(address: string, port?: number): string {
  if (port === undefined) return address;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A failed system call: `syscall` (e.g. `connect`), `code` (the errno name, e.g.
 * `ECONNREFUSED`, or a resolver code such as `EAI_NONAME`), and the endpoint if any.
 * The message is `syscall CODE address:port` followed by an optional detail.
 */
export class SysError extends Error {
  /** `"SysError"`, or a subclass's name. */
  override name = "SysError";
  /** The call that failed, as its man page names it (`connect`, `setsockopt`). */
  readonly syscall: string;
  /** The errno name (`ECONNREFUSED`), a resolver code (`EAI_NONAME`), or `errno N`. */
  readonly code: string;
  /** The address the call was aimed at, if any. */
  readonly address: string | undefined;
  /** The port the call was aimed at, if any. */
  readonly port: number | undefined;

  /**
   * Builds the error and its message, `syscall CODE address:port (detail)`.
   *
   * @param syscall The call that failed.
   * @param code The errno name or resolver code.
   * @param endpoint Where the call was aimed, if anywhere.
   * @param detail Extra text, shown in parentheses.
   * @param options The `cause`, when the error wraps another.
   */
  constructor(
    syscall: string,
    code: string,
    endpoint: Endpoint = {},
    detail?: string,
    options?: ErrorOptions,
  ) {
    const where = endpoint.address === undefined
      ? ""
      : ` ${formatEndpoint(endpoint.address, endpoint.port)}`;
    super(`${syscall} ${code}${where}${detail ? ` (${detail})` : ""}`, options);
    this.syscall = syscall;
    this.code = code;
    this.address = endpoint.address;
    this.port = endpoint.port;
  }
}

/** A runtime failure that is not a system call (e.g. an echo that did not match). */
export class RuntimeError extends Error {
  /** Always `"RuntimeError"`. */
  override name = "RuntimeError";
}

const DENO_ERROR_CODES: Record<string, string> = {
  ConnectionRefused: "ECONNREFUSED",
  ConnectionReset: "ECONNRESET",
  ConnectionAborted: "ECONNABORTED",
  NotConnected: "ENOTCONN",
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  BrokenPipe: "EPIPE",
  PermissionDenied: "EACCES",
  TimedOut: "ETIMEDOUT",
  NetworkUnreachable: "ENETUNREACH",
  HostUnreachable: "EHOSTUNREACH",
  Interrupted: "EINTR",
  WouldBlock: "EAGAIN",
  NotFound: "ENOENT",
  InvalidData: "EINVAL",
};

/**
 * Linux errno numbers Deno reports only as `(os error N)` with a generic class
 * (errno(3), asm-generic/errno.h).
 */
const LINUX_ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  12: "ENOMEM",
  13: "EACCES",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  71: "EPROTO",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/** `err` as an Error: itself when it is one, otherwise an Error with its text. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Maps an error thrown by a `Deno.*` network call into a {@link SysError} naming the
 * syscall and endpoint. Errors that are already `SysError`/`UsageError` pass through, and
 * so do Deno's own refusals (a missing permission or API), which no syscall caused.
 */
export function toSysError(err: unknown, syscall: string, endpoint: Endpoint = {}): Error {
  if (err instanceof SysError || err instanceof UsageError || err instanceof RuntimeError) {
    return err;
  }
  if (!(err instanceof Error)) return new SysError(syscall, "EUNKNOWN", endpoint, String(err));
  // Not a failed call: a missing permission (NotCapable, whose message names the flag) or
  // a missing API (a TypeError); main.ts says what is missing.
  if (err.name === "NotCapable" || err instanceof TypeError) return err;
  const coded = (err as Error & { code?: unknown }).code;
  let code = typeof coded === "string" ? coded : DENO_ERROR_CODES[err.name];
  if (code === undefined) {
    const m = /os error (\d+)/.exec(err.message);
    code = m ? LINUX_ERRNO_NAMES[Number(m[1])] ?? `errno ${m[1]}` : "EUNKNOWN";
  }
  // With a known errno name the text adds nothing; otherwise keep it (minus "(os error N)").
  const detail = code.startsWith("E") && code !== "EUNKNOWN"
    ? undefined
    : err.message.replace(/\s*\(os error \d+\)$/, "");
  return new SysError(syscall, code, endpoint, detail, { cause: err });
}

/**
 * Why a streamed echo ended early, for every TCP streamer (Deno's sockets and libc's):
 * the peer closed before anything was sent, after echoing all that was sent while input
 * remained, or with echoed bytes still owed.
 *
 * @example
 * ```ts
 * import { streamClosedError } from "./errors.ts";
 * streamClosedError("127.0.0.1:7", 0, 0).message;
 * // "127.0.0.1:7 closed the connection before anything was sent"
 * ```
 */
export function streamClosedError(where: string, sent: number, received: number): RuntimeError {
  if (sent === 0) {
    return new RuntimeError(`${where} closed the connection before anything was sent`);
  }
  if (received >= sent) {
    return new RuntimeError(
      `${where} closed the connection before the input ended (${count(sent)} sent, all echoed)`,
    );
  }
  return new RuntimeError(
    `echo incomplete from ${where}: sent ${
      count(sent)
    }, got ${received} before the connection closed`,
  );
}

/**
 * The timeout of a streamed echo: `timeoutMs` passed with echoed bytes owed.
 *
 * @example
 * ```ts
 * import { streamSilentError } from "./errors.ts";
 * streamSilentError({ address: "::1", port: 7 }, 5000, 0, 1).message;
 * // "recv ETIMEDOUT [::1]:7 (no echo for 5000ms; 0 of 1 byte back)"
 * ```
 */
export function streamSilentError(
  endpoint: Endpoint,
  timeoutMs: number,
  received: number,
  sent: number,
): SysError {
  return new SysError(
    "recv",
    "ETIMEDOUT",
    endpoint,
    `no echo for ${timeoutMs}ms; ${received} of ${count(sent)} back`,
  );
}

function count(bytes: number): string {
  return `${bytes} byte${bytes === 1 ? "" : "s"}`;
}
