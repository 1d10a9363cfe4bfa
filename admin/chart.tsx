/** A small server-rendered SVG line chart (no client library, nothing to load, works under the CSP). */
import type { FC } from "hono/jsx";

export type Series = { label: string; values: number[]; color: string };

export const LineChart: FC<{ labels: string[]; series: Series[]; title: string }> = ({ labels, series, title }) => {
  const W = 720;
  const H = 220;
  const pad = { l: 40, r: 10, t: 10, b: 28 };
  // An even maximum of at least 2 keeps the half-way grid line on a whole number.
  const max = Math.max(2, Math.ceil(Math.max(...series.flatMap((s) => s.values), 0) / 2) * 2);
  const n = Math.max(1, labels.length - 1);
  const x = (i: number) => pad.l + ((W - pad.l - pad.r) * i) / n;
  const y = (v: number) => H - pad.b - ((H - pad.t - pad.b) * v) / max;
  const totals = series.map((s) => `${s.label}: ${s.values.reduce((a, b) => a + b, 0)}`).join(", ");
  const tickEvery = Math.max(1, Math.ceil(labels.length / 6));
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title} — ${totals}`}>
        <title>{title}</title>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} stroke="#e3e6ec" />
            <text x={pad.l - 6} y={y(max * f) + 4} text-anchor="end">
              {Math.round(max * f)}
            </text>
          </g>
        ))}
        {labels.map((label, i) =>
          i % tickEvery === 0 ? (
            <text x={x(i)} y={H - 8} text-anchor="middle">
              {label.slice(5)}
            </text>
          ) : null,
        )}
        {series.map((s) => (
          <polyline
            fill="none"
            stroke={s.color}
            stroke-width="2"
            points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
          />
        ))}
        {/* A line needs two points: a single day is drawn as a dot, not left blank (issue 30). */}
        {series.map((s) =>
          s.values.length === 1 ? <circle cx={x(0)} cy={y(s.values[0])} r="4" fill={s.color} /> : null,
        )}
      </svg>
      <figcaption class="muted">
        {series.map((s) => (
          <span>
            <svg width="10" height="10" aria-hidden="true">
              <rect width="10" height="10" fill={s.color} />
            </svg>{" "}
            {s.label}{" "}
          </span>
        ))}
      </figcaption>
    </figure>
  );
};
