/**
 * A marketer from a campaign to its results, in Chromium (issue 30, "Results pages"): from the
 * rules list to the rule's results page, whose charts the chart script draws (a canvas each), whose
 * legend carries the period's figures — revenue in the site's currency — and the pointed day's,
 * and whose uplift chart shows its 95 % band. A failing step leaves
 * test-results/screenshots/failed-*.png (a CI artifact).
 */
import { describe, expect, inject, it } from "vitest";
import { adminSession, browserAvailable, screenshot } from "./browser";

type DashboardRule = {
  id: number;
  name: string;
  revenue: number;
  coupons_redeemed: number;
  exposed: { conversions: number };
};

describe.skipIf(!browserAvailable())("a marketer's campaign results, in Chromium", () => {
  const admin = adminSession();
  const edge = () => inject("edgeUrl");

  /** The seeded campaign that earned the most, as the API reports it. */
  async function richestCampaign(): Promise<DashboardRule> {
    const res = await fetch(`${edge()}/api/v1/dashboard`, { headers: { Authorization: "Bearer demo-api-key" } });
    const { rules } = (await res.json()) as { rules: DashboardRule[] };
    return rules.sort((a, b) => b.revenue - a.revenue)[0];
  }

  const legend = (chart: string) => admin.page.locator(`[data-legend-for="${chart}"]`);

  it("goes from the campaign to its results: charts drawn, legend figures, the uplift in its band", async () => {
    const campaign = await richestCampaign();
    expect(campaign.revenue).toBeGreaterThan(0);
    await admin.page.goto(`${edge()}/admin/rules`);
    await admin.page.getByRole("link", { name: `Results of ${campaign.name}` }).click();
    await admin.page.waitForURL(new RegExp(`/admin/reports/rules/${campaign.id}$`));
    expect(await admin.page.locator("h1").textContent()).toContain(campaign.name);

    // Every chart drawn: one uPlot canvas per figure.
    await expect.poll(() => admin.page.locator("html").getAttribute("data-charts")).toBe("5");
    for (const id of ["chart-uplift", "chart-conversions", "chart-coupons", "chart-revenue", "chart-impressions"]) {
      expect(await admin.page.locator(`#${id} canvas`).count(), id).toBeGreaterThan(0);
    }
    // The legend's figures are the report's: revenue in euros, redemptions, conversions.
    const euros = (await legend("chart-revenue").locator("[data-series='0'] output").textContent()) ?? "";
    expect(euros).toMatch(/^€[\d,]+\.\d\d$/);
    expect(Number(euros.replace(/[€,]/g, ""))).toBeCloseTo(campaign.revenue, 2);
    expect(
      await legend("chart-coupons")
        .getByRole("listitem")
        .filter({ hasText: "Redeemed" })
        .locator("output")
        .textContent(),
    ).toBe(String(campaign.coupons_redeemed));
    expect(await legend("chart-conversions").locator("[data-series='0'] output").textContent()).toBe(
      String(campaign.exposed.conversions),
    );
    // The uplift chart has its band, and the card its interval bar.
    expect(await legend("chart-uplift").locator("[data-band] output").textContent()).toMatch(
      /^\[[−+]?\d+\.\d\d, [−+]?\d+\.\d\d\] pts$/,
    );
    const band = JSON.parse((await admin.page.locator("#chart-uplift").getAttribute("data-chart")) ?? "{}") as {
      band?: { low: (number | null)[] };
    };
    expect(band.band?.low.filter((v) => v != null).length).toBeGreaterThan(10);
    expect(await admin.page.locator("#kpi-uplift .interval-bar svg").count()).toBe(1);
    await screenshot(admin.page, "admin-results");

    // Pointing at a day shows that day's values in the legend; leaving shows the period's again.
    const period = await legend("chart-revenue").locator(".legend-day").textContent();
    const plot = admin.page.locator("#chart-revenue .u-over");
    await plot.scrollIntoViewIfNeeded();
    const box = await plot.boundingBox();
    expect(box).not.toBeNull();
    await plot.hover({ position: { x: (box?.width ?? 0) * 0.6, y: (box?.height ?? 0) / 2 } });
    await expect
      .poll(() => legend("chart-revenue").locator(".legend-day").textContent())
      .toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await admin.page.mouse.move(5, 5);
    await expect.poll(() => legend("chart-revenue").locator(".legend-day").textContent()).toBe(period);
  });

  it("draws a one-day period's charts as points instead of leaving them blank", async () => {
    const campaign = await richestCampaign();
    const today = new Date().toISOString().slice(0, 10);
    await admin.page.goto(`${edge()}/admin/reports/rules/${campaign.id}?from=${today}&to=${today}`);
    await expect.poll(() => admin.page.locator("html").getAttribute("data-charts")).toBe("5");
    expect(await admin.page.locator(".chart canvas").count()).toBeGreaterThanOrEqual(5);
    expect(await legend("chart-impressions").locator(".legend-day").textContent()).toBe(`${today} – ${today}`);
    // The impressions series' point is on the canvas: pixels in its colour (#2a5bd7), which no axis or grid uses.
    const inked = await admin.page.evaluate(`(() => {
      const canvas = document.querySelector("#chart-impressions canvas");
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (Math.abs(pixels[i] - 42) < 12 && Math.abs(pixels[i + 1] - 91) < 12 && Math.abs(pixels[i + 2] - 215) < 12) n++;
      }
      return n;
    })()`);
    expect(inked).toBeGreaterThan(0);
    await screenshot(admin.page, "admin-results-one-day");
  });

  it("draws each segment's size trend with the same chart, a one-day trend as a point", async () => {
    // The scheduled refresh records today's size of every segment, as the dev cron does.
    expect((await fetch(`${edge()}/__scheduled?cron=${encodeURIComponent("*/15 * * * *")}`)).status).toBe(200);
    await admin.page.goto(`${edge()}/admin/segments`);
    const sparklines = admin.page.locator(".sparkline");
    await expect.poll(() => sparklines.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect
      .poll(() => admin.page.locator("html").getAttribute("data-charts"))
      .toBe(String(await sparklines.count()));
    expect(await admin.page.locator(".sparkline canvas").count()).toBe(await sparklines.count());
    expect(await sparklines.first().getAttribute("aria-label")).toMatch(/^visitors per day: \d{4}-\d{2}-\d{2} [\d,]+/);
    await screenshot(admin.page, "admin-segment-trends");
  });
});
