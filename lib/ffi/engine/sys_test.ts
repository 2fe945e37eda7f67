/** The data plane's libc calls: read(2)/write(2) with their count taken as a 32-bit int. */
import assert from "node:assert/strict";
import { ERRNO, O_CLOEXEC, O_NONBLOCK } from "../constants.ts";
import { engineLibc, errnoCell } from "./sys.ts";

// Bound before the test: the library stays open for the process (the leak sanitizer
// counts a library opened inside a test).
const c = engineLibc();
const err = errnoCell();
for (const call of [c.pipe2, c.read32, c.write32, c.close]) assert.equal(typeof call, "function");

Deno.test("read32/write32 return whole counts, 0 at EOF and -1 with errno", () => {
  const fds = new Int32Array(2);
  assert.equal(c.pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  const [r, w] = [fds[0]!, fds[1]!];
  try {
    // A non-blocking pipe takes what fits (64 KiB by default, pipe(7)) and refuses the rest.
    const data = new Uint8Array(200_000).map((_, i) => i * 7);
    const took = c.write32(w, data, BigInt(data.length));
    assert.ok(took > 0 && took < data.length, String(took));
    assert.equal(c.write32(w, data, BigInt(data.length)), -1);
    assert.equal(err[0], ERRNO.EAGAIN);
    const back = new Uint8Array(data.length);
    let got = 0;
    for (;;) {
      const n = c.read32(r, back.subarray(got), BigInt(back.length - got));
      if (n < 0) {
        assert.equal(err[0], ERRNO.EAGAIN);
        break;
      }
      got += n;
    }
    assert.equal(got, took);
    assert.deepEqual(back.subarray(0, got), data.subarray(0, took));
    assert.equal(c.write32(w, data, 0n), 0);
    c.close(w);
    assert.equal(c.read32(r, back, BigInt(back.length)), 0); // EOF
  } finally {
    c.close(r);
  }
  assert.equal(c.read32(r, new Uint8Array(1), 1n), -1);
  assert.equal(err[0], ERRNO.EBADF);
});
