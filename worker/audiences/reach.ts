/**
 * How much of an audience each ID space reaches (`GET /api/v1/audiences/:id/reach`): of the member
 * cookies whose consent allows export, how many a network can match in `tw` (all of them: tagwerk
 * serves its own cookie), in each partner's space (cookie-synced with it), and in the hashed-e-mail
 * spaces (linked to a customer with that hash) — the honest size each destination will see, given
 * that Safari and Firefox block the third-party cookie a sync needs. `ids` is the number of
 * distinct IDs the last refresh exported in the space (one per customer in the e-mail spaces).
 */
import { sql } from "drizzle-orm";
import type { Db, Site } from "../env";
import { listPartners } from "../sync/partners";
import { consentCondition } from "./id-spaces";

export type SpaceReach = { id_space: string; members: number; share: number; ids: number };

export async function audienceReach(db: Db, site: Site, audienceId: number) {
  const consent = consentCondition(site);
  const [[totals], partnerRows, idRows, partners] = await Promise.all([
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
    listPartners(db, site.id),
  ]);
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
