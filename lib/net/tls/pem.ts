/**
 * What a PEM file holds (RFC 7468 labels), so a wrong or garbled certificate or key file
 * is named before anything listens or connects.
 *
 * @module
 */

/** The labels of the PEM blocks in `text`, in order (`CERTIFICATE`, `PRIVATE KEY`, ...). */
export function pemLabels(text: string): string[] {
  return [...text.matchAll(/^-----BEGIN ([A-Z0-9 ]+)-----\s*$/gm)].map((m) => m[1]!);
}

/**
 * Why `text` is not usable as `kind`, or null when it is: a certificate file needs a
 * `CERTIFICATE` block, a key file a `PRIVATE KEY` block (PKCS #8, or the `RSA`/`EC`
 * forms).
 *
 * @example
 * ```ts
 * import { pemProblem } from "./pem.ts";
 * pemProblem("hello", "certificate"); // "not PEM (no -----BEGIN CERTIFICATE----- line)"
 * ```
 */
export function pemProblem(text: string, kind: "certificate" | "key"): string | null {
  const labels = pemLabels(text);
  const want = kind === "certificate" ? "CERTIFICATE" : "PRIVATE KEY";
  const ok = kind === "certificate"
    ? labels.includes("CERTIFICATE")
    : labels.some((l) => /^(RSA |EC |ENCRYPTED )?PRIVATE KEY$/.test(l));
  if (ok) {
    if (kind === "key" && labels.includes("ENCRYPTED PRIVATE KEY")) {
      return "the key is encrypted (write it without a passphrase: openssl pkey -in KEY -out PLAIN)";
    }
    return null;
  }
  if (labels.length === 0) return `not PEM (no -----BEGIN ${want}----- line)`;
  return `holds ${labels.join(", ")}, not a ${
    kind === "certificate" ? "CERTIFICATE" : "PRIVATE KEY"
  }`;
}
