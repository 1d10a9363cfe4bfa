import { describe, expect, it } from "vitest";
import { Chart, IntervalBar } from "../../admin/chart";
import type { ChartSpec } from "../../admin/chart-spec";

const html = async (node: unknown) => String(await (node as { toString(): Promise<string> | string }).toString());

const spec = (days: string[], values: number[]): ChartSpec => ({
  id: "chart-test",
  title: "Revenue per day",
  unit: "money",
  currency: "EUR",
  days,
  series: [{ label: "Revenue", values, color: "#123456", summary: "sum" }],
});

describe("the admin's chart", () => {
  it("carries its data for the chart script and its period's figure in the legend, in the site's currency", async () => {
    const out = await html(Chart({ chart: spec(["2026-12-05", "2026-12-06"], [1200, 34.5]) }));
    const data = JSON.parse(
      (out.match(/data-chart="([^"]+)"/)?.[1] ?? "{}").replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
    ) as ChartSpec;
    expect(data.days).toEqual(["2026-12-05", "2026-12-06"]);
    expect(data.series[0].values).toEqual([1200, 34.5]);
    expect(out).toContain('<output data-summary="€1,234.50">€1,234.50</output>');
    // The numbers table, for screen readers and without script, writes each day the same way.
    expect(out).toContain('<td>2026-12-05</td><td class="num">€1,200.00</td>');
  });

  it("a chart of one day still has its day and value (the script draws it as a point)", async () => {
    const out = await html(Chart({ chart: spec(["2026-12-06"], [7]) }));
    expect(out).toContain("2026-12-06 – 2026-12-06");
    expect(out).toContain(">€7.00</output>");
  });

  it("shows a band's last interval in the legend", async () => {
    const chart: ChartSpec = {
      ...spec(["2026-12-05", "2026-12-06"], [0.01, 0.02]),
      unit: "points",
      currency: null,
      band: { label: "95 % interval", low: [null, -0.004], high: [null, 0.021], color: "rgba(0,0,0,.2)" },
    };
    const out = await html(Chart({ chart }));
    expect(out).toContain('data-band=""');
    expect(out).toContain(">[−0.40, +2.10] pts</output>");
  });
});

describe("the chart as a sparkline", () => {
  it("carries its data and says each day's value in its label, without a legend or a table", async () => {
    const out = await html(
      Chart({ chart: { ...spec(["2026-12-05", "2026-12-06"], [1200, 1300]), unit: "count", sparkline: true } }),
    );
    expect(out).toContain('class="sparkline"');
    expect(out).toContain('aria-label="Revenue per day: 2026-12-05 1,200, 2026-12-06 1,300"');
    expect(out).toContain("data-chart=");
    expect(out).not.toContain("<ul");
    expect(out).not.toContain("<table");
  });
});

describe("the uplift card's interval bar", () => {
  it("marks zero, the interval and the estimate, and says the interval in words", async () => {
    const out = await html(IntervalBar({ uplift: 0.01, ci: { low: -0.004, high: 0.021 } }));
    expect(out).toContain('aria-label="95 % interval from −0.40 pts to +2.10 pts, estimate +1.00 pts"');
    expect(out).toContain("95 % interval [−0.40, +2.10] pts");
    expect(out.match(/<line /g)).toHaveLength(1);
    expect(out).toContain("<circle");
  });

  it("says there is no interval while a group is empty", async () => {
    expect(await html(IntervalBar({ uplift: null, ci: null }))).toContain("No interval yet");
  });
});
