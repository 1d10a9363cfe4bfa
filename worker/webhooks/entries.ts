/**
 * Segment entries and exits for webhooks (docs/architecture.md, "Audiences, look-alikes and webhooks"). webhook_memberships holds
 * the people inside a webhook's segment: `c:CUSTOMER_ID` for a CRM customer (with all their cookies,
 * or none — a CRM-only customer enters and leaves customer-based segments too) and `v:COOKIE_ID` for
 * a visitor linked to nobody. A customer is inside when any of their profiles matches, so two
 * devices of one person make one entry, not two.
 *
 * A sync looks at a *scope* of people: the ones an event batch, a customer import or a links import
 * touched (requestProfileCheck in worker/pipeline/producers.ts, then checkSiteWebhooks in the webhooks consumer: within seconds of
 * the event, docs/architecture.md, "Budgets and where they are measured"), or the whole site in
 * ranges (the cron's catch-up, and the baseline of a new webhook). Per scope, one D1 batch:
 *   1. INSERT ... SELECT ... RETURNING adds the people of the scope who match and were not inside
 *      (the rows it returns are exactly the entries);
 *   2. DELETE ... RETURNING drops the people of the scope who were inside and match no more.
 * Each entry and exit then becomes a `pending` delivery row first and a queue message second: a
 * crash between the two leaves a pending row that a replay sends — never a lost event. A person who
 * vanished (erased) leaves without a delivery.
 *
 * Consent binds webhooks as it binds exports and /sync (worker/privacy/consent.ts, README "Webhooks"):
 * only a profile that `mayPersonalise` makes a person match — a visitor who refused consent, or on a
 * `consent_mode: required` site one who never granted it, enters nothing — so a withdrawal drops
 * the person at the next check of their cookie and sends `segment.left`. A CRM customer without
 * any cookie is the shop's own record and matches by its CRM fields as before.
 *
 * A site on a shard set goes through entries-shards.ts: the same semantics, its people asked on
 * every shard of the set (pass `env`; without it the site's people are read in HOME).
 *
 * D1 binds at most 100 values per statement and the segment condition may use 90 of them, so every
 * other input is bound once, in the `input` CTE, and referenced from there.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { REFRESH_RANGE } from "../audiences/refresh";
import { segmentCondition } from "../audiences/segment-condition";
import { runBatch } from "../db/raw";
import { sites, webhooks } from "../db/schema";
import type { Db } from "../env";
import { logError } from "../lib/log";
import type { WebhookMessage } from "../pipeline/messages";
import { enqueueDeliveries } from "../pipeline/producers";
import { peopleOfSite, type ShardEnv } from "../shards/routing";
import { syncShardedWebhook } from "./entries-shards";
import type { Webhook } from "./store";
import { segmentExpression } from "./store";

/** Who a sync looks at. */
type Scope =
  /** These cookies (under their current key and their anonymous `v:` key) and these customers. */
  | { kind: "ids"; cookies: string[]; customers: string[] }
  /** Visitors, CRM customers or current members with row IDs in [lo, hi]. */
  | { kind: "visitors" | "customers" | "members"; lo: number; hi: number };

/** The person a profile row of `p ⋈ v ⋈ c` belongs to. */
const PERSON = sql`(case when p.cid is not null then 'c:' || p.cid else 'v:' || v.cookie_id end)`;
const SITE = sql`(select site from input)`;
const WEBHOOK = sql`(select webhook from input)`;

function inputCte(siteId: number, webhookId: number, now: number, scope: Scope): SQL {
  const ids = scope.kind === "ids" ? scope : { cookies: [], customers: [] };
  const range = scope.kind === "ids" ? { lo: 0, hi: -1 } : scope;
  return sql`input(site, webhook, now, cookies, customers, lo, hi) as (select ${siteId}, ${webhookId}, ${now},
    ${JSON.stringify(ids.cookies)}, ${JSON.stringify(ids.customers)}, ${range.lo}, ${range.hi})`;
}

/** `scope(member)`: the people a sync looks at. */
function scopeCte(scope: Scope): SQL {
  switch (scope.kind) {
    case "ids":
      return sql`scope(member) as (
        select case when v.customer_id is not null then 'c:' || v.customer_id else 'v:' || v.cookie_id end
          from visitors v where v.site_id = ${SITE}
          and v.cookie_id in (select value from json_each((select cookies from input)))
        union select 'v:' || value from json_each((select cookies from input))
        union select 'c:' || value from json_each((select customers from input)))`;
    case "visitors":
      return sql`scope(member) as (
        select case when v.customer_id is not null then 'c:' || v.customer_id else 'v:' || v.cookie_id end
          from visitors v where v.site_id = ${SITE} and v.id between (select lo from input) and (select hi from input))`;
    case "customers":
      return sql`scope(member) as (
        select 'c:' || c.customer_id from customers c
          where c.site_id = ${SITE} and c.id between (select lo from input) and (select hi from input))`;
    case "members":
      return sql`scope(member) as (
        select member from webhook_memberships where webhook_id = ${WEBHOOK}
          and rowid between (select lo from input) and (select hi from input))`;
  }
}

/**
 * `p(vid, cid)`: every profile of the people in scope — a customer's linked visitors (or the
 * customer alone when none is linked), an unlinked visitor — as IDs, joined to `v` and `c` once.
 */
const PROFILES = sql`p(vid, cid) as (
  select v0.id, v0.customer_id from visitors v0 where v0.site_id = ${SITE}
    and v0.customer_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'c:')
  union all
  select v0.id, null from visitors v0 where v0.site_id = ${SITE} and v0.customer_id is null
    and v0.cookie_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'v:')
  union all
  select null, c0.customer_id from customers c0 where c0.site_id = ${SITE}
    and c0.customer_id in (select substr(member, 3) from scope where substr(member, 1, 2) = 'c:')
    and not exists (select 1 from visitors v1 where v1.site_id = c0.site_id and v1.customer_id = c0.customer_id))`;
const PROFILE_ROWS = sql`p left join visitors v on v.id = p.vid
  left join customers c on c.site_id = ${SITE} and c.customer_id = p.cid`;
/** `mayPersonalise` of worker/privacy/consent.ts for the visitor row `alias`. */
const consentedVisitor = (alias: string) =>
  sql.raw(`(coalesce(${alias}.consent, '') != 'denied'
  and (${alias}.consent = 'granted' or (select consent_mode from sites where id = (select site from input)) != 'required'))`);
/** The profile's visitor consented (a CRM-only customer has none and matches by CRM fields). */
const CONSENTED = sql`(p.vid is null or ${consentedVisitor("v")})`;

function withInput(siteId: number, webhookId: number, now: number, scope: Scope): SQL {
  return sql`with ${inputCte(siteId, webhookId, now, scope)}, ${scopeCte(scope)}, ${PROFILES}`;
}

/** The customer and visitor a delivery names for a member `m.member`. */
const CUSTOMER_OF = sql`(case when substr(m.member, 1, 2) = 'c:' then substr(m.member, 3) end)`;
const VISITOR_OF = sql`(case when substr(m.member, 1, 2) = 'v:' then substr(m.member, 3) else
  (select cookie_id from visitors cv where cv.site_id = ${SITE} and cv.customer_id = substr(m.member, 3)
    and ${consentedVisitor("cv")} order by cv.last_seen_at desc limit 1) end)`;
/** Still someone: an erased person leaves without a delivery. */
const EXISTS = sql`(case when substr(m.member, 1, 2) = 'v:'
  then exists (select 1 from visitors where site_id = ${SITE} and cookie_id = substr(m.member, 3))
  else exists (select 1 from customers where site_id = ${SITE} and customer_id = substr(m.member, 3))
    or exists (select 1 from visitors where site_id = ${SITE} and customer_id = substr(m.member, 3)) end)`;

/**
 * The delivery rows for entries and exits, in one transaction. The payload is stored exactly as it
 * is sent and signed; the IDs are cast so that JSON gets integers (D1 binds JS numbers as reals).
 * Each payload carries `sequence`, its delivery ID: increasing in the order the changes happened,
 * per webhook and so per member, and the same on every retry. Retries and the queue can deliver out
 * of order (a `segment.left` before the retried `segment.entered` of the same member); a receiver
 * keeps the highest sequence it applied per member and ignores a lower one (README.md, "Cookie
 * sync, audiences and webhooks"). Set in the same batch, so no delivery exists without it.
 */
async function createDeliveries(
  db: Db,
  webhook: Webhook,
  changes: { type: "segment.entered" | "segment.left"; member: string }[],
  now: number,
): Promise<number[]> {
  if (changes.length === 0) return [];
  const [inserted] = await runBatch(db, [
    sql`with ${inputCte(webhook.siteId, webhook.id, now, { kind: "ids", cookies: [], customers: [] })}
    insert into webhook_deliveries (site_id, webhook_id, payload, status, attempts, created_at)
    select ${SITE}, ${WEBHOOK},
      json_object('type', m.type, 'webhook_id', cast(${WEBHOOK} as integer),
        'segment_id', cast(${webhook.segmentId} as integer), 'visitor', ${VISITOR_OF}, 'customer', ${CUSTOMER_OF},
        'email_sha256', (select email_sha256 from customers where site_id = ${SITE} and customer_id = ${CUSTOMER_OF}),
        'at', cast((select now from input) as integer)),
      'pending', 0, (select now from input)
    from (select json_extract(value, '$.type') as type, json_extract(value, '$.member') as member
      from json_each(${JSON.stringify(changes)})) m
    where ${EXISTS}
    returning id`,
    sql`update webhook_deliveries set payload = json_set(payload, '$.sequence', id)
      where webhook_id = ${webhook.id} and status = 'pending' and json_extract(payload, '$.sequence') is null`,
  ]);
  return (inserted.results as { id: number }[]).map((r) => r.id);
}

type SyncOptions = { queue?: Queue<WebhookMessage>; notify?: boolean };
type SyncResult = { entered: number; left: number; deliveries: number[] };

/** One scope of one webhook: the entries and exits in one D1 batch, then their deliveries. */
async function syncScope(
  db: Db,
  webhook: Webhook,
  condition: SQL,
  scope: Scope,
  now: number,
  { queue, notify = true }: SyncOptions,
  total: SyncResult,
): Promise<void> {
  const head = withInput(webhook.siteId, webhook.id, now, scope);
  const [entered, left] = await runBatch(db, [
    sql`${head} insert into webhook_memberships (webhook_id, member, entered_at)
      select distinct ${WEBHOOK}, ${PERSON}, (select now from input) from ${PROFILE_ROWS} where ${condition} and ${CONSENTED}
      on conflict do nothing returning member`,
    sql`${head} delete from webhook_memberships where webhook_id = ${WEBHOOK}
      and member in (select member from scope)
      and member not in (select ${PERSON} from ${PROFILE_ROWS} where ${condition} and ${CONSENTED})
      returning member`,
  ]);
  const changes = [
    ...(entered.results as { member: string }[]).map((r) => ({ type: "segment.entered" as const, member: r.member })),
    ...(left.results as { member: string }[]).map((r) => ({ type: "segment.left" as const, member: r.member })),
  ];
  total.entered += entered.results.length;
  total.left += left.results.length;
  if (!notify || changes.length === 0) return;
  const ids = await createDeliveries(db, webhook, changes, now);
  total.deliveries.push(...ids);
  if (queue) await enqueueDeliveries(queue, ids);
}

async function rowRange(db: Db, query: SQL): Promise<{ lo: number; hi: number }> {
  const [bounds] = await db.all<{ lo: number | null; hi: number | null }>(query);
  return { lo: bounds?.lo ?? 0, hi: bounds?.hi ?? -1 };
}

/**
 * Brings the webhook's members up to date: for the given cookies and customers, or (without
 * `changed`) for the whole site — every visitor and CRM customer for entries, every member for
 * exits, range by range. `notify: false` records a baseline without deliveries.
 */
export async function syncWebhookMembers(
  db: Db,
  webhook: Webhook,
  now: number,
  {
    changed,
    range = REFRESH_RANGE,
    env,
    ...options
  }: SyncOptions & { changed?: { cookies?: string[]; customers?: string[] }; range?: number; env?: ShardEnv } = {},
): Promise<SyncResult> {
  const condition = segmentCondition(await segmentExpression(db, webhook.siteId, webhook.segmentId), now);
  // A site on a shard set (docs/architecture.md, "Shards") is synced shard by shard (entries-shards.ts).
  const [site] = env
    ? await db
        .select({ id: sites.id, shards: sites.shards, consentMode: sites.consentMode })
        .from(sites)
        .where(eq(sites.id, webhook.siteId))
    : [];
  if (env && site && site.shards !== null) {
    const people = peopleOfSite(env, site);
    return syncShardedWebhook(env, db, people, site, webhook, condition, now, { ...options, changed, range });
  }
  const total: SyncResult = { entered: 0, left: 0, deliveries: [] };
  if (changed) {
    const scope: Scope = { kind: "ids", cookies: changed.cookies ?? [], customers: changed.customers ?? [] };
    await syncScope(db, webhook, condition, scope, now, options, total);
    return total;
  }
  const siteId = webhook.siteId;
  const tables = [
    ["visitors", sql`select min(id) as lo, max(id) as hi from visitors where site_id = ${siteId}`],
    ["customers", sql`select min(id) as lo, max(id) as hi from customers where site_id = ${siteId}`],
    [
      "members",
      sql`select min(rowid) as lo, max(rowid) as hi from webhook_memberships where webhook_id = ${webhook.id}`,
    ],
  ] as const;
  for (const [kind, bounds] of tables) {
    const { lo, hi } = await rowRange(db, bounds);
    for (let start = lo; start <= hi; start += range) {
      await syncScope(db, webhook, condition, { kind, lo: start, hi: start + range - 1 }, now, options, total);
    }
  }
  return total;
}

function enabledWebhooks(db: Db, siteId: number) {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.siteId, siteId), eq(webhooks.enabled, true)));
}

/**
 * Every enabled webhook of the site, for the changed people or (without `changed`) everyone; one
 * failing webhook is logged and does not stop the others.
 */
export async function checkSiteWebhooks(
  db: Db,
  siteId: number,
  queue: Queue<WebhookMessage> | undefined,
  now: number,
  changed?: { cookies?: string[]; customers?: string[] },
  env?: ShardEnv,
) {
  for (const webhook of await enabledWebhooks(db, siteId)) {
    try {
      await syncWebhookMembers(db, webhook, now, { queue, changed, env });
    } catch (error) {
      logError("webhooks.entries_failed", { site: siteId, webhook: webhook.id, error });
    }
  }
}
