/**
 * The admin's one chart: a figure whose canvas the chart script (admin/client/charts.ts, uPlot)
 * draws from its `data-chart` attribute, a legend rendered here with each series' figure for the
 * period (the script shows the pointed day's values in it), and the numbers as a table — for
 * screen readers and for a browser without script. Plus the interval bar of an uplift card.
 */
import type { FC } from "hono/jsx";
import { formatInterval, formatPoints, formatValue } from "../worker/lib/format";
import type { ChartSeries, ChartSpec } from "./chart-spec";

export type { ChartSeries, ChartSpec } from "./chart-spec";

/** The figure a series' legend shows for the whole period. */
function seriesSummary(series: ChartSeries): number | null {
  if (typeof series.summary === "object") return series.summary.period;
  if (series.summary === "last") return series.values.findLast((v) => v != null) ?? null;
  return series.values.reduce<number>((n, v) => n + (v ?? 0), 0);
}

function bandSummary(chart: ChartSpec): string {
  const band = chart.band;
  if (!band) return "";
  const i = band.low.findLastIndex((v) => v != null);
  return i < 0 ? "—" : formatInterval({ low: band.low[i] as number, high: band.high[i] as number });
}

const Swatch: FC<{ color: string; dash?: boolean }> = ({ color, dash }) => (
  <svg width="18" height="10" aria-hidden="true">
    <line x1="0" x2="18" y1="5" y2="5" stroke={color} stroke-width="3" stroke-dasharray={dash ? "5 3" : undefined} />
  </svg>
);

export const Chart: FC<{ chart: ChartSpec }> = ({ chart }) => {
  const format = (v: number | null | undefined) => formatValue(v, chart.unit, chart.currency);
  if (chart.sparkline) {
    // Its numbers are in its label: a sparkline has no room for a legend or a table.
    const days = chart.days.map((day, i) => `${day} ${format(chart.series[0]?.values[i])}`).join(", ");
    return (
      <span
        class="sparkline"
        id={chart.id}
        data-chart={JSON.stringify(chart)}
        role="img"
        aria-label={`${chart.title}: ${days}`}
      />
    );
  }
  const summaries = chart.series.map((s) => format(seriesSummary(s)));
  const label = `${chart.title}: ${chart.series.map((s, i) => `${s.label} ${summaries[i]}`).join(", ")}${
    chart.band ? `, ${chart.band.label} ${bandSummary(chart)}` : ""
  }`;
  return (
    <figure class="card chart-card">
      <figcaption>
        <strong>{chart.title}</strong>
      </figcaption>
      <div class="chart" id={chart.id} data-chart={JSON.stringify(chart)} role="img" aria-label={label} />
      <ul class="legend" data-legend-for={chart.id}>
        <li class="legend-day muted small" data-summary={`${chart.days[0] ?? ""} – ${chart.days.at(-1) ?? ""}`}>
          {chart.days[0] ?? ""} – {chart.days.at(-1) ?? ""}
        </li>
        {chart.series.map((s, i) => (
          <li data-series={String(i)}>
            <Swatch color={s.color} dash={s.dash} /> {s.label}:{" "}
            <output data-summary={summaries[i]}>{summaries[i]}</output>
          </li>
        ))}
        {chart.band && (
          <li data-band="">
            <svg width="18" height="10" aria-hidden="true">
              <rect width="18" height="10" fill={chart.band.color} />
            </svg>{" "}
            {chart.band.label}: <output data-summary={bandSummary(chart)}>{bandSummary(chart)}</output>
          </li>
        )}
      </ul>
      <details>
        <summary>Numbers</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Day</th>
                {chart.series.map((s) => (
                  <th class="num">{s.label}</th>
                ))}
                {chart.band && <th class="num">{chart.band.label}</th>}
              </tr>
            </thead>
            <tbody>
              {chart.days.map((day, i) => (
                <tr>
                  <td>{day}</td>
                  {chart.series.map((s) => (
                    <td class="num">{format(s.values[i])}</td>
                  ))}
                  {chart.band && (
                    <td class="num">
                      {chart.band.low[i] == null
                        ? "—"
                        : formatInterval({ low: chart.band.low[i] as number, high: chart.band.high[i] as number })}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
};

/**
 * An uplift's 95 % interval as a bar on a card: the interval, the estimate as a dot and zero as a
 * line, so "could be zero" is seen at a glance (the bar crosses the line). SVG attributes, not
 * inline styles: the admin's CSP forbids those.
 */
export const IntervalBar: FC<{ uplift: number | null; ci: { low: number; high: number } | null }> = ({
  uplift,
  ci,
}) => {
  if (uplift == null || !ci)
    return <div class="interval-bar muted small">No interval yet: a group has no visitors.</div>;
  const W = 200;
  const pad = 8;
  const lo = Math.min(ci.low, 0);
  const hi = Math.max(ci.high, 0);
  const span = hi - lo || 1;
  const x = (v: number) => pad + ((W - 2 * pad) * (v - lo)) / span;
  const color = ci.low > 0 ? "#1b7f3b" : ci.high < 0 ? "#b3261e" : "#5b6475";
  return (
    <div class="interval-bar">
      <svg
        viewBox={`0 0 ${W} 24`}
        width={W}
        height="24"
        role="img"
        aria-label={`95 % interval from ${formatPoints(ci.low)} to ${formatPoints(ci.high)}, estimate ${formatPoints(uplift)}`}
      >
        <line x1={x(0)} x2={x(0)} y1="2" y2="22" stroke="#9aa3b2" stroke-width="1" stroke-dasharray="3 2" />
        <rect
          x={x(ci.low)}
          y="9"
          width={Math.max(2, x(ci.high) - x(ci.low))}
          height="6"
          rx="3"
          fill={color}
          opacity="0.35"
        />
        <circle cx={x(uplift)} cy="12" r="5" fill={color} />
      </svg>
      <div class="muted small">95 % interval {formatInterval(ci)}</div>
    </div>
  );
};
