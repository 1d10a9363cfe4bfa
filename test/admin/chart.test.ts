import { describe, expect, it } from "vitest";
import { LineChart } from "../../admin/chart";

const draw = async (labels: string[], values: number[]) =>
  String(
    await LineChart({
      title: "Audience size",
      labels,
      series: [{ label: "Members", values, color: "#123456" }],
    })?.toString(),
  );

describe("the admin's SVG line chart", () => {
  it("draws a chart with one day as a dot instead of leaving it blank", async () => {
    expect(await draw(["2026-12-06"], [7])).toMatch(/<circle cx="40" cy="[\d.]+" r="4" fill="#123456"/);
    expect(await draw(["2026-12-05", "2026-12-06"], [7, 8])).not.toContain("<circle");
  });
});
