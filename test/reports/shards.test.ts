/**
 * Reports over a site's shard set (docs/architecture.md, "Shards"): report_counters and coupons are
 * HOME's, exposures, rule_conversions and visitors are per cookie on the cookie's shard. The same
 * figures seeded into a site on four shards and into a twin in HOME give the same reports and
 * dashboard, and nothing of a site outside its set is counted.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { creatives, exposures, reportCounters, ruleConversions, rules, visitors } from "../../worker/db/schema";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { peopleFor } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import { cookieOf, rowsPerShard, type SiteOnSet, shardDb, siteOn } from "../shards/people-fixture";

const db = createDb(env.DB);
const FROM = Date.UTC(2026, 10, 1);
const TO = FROM + 10 * DAY;

/** Two rules on one placement, forty cookies exposed to them over five days, some converting. */
async function seedFigures(site: SiteOnSet): Promise<number[]> {
  const [creative] = await db
    .insert(creatives)
    .values({
      siteId: site.id,
      name: "c",
      format: "html",
      template: "<b>x</b>",
      width: 1,
      height: 1,
      landingUrl: "https://shop.test/",
    })
    .returning();
  const ruleIds: number[] = [];
  for (const name of ["first", "second"]) {
    const [rule] = await db
      .insert(rules)
      .values({ siteId: site.id, name, placement: "home-hero", creativeId: creative!.id })
      .returning();
    ruleIds.push(rule!.id);
  }
  for (const [i, ruleId] of ruleIds.entries()) {
    await db.insert(reportCounters).values({
      siteId: site.id,
      ruleId,
      placement: "home-hero",
      creativeId: creative!.id,
      holdout: false,
      day: FROM / DAY + i,
      impressions: 100 + i,
      clicks: 7 + i,
    });
  }
  for (let n = 1; n <= 40; n++) {
    const cookieId = cookieOf(n);
    const ruleId = ruleIds[n % 2] as number;
    const firstTs = FROM + (n % 5) * DAY + n;
    const people = peopleFor(env, site, cookieId).db;
    await people.insert(visitors).values({
      siteId: site.id,
      cookieId,
      firstSeenAt: firstTs,
      lastSeenAt: firstTs,
      lastPurchaseAt: n % 7 === 0 ? firstTs + 1 : null,
    });
    await people
      .insert(exposures)
      .values({ siteId: site.id, ruleId, cookieId, holdout: n % 3 === 0, placement: "home-hero", firstTs });
    if (n % 4 === 0) {
      await people
        .insert(ruleConversions)
        .values({ siteId: site.id, ruleId, cookieId, orderId: `O-${n}`, revenue: n * 1.5, ts: firstTs + 2 });
    }
  }
  return ruleIds;
}

async function get(site: SiteOnSet, path: string) {
  const res = await call(`${path}?from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`, {
    key: site.apiKey,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("reports over a shard set", () => {
  it("give a site on four shards the figures the same data gives in HOME", async () => {
    const sharded = await siteOn([0, 1, 2, 3]);
    const twin = await siteOn(null);
    const [mine, oracle] = [await seedFigures(sharded), await seedFigures(twin)];
    expect((await rowsPerShard("visitors", sharded.id)).filter((n) => n > 0).length).toBe(4);

    for (const i of [0, 1]) {
      const a = await get(sharded, `/api/v1/reports/rules/${mine[i]}`);
      const b = await get(twin, `/api/v1/reports/rules/${oracle[i]}`);
      expect(a).toEqual(b);
      expect((a.exposed as { visitors: number }).visitors + (a.holdout as { visitors: number }).visitors).toBe(20);
      // Conversions are of even cookies, all exposed to the first rule.
      expect(a.revenue).toBe(i === 0 ? 330 : 0);
    }
    const placement = await get(sharded, "/api/v1/reports/placements/home-hero");
    expect(placement).toEqual(await get(twin, "/api/v1/reports/placements/home-hero"));
    expect(placement).toMatchObject({ impressions: 201, clicks: 15 });
    // Every cookie converting through a rule_conversion or a purchase: n % 4 == 0 or n % 7 == 0.
    const converted = Array.from({ length: 40 }, (_, i) => i + 1).filter((n) => n % 4 === 0 || n % 7 === 0).length;
    const groups = placement as { exposed: { conversions: number }; holdout: { conversions: number }; revenue: number };
    expect(groups.exposed.conversions + groups.holdout.conversions).toBe(converted);
    expect(groups.revenue).toBe(Array.from({ length: 10 }, (_, i) => (i + 1) * 4 * 1.5).reduce((a, b) => a + b));

    const dashboard = await get(sharded, "/api/v1/dashboard");
    const oracleDashboard = await get(twin, "/api/v1/dashboard");
    const withoutIds = (d: Record<string, unknown>) => ({
      ...d,
      rules: (d.rules as { id: number }[]).map(({ id: _id, ...rule }) => rule),
    });
    expect(withoutIds(dashboard)).toEqual(withoutIds(oracleDashboard));
    expect(dashboard.totals).toMatchObject({ impressions: 201, revenue: groups.revenue });
  });

  it("count nothing of a site from a shard outside its set", async () => {
    const a = await siteOn([0, 1]);
    const b = await siteOn([1, 2]);
    const [ruleA] = await seedFigures(a);
    await seedFigures(b);
    const before = await get(a, `/api/v1/reports/rules/${ruleA}`);
    // Decoys of A on shard 2 (B's) and 3 (nobody's): an exposure that converted, with revenue.
    for (const k of [2, 3]) {
      const cookieId = `decoy-${k}`;
      await shardDb(k)
        .insert(exposures)
        .values({ siteId: a.id, ruleId: ruleA!, cookieId, holdout: false, placement: "home-hero", firstTs: FROM + 1 });
      await shardDb(k)
        .insert(ruleConversions)
        .values({ siteId: a.id, ruleId: ruleA!, cookieId, orderId: `D-${k}`, revenue: 1000, ts: FROM + 2 });
    }
    expect(await get(a, `/api/v1/reports/rules/${ruleA}`)).toEqual(before);
    expect(await get(a, "/api/v1/reports/placements/home-hero")).toMatchObject({ revenue: before.revenue });
    // B's own figures are its own: the same seed, so the same totals as A's before the decoys.
    const placementB = await get(b, "/api/v1/reports/placements/home-hero");
    expect(placementB.revenue).toBe((await get(a, "/api/v1/reports/placements/home-hero")).revenue);
  });
});
