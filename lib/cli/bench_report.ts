/**
 * The HTML report of one or more bench runs: ONE self-contained page, with no script and
 * nothing fetched when it is opened (a Content-Security-Policy of `default-src 'none'`
 * says so to the browser, and the plots are SVG drawn here):
 *
 * - latency by percentile, on the log-scaled "nines" axis HdrHistogram's plots use
 *   (0%, 90%, 99%, 99.9%, ... evenly spaced), one curve per run;
 * - round trips/s and MiB/s over time, one line per run;
 * - the parameters and results of every run side by side.
 *
 * Every series is an SVG `path` with `data-series="RUN:CHART"`, so a test can find each.
 * Pure: a string in, a string out.
 *
 * @module
 */
import { formatEndpoint } from "../base/errors.ts";
import type { Histogram } from "../base/histogram.ts";
import type { BenchRun } from "./bench_run.ts";

/** Colours of the runs, in order (repeating after the last). */
export const RUN_COLORS: readonly string[] = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
];

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * About `count` round tick values from 0 (or `min`) to at least `max`, each step 1, 2 or
 * 5 times a power of ten.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const ticks: number[] = [];
  const first = Math.floor(min / step) * step;
  for (let v = first; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The x of a percentile on the nines axis: -log10(1 - p/100) (90% -> 1, 99% -> 2). */
export function ninesX(p: number): number {
  return Math.log10(100 / (100 - p));
}

/** The label of nines-axis position x: 0 -> "0%", 1 -> "90%", 3 -> "99.9%". */
export function ninesLabel(x: number): string {
  if (x === 0) return "0%";
  return `${(100 - 100 / 10 ** x).toFixed(Math.max(0, x - 2))}%`;
}

/**
 * The percentile curve of `h` (ns) as [nines x, latency us] points: from 0 up to the
 * rank of the last value (log10 of the count), then the maximum.
 */
export function percentileCurve(h: Histogram, step = 0.025): [number, number][] {
  if (h.count === 0) return [];
  const top = Math.log10(h.count);
  const pts: [number, number][] = [];
  for (let x = 0; x < top; x += step) {
    pts.push([x, h.percentile(100 * (1 - 10 ** -x)) / 1000]);
  }
  pts.push([Math.max(top, step), h.max / 1000]);
  return pts;
}

interface Series {
  id: string;
  color: string;
  points: [number, number][];
}

interface Axis {
  min: number;
  max: number;
  ticks: { v: number; label: string }[];
  title: string;
}

const W = 860, H = 320;
const M = { left: 72, right: 44, top: 34, bottom: 48 };

function fmtNum(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (Math.abs(v) >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

/** One line chart as an SVG element. */
function chart(title: string, id: string, x: Axis, y: Axis, series: Series[]): string {
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const sx = (v: number) => M.left + ((v - x.min) / (x.max - x.min || 1)) * pw;
  const sy = (v: number) => M.top + ph - ((v - y.min) / (y.max - y.min || 1)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="${id}" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${
      escapeHtml(title)
    }">`,
    `<text x="${M.left}" y="20" class="title">${escapeHtml(title)}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" class="plot"/>`,
  );
  for (const t of x.ticks) {
    const px = sx(t.v).toFixed(1);
    out.push(
      `<line x1="${px}" y1="${M.top}" x2="${px}" y2="${M.top + ph}" class="grid"/>`,
      `<text x="${px}" y="${M.top + ph + 16}" class="tick" text-anchor="middle">${
        escapeHtml(t.label)
      }</text>`,
    );
  }
  for (const t of y.ticks) {
    const py = sy(t.v).toFixed(1);
    out.push(
      `<line x1="${M.left}" y1="${py}" x2="${M.left + pw}" y2="${py}" class="grid"/>`,
      `<text x="${
        M.left - 6
      }" y="${py}" class="tick" text-anchor="end" dominant-baseline="middle">${
        escapeHtml(t.label)
      }</text>`,
    );
  }
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 8}" class="axis" text-anchor="middle">${
      escapeHtml(x.title)
    }</text>`,
    `<text x="14" y="${
      M.top + ph / 2
    }" class="axis" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${
      escapeHtml(y.title)
    }</text>`,
  );
  for (const s of series) {
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (pts.length === 0) continue;
    // A lone point still shows: a zero-length segment with round caps is a dot.
    const d = pts.map(([a, b], i) => `${i ? "L" : "M"}${sx(a).toFixed(1)},${sy(b).toFixed(1)}`)
      .join("") + (pts.length === 1 ? "h0.01" : "");
    out.push(
      `<path d="${d}" class="series" data-series="${s.id}" stroke="${s.color}" fill="none"/>`,
    );
  }
  out.push("</svg>");
  return out.join("\n");
}

function yAxis(values: number[], title: string, unit = ""): Axis {
  const max = Math.max(0, ...values.filter(Number.isFinite));
  const ticks = niceTicks(0, max > 0 ? max * 1.05 : 1);
  return {
    min: 0,
    max: ticks[ticks.length - 1]!,
    ticks: ticks.map((v) => ({ v, label: fmtNum(v) + unit })),
    title,
  };
}

function timeAxis(runs: BenchRun[]): Axis {
  const max = Math.max(1, ...runs.flatMap((r) => r.intervals.map((i) => i.elapsed_s)));
  const ticks = niceTicks(0, max, 8).filter((v) => v <= max * 1.0001 || v === 0);
  const top = Math.max(max, ticks[ticks.length - 1]!);
  return {
    min: 0,
    max: top,
    ticks: ticks.map((v) => ({ v, label: `${fmtNum(v)}s` })),
    title: "time",
  };
}

function color(i: number): string {
  return RUN_COLORS[i % RUN_COLORS.length]!;
}

function usText(v: number | null): string {
  if (v === null) return "-";
  return v >= 10_000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(1)} us`;
}

/** The parameters and results of the runs, one column per run. */
function table(runs: BenchRun[]): string {
  const rows: [string, (r: BenchRun) => string][] = [
    ["server", (r) => `${r.summary.proto} ${formatEndpoint(r.summary.address, r.summary.port)}`],
    ["host", (r) => r.summary.host],
    [
      "mode",
      (r) =>
        r.summary.mode === "rate"
          ? `open loop, ${r.summary.rate?.toLocaleString("en-US")} msg/s`
          : r.summary.mode,
    ],
    [
      "connections",
      (r) =>
        r.summary.streams !== null
          ? `${r.summary.streams} streams of 1 association`
          : String(r.summary.conns),
    ],
    [
      "message size",
      (r) =>
        r.summary.size_min === r.summary.size_max
          ? `${r.summary.size_min} B`
          : `${r.summary.size_min}-${r.summary.size_max} B`,
    ],
    ["threads", (r) => String(r.summary.threads)],
    ["duration", (r) => `${r.summary.duration_s} s after ${r.summary.warmup_s} s warm-up`],
    ["timeout", (r) => `${r.summary.timeout_ms} ms`],
    ["round trips", (r) => r.summary.round_trips.toLocaleString("en-US")],
    ["round trips/s", (r) => r.summary.round_trips_per_s.toLocaleString("en-US")],
    ["MiB/s", (r) => r.summary.mib_per_s.toFixed(2)],
    ["latency min", (r) => usText(r.summary.latency_us.min)],
    ["p50", (r) => usText(r.summary.latency_us.p50)],
    ["p90", (r) => usText(r.summary.latency_us.p90)],
    ["p99", (r) => usText(r.summary.latency_us.p99)],
    ["p99.9", (r) => usText(r.summary.latency_us.p999)],
    ["max", (r) => usText(r.summary.latency_us.max)],
    ["mean", (r) => usText(r.summary.latency_us.mean)],
    [
      "errors",
      (r) => {
        const s = r.summary;
        const parts = (
          [
            ["mismatches", s.mismatches],
            ["short", s.short],
            ["resets", s.resets],
            ["timeouts", s.timeouts],
            ["lost", s.lost],
            ["late", s.late],
            ["other", s.errors],
          ] as const
        ).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`);
        return parts.length ? parts.join(", ") : "none";
      },
    ],
    ["started", (r) => r.started],
    ["sockbox", (r) => r.sockbox],
  ];
  const head = runs.map((r, i) =>
    `<th scope="col"><span class="swatch" style="background:${color(i)}"></span>${
      escapeHtml(r.label)
    }</th>`
  ).join("");
  const body = rows.map(([name, f]) =>
    `<tr><th scope="row">${escapeHtml(name)}</th>${
      runs.map((r) => `<td>${escapeHtml(f(r))}</td>`).join("")
    }</tr>`
  ).join("\n");
  return `<table><thead><tr><th></th>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.sub { color: #555; margin: 0 0 16px; }
.legend span { display: inline-block; margin-right: 18px; }
.swatch { display: inline-block; width: 14px; height: 4px; margin: 0 6px 3px 0; vertical-align: middle; }
svg.chart { display: block; margin: 12px 0; }
svg .plot { fill: #fafafa; stroke: #bbb; }
svg .grid { stroke: #e4e4e4; }
svg .tick { font-size: 11px; fill: #555; }
svg .axis { font-size: 12px; fill: #333; }
svg .title { font-size: 14px; font-weight: 600; fill: #222; }
svg .series { stroke-width: 2.5; stroke-linejoin: round; stroke-linecap: round; }
table { border-collapse: collapse; margin-top: 16px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th[scope=row] { text-align: left; font-weight: normal; color: #555; }
`;

/**
 * The report page for `runs` (see the module doc); `generated` is the time it was made
 * (ISO 8601), shown in the page.
 */
export function renderReport(runs: BenchRun[], generated: string): string {
  // Latency by percentile.
  const curves = runs.map((r) => percentileCurve(r.histogram));
  const maxNines = Math.max(
    2,
    Math.min(7, Math.ceil(Math.max(0, ...curves.map((c) => c.at(-1)?.[0] ?? 0)))),
  );
  const xNines: Axis = {
    min: 0,
    max: maxNines,
    ticks: Array.from({ length: maxNines + 1 }, (_, i) => ({ v: i, label: ninesLabel(i) })),
    title: "percentile",
  };
  const maxUs = Math.max(0, ...curves.flatMap((c) => c.map(([, v]) => v)));
  const inMs = maxUs >= 10_000;
  const latSeries = curves.map((c, i) => ({
    id: `${i}:latency`,
    color: color(i),
    points: c.map(([x, v]) => [x, inMs ? v / 1000 : v] as [number, number]),
  }));
  const yLat = yAxis(
    latSeries.flatMap((s) => s.points.map(([, v]) => v)),
    `latency (${inMs ? "ms" : "us"})`,
  );
  const xTime = timeAxis(runs);
  const rtSeries = runs.map((r, i) => ({
    id: `${i}:round_trips_per_s`,
    color: color(i),
    points: r.intervals.map((iv) => [iv.elapsed_s, iv.round_trips_per_s] as [number, number]),
  }));
  const mibSeries = runs.map((r, i) => ({
    id: `${i}:mib_per_s`,
    color: color(i),
    points: r.intervals.map((iv) => [iv.elapsed_s, iv.mib_per_s] as [number, number]),
  }));
  const legend = runs.map((r, i) =>
    `<span><span class="swatch" style="background:${color(i)}"></span>${escapeHtml(r.label)}: ${
      escapeHtml(`${r.summary.proto} ${formatEndpoint(r.summary.address, r.summary.port)}`)
    }</span>`
  ).join("");
  const title = runs.length === 1
    ? `sockbox bench: ${runs[0]!.label}`
    : `sockbox bench: ${runs.map((r) => r.label).join(" vs ")}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">Generated ${escapeHtml(generated)} by sockbox bench. Latency is measured per message
from its send (open loop: from its scheduled send) to the last byte of its echo; every echoed
byte was compared with what was sent.</p>
<div class="legend">${legend}</div>
${chart("Latency by percentile", "latency", xNines, yLat, latSeries)}
${
    chart(
      "Round trips per second",
      "round_trips_per_s",
      xTime,
      yAxis(rtSeries.flatMap((s) => s.points.map(([, v]) => v)), "round trips/s"),
      rtSeries,
    )
  }
${
    chart(
      "Echoed MiB per second",
      "mib_per_s",
      xTime,
      yAxis(mibSeries.flatMap((s) => s.points.map(([, v]) => v)), "MiB/s"),
      mibSeries,
    )
  }
${table(runs)}
</body>
</html>
`;
}
