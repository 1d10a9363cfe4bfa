/**
 * The catalogue on a site with a shard set (docs/architecture.md, "Shards"): HOME's products and
 * affinities, and a copy on every shard of the set and on no other; the affinities count co-views
 * over every shard.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recomputeProductAffinities } from "../../worker/catalogue/affinities";
import { shardBindings, shardOf } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import { countsByDatabase, randomCookie, shardedSite } from "./helpers";

async function catalogue(apiKey: string, csv: string) {
  const res = await call("/api/v1/products", {
    method: "POST",
    key: apiKey,
    headers: { "Content-Type": "text/csv" },
    body: `sku,name,category,price,available\n${csv}`,
  });
  expect(res.status).toBe(200);
}

describe("the catalogue on a shard set", () => {
  for (const set of [
    [0, 1, 2, 3],
    [1, 3],
  ]) {
    it(`writes HOME's products and the copy on every shard of ${JSON.stringify(set)}, deletes from all`, async () => {
      const site = await shardedSite(set);
      await catalogue(site.apiKey, "A,Ring A,rings,10,true\nB,Ring B,rings,12,true\nC,Ring C,rings,14,false");
      const expected = [0, 1, 2, 3].map((k) => (set.includes(k) ? 3 : 0));
      expect(await countsByDatabase("products", site.siteId)).toEqual({ home: 3, shards: expected });
      await catalogue(site.apiKey, "B,Ring B2,rings,13,true");
      for (const k of set) {
        const row = await shardBindings(env)
          [k].prepare("select name, price from products where site_id = ? and sku = 'B'")
          .bind(site.siteId)
          .first();
        expect(row).toEqual({ name: "Ring B2", price: 13 });
      }
      expect((await call("/api/v1/products/A", { method: "DELETE", key: site.apiKey })).status).toBe(204);
      const after = [0, 1, 2, 3].map((k) => (set.includes(k) ? 2 : 0));
      expect(await countsByDatabase("products", site.siteId)).toEqual({ home: 2, shards: after });
    });
  }

  it("counts co-views over every shard, writes the affinities to HOME and each copy, and refreshes the rows", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set);
    await catalogue(site.apiKey, "A,Ring A,rings,10,true\nB,Ring B,rings,10,true\nC,Ring C,rings,10,true");
    const now = Date.now();
    const visit = async (skus: string[]) => {
      const cookie = randomCookie();
      await shardBindings(env)
        [shardOf(set, cookie)].prepare(
          `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, recent_skus) values (?, ?, ?, ?, ?)`,
        )
        .bind(site.siteId, cookie, now, now, JSON.stringify(skus))
        .run();
      return cookie;
    };
    // Four people viewed A and B, two A and C, spread over the shards by their cookies.
    for (let i = 0; i < 4; i++) await visit(["A", "B"]);
    for (let i = 0; i < 2; i++) await visit(["A", "C"]);
    const justA = await visit(["A"]);
    expect(await recomputeProductAffinities(env, { id: site.siteId, shards: set }, now)).toBe(4);

    const pairs = async (d1: D1Database) =>
      (
        await d1
          .prepare("select sku, other_sku, score from product_affinities where site_id = ? order by sku, other_sku")
          .bind(site.siteId)
          .all()
      ).results;
    const expected = [
      { sku: "A", other_sku: "B", score: 4 },
      { sku: "A", other_sku: "C", score: 2 },
      { sku: "B", other_sku: "A", score: 4 },
      { sku: "C", other_sku: "A", score: 2 },
    ];
    expect(await pairs(env.DB)).toEqual(expected);
    for (const k of set) expect(await pairs(shardBindings(env)[k])).toEqual(expected);
    const row = await shardBindings(env)
      [shardOf(set, justA)].prepare("select product_sku from decision_rows where site_id = ? and cookie_id = ?")
      .bind(site.siteId, justA)
      .first();
    expect(row).toEqual({ product_sku: "B" });
  });

  it("keeps the affinities of a site on [1,3] off shards 0 and 2", async () => {
    const site = await shardedSite([1, 3]);
    const now = Date.now();
    for (let i = 0; i < 3; i++) {
      const cookie = randomCookie();
      await shardBindings(env)
        [shardOf([1, 3], cookie)].prepare(
          `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, recent_skus) values (?, ?, ?, ?, '["X","Y"]')`,
        )
        .bind(site.siteId, cookie, now, now)
        .run();
    }
    expect(await recomputeProductAffinities(env, { id: site.siteId, shards: [1, 3] }, now)).toBe(2);
    expect(await countsByDatabase("product_affinities", site.siteId)).toEqual({ home: 2, shards: [0, 2, 0, 2] });
  });
});
