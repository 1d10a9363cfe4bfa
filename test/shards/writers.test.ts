/**
 * The writers of people on a site with a shard set (docs/architecture.md, "Shards"): CRM customer
 * import, cookie links. Rows land where the routing module says, copies follow their customer,
 * and nothing of the site reaches HOME's people tables or a shard outside its set.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runBatch } from "../../worker/db/raw";
import { linkCookies, linkVisitorsStatement } from "../../worker/identity/link";
import { shardBindings, shardOf } from "../../worker/shards/routing";
import { call, importCsv } from "../fixtures/api";
import { countsByDatabase, randomCookie, shardedSite } from "./helpers";

/** A cookie whose shard in `set` is not `notOn`. */
function cookieAwayFrom(set: number[], notOn: number): string {
  for (;;) {
    const cookie = randomCookie();
    if (shardOf(set, cookie) !== notOn) return cookie;
  }
}

async function imported(apiKey: string, csv: string, path?: string) {
  const res = await importCsv(apiKey, csv, path);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { accepted: number; rejected: unknown[] };
  expect(body.rejected).toEqual([]);
  return body;
}

describe("CRM customer import on a shard set", () => {
  for (const set of [
    [0, 1, 2, 3],
    [1, 3],
  ]) {
    it(`puts each customer's row on the customer's shard of ${JSON.stringify(set)}, nowhere else`, async () => {
      const site = await shardedSite(set);
      const ids = Array.from({ length: 24 }, (_, i) => `C-${i}`);
      const body = await imported(site.apiKey, `customer_id,orders\n${ids.map((id) => `${id},1`).join("\n")}\n`);
      expect(body.accepted).toBe(24);
      const counts = await countsByDatabase("customers", site.siteId);
      expect(counts.home).toBe(0);
      const expected = [0, 0, 0, 0];
      for (const id of ids) expected[shardOf(set, id)]++;
      expect(counts.shards).toEqual(expected);
      // Outside the set: nothing (for [1,3], shards 0 and 2 stay empty).
      for (let k = 0; k < 4; k++) if (!set.includes(k)) expect(counts.shards[k]).toBe(0);
      for (const id of ids) {
        const row = await shardBindings(env)
          [shardOf(set, id)].prepare("select orders, copy from customers where site_id = ? and customer_id = ?")
          .bind(site.siteId, id)
          .first<{ orders: number; copy: number }>();
        expect(row).toEqual({ orders: 1, copy: 0 });
      }
    });
  }
});

describe("linking cookies on a shard set", () => {
  it("links on the cookie's shard, copies the customer there, and the CRM import updates the copy", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set);
    const home = shardOf(set, "C-1");
    const cookie = cookieAwayFrom(set, home);
    const there = shardOf(set, cookie);
    const shards = shardBindings(env);
    await imported(site.apiKey, "customer_id,lifetime_revenue,gender\nC-1,100,f\n");
    await imported(site.apiKey, `cookie_id,customer_id\n${cookie},C-1\n`, "/api/v1/import/links");

    const visitor = await shards[there]
      .prepare("select customer_id from visitors where site_id = ? and cookie_id = ?")
      .bind(site.siteId, cookie)
      .first();
    expect(visitor).toEqual({ customer_id: "C-1" });
    expect((await countsByDatabase("visitors", site.siteId)).shards.reduce((a, b) => a + b)).toBe(1);
    const copy = await shards[there]
      .prepare(
        "select copy, lifetime_revenue, gender, copies_on from customers where site_id = ? and customer_id = 'C-1'",
      )
      .bind(site.siteId)
      .first();
    expect(copy).toEqual({ copy: 1, lifetime_revenue: 100, gender: "f", copies_on: "[]" });
    const own = await shards[home]
      .prepare("select copy, copies_on from customers where site_id = ? and customer_id = 'C-1'")
      .bind(site.siteId)
      .first();
    expect(own).toEqual({ copy: 0, copies_on: `[${there}]` });
    const row = await shards[there]
      .prepare("select customer_id, customer from decision_rows where site_id = ? and cookie_id = ?")
      .bind(site.siteId, cookie)
      .first<{ customer_id: string; customer: string }>();
    expect(row?.customer_id).toBe("C-1");
    expect(JSON.parse(row?.customer as string)).toMatchObject({ lifetimeRevenue: 100 });

    // Linking again notes the shard once; the CRM import reaches the copy and the cookie's row.
    await imported(site.apiKey, `cookie_id,customer_id\n${cookie},C-1\n`, "/api/v1/import/links");
    await imported(site.apiKey, "customer_id,lifetime_revenue\nC-1,250\n");
    const after = await shards[there]
      .prepare("select copy, lifetime_revenue from customers where site_id = ? and customer_id = 'C-1'")
      .bind(site.siteId)
      .first();
    expect(after).toEqual({ copy: 1, lifetime_revenue: 250 });
    const ownAfter = await shards[home]
      .prepare("select lifetime_revenue, copies_on from customers where site_id = ? and customer_id = 'C-1'")
      .bind(site.siteId)
      .first();
    expect(ownAfter).toEqual({ lifetime_revenue: 250, copies_on: `[${there}]` });
    const rowAfter = await shards[there]
      .prepare("select customer from decision_rows where site_id = ? and cookie_id = ?")
      .bind(site.siteId, cookie)
      .first<{ customer: string }>();
    expect(JSON.parse(rowAfter?.customer as string)).toMatchObject({ lifetimeRevenue: 250 });
    // Counting people counts own rows: one customer, whatever its copies.
    const counts = await countsByDatabase("customers", site.siteId);
    expect(counts.shards.reduce((a, b) => a + b)).toBe(2);
    expect(counts.home).toBe(0);
  });

  it("gives a cookie linked before its customer was imported (an identify) the copy at the import", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set);
    const home = shardOf(set, "C-9");
    const cookie = cookieAwayFrom(set, home);
    const there = shardOf(set, cookie);
    // What event ingestion does for an identify of a customer the CRM has not sent yet: the
    // visitor row on its shard names the customer, then linkCookies() (no own row to copy yet).
    const links = [{ cookieId: cookie, customerId: "C-9" }];
    const now = Date.now();
    await runBatch(shardBindings(env)[there], [linkVisitorsStatement(site.siteId, links, now)]);
    await linkCookies(env, { id: site.siteId, shards: set }, links, now);
    expect((await countsByDatabase("customers", site.siteId)).shards).toEqual([0, 0, 0, 0]);
    await imported(site.apiKey, "customer_id,gender\nC-9,f\n");
    const shards = shardBindings(env);
    const copy = await shards[there]
      .prepare("select copy, gender from customers where site_id = ? and customer_id = 'C-9'")
      .bind(site.siteId)
      .first();
    expect(copy).toEqual({ copy: 1, gender: "f" });
    const own = await shards[home]
      .prepare("select copy, copies_on from customers where site_id = ? and customer_id = 'C-9'")
      .bind(site.siteId)
      .first();
    expect(own).toEqual({ copy: 0, copies_on: `[${there}]` });
    const row = await shards[there]
      .prepare("select customer from decision_rows where site_id = ? and cookie_id = ?")
      .bind(site.siteId, cookie)
      .first<{ customer: string }>();
    expect(JSON.parse(row?.customer as string)).toMatchObject({ gender: "f" });
  });

  it("merges the codes of cookies on two shards into the customer's and copies them to every shard", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set);
    const a = cookieAwayFrom(set, -1);
    const b = cookieAwayFrom(set, shardOf(set, a));
    const pool = await env.DB.prepare(
      "insert into coupon_pools (site_id, name, kind, prefix, valid_days, discount) values (?, 'p', 'list', '', 30, '10 %') returning id",
    )
      .bind(site.siteId)
      .first<{ id: number }>();
    const now = Date.now();
    // Two live codes of one pool, one per device: the older one (a's) wins, b's is archived.
    for (const [code, cookie, assigned] of [
      ["OLDER", a, now - 2000],
      ["NEWER", b, now - 1000],
    ] as const) {
      await env.DB.prepare(
        `insert into coupons (site_id, pool_id, code, holder, cookie_id, assigned_at, expires_at)
          values (?, ?, ?, ?, ?, ?, ?)`,
      )
        .bind(site.siteId, pool?.id, code, `v:${cookie}`, cookie, assigned, now + 86_400_000)
        .run();
    }
    await imported(site.apiKey, "customer_id\nC-7\n");
    await imported(site.apiKey, `cookie_id,customer_id\n${a},C-7\n${b},C-7\n`, "/api/v1/import/links");

    const { results } = await env.DB.prepare(
      "select code, holder, archived_at from coupons where site_id = ? order by code",
    )
      .bind(site.siteId)
      .all<{ code: string; holder: string; archived_at: number | null }>();
    expect(results.map((r) => [r.code, r.holder.startsWith("x:") ? "archived" : r.holder])).toEqual([
      ["NEWER", "archived"],
      ["OLDER", "c:C-7"],
    ]);
    // The customer's code is on every shard of the set (any may hold one of its cookies); the
    // cookies hold none any more.
    for (const k of set) {
      const held = await shardBindings(env)
        [k].prepare("select holder, code from person_codes where site_id = ?")
        .bind(site.siteId)
        .all();
      expect(held.results).toEqual([{ holder: "c:C-7", code: "OLDER" }]);
    }
    for (const cookie of [a, b]) {
      const row = await shardBindings(env)
        [shardOf(set, cookie)].prepare(
          "select customer_id, codes from decision_rows where site_id = ? and cookie_id = ?",
        )
        .bind(site.siteId, cookie)
        .first<{ customer_id: string; codes: string }>();
      expect(row?.customer_id).toBe("C-7");
      expect(row?.codes).toContain("OLDER");
      expect(row?.codes).not.toContain("NEWER");
    }
  });

  it("never links (nor recreates) a cookie erased on its shard", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set);
    const cookie = randomCookie();
    await imported(site.apiKey, "customer_id\nC-1\n");
    await imported(site.apiKey, `cookie_id,customer_id\n${cookie},C-1\n`, "/api/v1/import/links");
    expect((await call(`/api/v1/visitors/${cookie}`, { method: "DELETE", key: site.apiKey })).status).toBe(204);
    await imported(site.apiKey, `cookie_id,customer_id\n${cookie},C-1\n`, "/api/v1/import/links");
    expect((await countsByDatabase("visitors", site.siteId)).shards).toEqual([0, 0, 0, 0]);
  });

  it("refuses a link to a customer the site does not know, on a shard set too, and writes nothing for it", async () => {
    const site = await shardedSite([1, 3]);
    await imported(site.apiKey, "customer_id\nC-1\n");
    const cookie = randomCookie();
    const res = await importCsv(site.apiKey, `cookie_id,customer_id\n${cookie},C-404\n`, "/api/v1/import/links");
    const body = (await res.json()) as { accepted: number; rejected: { reason: string }[] };
    expect(body.accepted).toBe(0);
    expect(body.rejected[0].reason).toMatch(/unknown customer/);
    expect((await countsByDatabase("visitors", site.siteId)).shards).toEqual([0, 0, 0, 0]);
  });

  it("keeps a site on [1,3] off shards 0 and 2 and HOME's people tables through imports and links", async () => {
    const site = await shardedSite([1, 3]);
    const customers = Array.from({ length: 12 }, (_, i) => `K-${i}`);
    await imported(site.apiKey, `customer_id\n${customers.join("\n")}\n`);
    const links = customers.map((id) => `${randomCookie()},${id}`);
    await imported(site.apiKey, `cookie_id,customer_id\n${links.join("\n")}\n`, "/api/v1/import/links");
    for (const table of ["customers", "visitors", "decision_rows", "person_codes"]) {
      const counts = await countsByDatabase(table, site.siteId);
      expect(counts.home, table).toBe(0);
      expect(counts.shards[0], table).toBe(0);
      expect(counts.shards[2], table).toBe(0);
    }
    expect(
      (await countsByDatabase("visitors", site.siteId)).shards[1] +
        (await countsByDatabase("visitors", site.siteId)).shards[3],
    ).toBe(12);
  });
});
