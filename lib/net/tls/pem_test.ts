import assert from "node:assert/strict";
import { pemLabels, pemProblem } from "./pem.ts";

const block = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;

Deno.test("pemLabels lists the BEGIN labels in order", () => {
  assert.deepEqual(pemLabels(block("CERTIFICATE") + block("CERTIFICATE")), [
    "CERTIFICATE",
    "CERTIFICATE",
  ]);
  assert.deepEqual(pemLabels("junk"), []);
});

Deno.test("pemProblem accepts certificates and PKCS #8, RSA and EC keys", () => {
  assert.equal(pemProblem(block("CERTIFICATE"), "certificate"), null);
  for (const l of ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]) {
    assert.equal(pemProblem(block(l), "key"), null);
  }
  assert.equal(pemProblem(block("EC PARAMETERS") + block("EC PRIVATE KEY"), "key"), null);
});

Deno.test("pemProblem says what is wrong with a file", () => {
  assert.equal(pemProblem("", "certificate"), "not PEM (no -----BEGIN CERTIFICATE----- line)");
  assert.equal(pemProblem("xyz", "key"), "not PEM (no -----BEGIN PRIVATE KEY----- line)");
  assert.equal(
    pemProblem(block("CERTIFICATE"), "key"),
    "holds CERTIFICATE, not a PRIVATE KEY",
  );
  assert.equal(
    pemProblem(block("PRIVATE KEY"), "certificate"),
    "holds PRIVATE KEY, not a CERTIFICATE",
  );
  assert.match(pemProblem(block("ENCRYPTED PRIVATE KEY"), "key")!, /^the key is encrypted/);
});
