/**
 * Webhook segment entries and exits of a site on a shard set (docs/architecture.md, "Shards"); the
 * semantics are entries.ts's, which a site in HOME keeps running as one D1 batch per scope. Here a
 * person's profiles can be on several shards (a customer's cookies each on its own), so a scope of
 * people is judged in two steps: every shard of the set says which of them match on the profiles
 * it holds, then each membership row is written where its person lives — `v:COOKIE` on the cookie's
 * shard, `c:CUSTOMER` on the customer's — and the deliveries go to HOME. Scopes are lists of at
 * most REFRESH_RANGE people, so memory stays bounded however large the site.
 */
import { type SQL, sql } from "drizzle-orm";
import { REFRESH_RANGE } from "../audiences/refresh";
import { runBatch } from "../db/raw";
import type { Db } from "../env";
import type { WebhookMessage } from "../pipeline/messages";
import { enqueueDeliveries } from "../pipeline/producers";
import { SOLE_CUSTOMER_ROW } from "../segments/query";
import { groupByShard, type PeopleDb, peopleFor, type ShardEnv, type ShardSet } from "../shards/routing";
import type { Webhook } from "./store";

export type ShardedSite = { id: number; shards: ShardSet; consentMode: "required" | "implied" };
type Result = { entered: number; left: number; deliveries: number[] };
type Change = { type: "segment.entered" | "segment.left"; member: string };

/** `mayPersonalise` (worker/privacy/consent.ts) for visitor `alias`, the site's mode bound. */
function consented(alias: string, site: ShardedSite): SQL {
  const v = sql.raw(alias);
  return sql`(coalesce(${v}.consent, '') != 'denied' and (${v}.consent = 'granted' or ${site.consentMode} != 'required'))`;
}

/** Of `persons` (`c:…`/`v:…`), those with a profile on this database that matches and consented. */
async function matchingOn(db: Db, site: ShardedSite, condition: SQL, persons: string[]): Promise<string[]> {
  const list = JSON.stringify(persons);
  const rows = await db.all<{ person: string }>(sql`with scope(member) as (select value from json_each(${list})),
    p(vid, cid) as (
      select v0.id, v0.customer_id from visitors v0 where v0.site_id = ${site.id}
        and v0.customer_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'c:')
      union all
      select v0.id, null from visitors v0 where v0.site_id = ${site.id} and v0.customer_id is null
        and v0.cookie_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'v:')
      union all
      select null, c0.customer_id from customers c0 where c0.site_id = ${site.id} and ${SOLE_CUSTOMER_ROW("c0")}
        and c0.customer_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'c:')
        and not exists (select 1 from visitors v1 where v1.site_id = c0.site_id and v1.customer_id = c0.customer_id))
    select distinct case when p.cid is not null then 'c:' || p.cid else 'v:' || v.cookie_id end as person
    from p left join visitors v on v.id = p.vid
      left join customers c on c.site_id = ${site.id} and c.customer_id = p.cid
    where (${condition}) and (p.vid is null or ${consented("v", site)})`);
  return rows.map((r) => r.person);
}

/** One scope of people: who matches anywhere, then each person's membership where it lives. */
async function syncPersons(
  env: ShardEnv,
  db: Db,
  people: readonly PeopleDb[],
  site: ShardedSite,
  webhook: Webhook,
  condition: SQL,
  persons: string[],
  now: number,
  { queue, notify = true }: { queue?: Queue<WebhookMessage>; notify?: boolean },
  total: Result,
): Promise<void> {
  if (persons.length === 0) return;
  const matched = new Set((await Promise.all(people.map((p) => matchingOn(p.db, site, condition, persons)))).flat());
  const changes: Change[] = [];
  for (const { people: owner, items } of groupByShard(env, site, [...new Set(persons)], (m) => m.slice(2))) {
    const inside = JSON.stringify(items.filter((m) => matched.has(m)));
    const scope = JSON.stringify(items);
    const [entered, left] = await runBatch(owner.db, [
      sql`insert into webhook_memberships (webhook_id, member, entered_at)
        select ${webhook.id}, value, ${now} from json_each(${inside}) where true
        on conflict do nothing returning member`,
      sql`delete from webhook_memberships where webhook_id = ${webhook.id}
        and member in (select value from json_each(${scope})) and member not in (select value from json_each(${inside}))
        returning member`,
    ]);
    changes.push(
      ...(entered.results as { member: string }[]).map((r) => ({ type: "segment.entered" as const, member: r.member })),
      ...(left.results as { member: string }[]).map((r) => ({ type: "segment.left" as const, member: r.member })),
    );
    total.entered += entered.results.length;
    total.left += left.results.length;
  }
  if (!notify || changes.length === 0) return;
  const ids = await createDeliveries(env, db, people, site, webhook, changes, now);
  total.deliveries.push(...ids);
  if (queue) await enqueueDeliveries(queue, ids);
}

/**
 * What a delivery names (entries.ts's payload): the visitor (for a customer, its most recent
 * consented cookie on any shard), the customer and its e-mail hash (its own row); an erased person
 * (no rows left) leaves without a delivery.
 */
async function createDeliveries(
  env: ShardEnv,
  db: Db,
  people: readonly PeopleDb[],
  site: ShardedSite,
  webhook: Webhook,
  changes: Change[],
  now: number,
): Promise<number[]> {
  const rows: { type: string; visitor: string | null; customer: string | null; email: string | null }[] = [];
  for (const change of changes) {
    const id = change.member.slice(2);
    if (change.member.startsWith("v:")) {
      const [visitor] = await peopleFor(env, site, id).db.all<{ one: number }>(
        sql`select 1 as one from visitors where site_id = ${site.id} and cookie_id = ${id}`,
      );
      if (visitor) rows.push({ type: change.type, visitor: id, customer: null, email: null });
      continue;
    }
    const [own] = await peopleFor(env, site, id).db.all<{ email: string | null }>(
      sql`select email_sha256 as email from customers where site_id = ${site.id} and customer_id = ${id} and not copy`,
    );
    const cookies = (
      await Promise.all(
        people.map(({ db: shard }) =>
          shard.all<{ cookie: string; seen: number; ok: number }>(sql`select cookie_id as cookie, last_seen_at as seen,
              ${consented("cv", site)} as ok from visitors cv where cv.site_id = ${site.id} and cv.customer_id = ${id}
            order by ${consented("cv", site)} desc, cv.last_seen_at desc limit 1`),
        ),
      )
    ).flat();
    if (!own && cookies.length === 0) continue;
    const best = cookies.filter((c) => c.ok).sort((a, b) => b.seen - a.seen)[0];
    rows.push({ type: change.type, visitor: best?.cookie ?? null, customer: id, email: own?.email ?? null });
  }
  if (rows.length === 0) return [];
  const [inserted] = await runBatch(db, [
    sql`insert into webhook_deliveries (site_id, webhook_id, payload, status, attempts, created_at)
    select ${site.id}, ${webhook.id},
      json_object('type', json_extract(m.value, '$.type'), 'webhook_id', cast(${webhook.id} as integer),
        'segment_id', cast(${webhook.segmentId} as integer), 'visitor', json_extract(m.value, '$.visitor'),
        'customer', json_extract(m.value, '$.customer'), 'email_sha256', json_extract(m.value, '$.email'),
        'at', cast(${now} as integer)),
      'pending', 0, ${now}
    from json_each(${JSON.stringify(rows)}) m
    returning id`,
    sql`update webhook_deliveries set payload = json_set(payload, '$.sequence', id)
      where webhook_id = ${webhook.id} and status = 'pending' and json_extract(payload, '$.sequence') is null`,
  ]);
  return (inserted.results as { id: number }[]).map((r) => r.id);
}

/**
 * The sharded counterpart of syncWebhookMembers: the changed people, or everyone — each database's
 * visitors, customers (own rows) and members, REFRESH_RANGE rows at a time.
 */
export async function syncShardedWebhook(
  env: ShardEnv,
  db: Db,
  people: readonly PeopleDb[],
  site: ShardedSite,
  webhook: Webhook,
  condition: SQL,
  now: number,
  options: {
    queue?: Queue<WebhookMessage>;
    notify?: boolean;
    changed?: { cookies?: string[]; customers?: string[] };
    range?: number;
  },
): Promise<Result> {
  const total: Result = { entered: 0, left: 0, deliveries: [] };
  const { changed, range = REFRESH_RANGE } = options;
  if (changed) {
    const persons = (changed.customers ?? []).map((id) => `c:${id}`);
    for (const { people: own, items } of groupByShard(env, site, changed.cookies ?? [], (c) => c)) {
      const rows = await own.db.all<{ person: string }>(sql`select case when customer_id is not null
          then 'c:' || customer_id else 'v:' || cookie_id end as person
        from visitors where site_id = ${site.id} and cookie_id in (select value from json_each(${JSON.stringify(items)}))`);
      persons.push(...rows.map((r) => r.person), ...items.map((c) => `v:${c}`));
    }
    await syncPersons(env, db, people, site, webhook, condition, persons, now, options, total);
    return total;
  }
  const walks = [
    sql`select id as k, case when customer_id is not null then 'c:' || customer_id else 'v:' || cookie_id end as person
      from visitors where site_id = ${site.id}`,
    sql`select id as k, 'c:' || customer_id as person from customers where site_id = ${site.id} and not copy`,
    sql`select rowid as k, member as person from webhook_memberships where webhook_id = ${webhook.id}`,
  ];
  for (const { db: shard } of people) {
    for (const walk of walks) {
      for (let after = -1; ; ) {
        const page = await shard.all<{ k: number; person: string }>(
          sql`select * from (${walk}) where k > ${after} order by k limit ${range}`,
        );
        await syncPersons(
          env,
          db,
          people,
          site,
          webhook,
          condition,
          page.map((r) => r.person),
          now,
          options,
          total,
        );
        if (page.length < range) break;
        after = (page[page.length - 1] as { k: number }).k;
      }
    }
  }
  return total;
}
