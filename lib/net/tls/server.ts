/**
 * The server side of TLS: certificate and key files read and checked before anything
 * listens, and the listener itself (`Deno.listenTls`, rustls underneath). Deno's
 * `TlsConn.handshake()` reports the ALPN protocol chosen; it does not report the TLS
 * version, so server events carry ALPN only.
 *
 * @module
 */
import { RuntimeError } from "../../base/errors.ts";
import { pemProblem } from "./pem.ts";

/** Where the certificate chain and key are, and the ALPN protocols to offer. */
export interface TlsServerFiles {
  /** PEM certificate chain (the server's certificate first). */
  certFile: string;
  /** PEM private key (PKCS #8, RSA or EC; not encrypted). */
  keyFile: string;
  /** ALPN protocols to accept, in order of preference (RFC 7301). */
  alpn?: string[] | undefined;
}

/** The certificate and key, read and checked, ready for `Deno.listenTls`. */
export interface TlsServerConfig extends TlsServerFiles {
  cert: string;
  key: string;
}

async function readPem(file: string, kind: "certificate" | "key"): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    const e = err as Error;
    const why = e.name === "NotFound"
      ? "no such file"
      : e.name === "PermissionDenied"
      ? "permission denied"
      : e.name === "IsADirectory"
      ? "is a directory"
      : e.message.replace(/\s*\(os error \d+\).*$/s, "");
    throw new RuntimeError(`cannot read ${kind} file "${file}": ${why}`);
  }
  const problem = pemProblem(text, kind);
  if (problem) throw new RuntimeError(`${kind} file "${file}": ${problem}`);
  return text;
}

/**
 * Reads and checks the certificate and key files; a missing, unreadable or non-PEM file
 * is a `RuntimeError` naming it.
 *
 * @example
 * ```ts ignore
 * import { loadTlsFiles } from "./server.ts";
 * const tls = await loadTlsFiles({ certFile: "cert.pem", keyFile: "key.pem", alpn: ["h2"] });
 * ```
 */
export async function loadTlsFiles(files: TlsServerFiles): Promise<TlsServerConfig> {
  const cert = await readPem(files.certFile, "certificate");
  const key = await readPem(files.keyFile, "key");
  return { ...files, cert, key };
}

/**
 * `Deno.listenTls` with the loaded files. The certificate and key are parsed here, so a
 * key that does not match the certificate or does not parse is a `RuntimeError` naming
 * both files; other errors (address in use ...) are thrown as they are.
 */
export function listenTls(cfg: TlsServerConfig, hostname: string, port: number): Deno.TlsListener {
  try {
    return Deno.listenTls({
      hostname,
      port,
      transport: "tcp",
      cert: cfg.cert,
      key: cfg.key,
      ...(cfg.alpn?.length ? { alpnProtocols: cfg.alpn } : {}),
    });
  } catch (err) {
    const msg = (err as Error).message;
    if (/KeyMismatch|not be consistent/i.test(msg)) {
      throw new RuntimeError(
        `key file "${cfg.keyFile}" does not match certificate file "${cfg.certFile}"`,
      );
    }
    if (/key/i.test(msg) && !/address|permission/i.test(msg)) {
      throw new RuntimeError(
        `key file "${cfg.keyFile}": ${msg.replace(/^unexpected error: /, "")}`,
      );
    }
    if (/certificate/i.test(msg)) {
      throw new RuntimeError(`certificate file "${cfg.certFile}": ${msg}`);
    }
    throw err;
  }
}
