/**
 * A person as a CRM engineer reads them (`GET /api/v1/customers/:id`, `GET /api/v1/visitors/:cid`,
 * README.md, "Profiles"): the stored fields, the linked cookies or customer, the segments the
 * person matches now (the edge evaluator over each of their profiles: a person is in a segment
 * when one of their devices is, or — without a device — their CRM record alone), the audiences
 * they are in as of the last refresh, their codes with their states, consent, acquisition and
 * look-alike score.
 *
 * Hashes only: the e-mail is stored as its SHA-256 and UID2 hashes, never in clear, and that is
 * all a profile can show. Every read is scoped by site; an erased person has no rows left, so
 * their profile is a 404 like any unknown one.
 */
import { and, asc, eq, inArray, or, sql } from "drizzle-orm";
import { customerAdsConsent } from "../audiences/id-spaces";
import { couponStateOf } from "../coupons/state";
import { audiences, coupons, customers, segments, visitors } from "../db/schema";
import type { Db, Site } from "../env";
import { buildProfile, compileSegment, type Profile } from "../segments";
import type { CustomerRow, VisitorRow } from "../segments/profile";

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

function customerFields(row: CustomerRow) {
  return {
    customer_id: row.customerId,
    email_sha256: row.emailSha256,
    uid2_email: row.uid2Email,
    gender: row.gender,
    lifetime_revenue: row.lifetimeRevenue,
    orders: row.orders,
    first_order_at: iso(row.firstOrderAt),
    last_order_at: iso(row.lastOrderAt),
    coupons_redeemed: row.couponsRedeemed,
    clusters: row.clusters,
    attributes: row.attributes,
    ads_consent: row.adsConsent,
  };
}

function visitorFields(row: VisitorRow) {
  return {
    cookie_id: row.cookieId,
    customer_id: row.customerId,
    first_seen_at: iso(row.firstSeenAt),
    last_seen_at: iso(row.lastSeenAt),
    visits: row.visits,
    pageviews: row.pageviews,
    interests: row.interests,
    event_counts: row.eventCounts,
    cart: { items: row.cartItems, value: row.cartValue, updated_at: iso(row.cartUpdatedAt) },
    last_purchase_at: iso(row.lastPurchaseAt),
    consent: row.consent,
    acquisition: row.acquisition,
    lookalike_score: row.lookalikeScore,
  };
}

/** Segments one of the person's profiles matches now; a segment that no longer compiles matches nobody. */
async function segmentsNow(db: Db, siteId: number, profiles: Profile[], now: number) {
  const rows = await db
    .select({ id: segments.id, name: segments.name, expression: segments.expression })
    .from(segments)
    .where(eq(segments.siteId, siteId))
    .orderBy(asc(segments.id));
  return rows
    .filter((segment) => {
      try {
        const matches = compileSegment(segment.expression);
        return profiles.some((profile) => matches(profile, now));
      } catch {
        return false;
      }
    })
    .map(({ id, name }) => ({ id, name }));
}

/** Audiences the person is a member of as of their last refresh: through a cookie, or as a CRM customer without one. */
async function audiencesNow(db: Db, siteId: number, visitorIds: number[], customerRowId: number | null) {
  const ids = JSON.stringify(visitorIds);
  return db.all<{ id: number; name: string; kind: string }>(sql`select a.id, a.name, a.kind from ${audiences} a
    where a.site_id = ${siteId} and (
      exists (select 1 from audience_members m where m.audience_id = a.id
        and m.visitor_id in (select value from json_each(${ids})))
      or exists (select 1 from audience_customer_members cm where cm.audience_id = a.id
        and cm.customer_row_id = ${customerRowId ?? -1}))
    order by a.id`);
}

/** The codes the person holds or held: as the customer, through any of their cookies, archived ones too. */
async function codesOf(db: Db, siteId: number, cookieIds: string[], customerId: string | null, now: number) {
  const holders = [...cookieIds.map((id) => `v:${id}`), ...(customerId ? [`c:${customerId}`] : [])];
  const mine = [
    ...(holders.length > 0 ? [inArray(coupons.holder, holders)] : []),
    ...(cookieIds.length > 0 ? [inArray(coupons.cookieId, cookieIds)] : []),
    ...(customerId ? [eq(coupons.customerId, customerId)] : []),
  ];
  if (mine.length === 0) return [];
  const rows = await db
    .select()
    .from(coupons)
    .where(and(eq(coupons.siteId, siteId), or(...mine), sql`${coupons.holder} is not null`))
    .orderBy(asc(coupons.assignedAt), asc(coupons.id));
  return rows.map((row) => ({
    code: row.code,
    pool_id: row.poolId,
    rule_id: row.ruleId,
    state: couponStateOf(row, now),
    assigned_at: iso(row.assignedAt),
    expires_at: iso(row.expiresAt),
    redeemed_at: iso(row.redeemedAt),
    archived_at: iso(row.archivedAt),
    order: row.orderId,
  }));
}

/** May the customer be sent to ad networks in the e-mail spaces (README.md, "Cookie sync, audiences and webhooks"). */
async function emailExportAllowed(db: Db, site: Site, customerId: string): Promise<boolean> {
  const [row] = await db.all<{ allowed: number }>(
    sql`select ${customerAdsConsent(site)} as allowed from customers c where c.site_id = ${site.id} and c.customer_id = ${customerId}`,
  );
  return row?.allowed === 1;
}

/** The most recent look-alike score of the person's cookies (scores belong to cookies without a purchase). */
function lookalikeOf(rows: VisitorRow[]): number | null {
  const scores = rows.map((r) => r.lookalikeScore).filter((s): s is number => s != null);
  return scores.length === 0 ? null : Math.max(...scores);
}

/** How the person first arrived: the acquisition of their earliest cookie. */
function acquisitionOf(rows: VisitorRow[]): string | null {
  return [...rows].sort((a, b) => a.firstSeenAt - b.firstSeenAt)[0]?.acquisition ?? null;
}

export async function customerProfile(db: Db, site: Site, customerId: string, now: number) {
  const [customer] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.siteId, site.id), eq(customers.customerId, customerId)));
  if (!customer) return null;
  const cookies = await db
    .select()
    .from(visitors)
    .where(and(eq(visitors.siteId, site.id), eq(visitors.customerId, customerId)))
    .orderBy(asc(visitors.firstSeenAt), asc(visitors.id));
  const profiles = cookies.length > 0 ? cookies.map((v) => buildProfile(v, customer)) : [buildProfile(null, customer)];
  const cookieIds = cookies.map((v) => v.cookieId);
  return {
    customer: customerFields(customer),
    cookies: cookies.map(visitorFields),
    segments: await segmentsNow(db, site.id, profiles, now),
    audiences: await audiencesNow(
      db,
      site.id,
      cookies.map((v) => v.id),
      customer.id,
    ),
    codes: await codesOf(db, site.id, cookieIds, customerId, now),
    consent: {
      ads_consent: customer.adsConsent,
      email_export_allowed: await emailExportAllowed(db, site, customerId),
      cookies: cookies.map((v) => ({ cookie_id: v.cookieId, consent: v.consent })),
    },
    acquisition: acquisitionOf(cookies),
    lookalike_score: lookalikeOf(cookies),
  };
}

export async function visitorProfile(db: Db, site: Site, cookieId: string, now: number) {
  const [visitor] = await db
    .select()
    .from(visitors)
    .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookieId)));
  if (!visitor) return null;
  const [customer] = visitor.customerId
    ? await db
        .select()
        .from(customers)
        .where(and(eq(customers.siteId, site.id), eq(customers.customerId, visitor.customerId)))
    : [];
  return {
    visitor: visitorFields(visitor),
    customer: customer ? customerFields(customer) : null,
    segments: await segmentsNow(db, site.id, [buildProfile(visitor, customer ?? null)], now),
    audiences: await audiencesNow(db, site.id, [visitor.id], null),
    codes: await codesOf(db, site.id, [cookieId], customer?.customerId ?? null, now),
    consent: {
      cookie: visitor.consent,
      ads_consent: customer?.adsConsent ?? null,
      email_export_allowed: customer ? await emailExportAllowed(db, site, customer.customerId) : false,
    },
    acquisition: visitor.acquisition,
    lookalike_score: visitor.lookalikeScore,
  };
}
