/**
 * How much of an audience each ID space reaches (`GET /api/v1/audiences/:id/reach`): of the member
 * cookies whose consent allows export, how many a network can match in `tw` (all of them: tagwerk
 * serves its own cookie), in each partner's space (cookie-synced with it), and in the hashed-e-mail
 * spaces (linked to a customer with that hash) — the honest size each destination will see, given
 * that Safari and Firefox block the third-party cookie a sync needs. `ids` is the number of
 * distinct IDs the last refresh exported in the space (one per customer in the e-mail spaces).
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db, Site } from "../env";
import { byBinary, distinctSorted, keysetPages, mergeSorted } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";
import { listPartners } from "../sync/partners";
import { consentCondition, HASHED_EMAIL_SPACES } from "./id-spaces";

export type SpaceReach = { id_space: string; members: number; share: number; ids: number };

/**
 * Over every database of the site's set (`people`): members and their consent are counted where
 * each cookie lives and added up; an e-mail hash one customer exports through cookies on several
 * shards is one ID, counted once by merging the shards' sorted snapshots.
 */
export async function audienceReach(db: Db, people: readonly PeopleDb[], site: Site, audienceId: number) {
  const consent = consentCondition(site);
  const [parts, partners, hashed] = await Promise.all([
    Promise.all(people.map(({ db: own }) => reachOn(own, site, audienceId, consent))),
    listPartners(db, site.id),
    people.length === 1 ? null : distinctHashes(people, audienceId),
  ]);
  const sum = <T>(rows: T[], key: (row: T) => string, n: (row: T) => number) => {
    const out = new Map<string, number>();
    for (const row of rows) out.set(key(row), (out.get(key(row)) ?? 0) + n(row));
    return out;
  };
  const totals = {
    members: parts.reduce((n, p) => n + (p.totals?.members ?? 0), 0),
    exportable: parts.reduce((n, p) => n + (p.totals?.exportable ?? 0), 0),
    email_sha256: parts.reduce((n, p) => n + (p.totals?.email_sha256 ?? 0), 0),
    uid2_email: parts.reduce((n, p) => n + (p.totals?.uid2_email ?? 0), 0),
  };
  const partnerRows = [
    ...sum(
      parts.flatMap((p) => p.partnerRows),
      (r) => r.space,
      (r) => r.members,
    ),
  ].map(([space, members]) => ({ space, members }));
  const idRows = [
    ...sum(
      parts.flatMap((p) => p.idRows),
      (r) => r.space,
      (r) => r.ids,
    ),
  ].map(([space, ids]) => ({
    space,
    ids: hashed?.get(space) ?? ids,
  }));
  const ids = new Map(idRows.map((r) => [r.space, r.ids]));
  const synced = new Map(partnerRows.map((r) => [r.space, r.members]));
  const total = totals?.members ?? 0;
  const reach = (space: string, count: number): SpaceReach => ({
    id_space: space,
    members: count,
    share: total === 0 ? 0 : Math.round((count / total) * 1000) / 1000,
    ids: ids.get(space) ?? 0,
  });
  return {
    members: total,
    spaces: [
      reach("tw", totals?.exportable ?? 0),
      ...partners.map((p) => reach(p.key, synced.get(p.key) ?? 0)),
      reach("email_sha256", totals?.email_sha256 ?? 0),
      reach("uid2_email", totals?.uid2_email ?? 0),
    ],
  };
}

/** One database's counts of the audience's members (see the module header). */
async function reachOn(db: Db, site: Site, audienceId: number, consent: SQL) {
  const [[totals], partnerRows, idRows] = await Promise.all([
    db.all<{ members: number; exportable: number; email_sha256: number; uid2_email: number }>(sql`
      select count(*) as members,
        coalesce(sum(case when ${consent} then 1 else 0 end), 0) as exportable,
        coalesce(sum(case when ${consent} and c.email_sha256 is not null then 1 else 0 end), 0) as email_sha256,
        coalesce(sum(case when ${consent} and c.uid2_email is not null then 1 else 0 end), 0) as uid2_email
      from audience_members m join visitors v on v.id = m.visitor_id
        left join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id
      where m.audience_id = ${audienceId} and v.site_id = ${site.id}`),
    db.all<{ space: string; members: number }>(sql`
      select l.partner_key as space, count(distinct m.visitor_id) as members
      from audience_members m join visitors v on v.id = m.visitor_id
        join id_links l on l.site_id = ${site.id} and l.cookie_id = m.cookie_id
      where m.audience_id = ${audienceId} and v.site_id = ${site.id} and ${consent}
      group by l.partner_key`),
    db.all<{ space: string; ids: number }>(sql`
      select id_space as space, count(*) as ids from audience_space_members
      where audience_id = ${audienceId} group by id_space`),
  ]);
  return { totals, partnerRows, idRows };
}

/** The distinct IDs of each e-mail space over several databases: their sorted snapshots merged. */
async function distinctHashes(people: readonly PeopleDb[], audienceId: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const space of HASHED_EMAIL_SPACES) {
    const streams = people.map(({ db }) =>
      keysetPages(
        "",
        async (after, limit) =>
          (
            await db.all<{ value: string }>(sql`select value from audience_space_members
              where audience_id = ${audienceId} and id_space = ${space} and value > ${after}
              order by value limit ${limit}`)
          ).map((r) => r.value),
        (value) => value,
      ),
    );
    let n = 0;
    for await (const _ of distinctSorted(mergeSorted(streams, byBinary), (a, b) => a === b)) n++;
    counts.set(space, n);
  }
  return counts;
}
