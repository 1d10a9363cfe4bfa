/**
 * The seed example of the issue: import a CSV of customers, then "all women who bought nothing in
 * the last six months, with lifetime revenue over 100 EUR, who never redeemed a coupon" selects
 * exactly the expected customers, by the evaluator and by SQL, with an injected now.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { compileSegment } from "../../worker/segments";
import { countSegment } from "../../worker/segments/query";
import { call, createTestSite, importCsv } from "../fixtures/api";
import { db, home, loadProfiles, selectProfiles } from "./profiles-fixture";

const NOW = Date.UTC(2025, 8, 1, 9, 0);
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();
const EXPRESSION = 'gender = "f" and days_since_last_order >= 180 and lifetime_revenue > 100 and coupons_redeemed = 0';

const CSV = [
  "customer_id,email,gender,lifetime_revenue,orders,last_order_at,coupons_redeemed,clusters",
  `W-dormant,w1@example.com,f,150,3,${ago(200)},0,rings`, // in
  `W-exactly-180,w3@example.com,f,100.01,2,${ago(180)},0,`, // in: six months reached today
  `W-recent,w2@example.com,f,300,5,${ago(179)},0,`, // bought within six months
  `W-revenue-100,w4@example.com,f,100,1,${ago(365)},0,`, // not over 100 EUR
  `W-coupon,w5@example.com,f,500,4,${ago(400)},1,`, // redeemed a coupon
  `M-dormant,m1@example.com,m,150,3,${ago(200)},0,`, // not a woman
  `W-no-orders-known,w6@example.com,f,150,3,,0,`, // no last order date: missing, so not selected
  `W-coupons-unknown,w7@example.com,f,150,3,${ago(200)},,`, // coupons unknown: missing
  `W-linked,w8@example.com,f,1000,9,${ago(181)},0,earrings`, // in, and linked to a cookie below
].join("\n");

describe("the seed example", () => {
  it("selects exactly the dormant high-value women without coupons, by the evaluator and by SQL", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const imported = await importCsv(apiKey, CSV);
    expect(await imported.json()).toMatchObject({ accepted: 9, rejected: [] });
    const cookie = "f".repeat(32);
    await call("/api/v1/import/links", {
      method: "POST",
      key: apiKey,
      headers: { "Content-Type": "text/csv" },
      body: `cookie_id,customer_id\n${cookie},W-linked\n`,
    });
    const site = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
    const siteId = site!.id;
    const expected = ["W-dormant", "W-exactly-180", "W-linked"];

    const predicate = compileSegment(EXPRESSION);
    const profiles = [...(await loadProfiles(siteId)).values()];
    expect(profiles).toHaveLength(9);
    const byEvaluator = profiles.filter((p) => predicate(p, NOW)).map((p) => p.customerId);
    expect(byEvaluator.sort()).toEqual(expected);

    const bySql = await selectProfiles(db, siteId, EXPRESSION, NOW);
    expect(bySql.map((r) => r.customerId).sort()).toEqual(expected);
    expect(bySql.find((r) => r.customerId === "W-linked")?.cookieId).toBe(cookie);
    expect(await countSegment(home, siteId, EXPRESSION, NOW)).toEqual({ visitors: 1, customers: 3 });

    // A day earlier, the 180-day boundary customer is not dormant yet.
    const dayBefore = await selectProfiles(db, siteId, EXPRESSION, NOW - DAY);
    expect(dayBefore.map((r) => r.customerId).sort()).toEqual(["W-dormant", "W-linked"]);
  });
});
