/**
 * The decision row is derived data (docs/architecture.md, "Decision rows"): after ANY sequence of
 * writes through the real writers — tag batches, identifies, server events, CRM customer and link
 * imports, claims, redemptions and rollbacks, impressions and clicks, catalogue changes, erasure,
 * look-alike scores, the cron's product affinities — the row each visitor has equals the row rebuilt from the sources, for two
 * devices of one customer and a stranger. A writer that forgets its refresh fails here.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recomputeProductAffinities } from "../../worker/catalogue/affinities";
import { deleteProduct, importProducts } from "../../worker/catalogue/products";
import { applyEventBatch } from "../../worker/collect/apply-events";
import type { TagEvent } from "../../worker/collect/event-schema";
import { couponHolder, redeemCoupon } from "../../worker/coupons";
import { claimCoupon } from "../../worker/coupons/claim";
import { rollbackCoupon } from "../../worker/coupons/redeem";
import { createDb } from "../../worker/db/client";
import { rebuildDecisionRows, rebuiltDecisionRow, type StoredDecisionRow } from "../../worker/decide/decision-rows";
import { importCustomers } from "../../worker/import/customers";
import { importLinks } from "../../worker/import/links";
import { MS_PER_DAY } from "../../worker/lib/time";
import { writeBannerMessages } from "../../worker/pipeline/impressions";
import { eraseVisitor } from "../../worker/privacy/erasure";
import { ingestServerEvents } from "../../worker/server-events/ingest";
import { peopleFor, peopleOfSite } from "../../worker/shards/routing";
import { call, OPERATOR_TOKEN } from "../fixtures/api";
import { bannerSite } from "../fixtures/banner";

// On a site spread over [0,1,2,3] these land on shards 0, 2 and 3 (worker/shards/routing.ts), and
// the customers' own rows on shards 0 (C-1) and 1 (C-2): every cross-shard copy is exercised.
const A = "a0000000000000000000000000000000";
const B = "a2000000000000000000000000000000";
const STRANGER = "a1000000000000000000000000000000";
const COOKIES = [A, B, STRANGER] as const;
const CUSTOMERS = ["C-1", "C-2"] as const;
const SKUS = ["S1", "S2", "S3"] as const;
const CATEGORIES = ["rings", "watches"] as const;

const cookie = fc.constantFrom(...COOKIES);
const customer = fc.constantFrom(...CUSTOMERS);
const sku = fc.constantFrom(...SKUS);
const category = fc.constantFrom(...CATEGORIES);

const tagEvent: fc.Arbitrary<TagEvent> = fc.oneof(
  fc.constant({ type: "page", ts: 0 } as TagEvent),
  fc.record({ sku, category }).map((props) => ({ type: "view", ts: 0, props }) as TagEvent),
  fc
    .record({ sku, category, action: fc.constantFrom("add", "remove"), qty: fc.integer({ min: 1, max: 3 }) })
    .map((props) => ({ type: "cart", ts: 0, props: { ...props, price: 10 } }) as TagEvent),
  fc.constantFrom("O-1", "O-2").map((order) => ({ type: "purchase", ts: 0, props: { order, value: 50 } }) as TagEvent),
  fc.boolean().map((granted) => ({ type: "consent", ts: 0, props: { granted } }) as TagEvent),
  fc.constant({ type: "event", ts: 0, name: "newsletter" } as TagEvent),
);

type Op =
  | { op: "events"; cookie: string; events: TagEvent[] }
  | { op: "identify"; cookie: string; customer: string }
  | { op: "server-purchase"; customer: string; value: number }
  | { op: "crm"; customer: string; revenue: number; clusters: string }
  | { op: "link"; cookie: string; customer: string }
  | { op: "claim"; cookie: string }
  | { op: "redeem"; which: number; byBrowser: boolean }
  | { op: "rollback"; which: number }
  | { op: "impression"; cookie: string; capped: boolean }
  | { op: "click"; cookie: string }
  | { op: "product"; sku: string; category: string; available: boolean }
  | { op: "delete-product"; sku: string }
  | { op: "erase"; cookie: string }
  | { op: "affinities" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("events" as const),
      cookie,
      events: fc.array(tagEvent, { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("identify" as const), cookie, customer }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("server-purchase" as const),
      customer,
      value: fc.integer({ min: 1, max: 500 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("crm" as const),
      customer,
      revenue: fc.integer({ min: 0, max: 900 }),
      clusters: fc.constantFrom("rings", "watches;rings", ""),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("link" as const), cookie, customer }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("claim" as const), cookie }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("redeem" as const), which: fc.nat(5), byBrowser: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("rollback" as const), which: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("impression" as const), cookie, capped: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("click" as const), cookie }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("product" as const), sku, category, available: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete-product" as const), sku }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("erase" as const), cookie }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("affinities" as const) }) },
);

function stream(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

type SiteSet = { id: number; shards: number[] | null };

/** The database a cookie's (or customer's) rows live on, as the routing module says. */
const dbOf = (site: SiteSet, key: string) => peopleFor(env, site, key).d1;

async function storedRow(site: SiteSet, cookieId: string): Promise<StoredDecisionRow | null> {
  return dbOf(site, cookieId)
    .prepare(
      `select cookie_id as cookieId, customer_id as customerId, visitor, customer, product, product_sku as productSku,
      top_category as topCategory, codes, converted, caps_day as capsDay, caps
     from decision_rows where site_id = ?1 and cookie_id = ?2`,
    )
    .bind(site.id, cookieId)
    .first<StoredDecisionRow>();
}

/**
 * The copies a shard keeps equal their sources (docs/architecture.md, "Shards"): every holder's
 * code copies on every database of the set that holds one of the holder's cookies (or the cookie
 * itself) equal HOME's coupons, and every customer copy equals the customer's own row.
 */
async function expectCopiesEqualSources(site: SiteSet, label: string) {
  const holders = [...COOKIES.map((c) => `v:${c}`), ...CUSTOMERS.map((c) => `c:${c}`)];
  for (const holder of holders) {
    const { results: home } = await env.DB.prepare(
      `select id as couponId, pool_id as poolId, rule_id as ruleId, code, expires_at as expiresAt, redeemed_at as redeemedAt
       from coupons where site_id = ?1 and holder = ?2 order by id`,
    )
      .bind(site.id, holder)
      .all();
    const places = holder.startsWith("v:") ? [dbOf(site, holder.slice(2))] : peopleOfSite(env, site).map((p) => p.d1);
    for (const d1 of places) {
      const { results: copy } = await d1
        .prepare(
          `select coupon_id as couponId, pool_id as poolId, rule_id as ruleId, code, expires_at as expiresAt,
             redeemed_at as redeemedAt from person_codes where site_id = ?1 and holder = ?2 order by coupon_id`,
        )
        .bind(site.id, holder)
        .all();
      expect(copy, `${label}: codes of ${holder}`).toEqual(home);
    }
  }
  const columns = `customer_id, email_sha256, gender, lifetime_revenue, orders, first_order_at, last_order_at,
    coupons_redeemed, ads_consent, clusters, attributes`;
  for (const customer of CUSTOMERS) {
    const own = await dbOf(site, customer)
      .prepare(`select ${columns} from customers where site_id = ?1 and customer_id = ?2 and copy = 0`)
      .bind(site.id, customer)
      .first();
    for (const cookie of COOKIES) {
      const linked = await dbOf(site, cookie)
        .prepare(`select ${columns} from customers c where site_id = ?1 and customer_id = ?2
          and exists (select 1 from visitors v where v.site_id = ?1 and v.cookie_id = ?3 and v.customer_id = c.customer_id)`)
        .bind(site.id, customer, cookie)
        .first();
      if (linked) expect(linked, `${label}: ${customer} beside ${cookie.slice(0, 2)}`).toEqual(own);
    }
  }
}

async function run(ops: Op[], shards: number[] | null = null) {
  const site = await bannerSite();
  if (shards) {
    await env.DB.prepare("update sites set shards = ?2 where id = ?1").bind(site.siteId, JSON.stringify(shards)).run();
  }
  const where: SiteSet = { id: site.siteId, shards };
  const db = createDb(env.DB);
  const poolId = await site.pool();
  await site.codes(poolId, ["K1", "K2", "K3", "K4", "K5", "K6"]);
  const creative = await site.creative("html", "<p>x</p>");
  const rule = await site.rule({ creative_id: creative, pool_id: poolId, cap_per_day: 5 });
  const pool = { id: poolId, kind: "list" as const, prefix: "", validDays: 30 };
  // All within one UTC day, so that today's caps are the same day for the writers and the rebuild.
  let now = Math.floor(Date.now() / MS_PER_DAY) * MS_PER_DAY + 3_600_000;
  const claimed: string[] = [];
  let uid = 0;

  for (const step of ops) {
    now += 60_000;
    switch (step.op) {
      case "events":
        await applyEventBatch(
          env,
          where,
          step.cookie,
          step.events.map((e) => ({ ...e, ts: now })),
          now,
        );
        break;
      case "identify":
        // Identifies reach the writer only verified (collect/batch.ts checks the signature).
        await applyEventBatch(
          env,
          where,
          step.cookie,
          [{ type: "identify", ts: now, props: { customer: step.customer } }],
          now,
        );
        break;
      case "server-purchase":
        await ingestServerEvents(
          env,
          env.ARCHIVE,
          { id: site.siteId, key: site.siteKey, consentMode: "implied", shards },
          [{ type: "purchase", ts: now, customer: step.customer, props: { order: `S-${now}`, value: step.value } }],
          now,
        );
        break;
      case "crm":
        await importCustomers(
          db,
          site.siteId,
          stream(
            `customer_id,lifetime_revenue,orders,clusters,gender\n${step.customer},${step.revenue},2,${step.clusters},f\n`,
          ),
          "csv",
          now,
        );
        break;
      case "link":
        await importLinks(
          db,
          site.siteId,
          stream(`cookie_id,customer_id\n${step.cookie},${step.customer}\n`),
          "csv",
          now,
        );
        break;
      case "claim": {
        const visitor = await dbOf(where, step.cookie)
          .prepare("select customer_id, visits from visitors where site_id = ? and cookie_id = ?")
          .bind(site.siteId, step.cookie)
          .first<{ customer_id: string | null; visits: number }>();
        if (!visitor) break;
        const result = await claimCoupon(db, env, {
          shards,
          visits: visitor.visits,
          siteId: site.siteId,
          pool,
          holder: couponHolder({ customerId: visitor.customer_id, cookieId: step.cookie }),
          cookieId: step.cookie,
          customerId: visitor.customer_id,
          ruleId: rule,
          now,
        });
        if (result && !claimed.includes(result.code)) claimed.push(result.code);
        break;
      }
      case "redeem": {
        const code = claimed[step.which % Math.max(claimed.length, 1)];
        if (!code) break;
        await redeemCoupon(env, where, code, `O-${now}`, now, {
          revenue: 20,
          heldBy: step.byBrowser ? A : null,
          cookieId: step.byBrowser ? A : null,
        });
        break;
      }
      case "rollback": {
        const code = claimed[step.which % Math.max(claimed.length, 1)];
        const order = code
          ? await env.DB.prepare("select order_id from coupons where site_id = ? and code = ?")
              .bind(site.siteId, code)
              .first<string | null>("order_id")
          : null;
        if (code && order) await rollbackCoupon(env, where, code, order, now);
        break;
      }
      case "impression": {
        // The holder /b names: the customer of a linked cookie (decide/decision-path.ts).
        const linked = await dbOf(where, step.cookie)
          .prepare("select customer_id from visitors where site_id = ? and cookie_id = ?")
          .bind(site.siteId, step.cookie)
          .first<string | null>("customer_id");
        await writeBannerMessages(env, [
          {
            kind: "impression",
            siteId: site.siteId,
            uid: `imp-${site.siteId}-${uid++}`,
            placement: "slot",
            ruleId: step.capped ? rule : null,
            creativeId: creative,
            cookieId: step.cookie,
            couponId: null,
            holdout: false,
            ...(step.capped && linked ? { holder: `c:${linked}` } : {}),
            ts: now,
          },
        ]);
        break;
      }
      case "click":
        await writeBannerMessages(env, [
          {
            kind: "click",
            siteId: site.siteId,
            impressionUid: `clk-${site.siteId}-${uid++}`,
            ruleId: rule,
            cookieId: step.cookie,
            ts: now,
          },
        ]);
        break;
      case "product":
        await importProducts(
          db,
          site.siteId,
          stream(
            `sku,name,price,category,available\n${step.sku},Ring ${step.sku},99,${step.category},${step.available}\n`,
          ),
          "csv",
          now,
        );
        break;
      case "delete-product":
        await deleteProduct(db, site.siteId, step.sku, now);
        break;
      case "erase":
        await eraseVisitor(db, site.siteId, step.cookie);
        break;
      case "affinities":
        await recomputeProductAffinities(db, site.siteId, now);
        break;
    }
    for (const cookieId of COOKIES) {
      const stored = await storedRow(where, cookieId);
      const rebuilt = await rebuiltDecisionRow(dbOf(where, cookieId), site.siteId, cookieId, now);
      expect(stored, `${cookieId.slice(0, 2)} after ${JSON.stringify(step)}`).toEqual(rebuilt);
    }
    await expectCopiesEqualSources(where, `after ${JSON.stringify(step)}`);
    if (shards) {
      // Nothing of a site on shards is written to HOME's person tables (docs/architecture.md, "Shards").
      for (const table of ["visitors", "customers", "decision_rows", "person_codes", "person_caps", "exposures"]) {
        const n = await env.DB.prepare(`select count(*) as n from ${table} where site_id = ?`)
          .bind(site.siteId)
          .first<number>("n");
        expect(n, `${table} in HOME after ${JSON.stringify(step)}`).toBe(0);
      }
    }
  }
  return { site, now };
}

describe("decision rows", () => {
  it("equal the rows rebuilt from the sources after any sequence of writes, over two devices of one customer", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        await run(ops);
      }),
      {
        numRuns: 40,
        // Besides the random sequences, the ones where a write to one device must reach the
        // other device's row (customer-wide caps and codes): a sibling left stale shows at once.
        examples: [
          [
            [
              { op: "identify", cookie: A, customer: "C-1" },
              { op: "identify", cookie: B, customer: "C-1" },
              { op: "impression", cookie: A, capped: true },
              { op: "claim", cookie: B },
              { op: "impression", cookie: B, capped: true },
            ],
          ],
        ],
      },
    );
    // Forty sequences of up to 14 writes, each checked row by row: about 15 s on an idle 2-core machine.
  }, 240_000);

  it("hold on a site spread over four shards: each row equals its rebuild on its own shard, every copy its source", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        await run(ops, [0, 1, 2, 3]);
      }),
      {
        numRuns: 25,
        // The two devices of C-1 are on shards 0 and 2, C-1's own row on 0, C-2's on 1: a claim,
        // a cap or a CRM change of one device must reach the other shard's row.
        examples: [
          [
            [
              { op: "crm", customer: "C-1", revenue: 100, clusters: "rings" },
              { op: "identify", cookie: A, customer: "C-1" },
              { op: "identify", cookie: B, customer: "C-1" },
              { op: "impression", cookie: A, capped: true },
              { op: "claim", cookie: B },
              { op: "redeem", which: 0, byBrowser: false },
              { op: "crm", customer: "C-1", revenue: 300, clusters: "watches" },
              { op: "impression", cookie: B, capped: true },
            ],
          ],
        ],
      },
    );
  }, 240_000);

  it("rebuilds a site's rows in resumable steps, to the same rows the writers keep", async () => {
    const { site, now } = await run([
      { op: "events", cookie: A, events: [{ type: "view", ts: 0, props: { sku: "S1", category: "rings" } }] },
      { op: "events", cookie: B, events: [{ type: "page", ts: 0 }] },
      { op: "events", cookie: STRANGER, events: [{ type: "page", ts: 0 }] },
      { op: "identify", cookie: A, customer: "C-1" },
      { op: "claim", cookie: A },
    ]);
    const before = await Promise.all(COOKIES.map((c) => storedRow({ id: site.siteId, shards: null }, c)));
    await env.DB.prepare("delete from decision_rows where site_id = ?").bind(site.siteId).run();
    let after = 0;
    let steps = 0;
    for (;;) {
      const step = await rebuildDecisionRows(env.DB, site.siteId, after, now, 1);
      if (!step) break;
      expect(step.rows).toBe(1);
      after = step.last;
      steps++;
    }
    expect(steps).toBe(3);
    expect(await Promise.all(COOKIES.map((c) => storedRow({ id: site.siteId, shards: null }, c)))).toEqual(before);
  });
});

describe("POST /api/v1/sites/{key}/decision-rows/rebuild", () => {
  it("streams its progress to the operator, resumes from a cursor, and refuses anyone else", async () => {
    const { site } = await run([
      { op: "events", cookie: A, events: [{ type: "page", ts: 0 }] },
      { op: "events", cookie: B, events: [{ type: "page", ts: 0 }] },
    ]);
    const before = await Promise.all([A, B].map((c) => storedRow({ id: site.siteId, shards: null }, c)));
    await env.DB.prepare("delete from decision_rows where site_id = ?").bind(site.siteId).run();
    const path = `/api/v1/sites/${site.siteKey}/decision-rows/rebuild`;
    expect((await call(path, { method: "POST", key: site.apiKey })).status).toBe(401);
    const res = await call(path, { method: "POST", headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.at(-1)).toEqual({ done: true, rows: 2 });
    expect(await Promise.all([A, B].map((c) => storedRow({ id: site.siteId, shards: null }, c)))).toEqual(before);
    // Resumed after the last visitor: nothing left to do.
    const last = lines.at(-2).after as number;
    const resumed = await call(`${path}?after=${last}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect((await resumed.text()).trim()).toBe(JSON.stringify({ done: true, rows: 0 }));
    const unknown = await call("/api/v1/sites/no-such-site/decision-rows/rebuild", {
      method: "POST",
      headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(unknown.status).toBe(404);
  });
});
