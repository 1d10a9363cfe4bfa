/**
 * Draws every `[data-chart]` figure of a page (admin/chart.tsx) with uPlot, bundled into this one
 * file by admin/build-assets.mjs and served as /admin/assets/charts.js (the admin's CSP allows
 * scripts from 'self' only; no inline data). uPlot (≈50 KB minified, no dependencies) rather than
 * hand-drawn SVG: canvas time series with time axes, tick spacing, hover and bands (the uplift's
 * interval), fast for a year of days. Values are written by worker/lib/format.ts, the module the pages
 * use, so an axis, the legend and the cards agree. The figure's own legend shows the pointed day's
 * values and goes back to the period's figures when the pointer leaves.
 */
import uPlot from "uplot";
import { formatDay, formatInterval, formatValue } from "../../worker/lib/format";
import type { ChartSpec } from "../chart-spec";

const DAY_S = 86_400;
const HEIGHT = 220;
const SPARKLINE = { width: 100, height: 28 };
/** The y axis of a chart with nothing but zeros: one unit of counts or money, one point of a rate. */
const EMPTY_SPAN: Record<ChartSpec["unit"], number> = { count: 1, money: 1, percent: 0.01, points: 0.01 };
const DAY_STEPS = [1, 2, 7, 14, 28, 56, 91, 182, 364].map((days) => days * DAY_S);
const COUNT_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2500, 5e3, 1e4, 2e4, 25e3, 5e4, 1e5, 1e6, 1e7,
];

function legendOf(id: string) {
  const legend = document.querySelector<HTMLElement>(`[data-legend-for="${id}"]`);
  const outputs = (selector: string) => Array.from(legend?.querySelectorAll<HTMLOutputElement>(selector) ?? []);
  return {
    day: legend?.querySelector<HTMLElement>(".legend-day") ?? null,
    series: outputs("[data-series] output"),
    band: outputs("[data-band] output")[0] ?? null,
  };
}

function draw(el: HTMLElement) {
  const chart = JSON.parse(el.dataset.chart ?? "{}") as ChartSpec;
  const format = (v: number | null | undefined) => formatValue(v, chart.unit, chart.currency);
  const xs = chart.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const band = chart.band;
  const data: uPlot.AlignedData = [xs, ...chart.series.map((s) => s.values), ...(band ? [band.high, band.low] : [])];
  // A single day is drawn as points: a line needs two (issue 30: a one-day chart was blank).
  const points = { show: xs.length <= 1 ? true : undefined, size: 7 };
  const series: uPlot.Series[] = [
    {},
    ...chart.series.map((s) => ({
      label: s.label,
      stroke: s.color,
      width: 2,
      dash: s.dash ? [6, 4] : undefined,
      points: { ...points, fill: s.color },
      spanGaps: true,
    })),
  ];
  const bands: uPlot.Band[] = [];
  if (band) {
    const high = series.length;
    series.push(
      { label: `${band.label} (high)`, stroke: band.color, width: 1, points: { ...points, fill: band.color } },
      { label: `${band.label} (low)`, stroke: band.color, width: 1, points: { ...points, fill: band.color } },
    );
    bands.push({ series: [high, high + 1], fill: band.color });
  }
  const legend = legendOf(el.id);
  const showDay = (idx: number | null | undefined) => {
    if (legend.day) legend.day.textContent = idx == null ? (legend.day.dataset.summary ?? "") : chart.days[idx];
    legend.series.forEach((out, i) => {
      out.textContent = idx == null ? (out.dataset.summary ?? "") : format(chart.series[i].values[idx]);
    });
    if (legend.band && band) {
      const [low, high] = idx == null ? [null, null] : [band.low[idx], band.high[idx]];
      legend.band.textContent =
        idx == null
          ? (legend.band.dataset.summary ?? "")
          : low == null || high == null
            ? "—"
            : formatInterval({ low, high });
    }
  };
  const width = () => (chart.sparkline ? SPARKLINE.width : Math.max(280, el.clientWidth || 600));
  const height = chart.sparkline ? SPARKLINE.height : HEIGHT;
  const opts: uPlot.Options = {
    width: width(),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: {
      // One day alone: a day either side, the point in the middle (uPlot's own single-point range
      // for a time scale in seconds spans 1,000 days and pushes the point to the left edge).
      x: { time: true, range: (_u, min, max) => (xs.length === 1 ? [xs[0] - DAY_S, xs[0] + DAY_S] : [min, max]) },
      // Counts and money from zero; an uplift and its band may go below it.
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(0, min ?? 0);
          const hi = Math.max(0, max ?? 0);
          return hi === lo ? [lo, lo + EMPTY_SPAN[chart.unit]] : [lo < 0 ? lo * 1.1 : 0, hi > 0 ? hi * 1.1 : 0];
        },
      },
    },
    series,
    bands,
    axes: chart.sparkline
      ? [{ show: false }, { show: false }]
      : [
          // Ticks on whole days only: every figure is a UTC day's (hours would repeat a day's label).
          { values: (_u, ticks) => ticks.map((t) => formatDay(t * 1000).slice(5)), incrs: DAY_STEPS },
          // Counts step by whole numbers: a tick between 0 and 1 would read "0" twice.
          {
            size: 80,
            values: (_u, ticks) => ticks.map((t) => format(t)),
            incrs: chart.unit === "count" ? COUNT_STEPS : undefined,
          },
        ],
    legend: { show: false },
    cursor: { show: !chart.sparkline },
    // Room for a point on the edge of a sparkline, which has no axes to keep it off the border.
    ...(chart.sparkline ? { padding: [4, 4, 4, 4] as uPlot.Padding } : {}),
    hooks: { setCursor: [(u) => showDay(u.cursor.idx)] },
  };
  el.textContent = "";
  const plot = new uPlot(opts, data, el);
  el.addEventListener("mouseleave", () => showDay(null));
  window.addEventListener("resize", () => plot.setSize({ width: width(), height }));
}

const figures = document.querySelectorAll<HTMLElement>("[data-chart]");
figures.forEach(draw);
// Browser tests wait for this: every chart of the page has been drawn.
document.documentElement.setAttribute("data-charts", String(figures.length));
