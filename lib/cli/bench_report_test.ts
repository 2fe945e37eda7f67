import assert from "node:assert/strict";
import { Histogram } from "../base/histogram.ts";
import {
  escapeHtml,
  niceTicks,
  ninesLabel,
  ninesX,
  percentileCurve,
  renderReport,
  RUN_COLORS,
} from "./bench_report.ts";
import { sampleRun } from "./bench_fixture_test.ts";

Deno.test("the nines axis puts 90%, 99%, 99.9% one unit apart", () => {
  assert.equal(ninesX(0), 0);
  assert.ok(Math.abs(ninesX(90) - 1) < 1e-12);
  assert.ok(Math.abs(ninesX(99.9) - 3) < 1e-9);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(ninesLabel), [
    "0%",
    "90%",
    "99%",
    "99.9%",
    "99.99%",
    "99.999%",
  ]);
});

Deno.test("niceTicks steps by 1, 2 or 5 times a power of ten and covers the maximum", () => {
  assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0, 0.7), [0, 0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(niceTicks(0, 47_000, 5), [0, 10_000, 20_000, 30_000, 40_000, 50_000]);
  assert.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

Deno.test("the percentile curve rises to the maximum at the last rank", () => {
  const h = new Histogram();
  for (let i = 1; i <= 1000; i++) h.record(i * 1000);
  const c = percentileCurve(h, 0.5);
  assert.deepEqual(c.map(([x]) => x), [0, 0.5, 1, 1.5, 2, 2.5, 3]);
  assert.deepEqual(c.at(-1), [3, 1000]);
  for (let i = 1; i < c.length; i++) assert.ok(c[i]![1] >= c[i - 1]![1]);
  assert.ok(Math.abs(c[2]![1] - 900) <= 9); // x = 1 is p90
  assert.deepEqual(percentileCurve(new Histogram()), []);
});

/** The `d` of every series path, by its data-series id. */
function series(html: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of html.matchAll(/<path d="([^"]*)" class="series" data-series="([^"]+)"/g)) {
    m.set(x[2]!, x[1]!);
  }
  return m;
}

Deno.test("the report draws three series per run and fetches nothing", () => {
  const html = renderReport(
    [sampleRun("epoll <c>"), sampleRun("sockbox", 1.5)],
    "2026-11-29T10:00:00.000Z",
  );
  const s = series(html);
  assert.deepEqual([...s.keys()].sort(), [
    "0:latency",
    "0:mib_per_s",
    "0:round_trips_per_s",
    "1:latency",
    "1:mib_per_s",
    "1:round_trips_per_s",
  ]);
  for (const [id, d] of s) {
    assert.match(d, /^M[0-9.]+,[0-9.]+(L[0-9.]+,[0-9.]+)+$/, id);
    // Every point inside the 860 x 320 drawing.
    for (const [, x, y] of d.matchAll(/([0-9.]+),([0-9.]+)/g)) {
      assert.ok(Number(x) >= 0 && Number(x) <= 860 && Number(y) >= 0 && Number(y) <= 320, id);
    }
  }
  assert.ok(
    html.includes(`stroke="${RUN_COLORS[0]}"`) && html.includes(`stroke="${RUN_COLORS[1]}"`),
  );
  // Self-contained: a policy that forbids every fetch, no script, no URL but SVG's namespace.
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  );
  assert.doesNotMatch(html, /<script|<img|<link|<iframe|url\(|@import/i);
  const urls = [...html.matchAll(/[a-z]+:\/\/[^\s"'<>)]*/gi)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)], ["http://www.w3.org/2000/svg"]);
  // Labels are escaped; the parameters table has a column per run.
  assert.ok(html.includes("epoll &#60;c&#62;") && !html.includes("epoll <c>"));
  assert.match(html, /<th scope="row">p99.9<\/th><td>[^<]+<\/td><td>[^<]+<\/td><\/tr>/);
  // A 500 ms stall shows on the latency axis in milliseconds.
  assert.match(html, /latency \(ms\)/);
});

Deno.test("a run without intervals or echoes still renders", () => {
  const run = sampleRun("empty");
  run.intervals = [];
  run.histogram = new Histogram();
  const html = renderReport([run], "now");
  assert.deepEqual([...series(html).keys()], []);
  assert.match(html, /<title>sockbox bench: empty<\/title>/);
  assert.equal(escapeHtml(`a"b'&`), "a&#34;b&#39;&#38;");
});
