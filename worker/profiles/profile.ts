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
import { peopleFor, peopleOfSite, type ShardEnv } from "../shards/routing";

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

/**
 * Audiences the person is a member of as of their last refresh: through a cookie, or as a CRM
 * customer without one. The audiences are HOME's; their members are on the people's databases
 * (docs/architecture.md, "Shards"), each asked about the rows it holds (`visitorIds` are its own).
 */
async function audiencesNow(
  db: Db,
  siteId: number,
  parts: { db: Db; visitorIds: number[]; customerRowId: number | null }[],
) {
  const all = await db
    .select({ id: audiences.id, name: audiences.name, kind: audiences.kind })
    .from(audiences)
    .where(eq(audiences.siteId, siteId))
    .orderBy(asc(audiences.id));
  if (all.length === 0) return [];
  const ids = JSON.stringify(all.map((a) => a.id));
  const member = new Set<number>();
  for (const part of parts) {
    const rows = await part.db.all<{ id: number }>(sql`select m.audience_id as id from audience_members m
        where m.audience_id in (select value from json_each(${ids}))
          and m.visitor_id in (select value from json_each(${JSON.stringify(part.visitorIds)}))
      union select cm.audience_id from audience_customer_members cm
        where cm.audience_id in (select value from json_each(${ids})) and cm.customer_row_id = ${part.customerRowId ?? -1}`);
    for (const row of rows) member.add(row.id);
  }
  return all.filter((a) => member.has(a.id));
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

/**
 * May the customer be sent to ad networks in the e-mail spaces (README.md, "Cookie sync, audiences
 * and webhooks"). `db` holds the customer's row or its copy.
 */
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

/**
 * A CRM customer: its own row on the customer's database (docs/architecture.md, "Shards"), its
 * cookies from every database of the site's set, oldest first. `db` is HOME (segments, audiences,
 * codes).
 */
export async function customerProfile(env: ShardEnv, db: Db, site: Site, customerId: string, now: number) {
  const own = peopleFor(env, site, customerId);
  const [customer] = await own.db
    .select()
    .from(customers)
    .where(and(eq(customers.siteId, site.id), eq(customers.customerId, customerId), eq(customers.copy, false)));
  if (!customer) return null;
  const perDb = await Promise.all(
    peopleOfSite(env, site).map(async (people) => ({
      people,
      cookies: await people.db
        .select()
        .from(visitors)
        .where(and(eq(visitors.siteId, site.id), eq(visitors.customerId, customerId)))
        .orderBy(asc(visitors.firstSeenAt), asc(visitors.id)),
    })),
  );
  // Stable: within one database the ID breaks ties of first_seen_at, as it always did in HOME.
  const cookies = perDb.flatMap((p) => p.cookies).sort((a, b) => a.firstSeenAt - b.firstSeenAt);
  const profiles = cookies.length > 0 ? cookies.map((v) => buildProfile(v, customer)) : [buildProfile(null, customer)];
  const cookieIds = cookies.map((v) => v.cookieId);
  return {
    customer: customerFields(customer),
    cookies: cookies.map(visitorFields),
    segments: await segmentsNow(db, site.id, profiles, now),
    audiences: await audiencesNow(db, site.id, [
      ...perDb
        .filter((p) => p.cookies.length > 0 && p.people.d1 !== own.d1)
        .map((p) => ({ db: p.people.db, visitorIds: p.cookies.map((v) => v.id), customerRowId: null })),
      {
        db: own.db,
        visitorIds: perDb.find((p) => p.people.d1 === own.d1)?.cookies.map((v) => v.id) ?? [],
        customerRowId: customer.id,
      },
    ]),
    codes: await codesOf(db, site.id, cookieIds, customerId, now),
    consent: {
      ads_consent: customer.adsConsent,
      email_export_allowed: await emailExportAllowed(own.db, site, customerId),
      cookies: cookies.map((v) => ({ cookie_id: v.cookieId, consent: v.consent })),
    },
    acquisition: acquisitionOf(cookies),
    lookalike_score: lookalikeOf(cookies),
  };
}

/** A cookie: its rows and its customer's (own row or copy) are on the cookie's database. */
export async function visitorProfile(env: ShardEnv, db: Db, site: Site, cookieId: string, now: number) {
  const people = peopleFor(env, site, cookieId).db;
  const [visitor] = await people
    .select()
    .from(visitors)
    .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookieId)));
  if (!visitor) return null;
  const [customer] = visitor.customerId
    ? await people
        .select()
        .from(customers)
        .where(and(eq(customers.siteId, site.id), eq(customers.customerId, visitor.customerId)))
    : [];
  return {
    visitor: visitorFields(visitor),
    customer: customer ? customerFields(customer) : null,
    segments: await segmentsNow(db, site.id, [buildProfile(visitor, customer ?? null)], now),
    audiences: await audiencesNow(db, site.id, [{ db: people, visitorIds: [visitor.id], customerRowId: null }]),
    codes: await codesOf(db, site.id, [cookieId], customer?.customerId ?? null, now),
    consent: {
      cookie: visitor.consent,
      ads_consent: customer?.adsConsent ?? null,
      email_export_allowed: customer ? await emailExportAllowed(people, site, customer.customerId) : false,
    },
    acquisition: visitor.acquisition,
    lookalike_score: visitor.lookalikeScore,
  };
}
