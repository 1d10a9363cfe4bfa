/**
 * Erasure of personal data (GDPR Art. 17): a visitor (one `tw_id` cookie ID) or a CRM customer with
 * every cookie ID linked to it. Everything goes out as ONE D1 batch (a transaction): an erasure is
 * complete or did not happen, never half applied.
 *
 * What happens to each table (SECURITY.md repeats this):
 * - visitors, events, id_links (partner IDs), cap_counters, audience_members, webhook_members and
 *   the customer row: deleted;
 * - coupons held by the subject (`v:COOKIE` / `c:CUSTOMER`) and not redeemed: released (holder, cookie, customer, assignment and expiry
 *   cleared), so the code is free for someone else — the pool does not shrink by an erasure;
 * - coupons redeemed: anonymised (holder becomes `erased:ID`, cookie and customer nulled); the
 *   redemption time and order stay, so redemption counts and reports stay right;
 * - impressions and clicks: cookie ID nulled (counts stay); rule_conversions: the cookie ID is
 *   replaced by `erased:ROWID` (the column is part of a unique key; counts and revenue stay);
 * - webhook deliveries whose payload names a cookie ID: payload replaced, pending ones failed.
 *
 * The statements select the cookie IDs with subqueries over visitors, so the set is read inside
 * the same transaction as the deletes; visitors are deleted last for that reason.
 */
import type { Db } from "../env";

/** `?1` = site ID; the cookie IDs of the subject are `COOKIES` (a subquery with ?2). */
const BY_COOKIE = "select cookie_id from visitors where site_id = ?1 and cookie_id = ?2";
const BY_CUSTOMER = "select cookie_id from visitors where site_id = ?1 and customer_id = ?2";

function statements(d1: D1Database, siteId: number, subject: string, cookies: string, holders: string) {
  const s = (query: string) => d1.prepare(query.replaceAll("COOKIES", cookies)).bind(siteId, subject);
  return [
    s("delete from events where site_id = ?1 and cookie_id in (COOKIES)"),
    s("delete from id_links where site_id = ?1 and cookie_id in (COOKIES)"),
    s("delete from cap_counters where site_id = ?1 and cookie_id in (COOKIES)"),
    s(
      "delete from audience_members where audience_id in (select id from audiences where site_id = ?1) and cookie_id in (COOKIES)",
    ),
    s(
      "delete from webhook_members where webhook_id in (select id from webhooks where site_id = ?1) and cookie_id in (COOKIES)",
    ),
    s(
      `update coupons set holder = null, cookie_id = null, customer_id = null, rule_id = null, assigned_at = null,
       expires_at = null where site_id = ?1 and redeemed_at is null and (${holders})`,
    ),
    s(
      `update coupons set holder = 'erased:' || id, cookie_id = null, customer_id = null
       where site_id = ?1 and redeemed_at is not null and (${holders})`,
    ),
    // A customer's code claimed through this cookie stays the customer's; only the cookie goes.
    s("update coupons set cookie_id = null where site_id = ?1 and cookie_id in (COOKIES)"),
    s("update impressions set cookie_id = null where site_id = ?1 and cookie_id in (COOKIES)"),
    s("update clicks set cookie_id = null where site_id = ?1 and cookie_id in (COOKIES)"),
    s("update rule_conversions set cookie_id = 'erased:' || rowid where site_id = ?1 and cookie_id in (COOKIES)"),
    s(
      `update webhook_deliveries set payload = '{"erased":true}',
       status = case status when 'pending' then 'failed' else status end,
       last_error = case status when 'pending' then 'erased' else last_error end
       where site_id = ?1 and exists (select 1 from (COOKIES) k where instr(webhook_deliveries.payload, k.cookie_id) > 0)`,
    ),
  ];
}

export type ErasureResult = { visitors: number; customers: number };

/** Erases one visitor by cookie ID. Returns how many visitor rows existed (0 or 1). */
export async function eraseVisitor(db: Db, siteId: number, cookieId: string): Promise<ErasureResult> {
  const d1 = db.$client;
  const holders = "holder = 'v:' || ?2";
  const results = await d1.batch([
    ...statements(d1, siteId, cookieId, BY_COOKIE, holders),
    d1.prepare("delete from visitors where site_id = ?1 and cookie_id = ?2").bind(siteId, cookieId),
  ]);
  return { visitors: results.at(-1)?.meta.changes ?? 0, customers: 0 };
}

/** Erases a CRM customer and every visitor linked to it. */
export async function eraseCustomer(db: Db, siteId: number, customerId: string): Promise<ErasureResult> {
  const d1 = db.$client;
  const holders = `holder = 'c:' || ?2 or customer_id = ?2 or holder in (select 'v:' || cookie_id from visitors where site_id = ?1 and customer_id = ?2)`;
  const results = await d1.batch([
    ...statements(d1, siteId, customerId, BY_CUSTOMER, holders),
    d1.prepare("delete from customers where site_id = ?1 and customer_id = ?2").bind(siteId, customerId),
    d1.prepare("delete from visitors where site_id = ?1 and customer_id = ?2").bind(siteId, customerId),
  ]);
  return { visitors: results.at(-1)?.meta.changes ?? 0, customers: results.at(-2)?.meta.changes ?? 0 };
}
