/**
 * Segment preview and sizes over a site's shard set (docs/architecture.md, "Shards"): the same people
 * seeded into a site on four shards and into a twin in HOME give the same counts and sample, and a
 * site reads nothing of its own from a shard outside its set.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { customers, segmentSizes, visitors } from "../../worker/db/schema";
import { recordSegmentSizes } from "../../worker/segments/sizes";
import { peopleOfSite } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import {
  type CustomerSeed,
  cookieOf,
  rowsPerShard,
  type SiteOnSet,
  seedPeople,
  shardDb,
  siteOn,
  type VisitorSeed,
} from "../shards/people-fixture";

const NOW = Date.UTC(2026, 11, 1, 12);

/** Six customers (two without cookies) and sixteen cookies, most linked, spread by their IDs. */
function people(): { customerRows: CustomerSeed[]; visitorRows: VisitorSeed[] } {
  const customerRows: CustomerSeed[] = Array.from({ length: 6 }, (_, i) => ({
    customerId: `C-${i + 1}`,
    orders: i,
    gender: i % 2 ? "f" : "m",
    clusters: i % 3 === 0 ? ["rings"] : [],
    createdAt: NOW - 1000 + i,
  }));
  const visitorRows: VisitorSeed[] = Array.from({ length: 16 }, (_, i) => ({
    cookieId: cookieOf(i + 1),
    // C-1 … C-4 have several cookies each (on different shards); C-5 and C-6 none.
    customerId: i < 12 ? `C-${(i % 4) + 1}` : null,
    firstSeenAt: NOW - 10_000,
    lastSeenAt: NOW - 1000,
    visits: i,
    pageviews: 2 * i,
    createdAt: NOW - 500 + i,
  }));
  return { customerRows, visitorRows };
}

const EXPRESSIONS = [
  "customer",
  "not customer",
  "orders > 1",
  "visits > 9",
  "visits > 9 and orders >= 2",
  'cluster = "rings"',
  'gender = "f" or visits < 3',
  "visits >= 0",
];

async function preview(site: SiteOnSet, expression: string): Promise<Record<string, unknown>> {
  const res = await call("/api/v1/segments/preview", { method: "POST", key: site.apiKey, json: { expression } });
  expect(res.status).toBe(200);
  return res.json();
}

describe("segments over a shard set", () => {
  it("counts and samples a site on four shards as the same people in HOME", async () => {
    const sharded = await siteOn([0, 1, 2, 3]);
    const twin = await siteOn(null);
    const { customerRows, visitorRows } = people();
    await seedPeople(sharded, customerRows, visitorRows);
    await seedPeople(twin, customerRows, visitorRows);
    // The data really is spread, with customers copied beside their cookies.
    const spread = await rowsPerShard("visitors", sharded.id);
    expect(spread.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
    expect((await rowsPerShard("customers", sharded.id)).reduce((a, b) => a + b)).toBeGreaterThan(6);

    for (const expression of EXPRESSIONS) {
      const [mine, oracle] = [await preview(sharded, expression), await preview(twin, expression)];
      expect({ expression, ...mine }).toEqual({ expression, ...oracle });
    }
    // Spot checks against the seed itself: C-1 … C-4 have cookies, C-5 and C-6 do not.
    expect(await preview(sharded, "customer")).toMatchObject({ visitors: 12, customers: 6 });
    // visits > 9: cookies 11 … 16 (visits 10 … 15), of which 11 and 12 are linked (C-3, C-4).
    expect(await preview(sharded, "visits > 9")).toMatchObject({ visitors: 6, customers: 2 });
  });

  it("records the cron's segment sizes from every shard of the set", async () => {
    const sharded = await siteOn([0, 1, 2, 3]);
    const twin = await siteOn(null);
    const { customerRows, visitorRows } = people();
    await seedPeople(sharded, customerRows, visitorRows);
    await seedPeople(twin, customerRows, visitorRows);
    const db = createDb(env.DB);
    const sizes = async (site: SiteOnSet) => {
      await call("/api/v1/segments", {
        method: "POST",
        key: site.apiKey,
        json: { name: "Linked, some orders", expression: "orders >= 1 and visits >= 2" },
      });
      await recordSegmentSizes(db, peopleOfSite(env, site), site.id, NOW);
      const res = await call("/api/v1/segments/sizes", { key: site.apiKey });
      const body = (await res.json()) as { sizes: Record<string, { visitors: number; customers: number }[]> };
      return Object.values(body.sizes).map((days) => days.map(({ visitors: v, customers: c }) => [v, c]));
    };
    const mine = await sizes(sharded);
    expect(mine).toEqual(await sizes(twin));
    expect(mine).toEqual([[[8, 3]]]);
    expect(await db.select().from(segmentSizes)).not.toHaveLength(0);
  });

  it("reads only the shards of the site's own set, on overlapping and disjoint sets", async () => {
    const a = await siteOn([0, 1]);
    const b = await siteOn([1, 2]);
    const c = await siteOn([3]);
    const { customerRows, visitorRows } = people();
    for (const site of [a, b, c]) await seedPeople(site, customerRows, visitorRows);
    // Decoys of A on shards outside its set: one in B's set (2), one in nobody's (3 holds C only).
    for (const k of [2, 3]) {
      await shardDb(k)
        .insert(visitors)
        .values({ siteId: a.id, cookieId: `decoy-${k}`, firstSeenAt: NOW, lastSeenAt: NOW, visits: 99 });
      await shardDb(k)
        .insert(customers)
        .values({ siteId: a.id, customerId: `DECOY-${k}`, orders: 99 });
    }
    for (const site of [a, b, c]) {
      expect(await preview(site, "visits >= 0")).toMatchObject({ visitors: 16 });
      expect(await preview(site, "customer")).toMatchObject({ visitors: 12, customers: 6 });
      const loud = (await preview(site, "visits > 50 or orders > 50")) as { visitors: number; sample: unknown[] };
      expect(loud).toEqual({ visitors: 0, customers: 0, sample: [] });
    }
  });
});
