/** Rows for audience tests, written straight into D1 (the collect and import paths are other issues'). */

import { env } from "cloudflare:workers";
import { createHash } from "node:crypto";

export const T0 = Date.UTC(2026, 0, 1);

export type VisitorFields = {
  customer_id?: string | null;
  consent?: "granted" | "denied" | null;
  cart_items?: number;
  cart_updated_at?: number | null;
  last_purchase_at?: number | null;
  acquisition?: string | null;
  lookalike_score?: number | null;
};

export async function addVisitor(siteId: number, cookieId: string, fields: VisitorFields = {}) {
  await env.DB.prepare(
    `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, consent, cart_items,
       cart_updated_at, last_purchase_at, acquisition, lookalike_score)
     values (?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      siteId,
      cookieId,
      fields.customer_id ?? null,
      fields.consent ?? null,
      fields.cart_items ?? 0,
      fields.cart_updated_at ?? null,
      fields.last_purchase_at ?? null,
      fields.acquisition ?? null,
      fields.lookalike_score ?? null,
    )
    .run();
}

export async function addCustomer(
  siteId: number,
  customerId: string,
  fields: { first_order_at?: number; last_order_at?: number; orders?: number; clusters?: string[] } = {},
) {
  await env.DB.prepare(
    `insert into customers (site_id, customer_id, first_order_at, last_order_at, orders, clusters)
     values (?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      siteId,
      customerId,
      fields.first_order_at ?? null,
      fields.last_order_at ?? fields.first_order_at ?? null,
      fields.orders ?? (fields.first_order_at ? 1 : 0),
      JSON.stringify(fields.clusters ?? []),
    )
    .run();
}

export async function addLink(siteId: number, partnerKey: string, puid: string, cookieId: string, at = T0) {
  await env.DB.prepare(
    "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, ?, ?, ?, ?)",
  )
    .bind(siteId, partnerKey, puid, cookieId, at)
    .run();
}

export function cookie(n: number): string {
  return n.toString(16).padStart(32, "0");
}

export async function membersOf(audienceId: number): Promise<string[]> {
  const rows = await env.DB.prepare("select cookie_id from audience_members where audience_id = ? order by cookie_id")
    .bind(audienceId)
    .all<{ cookie_id: string }>();
  return rows.results.map((r) => r.cookie_id);
}

export function csvIds(text: string): string[] {
  const lines = text.trimEnd().split("\n");
  if (lines[0] !== "id") throw new Error(`bad CSV header: ${lines[0]}`);
  return lines.slice(1).sort();
}

/** What the import stores for an address: `email_sha256` (hex) and the UID2 hash (Base64) of `text`. */
export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
export const sha256Base64 = (text: string) => createHash("sha256").update(text).digest("base64");
