/**
 * Audience refresh: recomputes an audience's members inside D1 (INSERT ... SELECT; no member
 * list passes through the Worker) and records its dated size.
 *
 * D1 limits how long one statement may run, so the visitors of a site are walked in ranges of
 * visitor IDs; each range is one batch (one transaction) that first adds the new members, then
 * removes the ones that no longer match. Consequences, by design:
 * - at every moment each visitor is either in the old or in the new list — never missing because
 *   of a half-written refresh; an interrupted refresh leaves ranges done and ranges not yet done,
 *   and running it again completes it;
 * - the result depends only on the data and `now`: a refresh run twice gives the same list.
 * CRM customers that no cookie is linked to are walked the same way over customer IDs
 * (audience_customer_members): audiences are of people, not only of cookies.
 * Then each ID space's snapshot is brought in line and the differences logged (changes.ts).
 *
 * Members live beside their people (docs/architecture.md, "Shards"): a site on a shard set is
 * refreshed on each database of its set in turn — its visitors, its CRM customers without any
 * cookie (the customer's own row with no copies elsewhere), its snapshot and change log — and the
 * size is the databases' sum (a cookie is on one shard, a customer without cookies on one).
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { runBatch } from "../db/raw";
import { audienceSizes, audiences, segments, sites } from "../db/schema";
import type { Db, Site } from "../env";
import { logError } from "../lib/log";
import { utcDayKey } from "../lib/time";
import { SOLE_CUSTOMER_ROW } from "../segments/query";
import { byBinary, keysetPages, mergeSorted } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";
import { listPartners } from "../sync/partners";
import { purgeChanges, syncSpace } from "./changes";
import { HASHED_EMAIL_SPACES } from "./id-spaces";
import { type AudienceParams, builtInCondition, NO_PURCHASE } from "./kinds";
import { segmentCondition } from "./segment-condition";
import type { Audience } from "./store";

/** Visitor IDs per refresh range: small enough for D1's per-statement limits. */
export const REFRESH_RANGE = 5_000;

/** The visitor rows every membership condition is written against. */
export const MEMBERS_FROM = sql`visitors v left join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id`;

/**
 * CRM customers no visitor is linked to, as rows of the same `v`/`c` shape (`v` all NULL, as in the
 * segment language's profiles, worker/segments/query.ts): audiences are of people, so a customer
 * who never had a cookie is a member when the condition holds for its CRM fields alone.
 */
const CUSTOMERS_ONLY_FROM = sql`customers c left join visitors v on 0`;
const UNLINKED = sql`${SOLE_CUSTOMER_ROW("c")}
  and not exists (select 1 from visitors v1 where v1.site_id = c.site_id and v1.customer_id = c.customer_id)`;

/** The audience's membership condition over `v` and `c`, with `now` bound. */
async function membershipCondition(db: Db, people: readonly PeopleDb[], audience: Audience, now: number): Promise<SQL> {
  switch (audience.kind) {
    case "segment": {
      const [segment] = await db
        .select({ expression: segments.expression })
        .from(segments)
        .where(and(eq(segments.siteId, audience.siteId), eq(segments.id, audience.segmentId ?? -1)));
      // A segment that vanished matches nobody rather than failing every cron run.
      return segment ? segmentCondition(segment.expression, now) : sql`0`;
    }
    case "lookalike":
      return lookalikeCondition(people, audience.siteId, audience.params as AudienceParams["lookalike"]);
    default:
      return builtInCondition(audience.kind, audience.params, now);
  }
}

const SCORED = sql`(${NO_PURCHASE} and v.lookalike_score is not null)`;

/**
 * Look-alikes above a threshold, or the top N by score. For top N the Nth visitor (by score, then
 * ID) is found first, so the range-by-range refresh selects exactly N with ties broken by ID. Over
 * several databases row IDs are not comparable: the Nth comes from merging every shard's visitors
 * by score, then cookie ID, read page by page (memory holds a page per shard).
 */
async function lookalikeCondition(
  people: readonly PeopleDb[],
  siteId: number,
  params: AudienceParams["lookalike"],
): Promise<SQL> {
  if ("threshold" in params) return sql`(${SCORED} and v.lookalike_score >= ${params.threshold})`;
  if (people.length === 1) {
    const [nth] = await (people[0] as PeopleDb).db.all<{ score: number; id: number }>(
      sql`select v.lookalike_score as score, v.id as id from ${MEMBERS_FROM}
        where v.site_id = ${siteId} and ${SCORED}
        order by v.lookalike_score desc, v.id asc limit 1 offset ${params.top - 1}`,
    );
    if (!nth) return SCORED;
    return sql`(${SCORED} and (v.lookalike_score > ${nth.score} or (v.lookalike_score = ${nth.score} and v.id <= ${nth.id})))`;
  }
  type Scored = { score: number; cookie: string };
  const order = (a: Scored, b: Scored) => b.score - a.score || byBinary(a.cookie, b.cookie);
  const streams = people.map(({ db }) =>
    keysetPages<Scored, Scored | null>(
      null,
      (after, limit) =>
        db.all<Scored>(sql`select v.lookalike_score as score, v.cookie_id as cookie from ${MEMBERS_FROM}
          where v.site_id = ${siteId} and ${SCORED}
            ${after ? sql`and (v.lookalike_score < ${after.score} or (v.lookalike_score = ${after.score} and v.cookie_id > ${after.cookie}))` : sql``}
          order by v.lookalike_score desc, v.cookie_id asc limit ${limit}`),
      (row) => row,
    ),
  );
  let seen = 0;
  for await (const nth of mergeSorted(streams, order)) {
    if (++seen < params.top) continue;
    return sql`(${SCORED} and (v.lookalike_score > ${nth.score} or (v.lookalike_score = ${nth.score} and v.cookie_id <= ${nth.cookie})))`;
  }
  return SCORED;
}

/**
 * Recomputes the audience's members on every database of the site's set (`people`), then its size
 * and dated size in HOME (`db`).
 */
export async function refreshAudience(
  db: Db,
  people: readonly PeopleDb[],
  audience: Audience,
  now: number,
  { range = REFRESH_RANGE }: { range?: number } = {},
): Promise<{ size: number }> {
  const condition = await membershipCondition(db, people, audience, now);
  const [site] = await db.select().from(sites).where(eq(sites.id, audience.siteId));
  const partnerKeys = (await listPartners(db, audience.siteId)).map((p) => p.key);
  let size = 0;
  for (const { db: own } of people) {
    size += await refreshOn(own, db, site, audience, condition, partnerKeys, now, range);
  }
  await db.batch([
    db.update(audiences).set({ size, refreshedAt: now }).where(eq(audiences.id, audience.id)),
    db
      .insert(audienceSizes)
      .values({ audienceId: audience.id, day: utcDayKey(now), size, ts: now })
      .onConflictDoUpdate({
        target: [audienceSizes.audienceId, audienceSizes.day],
        set: { size: sql`excluded.size`, ts: sql`excluded.ts` },
      }),
  ]);
  return { size };
}

/** One database's part of a refresh (HOME's `home` keeps the purge mark); answers its people counted. */
async function refreshOn(
  db: Db,
  home: Db,
  site: Site,
  audience: Audience,
  condition: SQL,
  partnerKeys: string[],
  now: number,
  range: number,
): Promise<number> {
  const siteId = audience.siteId;
  const [bounds] = await db.all<{ lo: number | null; hi: number | null }>(
    sql`select min(id) as lo, max(id) as hi from visitors where site_id = ${siteId}`,
  );
  const lo = bounds?.lo ?? 0;
  const hi = bounds?.hi ?? -1;
  for (let start = lo; start <= hi; start += range) {
    const end = start + range - 1;
    await runBatch(db, [
      sql`insert into audience_members (audience_id, visitor_id, cookie_id)
        select ${audience.id}, v.id, v.cookie_id from ${MEMBERS_FROM}
        where v.site_id = ${siteId} and v.id between ${start} and ${end} and ${condition}
        on conflict do nothing`,
      sql`delete from audience_members
        where audience_id = ${audience.id} and visitor_id between ${start} and ${end}
        and not exists (select 1 from ${MEMBERS_FROM}
          where v.id = audience_members.visitor_id and v.site_id = ${siteId} and ${condition})`,
    ]);
  }
  // Members outside the site's current ID span (erased visitors) go too.
  await db.run(sql`delete from audience_members
    where audience_id = ${audience.id} and (visitor_id < ${lo} or visitor_id > ${hi})`);
  await refreshCustomerMembers(db, audience, condition, range);

  for (const space of ["tw", ...HASHED_EMAIL_SPACES, ...partnerKeys]) {
    await syncSpace(db, site, audience.id, space, now);
  }
  await purgeChanges(db, home, audience.id, now);

  // Its size counts people: cookies, and CRM customers without one.
  const [{ size }] = await db.all<{ size: number }>(
    sql`select (select count(*) from audience_members where audience_id = ${audience.id})
      + (select count(*) from audience_customer_members where audience_id = ${audience.id}) as size`,
  );
  return size;
}

/** The CRM-only members, walked in customer ID ranges with the same guarantees as the visitors. */
async function refreshCustomerMembers(db: Db, audience: Audience, condition: SQL, range: number): Promise<void> {
  const siteId = audience.siteId;
  const [bounds] = await db.all<{ lo: number | null; hi: number | null }>(
    sql`select min(id) as lo, max(id) as hi from customers where site_id = ${siteId}`,
  );
  const lo = bounds?.lo ?? 0;
  const hi = bounds?.hi ?? -1;
  for (let start = lo; start <= hi; start += range) {
    const end = start + range - 1;
    await runBatch(db, [
      sql`insert into audience_customer_members (audience_id, customer_row_id, customer_id)
        select ${audience.id}, c.id, c.customer_id from ${CUSTOMERS_ONLY_FROM}
        where c.site_id = ${siteId} and c.id between ${start} and ${end} and ${UNLINKED} and ${condition}
        on conflict do nothing`,
      sql`delete from audience_customer_members
        where audience_id = ${audience.id} and customer_row_id between ${start} and ${end}
        and not exists (select 1 from ${CUSTOMERS_ONLY_FROM}
          where c.id = audience_customer_members.customer_row_id and c.site_id = ${siteId} and ${UNLINKED} and ${condition})`,
    ]);
  }
  await db.run(sql`delete from audience_customer_members
    where audience_id = ${audience.id} and (customer_row_id < ${lo} or customer_row_id > ${hi})`);
}

/** Every audience of a site; one failing audience is logged and does not stop the others. */
export async function refreshSiteAudiences(db: Db, people: readonly PeopleDb[], siteId: number, now: number) {
  const rows = await db.select().from(audiences).where(eq(audiences.siteId, siteId));
  const results: { id: number; size?: number; error?: string }[] = [];
  for (const audience of rows) {
    try {
      results.push({ id: audience.id, ...(await refreshAudience(db, people, audience, now)) });
    } catch (error) {
      logError("audiences.refresh_failed", { site: siteId, audience: audience.id, error });
      results.push({ id: audience.id, error: String(error) });
    }
  }
  return results;
}
