import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { couponPools, coupons, ruleConversions, sites, visitors } from "../../worker/db/schema";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { writeBannerMessages } from "../../worker/pipeline/impressions";
import type { ClickMessage, ImpressionMessage } from "../../worker/pipeline/messages";
import { computeUplift, wilson } from "../../worker/reports/uplift";
import { call, createTestSite } from "../fixtures/api";

const T0 = Date.UTC(2026, 5, 1, 12);

describe("uplift with a 95% Newcombe interval", () => {
  it("matches Newcombe's (1998) worked example 56/70 vs 48/80", () => {
    const u = computeUplift({ visitors: 70, conversions: 56 }, { visitors: 80, conversions: 48 });
    expect(u.uplift).toBeCloseTo(0.2, 10);
    expect(u.ci?.low).toBeCloseTo(0.0524, 4);
    expect(u.ci?.high).toBeCloseTo(0.3339, 4);
    // In the admin's own format (worker/lib/format.ts), as the cards and charts beside it write it.
    expect(u.verdict).toBe(
      "The banner works: exposed visitors converted 20.00 pts more often than the holdout (95 % interval [+5.24, +33.39] pts).",
    );
  });

  it("gives a Wilson interval that does not collapse at zero successes", () => {
    const { low, high } = wilson(0, 10);
    expect(low).toBe(0);
    expect(high).toBeCloseTo(0.2775, 4);
  });

  it("says in plain words when the interval includes zero, and when there is no holdout yet", () => {
    const unclear = computeUplift({ visitors: 100, conversions: 5 }, { visitors: 20, conversions: 1 });
    expect(unclear.ci?.low).toBeLessThan(0);
    expect(unclear.ci?.high).toBeGreaterThan(0);
    expect(unclear.verdict).toMatch(/^No clear effect yet: the difference could be zero/);
    const none = computeUplift({ visitors: 10, conversions: 1 }, { visitors: 0, conversions: 0 });
    expect(none).toMatchObject({ uplift: null, ci: null, holdout_rate: null, exposed_rate: 0.1 });
    expect(none.verdict).toMatch(/^Not enough data yet/);
  });
});

async function ruleFixture() {
  const { apiKey, siteKey } = await createTestSite();
  const db = createDb(env.DB);
  const [site] = await db.select().from(sites).where(eq(sites.key, siteKey));
  const creative = (await (
    await call("/api/v1/creatives", {
      method: "POST",
      key: apiKey,
      json: {
        name: "B",
        format: "html",
        template: "<b>{{coupon}}</b>",
        width: 300,
        height: 250,
        landing_url: "https://shop.example/",
      },
    })
  ).json()) as { id: number };
  const [pool] = await db.insert(couponPools).values({ siteId: site.id, name: "P", kind: "list" }).returning();
  const rule = (await (
    await call("/api/v1/rules", {
      method: "POST",
      key: apiKey,
      json: { name: "R", placement: "home", creative_id: creative.id, pool_id: pool.id, holdout: 0.2 },
    })
  ).json()) as { id: number };
  return { apiKey, db, siteId: site.id, ruleId: rule.id, poolId: pool.id, creativeId: creative.id };
}

describe("GET /api/v1/reports/rules/:id", () => {
  it("counts impressions, clicks, coupons, revenue and both groups' conversions in the period", async () => {
    const { apiKey, db, siteId, ruleId, poolId, creativeId } = await ruleFixture();
    const imp = (cookie: string, ts: number, holdout = false, placement = "home"): ImpressionMessage => ({
      kind: "impression",
      uid: crypto.randomUUID(),
      siteId,
      placement,
      ruleId,
      creativeId,
      cookieId: cookie,
      couponId: null,
      holdout,
      ts,
    });
    const rows = [
      imp("e1", T0),
      imp("e1", T0 + 1000), // the same visitor twice: two impressions, one visitor
      imp("e2", T0 + DAY),
      imp("e3", T0 + DAY),
      imp("e4", T0 + 2 * DAY),
      imp("h1", T0, true),
      imp("h2", T0 + DAY, true),
      imp("old", T0 - 40 * DAY), // outside the period
    ];
    const click = (impression: ImpressionMessage, ts: number): ClickMessage => ({
      kind: "click",
      siteId,
      impressionUid: impression.uid,
      ruleId,
      placement: "home",
      creativeId,
      holdout: false,
      cookieId: impression.cookieId,
      ts,
    });
    // Through the writer the queue consumer uses: counters, first exposures, clicks.
    await writeBannerMessages(env, [...rows, click(rows[0], T0 + 5000), click(rows[2], T0 + DAY + 5000)]);
    await db.insert(coupons).values([
      {
        siteId,
        poolId,
        code: `A-${ruleId}`,
        holder: "v:e1",
        cookieId: "e1",
        ruleId,
        assignedAt: T0,
        redeemedAt: T0 + DAY,
        orderId: "O-1",
      },
      { siteId, poolId, code: `B-${ruleId}`, holder: "v:e2", cookieId: "e2", ruleId, assignedAt: T0 + DAY },
    ]);
    // e1 redeemed the rule's code (two rows for one order: claimer and purchase cookie count once).
    await db.insert(ruleConversions).values([
      { siteId, ruleId, cookieId: "e1", orderId: "O-1", revenue: 120.5, ts: T0 + DAY },
      { siteId, ruleId, cookieId: "e1-phone", orderId: "O-1", revenue: 120.5, ts: T0 + DAY },
    ]);
    // e3 bought after the banner without the code; h1 bought after their (holdout) impression; h2 before it.
    const visitor = (cookieId: string, lastPurchaseAt: number) => ({
      siteId,
      cookieId,
      firstSeenAt: T0 - DAY,
      lastSeenAt: T0,
      lastPurchaseAt,
    });
    await db.insert(visitors).values([visitor("e3", T0 + 2 * DAY), visitor("h1", T0 + 3 * DAY), visitor("h2", T0)]);

    const from = new Date(T0 - DAY).toISOString();
    const to = new Date(T0 + 10 * DAY).toISOString();
    const res = await call(`/api/v1/reports/rules/${ruleId}?from=${from}&to=${to}`, { key: apiKey });
    expect(res.status).toBe(200);
    const report = (await res.json()) as Record<string, unknown> & {
      ci: { low: number; high: number };
      daily: unknown[];
    };
    expect(report).toMatchObject({
      impressions: 5,
      holdout_impressions: 2,
      clicks: 2,
      ctr: 0.4,
      coupons_assigned: 2,
      coupons_redeemed: 1,
      revenue: 120.5,
      exposed: { visitors: 4, conversions: 2 },
      holdout: { visitors: 2, conversions: 1 },
      exposed_rate: 0.5,
      holdout_rate: 0.5,
      uplift: 0,
    });
    expect(report.ci.low).toBeLessThan(0);
    expect(report.ci.high).toBeGreaterThan(0);
    expect(report.verdict).toMatch(/could be zero/);
    expect(report.daily).toHaveLength(12); // May 31 to June 11, partial days included
    expect(report.daily[1]).toMatchObject({ day: "2026-06-01", impressions: 2, holdout_impressions: 1, clicks: 1 });
    // The daily series adds up to the totals, for every figure the dashboard charts.
    const sum = (key: string) =>
      Math.round((report.daily as Record<string, number>[]).reduce((n, d) => n + d[key], 0) * 100) / 100;
    for (const key of [
      "impressions",
      "holdout_impressions",
      "clicks",
      "coupons_assigned",
      "coupons_redeemed",
      "revenue",
    ]) {
      expect(sum(key), key).toBe(report[key]);
    }
    const groups = report as unknown as Record<"exposed" | "holdout", { visitors: number; conversions: number }>;
    expect(sum("exposed_visitors")).toBe(groups.exposed.visitors);
    expect(sum("exposed_conversions")).toBe(groups.exposed.conversions);
    expect(sum("holdout_visitors")).toBe(groups.holdout.visitors);
    expect(sum("holdout_conversions")).toBe(groups.holdout.conversions);

    // The placement report over the same period sees the same rule's figures.
    const placement = (await (
      await call(`/api/v1/reports/placements/home?from=${from}&to=${to}`, { key: apiKey })
    ).json()) as Record<string, unknown>;
    expect(placement).toMatchObject({ impressions: 5, clicks: 2, coupons_assigned: 2, revenue: 120.5 });

    // A narrower period leaves out what happened outside it. Counters count whole UTC days.
    const june1 = Math.floor(T0 / DAY) * DAY;
    const firstDay = (await (
      await call(
        `/api/v1/reports/rules/${ruleId}?from=${new Date(june1).toISOString()}&to=${new Date(june1 + DAY).toISOString()}`,
        { key: apiKey },
      )
    ).json()) as Record<string, unknown>;
    expect(firstDay).toMatchObject({
      impressions: 2,
      holdout_impressions: 1,
      clicks: 1,
      coupons_assigned: 1,
      coupons_redeemed: 0,
    });
  });

  it("answers 404 for another site's rule and 400 for a backwards period", async () => {
    const a = await ruleFixture();
    const b = await ruleFixture();
    expect((await call(`/api/v1/reports/rules/${b.ruleId}`, { key: a.apiKey })).status).toBe(404);
    const backwards = await call(`/api/v1/reports/rules/${a.ruleId}?from=2026-06-02&to=2026-06-01`, { key: a.apiKey });
    expect(backwards.status).toBe(400);
  });

  it("an empty rule reports zeros and says there is not enough data", async () => {
    const { apiKey, ruleId } = await ruleFixture();
    const report = (await (await call(`/api/v1/reports/rules/${ruleId}`, { key: apiKey })).json()) as Record<
      string,
      unknown
    >;
    expect(report).toMatchObject({ impressions: 0, clicks: 0, ctr: null, revenue: 0, uplift: null, ci: null });
    expect(report.verdict).toMatch(/^Not enough data yet/);
  });
});
