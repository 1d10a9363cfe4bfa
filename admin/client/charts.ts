/**
 * Draws every `[data-chart]` figure of a page (admin/chart.tsx) with uPlot, bundled into this one
 * file by admin/build-assets.mjs and served as /admin/assets/charts.js (the admin's CSP allows
 * scripts from 'self' only; no inline data). uPlot (≈50 KB minified, no dependencies) rather than
 * hand-drawn SVG: canvas time series with time axes, tick spacing, hover and bands (the uplift's
 * interval), fast for a year of days. Values are written by admin/format.ts, the module the pages
 * use, so an axis, the legend and the cards agree. The figure's own legend shows the pointed day's
 * values and goes back to the period's figures when the pointer leaves.
 */
import uPlot from "uplot";
import type { ChartSpec } from "../chart-spec";
import { formatInterval, formatValue } from "../format";

const DAY_S = 86_400;
const HEIGHT = 220;

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
  const width = () => Math.max(280, el.clientWidth || 600);
  const opts: uPlot.Options = {
    width: width(),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: {
      x: { time: true, range: (_u, min, max) => (min === max ? [min - DAY_S, max + DAY_S] : [min, max]) },
      // Counts and money from zero; an uplift and its band may go below it.
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(0, min ?? 0);
          const hi = Math.max(0, max ?? 0);
          return hi === lo ? [lo, lo + 1] : [lo < 0 ? lo * 1.1 : 0, hi > 0 ? hi * 1.1 : 0];
        },
      },
    },
    series,
    bands,
    axes: [
      { values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(5, 10)) },
      { size: 80, values: (_u, ticks) => ticks.map((t) => format(t)) },
    ],
    legend: { show: false },
    hooks: { setCursor: [(u) => showDay(u.cursor.idx)] },
  };
  el.textContent = "";
  const plot = new uPlot(opts, data, el);
  el.addEventListener("mouseleave", () => showDay(null));
  window.addEventListener("resize", () => plot.setSize({ width: width(), height: HEIGHT }));
}

const figures = document.querySelectorAll<HTMLElement>("[data-chart]");
figures.forEach(draw);
// Browser tests wait for this: every chart of the page has been drawn.
document.documentElement.setAttribute("data-charts", String(figures.length));
