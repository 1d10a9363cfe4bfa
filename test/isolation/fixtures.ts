/**
 * Two tenants for the isolation tests: site B holds one of every resource (created through the
 * API with B's key, plus the rows the tag and the decision write), each name carrying the marker
 * B-SECRET so a leak into any answer of site A is visible; `snapshotOf` dumps every row of B.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { hashPassword } from "../../worker/auth/password";
import { peopleFor, shardBindings } from "../../worker/shards/routing";
import { event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { randomCookie } from "../fixtures/banner";

export const MARKER = "B-SECRET";

async function created(res: Response, what: string): Promise<{ id: number }> {
  if (res.status !== 201 && res.status !== 200) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: number };
}

/** `shards`: the site's shard set (README.md, "Shards"); without it, its people are in HOME. */
export async function tenantWithEverything(shards?: number[]) {
  const { siteKey, apiKey } = await createTestSite({
    allowed_origins: [SHOP],
    name: `${MARKER} shop`,
    holdout: 0,
    ...(shards ? { shards } : {}),
  });
  const siteId = await siteIdOf(siteKey);
  const post = (path: string, json: unknown, method = "POST") => call(path, { method, key: apiKey, json });
  const segment = await created(
    await post("/api/v1/segments", { name: `${MARKER} seg`, expression: "visits >= 0" }),
    "segment",
  );
  const creative = await created(
    await post("/api/v1/creatives", {
      name: `${MARKER} creative`,
      format: "html",
      template: `<p>${MARKER} {{coupon}}</p>`,
      width: 300,
      height: 250,
      landing_url: "https://b-shop.example/landing",
    }),
    "creative",
  );
  const pool = await created(
    await post("/api/v1/pools", { name: `${MARKER} pool`, kind: "list", discount: "10 %" }),
    "pool",
  );
  const codes = await call(`/api/v1/pools/${pool.id}/codes`, {
    method: "POST",
    key: apiKey,
    headers: { "Content-Type": "text/plain" },
    body: "BCODE-0001\nBCODE-0002\nBCODE-0003",
  });
  expect(codes.status).toBeLessThan(300);
  const rule = await created(
    await post("/api/v1/rules", {
      name: `${MARKER} rule`,
      placement: "slot",
      segment_id: segment.id,
      creative_id: creative.id,
      pool_id: pool.id,
    }),
    "rule",
  );
  expect((await post("/api/v1/placements/slot/fallback", { creative_id: creative.id }, "PUT")).status).toBeLessThan(
    300,
  );
  const partner = await created(await post("/api/v1/partners", { key: "net", name: `${MARKER} partner` }), "partner");
  const audience = await created(
    await post("/api/v1/audiences", { name: `${MARKER} audience`, kind: "segment", segment_id: segment.id }),
    "audience",
  );
  const webhook = await created(
    await post("/api/v1/webhooks", { url: "https://crm.b-shop.example/hook", segment_id: segment.id }),
    "webhook",
  );
  const delivery = await env.DB.prepare(
    "insert into webhook_deliveries (site_id, webhook_id, payload, status, created_at) values (?, ?, ?, 'failed', 1) returning id",
  )
    .bind(siteId, webhook.id, JSON.stringify({ marker: MARKER }))
    .first<{ id: number }>();
  const imported = await importCsv(apiKey, "customer_id,email,orders\nB-CUST,b@example.com,2");
  expect(imported.status).toBe(200);
  const cookie = randomCookie();
  expect(
    (await postEvents({ site: siteKey, events: [event("page"), await signedIdentify(apiKey, "B-CUST")] }, { cookie }))
      .status,
  ).toBe(204);
  // The identify reaches the webhook's segment through two queues (events, then webhooks): B is
  // complete once B-CUST's membership is recorded, not when a later request happens to drain them.
  // The membership is where the person is: HOME for a site there, else the person's shard.
  const memberships = async () => {
    const found = [];
    for (const d1 of [env.DB, ...shardBindings(env)]) {
      const row = await d1
        .prepare("select member from webhook_memberships where webhook_id = ?")
        .bind(webhook.id)
        .first();
      if (row) found.push(row);
    }
    return found;
  };
  await vi.waitFor(async () => expect(await memberships()).toEqual([{ member: "c:B-CUST" }]), {
    timeout: 20_000,
    interval: 100,
  });
  // …and once the webhooks queue has made its first attempt at the segment.entered delivery (the
  // next one is 30 s away: worker/webhooks/deliver.ts backoffSeconds), so B's snapshot holds still.
  await vi.waitFor(
    async () =>
      expect(
        await env.DB.prepare("select attempts from webhook_deliveries where webhook_id = ? and created_at > 1")
          .bind(webhook.id)
          .first(),
      ).toEqual({ attempts: 1 }),
    { timeout: 20_000, interval: 100 },
  );
  // Where a sync writes it (worker/sync/cookie-sync.ts): the shard of the partner user ID.
  await (await partnerLinkDb(siteId))
    .prepare(
      "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, 'net', 'PUID-B', ?, 1)",
    )
    .bind(siteId, cookie)
    .run();
  expect((await call(`/api/v1/audiences/${audience.id}/refresh`, { method: "POST", key: apiKey })).status).toBeLessThan(
    300,
  );
  const coupon = await env.DB.prepare(
    "update coupons set holder = 'c:B-CUST', customer_id = 'B-CUST', cookie_id = ?, assigned_at = 1, expires_at = 9999999999999 where site_id = ? and code = 'BCODE-0001' returning id",
  )
    .bind(cookie, siteId)
    .first<{ id: number }>();
  expect(coupon).not.toBeNull();
  // A second key (the first stays valid), so B has a key ID for the walk to aim at.
  expect((await post("/api/v1/site/keys", { revoke_others: false })).status).toBe(201);
  const keys = (await (await call("/api/v1/site/keys", { key: apiKey })).json()) as { keys: { id: number }[] };
  const secondKey = keys.keys[keys.keys.length - 1];
  const user = await env.DB.prepare(
    "insert into admin_users (site_id, email, password_hash, role) values (?, ?, ?, 'admin') returning id",
  )
    .bind(siteId, `b-admin-${siteId}@example.com`, await hashPassword("b-password-123"))
    .first<{ id: number }>();
  const product = await call("/api/v1/products", {
    method: "POST",
    key: apiKey,
    headers: { "Content-Type": "text/csv" },
    body: `sku,name\nB-SKU,${MARKER}`,
  });
  expect(((await product.json()) as { accepted: number }).accepted).toBe(1);
  return {
    siteKey,
    apiKey,
    siteId,
    cookie,
    ids: {
      product: "B-SKU",
      segment: segment.id,
      creative: creative.id,
      pool: pool.id,
      rule: rule.id,
      partner: partner.id,
      audience: audience.id,
      webhook: webhook.id,
      delivery: delivery!.id,
      key: secondKey.id,
      user: user!.id,
      customer: "B-CUST",
      code: "BCODE-0001",
    },
  };
}

export type Tenant = Awaited<ReturnType<typeof tenantWithEverything>>;

/** Every row that belongs to the site, table by table (sorted, so two dumps compare). */
/** The database holding the site's link of partner `net`'s user PUID-B (routing.ts; HOME for a site there). */
export async function partnerLinkDb(siteId: number): Promise<D1Database> {
  const shards = await env.DB.prepare("select shards from sites where id = ?")
    .bind(siteId)
    .first<string | null>("shards");
  return peopleFor(env, { shards: shards === null ? null : (JSON.parse(shards) as number[]) }, "net:PUID-B").d1;
}

/** The rows of `siteId` in one database, by table (audience and webhook rows by HOME's IDs). */
async function rowsOf(d1: D1Database, siteId: number, audiences: string, webhooks: string) {
  const tables = await d1
    .prepare(
      "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '_cf_%' and name != 'd1_migrations'",
    )
    .all<{ name: string }>();
  const rows: Record<string, unknown[]> = {};
  for (const { name } of tables.results) {
    const columns = await d1.prepare(`select name from pragma_table_info('${name}')`).all<{ name: string }>();
    const names = columns.results.map((c) => c.name);
    let where: [string, unknown] | null = null;
    if (name === "sites") where = ["id = ?1", siteId];
    else if (names.includes("site_id")) where = ["site_id = ?1", siteId];
    else if (names.includes("audience_id")) where = ["audience_id in (select value from json_each(?1))", audiences];
    else if (names.includes("webhook_id")) where = ["webhook_id in (select value from json_each(?1))", webhooks];
    if (!where) continue;
    const found = await d1.prepare(`select * from "${name}" where ${where[0]}`).bind(where[1]).all();
    rows[name] = found.results.map((r) => JSON.stringify(r)).sort();
  }
  return rows;
}

/** Every row of the site: in HOME and on every shard of the deployment (keys `shard K: table`). */
export async function snapshotOf(siteId: number): Promise<Record<string, unknown[]>> {
  const ids = async (table: string) =>
    JSON.stringify(
      (
        await env.DB.prepare(`select id from ${table} where site_id = ?`).bind(siteId).all<{ id: number }>()
      ).results.map((r) => r.id),
    );
  const [audiences, webhooks] = [await ids("audiences"), await ids("webhooks")];
  const snapshot = await rowsOf(env.DB, siteId, audiences, webhooks);
  for (const [k, d1] of shardBindings(env).entries()) {
    for (const [table, rows] of Object.entries(await rowsOf(d1, siteId, audiences, webhooks))) {
      snapshot[`shard ${k}: ${table}`] = rows;
    }
  }
  return snapshot;
}

/** Person tables a site keeps on its shards: in HOME only while the site is there (README.md, "Shards"). */
const PERSON_TABLES = [
  "visitors",
  "customers",
  "decision_rows",
  "events",
  "exposures",
  "person_codes",
  "person_caps",
  "id_links",
];

/** Nothing of the site outside its set: no shard outside it, and none of HOME's person tables, hold a row of it. */
export async function expectOnlyOnItsShards(siteId: number, set: readonly number[]) {
  const snapshot = await snapshotOf(siteId);
  for (const [key, rows] of Object.entries(snapshot)) {
    const shard = /^shard (\d+): /.exec(key);
    if (shard && !set.includes(Number(shard[1]))) expect(rows, `site ${siteId}: ${key}`).toEqual([]);
    if (!shard && PERSON_TABLES.includes(key)) expect(rows, `site ${siteId} in HOME: ${key}`).toEqual([]);
  }
  // And the site does have people where it should: the check above is not vacuous.
  const onItsShards = Object.entries(snapshot).filter(([key, rows]) => key.endsWith(": visitors") && rows.length > 0);
  return onItsShards.length;
}
