/**
 * One person over a site's shard set (docs/architecture.md, "Shards"): a cookie is read on its own
 * shard, a customer's own row on the customer's shard and its cookies on every shard of the set.
 * The profile API and explain answer for a site on four shards what they answer for the same people
 * in HOME, and read nothing of the site from a shard outside its set.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { visitors } from "../../worker/db/schema";
import { refreshDecisionRows } from "../../worker/decide/decision-rows";
import { groupByShard } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import {
  type CustomerSeed,
  cookieOf,
  type SiteOnSet,
  seedPeople,
  shardDb,
  siteOn,
  type VisitorSeed,
} from "../shards/people-fixture";

const NOW = Date.UTC(2026, 11, 1, 12);
const decoy = (k: number) => `dec0${k}`.padEnd(32, "0");

const customerRows: CustomerSeed[] = [
  { customerId: "C-1", orders: 3, gender: "f", clusters: ["rings"], createdAt: NOW - 9000 },
  { customerId: "C-2", orders: 0, createdAt: NOW - 8000 },
];
/** C-1 has eight cookies (over several shards), the most recent cookie 7; C-2 none. */
const visitorRows: VisitorSeed[] = Array.from({ length: 10 }, (_, i) => ({
  cookieId: cookieOf(i + 1),
  customerId: i < 8 ? "C-1" : null,
  firstSeenAt: NOW - 100_000 + i * 1000,
  lastSeenAt: i === 6 ? NOW - 10 : NOW - 50_000 + i,
  visits: i + 1,
  consent: i === 2 ? "denied" : null,
}));

async function seeded(shards: readonly number[] | null): Promise<SiteOnSet> {
  const site = await siteOn(shards);
  await seedPeople(site, customerRows, visitorRows);
  // The decision rows explain reads, each built on its cookie's database.
  for (const { people, items } of groupByShard(env, site, visitorRows, (v) => v.cookieId)) {
    await refreshDecisionRows(people.db, site.id, { cookies: items.map((v) => v.cookieId) }, NOW);
  }
  return site;
}

async function get(site: SiteOnSet, path: string) {
  const res = await call(path, { key: site.apiKey });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function explain(site: SiteOnSet, who: { customer: string } | { cookie_id: string }) {
  const res = await call("/api/v1/placements/home-hero/explain", { method: "POST", key: site.apiKey, json: who });
  expect(res.status).toBe(200);
  return ((await res.json()) as { visitor: unknown }).visitor;
}

describe("one person over a shard set", () => {
  it("the profile API and explain answer as for the same people in HOME", async () => {
    const sharded = await seeded([0, 1, 2, 3]);
    const twin = await seeded(null);
    for (const path of ["/api/v1/customers/C-1", "/api/v1/customers/C-2", "/api/v1/customers/C-3"]) {
      expect(await get(sharded, path)).toEqual(await get(twin, path));
    }
    for (const n of [1, 3, 7, 9, 11]) {
      const path = `/api/v1/visitors/${cookieOf(n)}`;
      expect(await get(sharded, path)).toEqual(await get(twin, path));
    }
    const c1 = (await get(sharded, "/api/v1/customers/C-1")).body as { cookies: { cookie_id: string }[] };
    expect(c1.cookies.map((c) => c.cookie_id)).toEqual(visitorRows.slice(0, 8).map((v) => v.cookieId));
    expect((await get(sharded, "/api/v1/customers/C-2")).body).toMatchObject({ cookies: [], customer: { orders: 0 } });

    // A customer is explained through its most recent cookie, wherever that cookie lives.
    expect(await explain(sharded, { customer: "C-1" })).toEqual({
      cookie_id: cookieOf(7),
      customer: "C-1",
      known: true,
    });
    for (const who of [
      { customer: "C-1" },
      { customer: "C-2" },
      { cookie_id: cookieOf(9) },
      { cookie_id: cookieOf(4) },
    ]) {
      expect(await explain(sharded, who)).toEqual(await explain(twin, who));
    }
    expect(await explain(sharded, { cookie_id: cookieOf(9) })).toMatchObject({ known: true });
  });

  it("reads nothing of a site from a shard outside its set", async () => {
    const a = await seeded([0, 1]);
    const b = await seeded([1, 2]);
    // A decoy cookie of A, linked to C-1 and seen last, on B's shard 2 and on nobody's shard 3.
    for (const k of [2, 3]) {
      await shardDb(k)
        .insert(visitors)
        .values({ siteId: a.id, cookieId: decoy(k), customerId: "C-1", firstSeenAt: NOW, lastSeenAt: NOW });
    }
    const c1 = (await get(a, "/api/v1/customers/C-1")).body as { cookies: { cookie_id: string }[] };
    expect(c1.cookies).toHaveLength(8);
    expect(JSON.stringify(c1)).not.toContain(decoy(2).slice(0, 8));
    expect(await explain(a, { customer: "C-1" })).toEqual({ cookie_id: cookieOf(7), customer: "C-1", known: true });
    for (const k of [2, 3]) expect((await get(a, `/api/v1/visitors/${decoy(k)}`)).status).toBe(404);
    expect((await get(b, "/api/v1/customers/C-1")).body).toEqual((await get(a, "/api/v1/customers/C-1")).body);
  });
});
