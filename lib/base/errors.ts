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
  override name = "UsageError";
}

/** Where a failed call was aimed, when it has an address. */
export interface Endpoint {
  address?: string | undefined;
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
  override name = "SysError";
  readonly syscall: string;
  readonly code: string;
  readonly address: string | undefined;
  readonly port: number | undefined;

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
  NotCapable: "ENOTCAPABLE",
  TimedOut: "ETIMEDOUT",
  NetworkUnreachable: "ENETUNREACH",
  HostUnreachable: "EHOSTUNREACH",
  Interrupted: "EINTR",
  WouldBlock: "EAGAIN",
  NotFound: "ENOENT",
  InvalidData: "EINVAL",
};

/**
 * Maps an error thrown by a `Deno.*` network call into a {@link SysError} naming the
 * syscall and endpoint. Errors that are already `SysError`/`UsageError` pass through.
 */
export function toSysError(err: unknown, syscall: string, endpoint: Endpoint = {}): Error {
  if (err instanceof SysError || err instanceof UsageError || err instanceof RuntimeError) {
    return err;
  }
  if (!(err instanceof Error)) return new SysError(syscall, "EUNKNOWN", endpoint, String(err));
  const coded = (err as Error & { code?: unknown }).code;
  let code = typeof coded === "string" ? coded : DENO_ERROR_CODES[err.name];
  if (code === undefined) {
    const m = /os error (\d+)/.exec(err.message);
    code = m ? `errno ${m[1]}` : "EUNKNOWN";
  }
  // With a known errno name the text adds nothing; otherwise keep it (minus "(os error N)").
  const detail = code.startsWith("E") && code !== "EUNKNOWN"
    ? undefined
    : err.message.replace(/\s*\(os error \d+\)$/, "");
  return new SysError(syscall, code, endpoint, detail, { cause: err });
}
