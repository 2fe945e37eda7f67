import assert from "node:assert/strict";
import { inspect, styleText } from "node:util";
import {
  denoCapabilityError,
  interruptedCode,
  outputError,
  Reporter,
  signalExitCode,
  type Style,
  styled,
  writeAll,
  writeAllSync,
} from "./output.ts";
import { memoryIo, memorySink } from "./test_util.ts";
import { SysError } from "../base/errors.ts";

type Ev = { event: "hello"; name: string; n: number };
const text = (e: Ev) => `hello ${e.name} ${e.n}`;

Deno.test("Reporter text: one line per event, null or a null text prints nothing", () => {
  const io = memoryIo();
  const out = new Reporter(io);
  assert.equal(out.json, false);
  out.emit({ event: "hello", name: "a", n: 1 }, text);
  out.emit({ event: "hello", name: "b", n: 2 }, "fixed line");
  out.emit({ event: "hello", name: "c", n: 3 }, null);
  out.emit({ event: "hello", name: "d", n: 4 }, () => null);
  out.emit({ event: "hello", name: "e", n: 5 }, (e) => `two\nlines ${e.n}`);
  assert.equal(io.stdout.text(), "hello a 1\nfixed line\ntwo\nlines 5\n");
  assert.equal(io.stderr.text(), "");
});

Deno.test("Reporter JSON: one object per line, event first, then ts, then the fields", () => {
  const io = memoryIo();
  const out = new Reporter(io, { json: true });
  assert.equal(out.json, true);
  out.emit({ event: "hello", name: "a", n: 1 }, text);
  out.emit({ event: "hello", name: "b", n: 2 }, null); // no human form, still an object
  const lines = io.stdout.text().split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, 2);
  for (const [i, line] of lines.entries()) {
    const o = JSON.parse(line);
    assert.deepEqual(Object.keys(o), ["event", "ts", "name", "n"]);
    assert.equal(o.event, "hello");
    assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(o.ts) - Date.now()) < 60_000);
    assert.deepEqual([o.name, o.n], [["a", 1], ["b", 2]][i]);
  }
});

Deno.test("Reporter line writes raw text, warn goes to stderr with the prefix", () => {
  for (const json of [false, true]) {
    const io = memoryIo();
    const out = new Reporter(io, { json });
    out.line("[1,2]");
    out.warn("careful");
    assert.equal(io.stdout.text(), "[1,2]\n");
    assert.equal(io.stderr.text(), "sockbox: careful\n");
  }
});

Deno.test("Reporter batch: one stdout write per batch, stderr lines keep their place", () => {
  const writes: string[] = [];
  const dec = new TextDecoder();
  const sink = (name: string) => ({
    writeSync(p: Uint8Array) {
      writes.push(`${name}:${dec.decode(p)}`);
      return p.length;
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
  });
  const io = { ...memoryIo(), stdout: sink("out"), stderr: sink("err") };
  const out = new Reporter(io);
  out.line("before");
  out.batch(() => {
    out.emit({ event: "hello", name: "a", n: 1 }, text);
    out.emit({ event: "hello", name: "b", n: 2 }, text);
    out.warn("mid");
    out.line("c");
    out.batch(() => out.line("nested")); // an inner batch joins the outer one
    out.line("d");
  });
  out.batch(() => {}); // nothing held: no write at all
  out.line("after");
  assert.deepEqual(writes, [
    "out:before\n",
    "out:hello a 1\nhello b 2\n",
    "err:sockbox: mid\n",
    "out:c\nnested\nd\n",
    "out:after\n",
  ]);
  // A throw inside the batch still writes what was held, and stops holding.
  writes.length = 0;
  assert.throws(() =>
    out.batch(() => {
      out.line("x");
      throw new Error("boom");
    }), /boom/);
  out.line("y");
  assert.deepEqual(writes, ["out:x\n", "out:y\n"]);
});

Deno.test("Reporter style is plain text off a terminal and with --json", () => {
  for (const [isTerminal, json] of [[false, false], [true, true]] as const) {
    const out = new Reporter({ ...memoryIo(), isTerminal }, { json });
    assert.equal(out.style("red", "fail"), "fail");
  }
});

Deno.test("Reporter style colours on a terminal unless NO_COLOR is set", () => {
  const saved = Deno.env.get("NO_COLOR");
  try {
    Deno.env.delete("NO_COLOR");
    const coloured = new Reporter({ ...memoryIo(), isTerminal: true });
    assert.equal(coloured.style("red", "fail"), "\x1b[31mfail\x1b[39m");
    Deno.env.set("NO_COLOR", "1");
    const plain = new Reporter({ ...memoryIo(), isTerminal: true });
    assert.equal(plain.style("red", "fail"), "fail");
  } finally {
    if (saved === undefined) Deno.env.delete("NO_COLOR");
    else Deno.env.set("NO_COLOR", saved);
  }
});

Deno.test("styled writes what node:util styleText writes for a terminal, every format", () => {
  const names = Object.keys(inspect.colors) as Style[];
  const texts = [
    "fail",
    "",
    "a\x1b[39mb\x1b[22mc\x1b[49md\x1b[24m",
    "\x1b[39m\x1b[39m\x1b[22m\x1b[22m",
    "\x1b[0m",
  ];
  const formats: Style[] = [...names, ["bold", "green"], ["dim", "bgRed", "underline"]];
  for (const f of formats) {
    for (const t of texts) {
      assert.equal(styled(f, t), styleText(f, t, { validateStream: false }), `${f} ${t}`);
    }
  }
  assert.throws(() => styled("nope" as Style, "x"), TypeError);
});

Deno.test("writeAll and writeAllSync loop over short writes", async () => {
  const got: number[] = [];
  const sink = {
    writeSync: (p: Uint8Array) => (got.push(p[0]!), 1),
    write: (p: Uint8Array) => Promise.resolve((got.push(p[0]!), 1)),
  };
  writeAllSync(sink, new Uint8Array([1, 2, 3]));
  await writeAll(sink, new Uint8Array([4, 5]));
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
  const m = memorySink();
  writeAllSync({ write: m.write }, new TextEncoder().encode("async only"));
  assert.equal(m.text(), "async only");
});

Deno.test("Reporter JSON ts never goes backwards, whatever the clock does", () => {
  const io = memoryIo();
  const times = [1_000_000_000_249, 1_000_000_000_248, 1_000_000_000_250];
  const out = new Reporter(io, { json: true, now: () => times.shift()! });
  for (let n = 0; n < 3; n++) {
    out.emit({ event: "hello", name: "x", n, ts: "an event's own ts is not used" }, null);
  }
  const ts = io.stdout.text().trim().split("\n").map((l) => JSON.parse(l).ts);
  assert.deepEqual(ts, [
    "2001-09-09T01:46:40.249Z",
    "2001-09-09T01:46:40.249Z",
    "2001-09-09T01:46:40.250Z",
  ]);
});

Deno.test("signalExitCode is 128 + the signal: 130 for SIGINT, 143 for SIGTERM", () => {
  assert.equal(signalExitCode("SIGINT"), 130);
  assert.equal(signalExitCode("SIGTERM"), 143);
  const ac = new AbortController();
  ac.abort("SIGTERM");
  assert.equal(interruptedCode(ac.signal), 143);
});

Deno.test("denoCapabilityError names the flag that grants what Deno refused", () => {
  const denied = Object.assign(
    new Error('Requires net access to "127.0.0.1:7", run again with the --allow-net flag'),
    { name: "NotCapable" },
  );
  assert.equal(denoCapabilityError(denied), denied);
  assert.equal(
    denoCapabilityError(new TypeError("Deno.listenDatagram is not a function"))?.message,
    "missing unstable API: Deno.listenDatagram (UDP) is not available, run again with the --unstable-net flag",
  );
  assert.equal(denoCapabilityError(new TypeError("x is not a function")), null);
  assert.equal(denoCapabilityError(new Error("other")), null);
});

Deno.test("outputError: BrokenPipe as it is (exit 141), an errno as `write CODE (stream)`", async () => {
  const pipe = Object.assign(new Error("Broken pipe (os error 32)"), { name: "BrokenPipe" });
  assert.equal(outputError(pipe, "stdout"), pipe);
  const full = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  const e = outputError(full, "stderr") as SysError;
  assert.ok(e instanceof SysError);
  assert.equal(e.message, "write ENOSPC (stderr)");
  assert.equal(e.cause, full);
  const odd = new TypeError("not an OS error");
  assert.equal(outputError(odd, "stdout"), odd); // no errno: left as it is
  const plain = new Error("no errno in here");
  assert.equal(outputError(plain, "stdout"), plain);
  // An errno Deno gives only as "(os error N)" is named as for every other call.
  const bare = outputError(new Error("Permission denied (os error 13)"), "stdout") as Error;
  assert.equal(bare.message, "write EACCES (stdout)");
  // Both writers throw it.
  const failing = {
    writeSync(): number {
      throw full;
    },
    write: () => Promise.reject(full),
  };
  assert.throws(
    () => writeAllSync(failing, new Uint8Array(1)),
    /^SysError: write ENOSPC \(stdout\)$/,
  );
  await assert.rejects(writeAll(failing, new Uint8Array(1), "stderr"), /write ENOSPC \(stderr\)/);
});
