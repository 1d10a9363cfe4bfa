/**
 * Erasure of personal data (GDPR Art. 17): a visitor (one `tw_id` cookie ID) or a CRM customer with
 * every cookie ID linked to it. Everything goes out as ONE D1 batch (a transaction): an erasure is
 * complete or did not happen, never half applied.
 *
 * What happens to each table (SECURITY.md repeats this):
 * - visitors, events, id_links (partner IDs), cap_counters, audience_members, the person's
 *   webhook_memberships and the customer row: deleted;
 * - raw events archived in R2: an `archive_sweeps` row names the cookies, and the sweep run after
 *   the erasure (and resumed by the cron until done) rewrites the objects without their lines
 *   (worker/archive/sweeps.ts);
 * - coupons held by the subject (`v:COOKIE` / `c:CUSTOMER`) and not redeemed: released (holder, cookie, customer, assignment and expiry
 *   cleared), so the code is free for someone else — the pool does not shrink by an erasure;
 * - coupons redeemed: anonymised (holder becomes `erased:ID`, cookie and customer nulled); the
 *   redemption time and order stay, so redemption counts and reports stay right;
 * - impressions and clicks: cookie ID nulled (counts stay); rule_conversions: the cookie ID is
 *   replaced by `erased:ROWID` (the column is part of a unique key; counts and revenue stay);
 * - webhook deliveries whose payload names a cookie ID or the customer: payload replaced, pending
 *   ones failed;
 * - rejected_events sent by the subject's cookies, or naming the customer (by the hash in
 *   customer_ref, worker/collect/scrub.ts): deleted.
 *
 * - erasures: a tombstone per erased cookie ID (and customer ID), so that messages already queued
 *   (event batches, impressions, clicks) never recreate what was erased — their writes check it.
 * - audience exports: each ID of the subject a network was told (cookie ID, partner IDs, and for a
 *   customer its e-mail hashes) becomes one `remove` change so the next delta export takes it off
 *   the network's list; earlier change rows naming those IDs are deleted (worker/audiences/changes.ts).
 *
 * The statements select the cookie IDs with subqueries over visitors, so the set is read inside
 * the same transaction as the deletes; visitors are deleted last for that reason.
 */
import { erasureChangeStatements } from "../audiences/changes";
import { customerRef } from "../collect/scrub";
import { type D1Like, preparedAll, toD1 } from "../db/raw";
import { siblingRefreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";

/** `?1` = site ID; the cookie IDs of the subject are `COOKIES` (a subquery with ?2). */
// The cookie itself, visitor row or not: a tw_id minted by /sync has partner links and no visitor.
const BY_COOKIE = "select ?2 as cookie_id";
const BY_CUSTOMER = "select cookie_id from visitors where site_id = ?1 and customer_id = ?2";

/** `customer`: the SQL of the erased customer ID (`?2`), or `null` when one cookie is erased. */
function statements(
  d1: D1Like,
  siteId: number,
  subject: string,
  cookies: string,
  holders: string,
  customer: "?2" | "null",
) {
  const s = (query: string) =>
    d1.prepare(query.replaceAll("COOKIES", cookies).replaceAll("CUSTOMER", customer)).bind(siteId, subject);
  return [
    // First: they read the id_links and the customer row that the statements below delete.
    ...erasureChangeStatements(cookies === BY_CUSTOMER).map(s),
    s(
      `insert into erasures (site_id, kind, subject, erased_at)
       select ?1, 'cookie', cookie_id, cast(unixepoch('subsecond') * 1000 as integer) from (COOKIES) where true
       on conflict do nothing`,
    ),
    // Existing rows only: raw events are archived in R2 now (docs/architecture.md, "Raw event archive").
    s("delete from events where site_id = ?1 and cookie_id in (COOKIES)"),
    // The archive's lines of these cookies go in a sweep after this batch (worker/archive/sweeps.ts),
    // from the first day any of them was seen. A cookie with no visitor row has no archived lines
    // yet; a batch of it still queued asks for its own sweep (archiveErasureGuard).
    s(
      `insert into archive_sweeps (site_id, cookies, from_day, created_at)
       select ?1, json_group_array(cookie_id), strftime('%Y-%m-%d', min(first_seen_at) / 1000, 'unixepoch'),
         cast(unixepoch('subsecond') * 1000 as integer)
       from visitors where site_id = ?1 and cookie_id in (COOKIES) having count(*) > 0`,
    ),
    s("delete from id_links where site_id = ?1 and cookie_id in (COOKIES)"),
    s("delete from person_caps where site_id = ?1 and holder in (select 'v:' || cookie_id from (COOKIES))"),
    s("delete from decision_rows where site_id = ?1 and cookie_id in (COOKIES)"),
    s(
      "delete from audience_members where audience_id in (select id from audiences where site_id = ?1) and cookie_id in (COOKIES)",
    ),
    s(
      // ?2 named even when CUSTOMER is null: D1 refuses a statement bound with more parameters than it uses.
      "delete from audience_customer_members where audience_id in (select id from audiences where site_id = ?1) and customer_id = CUSTOMER and ?2 is not null",
    ),
    s(
      `delete from webhook_memberships where webhook_id in (select id from webhooks where site_id = ?1)
       and (member in (select 'v:' || cookie_id from (COOKIES)) or member = 'c:' || CUSTOMER)`,
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
    // Uplift keeps counting the person, under an ID that names no one.
    s("update exposures set cookie_id = 'erased:' || rowid where site_id = ?1 and cookie_id in (COOKIES)"),
    s(
      `update webhook_deliveries set payload = '{"erased":true}',
       status = case status when 'pending' then 'failed' else status end,
       last_error = case status when 'pending' then 'erased' else last_error end
       where site_id = ?1 and (exists (select 1 from (COOKIES) k where instr(webhook_deliveries.payload, k.cookie_id) > 0)
         or (CUSTOMER is not null and instr(payload, '"customer":' || json_quote(CUSTOMER)) > 0))`,
    ),
  ];
}

/** How many rows named the subject: `rejected` counts too, a browser whose every event was refused has no visitor row. */
export type ErasureResult = { visitors: number; customers: number; rejected: number };

/** Erases one visitor by cookie ID. Returns how many visitor rows existed (0 or 1). */
export async function eraseVisitor(db: Db, siteId: number, cookieId: string): Promise<ErasureResult> {
  const d1 = toD1(db);
  const holders = "holder = 'v:' || ?2";
  const results = await d1.batch([
    // The tombstone stands even when the visitor row does not exist yet (its batch is still queued).
    d1
      .prepare(
        `insert into erasures (site_id, kind, subject, erased_at) values (?1, 'cookie', ?2, ?3) on conflict do nothing`,
      )
      .bind(siteId, cookieId, Date.now()),
    ...statements(d1, siteId, cookieId, BY_COOKIE, holders, "null"),
    // The customer's other cookies counted this one's caps and conversions: their rows again.
    ...preparedAll(d1, siblingRefreshStatements(siteId, cookieId, Date.now())),
    // By the cookie itself: a browser whose every event was refused has no visitor row.
    d1.prepare("delete from rejected_events where site_id = ?1 and cookie_id = ?2").bind(siteId, cookieId),
    d1.prepare("delete from visitors where site_id = ?1 and cookie_id = ?2").bind(siteId, cookieId),
    // The sibling refresh above rewrote this cookie's row too, while its visitor still stood.
    d1.prepare("delete from decision_rows where site_id = ?1 and cookie_id = ?2").bind(siteId, cookieId),
  ]);
  return { visitors: results.at(-2)?.meta.changes ?? 0, customers: 0, rejected: results.at(-3)?.meta.changes ?? 0 };
}

/** Erases a CRM customer and every visitor linked to it. */
export async function eraseCustomer(db: Db, siteId: number, customerId: string): Promise<ErasureResult> {
  const d1 = toD1(db);
  const holders = `holder = 'c:' || ?2 or customer_id = ?2 or holder in (select 'v:' || cookie_id from visitors where site_id = ?1 and customer_id = ?2)`;
  const results = await d1.batch([
    d1
      .prepare(
        `insert into erasures (site_id, kind, subject, erased_at) values (?1, 'customer', ?2, ?3) on conflict do nothing`,
      )
      .bind(siteId, customerId, Date.now()),
    ...statements(d1, siteId, customerId, BY_CUSTOMER, holders, "?2"),
    d1
      .prepare(
        `delete from rejected_events where site_id = ?1
         and (customer_ref = ?3 or cookie_id in (${BY_CUSTOMER}))`,
      )
      .bind(siteId, customerId, await customerRef(siteId, customerId)),
    d1.prepare("delete from customers where site_id = ?1 and customer_id = ?2").bind(siteId, customerId),
    d1.prepare("delete from visitors where site_id = ?1 and customer_id = ?2").bind(siteId, customerId),
  ]);
  return {
    visitors: results.at(-1)?.meta.changes ?? 0,
    customers: results.at(-2)?.meta.changes ?? 0,
    rejected: results.at(-3)?.meta.changes ?? 0,
  };
}
