import assert from "node:assert/strict";
import { RuntimeError } from "../base/errors.ts";
import { memoryTransport } from "../net/ping/test_util.ts";
import { Reporter } from "./output.ts";
import { coalescingSink, parseSchedule, pingAndReport } from "./ping_report.ts";
import { assertUsageError, memoryIo } from "./test_util.ts";

Deno.test("parseSchedule fills the defaults and reads each flag", () => {
  assert.deepEqual(parseSchedule({}, 100), {
    count: Infinity,
    intervalMs: 1000,
    size: 64,
    timeoutMs: 2000,
  });
  assert.deepEqual(parseSchedule({ count: "5", interval: "0", size: "100", timeout: "1m" }, 100), {
    count: 5,
    intervalMs: 0,
    size: 100,
    timeoutMs: 60_000,
  });
  assertUsageError(
    () => parseSchedule({ size: "101" }, 100),
    'invalid --size "101": must be 12-100',
  );
  assertUsageError(
    () => parseSchedule({ count: "1000000001" }, 100),
    'invalid --count "1000000001": must be 1-1000000000',
  );
});

/** Echoes every probe at once, or never when `silent`. */
const loopback = (silent = false) => memoryTransport((probe) => silent ? [] : [probe]);

const run = { proto: "udp", address: "::1", port: 7, count: 2, intervalMs: 0, size: 20 };

Deno.test("pingAndReport prints the start line, one line per echo and the summary", async () => {
  const io = memoryIo();
  const code = await pingAndReport(loopback(), new Reporter(io), "localhost", {
    ...run,
    timeoutMs: 1000,
    signal: io.signal,
  });
  assert.equal(code, 0);
  const lines = io.stdout.text().split("\n");
  assert.equal(lines[0], "PING localhost ([::1]:7) udp: 20 bytes per probe");
  assert.match(lines[1]!, /^20 bytes from \[::1\]:7: seq=1 time=\d+\.\d{3} ms$/);
  assert.match(lines[2]!, /^20 bytes from \[::1\]:7: seq=2 time=\d+\.\d{3} ms$/);
  assert.equal(lines[3], "--- [::1]:7 udp ping statistics ---");
  assert.match(lines[4]!, /^2 probes sent, 2 received, 0% loss, time \d+ms$/);
});

Deno.test("pingAndReport writes the same run as NDJSON", async () => {
  const io = memoryIo();
  await pingAndReport(loopback(), new Reporter(io, { json: true }), "localhost", {
    ...run,
    timeoutMs: 1000,
    signal: io.signal,
  });
  const evs = io.stdout.text().trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(evs.map((e) => e.event), ["start", "reply", "reply", "summary"]);
  assert.deepEqual(
    { ...evs[0], ts: undefined },
    {
      event: "start",
      ts: undefined,
      proto: "udp",
      host: "localhost",
      address: "::1",
      port: 7,
      size: 20,
    },
  );
  assert.deepEqual([evs[3].sent, evs[3].received], [2, 2]);
});

Deno.test("pingAndReport fails when no echo came back", async () => {
  const io = memoryIo();
  await assert.rejects(
    pingAndReport(loopback(true), new Reporter(io), "h", {
      ...run,
      count: 1,
      timeoutMs: 20,
      signal: io.signal,
    }),
    (e: unknown) => e instanceof RuntimeError && e.message === "no echo from [::1]:7",
  );
  assert.match(io.stdout.text(), /\nno echo for seq=1 within 20ms\n/);
});

Deno.test("coalescingSink passes the writes of one turn on as one write, in order", async () => {
  const writes: string[] = [];
  const dec = new TextDecoder(), enc = new TextEncoder();
  const sink = coalescingSink({
    writeSync(p) {
      writes.push(dec.decode(p));
      return p.length;
    },
    write: () => Promise.resolve(0),
  });
  const buf = enc.encode("a\n");
  sink.writeSync!(buf);
  buf[0] = 0x7a; // the sink keeps its own copy
  sink.writeSync!(enc.encode("b\n"));
  assert.deepEqual(writes, []);
  await Promise.resolve();
  assert.deepEqual(writes, ["a\nb\n"]);
  await sink.write(enc.encode("c\n"));
  await Promise.resolve();
  assert.deepEqual(writes, ["a\nb\n", "c\n"]);
});

Deno.test("coalescingSink: a write that fails at the checkpoint is thrown by the next write", async () => {
  const enc = new TextEncoder();
  const full = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  const sink = coalescingSink({
    writeSync() {
      throw full;
    },
    write: () => Promise.reject(full),
  });
  sink.writeSync!(enc.encode("a\n")); // held: nothing fails yet
  await Promise.resolve(); // the flush fails here, where no caller waits
  assert.throws(() => sink.writeSync!(enc.encode("b\n")), /^SysError: write ENOSPC \(stdout\)$/);
  await assert.rejects(sink.write(enc.encode("c\n")), /write ENOSPC \(stdout\)/);
});
