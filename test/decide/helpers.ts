/**
 * Calling `/b` and `/c` as networks do, through the Worker's own fetch handler, and waiting for
 * the work it does after the response (the impression write) so tests can read it back. Without
 * the queue binding the impression is written directly; the queue path has its own test.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { holdoutBucket } from "../../worker/decide/choose";
import worker from "../../worker/index";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { BASE, call, createTestSite } from "../fixtures/api";

export const directEnv = { ...env, EVENTS_QUEUE: undefined } as unknown as Env;

export async function fetchWorker(path: string, init: RequestInit & { cookie?: string } = {}, testEnv = directEnv) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", `tw_id=${init.cookie}`);
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(path.startsWith("http") ? path : `${BASE}${path}`, { ...init, headers }),
    testEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

export type BannerJson = {
  impression: string | null;
  rule: number | null;
  creative: {
    id: number | null;
    format: string;
    width: number;
    height: number;
    body: string | Record<string, unknown>;
  };
  coupon: { code: string; expires: string } | null;
  click_url: string | null;
};

export async function bannerJson(siteKey: string, placement: string, cookie?: string, extra = "") {
  const res = await fetchWorker(`/b/${placement}?site=${siteKey}&format=json${extra}`, { cookie });
  if (res.status !== 200) throw new Error(`/b answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as BannerJson;
}

export const randomCookie = newCookieId;

/** A cookie ID that no rule's holdout (share below `share`) puts into the control group. */
export function exposedCookie(ruleIds: number[], share = 0.5): string {
  for (;;) {
    const cookie = randomCookie();
    if (ruleIds.every((id) => holdoutBucket(cookie, id) >= share)) return cookie;
  }
}

export async function siteIdOf(siteKey: string): Promise<number> {
  const row = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
  if (!row) throw new Error(`no site ${siteKey}`);
  return row.id;
}

export async function insertVisitor(
  siteId: number,
  cookieId: string,
  fields: { customerId?: string; cart?: { sku: string; qty: number }[]; cartUpdatedAt?: number; now?: number } = {},
) {
  const now = fields.now ?? Date.now();
  const cart = fields.cart ?? [];
  await env.DB.prepare(
    `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits, pageviews, cart, cart_items, cart_updated_at)
     values (?, ?, ?, ?, ?, 1, 1, ?, ?, ?)`,
  )
    .bind(
      siteId,
      cookieId,
      fields.customerId ?? null,
      now,
      now,
      JSON.stringify(cart),
      cart.reduce((n, i) => n + i.qty, 0),
      fields.cartUpdatedAt ?? null,
    )
    .run();
}

export async function insertCustomer(
  siteId: number,
  customerId: string,
  fields: { clusters?: string[]; firstOrderAt?: number | null; lastOrderAt?: number | null; orders?: number },
) {
  await env.DB.prepare(
    `insert into customers (site_id, customer_id, clusters, first_order_at, last_order_at, orders) values (?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      siteId,
      customerId,
      JSON.stringify(fields.clusters ?? []),
      fields.firstOrderAt ?? null,
      fields.lastOrderAt ?? null,
      fields.orders ?? 0,
    )
    .run();
}

export const DAY = 86_400_000;

/** A fresh site (holdout 0 unless asked) with small helpers that go through the management API. */
export async function bannerSite(settings: Record<string, unknown> = {}) {
  const { siteKey, apiKey } = await createTestSite({ holdout: 0, ...settings });
  const siteId = await siteIdOf(siteKey);
  const post = async (path: string, json: unknown, method = "POST") => {
    const res = await call(path, { method, key: apiKey, json });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: number };
  };
  return {
    siteKey,
    apiKey,
    siteId,
    creative: async (format: "html" | "svg" | "json", template: unknown, landing = "https://shop.example/landing") =>
      (
        await post("/api/v1/creatives", {
          name: `${format} creative`,
          format,
          template,
          width: 300,
          height: 250,
          landing_url: landing,
        })
      ).id,
    segment: async (expression: string) => {
      const row = await env.DB.prepare("insert into segments (site_id, name, expression) values (?, ?, ?) returning id")
        .bind(siteId, expression, expression)
        .first<{ id: number }>();
      return row!.id;
    },
    pool: async (discount = "10 %") => {
      const row = await env.DB.prepare(
        "insert into coupon_pools (site_id, name, kind, prefix, valid_days, discount) values (?, 'pool', 'list', '', 30, ?) returning id",
      )
        .bind(siteId, discount)
        .first<{ id: number }>();
      return row!.id;
    },
    codes: async (poolId: number, codes: string[]) => {
      await env.DB.batch(
        codes.map((code) =>
          env.DB.prepare("insert into coupons (site_id, pool_id, code) values (?, ?, ?)").bind(siteId, poolId, code),
        ),
      );
    },
    rule: async (input: Record<string, unknown>) =>
      (await post("/api/v1/rules", { name: "rule", placement: "slot", ...input })).id,
    fallback: async (placement: string, creativeId: number) =>
      post(`/api/v1/placements/${placement}/fallback`, { creative_id: creativeId }, "PUT"),
  };
}
