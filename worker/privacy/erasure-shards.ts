/**
 * Erasure of a person of a site on shards (docs/architecture.md, "Shards"; what goes from which
 * table is worker/privacy/erasure.ts's list). The person's rows are spread: their cookies' rows on
 * the cookies' shards, partner links on the shards of the partner IDs, the customer's own row on
 * its shard and copies wherever its cookies are, a customer's codes and caps on every shard of the
 * set. So the erasure first reads who the person is (their cookies, partner IDs and e-mail hashes,
 * from every shard), then writes one batch to HOME (tombstones, codes, impressions, clicks, webhook
 * deliveries, rejected events, and the archive sweep, where the sweep that runs after the erasure
 * reads it: worker/archive/sweeps.ts) and one to every shard of the set (tombstones,
 * then every person table). Each batch is a transaction; no transaction spans two databases, so an
 * erasure cut short part-way is completed by erasing again (every statement is idempotent, and the
 * HOME tombstone already stops claims, the shard tombstones the queued writes).
 *
 * Every shard of the set gets the same statements with the person's IDs bound: a table keyed by a
 * cookie holds nothing of them on the other shards, and sending the same batch everywhere is what
 * reaches copies and links wherever they are. The site's audiences and webhooks are HOME's: their
 * IDs are bound too, since a shard has no audiences or webhooks table to select them from.
 */
import { BUILT_IN_SPACES } from "../audiences/id-spaces";
import { customerRef } from "../collect/scrub";
import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

type Site = { id: number; shards: ShardSet };
export type ShardedErasureResult = { visitors: number; customers: number; rejected: number };

/** Who is erased, as bound values: `{name}` in a statement's text is replaced by its `?N`. */
type Subject = {
  site: number;
  /** JSON array of the cookie IDs. */
  cookies: string;
  /** JSON array of the holders (`v:COOKIE`, `c:CUSTOMER`). */
  holders: string;
  customer: string | null;
  /** JSON arrays of the site's audience and webhook IDs (HOME's). */
  audiences: string;
  webhooks: string;
  /** JSON array of [partner key, partner user ID] of the cookies. */
  links: string;
  email: string | null;
  uid2: string | null;
  now: number;
};

/**
 * `{name}` placeholders to numbered parameters, binding only the values the text names: D1 refuses
 * a statement bound with more parameters than it uses. The names are this module's, never input.
 */
function statement(text: string, values: Subject | Record<string, unknown>): BoundStatement {
  const names: string[] = [];
  const sql = text.replace(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for {${name}}`);
    if (!names.includes(name)) names.push(name);
    return `?${names.indexOf(name) + 1}`;
  });
  return { text: sql, params: names.map((name) => (values as Record<string, unknown>)[name]) };
}

const COOKIES = "(select value from json_each({cookies}))";
const HOLDERS = "(select value from json_each({holders}))";

/** Tombstones of the cookies and the customer: what queued writes check in their own statements. */
const TOMBSTONES = [
  `insert into erasures (site_id, kind, subject, erased_at) select {site}, 'cookie', value, {now}
    from json_each({cookies}) where true on conflict do nothing`,
  `insert into erasures (site_id, kind, subject, erased_at) select {site}, 'customer', {customer}, {now}
    where {customer} is not null on conflict do nothing`,
];

/**
 * Every ID of the person a network was told becomes one `remove` change, earlier changes naming
 * those IDs go, and the snapshot forgets them (worker/audiences/changes.ts, erasureChangeStatements,
 * with the IDs bound instead of read from tables that may be on other shards).
 */
function audienceChangeStatements(): string[] {
  const of = (table: string) => `${table}.audience_id in (select value from json_each({audiences})) and (
    (${table}.id_space = 'tw' and ${table}.value in ${COOKIES})
    or exists (select 1 from json_each({links}) l
      where json_extract(l.value, '$[0]') = ${table}.id_space and json_extract(l.value, '$[1]') = ${table}.value)
    or (${table}.id_space = 'email_sha256' and ${table}.value = {email})
    or (${table}.id_space = 'uid2_email' and ${table}.value = {uid2}))`;
  return [
    `delete from audience_changes where ${of("audience_changes")}`,
    `insert into audience_changes (audience_id, id_space, op, value, ts)
      select audience_id, id_space, 'remove', value, {now} from audience_space_members where ${of("audience_space_members")}`,
    `delete from audience_space_members where ${of("audience_space_members")}`,
  ];
}

/** The statements for each shard of the set; the visitor and own-customer deletes are counted. */
function shardStatements(): string[] {
  return [
    ...TOMBSTONES,
    ...audienceChangeStatements(),
    `delete from events where site_id = {site} and cookie_id in ${COOKIES}`,
    `delete from id_links where site_id = {site} and cookie_id in ${COOKIES}`,
    `delete from person_caps where site_id = {site} and holder in ${HOLDERS}`,
    `delete from person_codes where site_id = {site} and holder in ${HOLDERS}`,
    `delete from audience_members where audience_id in (select value from json_each({audiences}))
      and cookie_id in ${COOKIES}`,
    `delete from audience_customer_members where audience_id in (select value from json_each({audiences}))
      and customer_id = {customer}`,
    `delete from webhook_memberships where webhook_id in (select value from json_each({webhooks}))
      and (member in (select 'v:' || value from json_each({cookies})) or member = 'c:' || {customer})`,
    `update rule_conversions set cookie_id = 'erased:' || rowid where site_id = {site} and cookie_id in ${COOKIES}`,
    // Uplift keeps counting the person, under an ID that names no one.
    `update exposures set cookie_id = 'erased:' || rowid where site_id = {site} and cookie_id in ${COOKIES}`,
    `delete from customers where site_id = {site} and customer_id = {customer} and copy`,
  ];
}

/** What HOME holds of the person: codes, impressions, clicks, webhook deliveries (rejected events apart). */
function homeStatements(): string[] {
  const held = `(holder in ${HOLDERS} or customer_id = {customer})`;
  return [
    ...TOMBSTONES,
    // Audience snapshots and changes where HOME holds them (a site's before it moved to shards).
    ...audienceChangeStatements(),
    `update coupons set holder = null, cookie_id = null, customer_id = null, rule_id = null, assigned_at = null,
      expires_at = null where site_id = {site} and redeemed_at is null and ${held}`,
    `update coupons set holder = 'erased:' || id, cookie_id = null, customer_id = null
      where site_id = {site} and redeemed_at is not null and ${held}`,
    // A customer's code claimed through this cookie stays the customer's; only the cookie goes.
    `update coupons set cookie_id = null where site_id = {site} and cookie_id in ${COOKIES}`,
    `update impressions set cookie_id = null where site_id = {site} and cookie_id in ${COOKIES}`,
    `update clicks set cookie_id = null where site_id = {site} and cookie_id in ${COOKIES}`,
    `update webhook_deliveries set payload = '{"erased":true}',
      status = case status when 'pending' then 'failed' else status end,
      last_error = case status when 'pending' then 'erased' else last_error end
      where site_id = {site} and (exists (select 1 from json_each({cookies}) k where instr(webhook_deliveries.payload, k.value) > 0)
        or ({customer} is not null and instr(payload, '"customer":' || json_quote({customer})) > 0))`,
  ];
}

type Found = { cookies: Array<{ cookieId: string; firstSeenAt: number | null; customerId: string | null }> };

/** The visitor rows of `cookies`, or of every cookie of `customer`, from every shard of the set. */
async function visitorsOf(env: ShardEnv, site: Site, by: { cookie: string } | { customer: string }): Promise<Found> {
  const where = "cookie" in by ? "cookie_id = ?2" : "customer_id = ?2";
  const key = "cookie" in by ? by.cookie : by.customer;
  const databases = "cookie" in by ? [peopleFor(env, site, by.cookie)] : peopleOfSite(env, site);
  const answers = await Promise.all(
    databases.map((people) =>
      people.d1
        .prepare(
          `select cookie_id as cookieId, first_seen_at as firstSeenAt, customer_id as customerId from visitors
            where site_id = ?1 and ${where}`,
        )
        .bind(site.id, key)
        .all<Found["cookies"][number]>(),
    ),
  );
  return { cookies: answers.flatMap(({ results }) => results) };
}

/** The partner IDs of the cookies, from every shard (a link is on its partner ID's shard). */
async function partnerLinksOf(env: ShardEnv, site: Site, cookies: string[]): Promise<Array<[string, string]>> {
  const answers = await Promise.all(
    peopleOfSite(env, site).map((people) =>
      people.d1
        .prepare(
          `select partner_key, partner_user_id from id_links
            where site_id = ?1 and cookie_id in (select value from json_each(?2))`,
        )
        .bind(site.id, JSON.stringify(cookies))
        .all<{ partner_key: string; partner_user_id: string }>(),
    ),
  );
  return answers
    .flatMap(({ results }) => results)
    .filter((link) => !BUILT_IN_SPACES.has(link.partner_key))
    .map((link) => [link.partner_key, link.partner_user_id]);
}

/** Erases one cookie, or a customer with every cookie linked to it, from HOME and every shard of the set. */
export async function eraseOnShards(
  env: ShardEnv,
  site: Site,
  by: { cookie: string } | { customer: string },
): Promise<ShardedErasureResult> {
  const now = Date.now();
  const found = await visitorsOf(env, site, by);
  const cookies = "cookie" in by ? [by.cookie] : found.cookies.map((v) => v.cookieId);
  const customer = "customer" in by ? by.customer : null;
  const own =
    customer === null
      ? null
      : await peopleFor(env, site, customer)
          .d1.prepare(
            "select email_sha256, uid2_email from customers where site_id = ?1 and customer_id = ?2 and not copy",
          )
          .bind(site.id, customer)
          .first<{ email_sha256: string | null; uid2_email: string | null }>();
  const [audiences, webhooks, links] = await Promise.all([
    env.DB.prepare("select id from audiences where site_id = ?").bind(site.id).all<{ id: number }>(),
    env.DB.prepare("select id from webhooks where site_id = ?").bind(site.id).all<{ id: number }>(),
    partnerLinksOf(env, site, cookies),
  ]);
  const subject: Subject = {
    site: site.id,
    cookies: JSON.stringify(cookies),
    holders: JSON.stringify([...cookies.map((c) => `v:${c}`), ...(customer === null ? [] : [`c:${customer}`])]),
    customer,
    audiences: JSON.stringify(audiences.results.map((a) => a.id)),
    webhooks: JSON.stringify(webhooks.results.map((w) => w.id)),
    links: JSON.stringify(links),
    email: own?.email_sha256 ?? null,
    uid2: own?.uid2_email ?? null,
    now,
  };

  // HOME first: its tombstone stops a claim for the person from here on (coupons/claim.ts).
  const seen = found.cookies.filter((v) => v.firstSeenAt !== null);
  const firstSeen = seen.length > 0 ? Math.min(...seen.map((v) => v.firstSeenAt as number)) : null;
  const home = await runBatch(env.DB, [
    ...homeStatements().map((text) => statement(text, subject)),
    // The archive's lines of the cookies that have a visitor row go in a sweep after this
    // (worker/archive/sweeps.ts), from the first day any of them was seen.
    statement(
      `insert into archive_sweeps (site_id, cookies, from_day, created_at)
        select {site}, {seenCookies}, strftime('%Y-%m-%d', {firstSeen} / 1000, 'unixepoch'), {now}
        where {firstSeen} is not null`,
      { site: site.id, seenCookies: JSON.stringify(seen.map((v) => v.cookieId)), firstSeen, now },
    ),
    // By the cookie itself (a browser whose every event was refused has no visitor row), or naming
    // the customer by the hash in customer_ref (worker/collect/scrub.ts).
    statement(
      `delete from rejected_events where site_id = {site}
        and (cookie_id in (select value from json_each({cookies})) or customer_ref = {ref})`,
      { site: site.id, cookies: subject.cookies, ref: customer === null ? null : await customerRef(site.id, customer) },
    ),
  ]);

  // The customer whose other cookies counted this one's caps and conversions: their rows again.
  const linkedTo = "cookie" in by ? (found.cookies[0]?.customerId ?? null) : null;
  const refresh = linkedTo === null ? [] : refreshStatements(site.id, { customers: [linkedTo] }, now);
  const statements = [
    ...shardStatements().map((text) => statement(text, subject)),
    statement("delete from customers where site_id = {site} and customer_id = {customer} and not copy", subject),
    statement(`delete from visitors where site_id = {site} and cookie_id in ${COOKIES}`, subject),
    ...refresh,
    // After the refresh above: no row of the erased cookies is left, whatever it rewrote.
    statement(`delete from decision_rows where site_id = {site} and cookie_id in ${COOKIES}`, subject),
  ];
  const ownCustomer = shardStatements().length;
  const visitorRows = ownCustomer + 1;
  const results = await Promise.all(peopleOfSite(env, site).map((people) => runBatch(people.d1, statements)));
  return {
    visitors: results.reduce((n, batch) => n + (batch[visitorRows]?.meta.changes ?? 0), 0),
    customers: results.reduce((n, batch) => n + (batch[ownCustomer]?.meta.changes ?? 0), 0),
    rejected: home.at(-1)?.meta.changes ?? 0,
  };
}
