/**
 * Erasure on a site with a shard set (docs/architecture.md, "Shards"): a person is gone from every
 * shard (their cookies' shards, the customer's shard and every copy), from HOME's codes, and
 * tombstoned in HOME and on the shards; nothing outside the set is touched.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardBindings, shardOf } from "../../worker/shards/routing";
import { cookieIdOf, event, postEvents, SHOP } from "../collect/post-events";
import { call, importCsv } from "../fixtures/api";
import { countsByDatabase, randomCookie, shardedSite } from "./helpers";

const total = (counts: { home: number; shards: number[] }) => counts.home + counts.shards.reduce((a, b) => a + b, 0);

/** A customer with two cookies on two shards, partner links, events, caps and a code. */
async function personOn(set: number[]) {
  const site = await shardedSite(set);
  const a = randomCookie();
  let b = randomCookie();
  while (set.length > 1 && shardOf(set, b) === shardOf(set, a)) b = randomCookie();
  const now = Date.now();
  const pool = await env.DB.prepare(
    "insert into coupon_pools (site_id, name, kind, prefix, valid_days, discount) values (?, 'p', 'list', '', 30, '10 %') returning id",
  )
    .bind(site.siteId)
    .first<{ id: number }>();
  await env.DB.prepare(
    `insert into coupons (site_id, pool_id, code, holder, cookie_id, assigned_at, expires_at) values (?, ?, 'MINE', ?, ?, ?, ?)`,
  )
    .bind(site.siteId, pool?.id, `v:${a}`, a, now, now + 86_400_000)
    .run();
  expect((await importCsv(site.apiKey, "customer_id,lifetime_revenue\nC-1,10\n")).status).toBe(200);
  const linked = await importCsv(site.apiKey, `cookie_id,customer_id\n${a},C-1\n${b},C-1\n`, "/api/v1/import/links");
  expect(linked.status).toBe(200);
  expect(
    (await call("/api/v1/partners", { method: "POST", key: site.apiKey, json: { key: "net", name: "N" } })).status,
  ).toBe(201);
  for (const [puid, cookie] of [
    ["P-a", a],
    ["P-b", b],
  ]) {
    expect(
      (await call(`/sync?site=${site.siteKey}&p=net&puid=${puid}`, { headers: { Cookie: `tw_id=${cookie}` } })).status,
    ).toBe(200);
  }
  for (const cookie of [a, b]) {
    const d1 = shardBindings(env)[shardOf(set, cookie)];
    await d1
      .prepare("insert into events (site_id, cookie_id, type, ts, received_at) values (?, ?, 'pageview', ?, ?)")
      .bind(site.siteId, cookie, now, now)
      .run();
    await d1
      .prepare(
        "insert into exposures (site_id, rule_id, cookie_id, holdout, placement, first_ts) values (?, 7, ?, 0, 'slot', ?)",
      )
      .bind(site.siteId, cookie, now)
      .run();
  }
  for (const k of set) {
    await shardBindings(env)
      [k].prepare("insert into person_caps (site_id, holder, day, rule_id, count) values (?, 'c:C-1', 1, 7, 2)")
      .bind(site.siteId)
      .run();
  }
  return { ...site, a, b };
}

describe("erasure on a shard set", () => {
  it("erases a customer from every shard of the set, HOME's codes, and tombstones it everywhere", async () => {
    const set = [0, 1, 2, 3];
    const p = await personOn(set);
    // The setup is what the erasure must undo: rows on several shards.
    expect(total(await countsByDatabase("visitors", p.siteId))).toBe(2);
    expect(total(await countsByDatabase("id_links", p.siteId))).toBe(2);
    expect((await countsByDatabase("person_codes", p.siteId)).shards).toEqual([1, 1, 1, 1]);
    expect(total(await countsByDatabase("customers", p.siteId))).toBeGreaterThanOrEqual(2);

    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: p.apiKey })).status).toBe(204);
    for (const table of [
      "customers",
      "visitors",
      "id_links",
      "events",
      "decision_rows",
      "person_codes",
      "person_caps",
    ]) {
      expect(total(await countsByDatabase(table, p.siteId)), table).toBe(0);
    }
    const exposures = await Promise.all(
      [p.a, p.b].map((cookie) =>
        shardBindings(env)
          [shardOf(set, cookie)].prepare("select cookie_id from exposures where site_id = ?")
          .bind(p.siteId)
          .all<{ cookie_id: string }>(),
      ),
    );
    for (const { results } of exposures) for (const row of results) expect(row.cookie_id).toMatch(/^erased:/);
    const coupon = await env.DB.prepare("select holder, cookie_id, customer_id from coupons where site_id = ?")
      .bind(p.siteId)
      .first();
    expect(coupon).toEqual({ holder: null, cookie_id: null, customer_id: null });
    // Tombstones: HOME (the claim checks it there) and every shard (queued writes check theirs).
    const tombstones = await countsByDatabase("erasures", p.siteId);
    expect(tombstones).toEqual({ home: 3, shards: [3, 3, 3, 3] });
    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: p.apiKey })).status).toBe(404);
  });

  it("erases the person's audience and webhook memberships on every shard and tells networks to remove their IDs", async () => {
    const set = [0, 1, 2, 3];
    const p = await personOn(set);
    const home = async (sql: string, ...params: unknown[]) =>
      (
        await env.DB.prepare(sql)
          .bind(...params)
          .first<{ id: number }>()
      )?.id as number;
    const audience = await home(
      "insert into audiences (site_id, name, kind) values (?, 'a', 'new_customers') returning id",
      p.siteId,
    );
    const segment = await home(
      "insert into segments (site_id, name, expression) values (?, 's', 'visits >= 1000') returning id",
      p.siteId,
    );
    const webhook = await home(
      "insert into webhooks (site_id, url, segment_id) values (?, 'https://hook.example/', ?) returning id",
      p.siteId,
      segment,
    );
    const shards = shardBindings(env);
    const onA = shards[shardOf(set, p.a)];
    await onA
      .prepare("insert into audience_members (audience_id, visitor_id, cookie_id) values (?, 1, ?)")
      .bind(audience, p.a)
      .run();
    await shards[shardOf(set, "C-1")]
      .prepare("insert into audience_customer_members (audience_id, customer_row_id, customer_id) values (?, 1, 'C-1')")
      .bind(audience)
      .run();
    for (const member of [`v:${p.a}`, "c:C-1"]) {
      await onA
        .prepare("insert into webhook_memberships (webhook_id, member, entered_at) values (?, ?, 1)")
        .bind(webhook, member)
        .run();
    }
    // What networks were told: the cookie in tw space on one shard, its partner ID on another.
    await shards[0]
      .prepare(
        "insert into audience_space_members (audience_id, id_space, value) values (?, 'tw', ?), (?, 'net', 'P-a')",
      )
      .bind(audience, p.a, audience)
      .run();

    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: p.apiKey })).status).toBe(204);
    const countOn = async (d1: D1Database, table: string, column: string, id: number) =>
      (await d1.prepare(`select count(*) as n from ${table} where ${column} = ?`).bind(id).first<{ n: number }>())?.n;
    for (const d1 of shards) {
      expect(await countOn(d1, "audience_members", "audience_id", audience)).toBe(0);
      expect(await countOn(d1, "audience_customer_members", "audience_id", audience)).toBe(0);
      expect(await countOn(d1, "webhook_memberships", "webhook_id", webhook)).toBe(0);
      expect(await countOn(d1, "audience_space_members", "audience_id", audience)).toBe(0);
    }
    const removes = await shards[0]
      .prepare("select id_space, op, value from audience_changes where audience_id = ? order by id_space")
      .bind(audience)
      .all();
    expect(removes.results).toEqual([
      { id_space: "net", op: "remove", value: "P-a" },
      { id_space: "tw", op: "remove", value: p.a },
    ]);
  });

  it("erases one cookie of a customer and keeps the customer and its other cookie", async () => {
    const set = [0, 1, 2, 3];
    const p = await personOn(set);
    expect((await call(`/api/v1/visitors/${p.a}`, { method: "DELETE", key: p.apiKey })).status).toBe(204);
    const where = (d1: D1Database, table: string, cookie: string) =>
      d1
        .prepare(`select count(*) as n from ${table} where site_id = ? and cookie_id = ?`)
        .bind(p.siteId, cookie)
        .first<{ n: number }>();
    for (const table of ["visitors", "events", "decision_rows"]) {
      expect((await where(shardBindings(env)[shardOf(set, p.a)], table, p.a))?.n, table).toBe(0);
      expect((await where(shardBindings(env)[shardOf(set, p.b)], table, p.b))?.n, table).toBe(1);
    }
    // a's partner link is gone from the shard of its partner ID; b's stays.
    expect(total(await countsByDatabase("id_links", p.siteId))).toBe(1);
    const own = await shardBindings(env)
      [shardOf(set, "C-1")].prepare(
        "select count(*) as n from customers where site_id = ? and customer_id = 'C-1' and not copy",
      )
      .bind(p.siteId)
      .first<{ n: number }>();
    expect(own?.n).toBe(1);
    // The customer's caps and codes are the customer's, not the erased cookie's.
    expect((await countsByDatabase("person_caps", p.siteId)).shards).toEqual([1, 1, 1, 1]);
    expect((await call(`/api/v1/visitors/${p.a}`, { method: "DELETE", key: p.apiKey })).status).toBe(404);
  });

  it("erases the browser that opts out (/optout) from its cookie's shard and tombstones it there and in HOME", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSite(set, { allowed_origins: [SHOP] });
    const first = await postEvents({ site: site.siteKey, events: [event("page")] });
    const cookie = cookieIdOf(first) ?? "";
    const proof = /tw_idp=([A-Za-z0-9_-]+)/.exec(first.headers.get("Set-Cookie") ?? "")?.[1] ?? "";
    const d1 = shardBindings(env)[shardOf(set, cookie)];
    // The visitor row on its shard (whichever writer put it there), and a partner link.
    await d1
      .prepare(
        "insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at) values (?, ?, 1, 1) on conflict do nothing",
      )
      .bind(site.siteId, cookie)
      .run();
    const res = await call(`/optout?site=${site.siteKey}`, { headers: { Cookie: `tw_id=${cookie}; tw_idp=${proof}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("has been erased");
    const count = async (db: D1Database, sql: string) =>
      (await db.prepare(sql).bind(site.siteId, cookie).first<{ n: number }>())?.n;
    expect(await count(d1, "select count(*) as n from visitors where site_id = ? and cookie_id = ?")).toBe(0);
    const tombstone = "select count(*) as n from erasures where site_id = ? and kind = 'cookie' and subject = ?";
    expect(await count(d1, tombstone)).toBe(1);
    expect(await count(env.DB, tombstone)).toBe(1);
  });

  it("touches no shard outside a [1,3] set", async () => {
    const p = await personOn([1, 3]);
    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: p.apiKey })).status).toBe(204);
    const tombstones = await countsByDatabase("erasures", p.siteId);
    expect(tombstones.shards[0]).toBe(0);
    expect(tombstones.shards[2]).toBe(0);
    expect(tombstones.shards[1]).toBe(3);
    expect(tombstones.shards[3]).toBe(3);
    expect(total(await countsByDatabase("visitors", p.siteId))).toBe(0);
  });
});
