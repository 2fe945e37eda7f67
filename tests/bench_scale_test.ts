// Unit tests for the pure parts of scripts/bench_scale.ts (the benchmark itself boots UML and
// is run by `deno task bench --only scale`, not by the test suite).
import assert from "node:assert/strict";
import {
  parseClientLine,
  parseNofileSoft,
  parseSmapsRollup,
  parseSummaryConnections,
  perConnBytes,
  rowComplete,
  type ScaleRow,
  scaleTable,
} from "../scripts/bench_scale.ts";

Deno.test("bench scale reads Rss and Pss out of smaps_rollup", () => {
  const text = "55e0c0000000-7ffd5b7fe000 ---p 00000000 00:00 0   [rollup]\n" +
    "Rss:               61640 kB\nPss:               36827 kB\nPss_Dirty:         30000 kB\n" +
    "SwapPss:               0 kB\n";
  assert.deepEqual(parseSmapsRollup(text), { rss_kb: 61640, pss_kb: 36827 });
  assert.throws(() => parseSmapsRollup("Rss: 1 kB\n"), /no Rss line|no Pss line/);
});

Deno.test("bench scale reads the soft open-file limit out of /proc/PID/limits", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units     \n" +
    "Max processes             95944                95944                processes \n" +
    "Max open files            1048576              1048576              files     \n";
  assert.equal(parseNofileSoft(text), 1048576);
  assert.equal(parseNofileSoft(text.replace("1048576 ", "unlimited")), Infinity);
  assert.equal(parseNofileSoft("Max processes 1 1 processes\n"), null);
});

Deno.test("bench scale parses the client's lines and the server's summary", () => {
  const o = parseClientLine("opened conns=50000 ok=49998 failed=2 secs=41.250 errors=ETIMEDOUT:2");
  assert.equal(o.kind, "opened");
  assert.equal(o.fields.get("ok"), "49998");
  assert.equal(o.fields.get("errors"), "ETIMEDOUT:2");
  assert.equal(
    parseClientLine("opened conns=1 ok=1 failed=0 secs=0.001 errors=").fields
      .get("errors"),
    "",
  );
  assert.equal(
    parseSummaryConnections("summary tcp: 51000 connections, in=1 out=1 bytes, 9s"),
    51000,
  );
  assert.equal(parseSummaryConnections("summary tcp: 1 connection, in=5 out=5 bytes, 1.7s"), 1);
  assert.equal(parseSummaryConnections("close 127.0.0.2:4000 in=16 out=16 time=5ms (eof)"), null);
});

const row = (over: Partial<ScaleRow> = {}): ScaleRow => ({
  engine: "ffi",
  args: [],
  target: 50000,
  held: 50000,
  alive: 50000,
  errors: "",
  open_s: 41.25,
  fds_peak: 50026,
  nofile_soft: 1048576,
  warmup: 1000,
  mem_start: { rss_kb: 50000, pss_kb: 20000 },
  mem_base: { rss_kb: 57000, pss_kb: 30000 },
  mem_peak: { rss_kb: 82000, pss_kb: 55000 },
  mem_after: { rss_kb: 90000, pss_kb: 60000 },
  closes: 51000,
  summary_connections: 51000,
  ...over,
});

Deno.test("bench scale divides the memory delta by the connections held", () => {
  assert.equal(perConnBytes(57000, 82000, 50000), 512);
  assert.equal(perConnBytes(57000, 82000, 0), null);
});

Deno.test("bench scale counts a row complete only when every connection was held and counted", () => {
  assert.equal(rowComplete(row()), true);
  assert.equal(rowComplete(row({ held: 49999 })), false);
  assert.equal(rowComplete(row({ alive: 49000 })), false);
  assert.equal(rowComplete(row({ summary_connections: 50000 })), false);
  assert.equal(rowComplete(row({ summary_connections: null })), false);
  assert.equal(rowComplete(row({ closes: 50999 })), false);
});

Deno.test("bench scale prints one Markdown row per engine", () => {
  const t = scaleTable([
    row(),
    row({ engine: "deno", held: 30000, errors: "ETIMEDOUT:20000", summary_connections: null }),
  ]).split("\n");
  assert.equal(t.length, 4);
  assert.match(
    t[0]!,
    /^\| engine +\| +connections held \| +fds at peak \| +RSS base -> peak MiB \|/,
  );
  assert.match(t[1]!, /^\| -+ \| -+: \|/);
  assert.match(
    t[2]!,
    /^\| ffi --workers 1 +\| +50000 \| +50026 \| +55\.7 -> 80\.1 \| +512 \| +512 \| +41\.3 \| +87\.9 \| 51000 \(1000 warm-up \+ 50000\) \|$/,
  );
  assert.match(
    t[3]!,
    /^\| deno +\| 30000 of 50000 \(ETIMEDOUT:20000\) \| .* \| +853 \| .* \| +none \|$/,
  );
});
