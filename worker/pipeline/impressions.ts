/**
 * Impressions and clicks are recorded after the response (`waitUntil`) through the events queue.
 * They are counters, not rows (docs/architecture.md, "Counters"): the consumer adds a delivery's
 * impressions to report_counters per (site, UTC day, placement, rule, creative, arm) and to
 * offer_counters per visitor context (what the learned arbitration reads), records a
 * person's FIRST exposure to a rule (or to its holdout) in exposures — all uplift needs — and
 * counts today's impressions of capped rules per cookie (cap_counters, read into the decision
 * row). Each of those is one set-based statement for the whole delivery, so a delivery of 5,000
 * impressions of one placement writes a handful of rows. A deployment without the queue binding
 * writes them directly, still as one batch.
 *
 * Through the queue, /b does not send one message per banner: an isolate gathers its impressions
 * and clicks and sends them as ONE message (producers.ts, bufferBannerMessage) — one `send` per
 * banner cost about a fifth of a decision's CPU (bench/RESULTS.md), and one message per group is
 * one ledger row.
 *
 * A cookie is counted only when it may be personalised and was not erased (privacy/consent.ts),
 * judged in the writing statement itself: a message queued before an erasure recreates nothing.
 *
 * Writes are idempotent, because queues deliver at least once: a group message's random ID goes
 * into applied_messages in the same transaction as its counters, and every statement skips the
 * rows of messages already applied; clicks are unique per impression UID (the clicks row), and
 * their counter moves only when that row was new.
 */
import { type D1Like, preparedAll } from "../db/raw";
import { capsRefreshStatements, refreshStatements } from "../decide/decision-rows";
import { utcDayNumber } from "../lib/time";
import { personalisableSql } from "../privacy/consent";
import { type PeopleDb, peopleFor, peopleOfSite, type ShardEnv } from "../shards/routing";
import { sitePlacements } from "../shards/site-sets";
import type { BannerGroupMessage, BannerMessage, ClickMessage, ImpressionMessage } from "./messages";

/**
 * A click is how a visitor arrived when it comes before the visitor's first visit
 * (worker/collect/acquisition.ts): it records "banner" on a visitor without an acquisition, and
 * on one whose first visit came after the click — its landing page's batch may have been applied
 * first, the queue keeps no order between the two. A click by a browser tagwerk has no row for
 * yet makes one without a visit (its first batch counts the visit), so the landing page's batch
 * finds "banner" already there; a visitor who arrived earlier keeps what it first arrived by.
 * Like every write of a queued message it is guarded: an erased or unconsented cookie gets no row.
 */
function clickAcquisition(d1: D1Like, message: ClickMessage, consentMode: string): D1PreparedStatement {
  return d1
    .prepare(
      `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, visits, acquisition)
       select ?1, ?2, ?3, ?3, 0, 'banner' where ${personalisableSql("?1", "?2", "?4")}
       on conflict (site_id, cookie_id) do update set acquisition = 'banner'
       where visitors.acquisition is null or visitors.first_seen_at >= excluded.first_seen_at`,
    )
    .bind(message.siteId, message.cookieId, message.ts, consentMode);
}

/**
 * The click on a rule's creative in its impression's visitor context (decide/offers.ts), right
 * after the clicks row: changes() is 1 only when the click was new, and this statement then
 * changes exactly one row itself, so the report counter after it still sees 1.
 */
function offerClick(d1: D1Like, message: ClickMessage): D1PreparedStatement[] {
  if (message.ruleId === null || message.holdout || !message.context) return [];
  return [
    d1
      .prepare(
        `insert into offer_counters (site_id, placement, rule_id, context, day, impressions, clicks)
         select ?1, ?2, ?3, ?4, ?5, 0, 1 where changes() = 1
         on conflict do update set clicks = clicks + 1`,
      )
      .bind(message.siteId, message.placement ?? "", message.ruleId, message.context, utcDayNumber(message.ts)),
  ];
}

/**
 * A click's row and counters, in HOME: the clicks row (unique per impression) is what makes a
 * second click on one banner count once, so it sits in the counters' transaction. It names no
 * cookie: nothing reads one there, and the cookie's shard (which knows its consent and erasure)
 * records what the click means for the person (clickAcquisition).
 */
function clickStatements(d1: D1Like, message: ClickMessage): D1PreparedStatement[] {
  return [
    d1
      .prepare(
        `insert into clicks (site_id, impression_uid, rule_id, cookie_id, ts)
         values (?1, ?2, ?3, null, ?4)
         on conflict (impression_uid) do nothing`,
      )
      .bind(message.siteId, message.impressionUid, message.ruleId, message.ts),
    ...offerClick(d1, message),
    // Right after the clicks row (or the offer counter, which changed one row exactly when the
    // clicks row was new): changes() is 1 only when this click was new.
    d1
      .prepare(
        `insert into report_counters (site_id, day, placement, rule_id, creative_id, holdout, impressions, clicks)
         select ?1, ?2, ?3, ?4, ?5, ?6, 0, 1 where changes() = 1
         on conflict do update set clicks = clicks + 1`,
      )
      .bind(
        message.siteId,
        utcDayNumber(message.ts),
        message.placement ?? "",
        message.ruleId ?? 0,
        message.creativeId ?? 0,
        message.holdout ? 1 : 0,
      ),
  ];
}

/** The impressions of `?1` (a JSON array of rows) as a table, for the set-based statements below. */
const IMPRESSION_ROWS = `(select json_extract(value, '$[0]') as uid, json_extract(value, '$[1]') as site_id,
    json_extract(value, '$[2]') as placement, json_extract(value, '$[3]') as rule_id,
    json_extract(value, '$[4]') as creative_id, json_extract(value, '$[5]') as cookie_id,
    json_extract(value, '$[6]') as capped, json_extract(value, '$[7]') as holdout,
    json_extract(value, '$[8]') as day, json_extract(value, '$[9]') as ts, json_extract(value, '$[10]') as msg,
    json_extract(value, '$[11]') as context, json_extract(value, '$[12]') as holder,
    json_extract(value, '$[13]') as consent_mode
    from json_each(?1))`;
/** Those of messages not applied yet (a redelivered group adds nothing). */
const NEW_ROWS = `(select * from ${IMPRESSION_ROWS} m
    where m.msg is null or not exists (select 1 from applied_messages a where a.id = m.msg))`;

/**
 * Placement names kept per site: more than a shop has slots, fewer than a flood of made-up names.
 * @internal Exported for its test.
 */
export const MAX_SEEN_PLACEMENTS = 200;

/** One impression on its way to the counters; `msg` is its group message's ledger ID (or null). */
type Counted = { message: ImpressionMessage; msg: number | null; consentMode: string };

/** The impressions as the JSON rows IMPRESSION_ROWS reads, a message delivered twice once. */
function impressionRows(impressions: Counted[]): string {
  const unique = [...new Map(impressions.map((c) => [c.message.uid, c])).values()];
  return JSON.stringify(
    unique.map(({ message: m, msg, consentMode }) => [
      m.uid,
      m.siteId,
      m.placement,
      m.ruleId,
      m.creativeId,
      m.cookieId,
      // Messages from before `capped` existed counted every rule's impressions.
      m.capped === false ? 0 : 1,
      m.holdout ? 1 : 0,
      utcDayNumber(m.ts),
      m.ts,
      msg,
      m.context ?? null,
      m.holder ?? (m.cookieId === null ? null : `v:${m.cookieId}`),
      consentMode,
    ]),
  );
}

/**
 * HOME's part of a delivery's impressions, three statements whatever their number: the report
 * counters, the placements seen and the offer counters per context. The empty creative's messages
 * (no rule, no creative) only mark their placement seen.
 */
function homeImpressionStatements(d1: D1Like, impressions: Counted[]): D1PreparedStatement[] {
  if (impressions.length === 0) return [];
  const rows = impressionRows(impressions);
  return [
    d1
      .prepare(
        `insert into report_counters (site_id, day, placement, rule_id, creative_id, holdout, impressions, clicks)
         select m.site_id, m.day, m.placement, coalesce(m.rule_id, 0), coalesce(m.creative_id, 0), m.holdout, count(*), 0
         from ${NEW_ROWS} m where m.rule_id is not null or m.creative_id is not null
         group by m.site_id, m.day, m.placement, coalesce(m.rule_id, 0), coalesce(m.creative_id, 0), m.holdout
         on conflict do update set impressions = impressions + excluded.impressions`,
      )
      .bind(rows),
    // Placements seen: one row per site and placement, rewritten only when its latest day moves
    // (so about once a day per placement). New names are numbered per site, so that a batch of
    // made-up ones also stops at MAX_SEEN_PLACEMENTS (the select reads the table before inserting).
    d1
      .prepare(
        `insert into placements_seen (site_id, placement, first_day, last_day)
         select w.site_id, w.placement, w.first_day, w.last_day from (
           select g.*, row_number() over (partition by g.site_id, g.known order by g.placement) as n from (
             select m.site_id, m.placement, min(m.day) as first_day, max(m.day) as last_day,
               exists (select 1 from placements_seen s where s.site_id = m.site_id and s.placement = m.placement) as known
             from ${NEW_ROWS} m where m.placement != '' group by m.site_id, m.placement) g) w
         where w.known
           or w.n + (select count(*) from placements_seen s where s.site_id = w.site_id) <= ${MAX_SEEN_PLACEMENTS}
         on conflict do update set last_day = excluded.last_day where excluded.last_day > placements_seen.last_day`,
      )
      .bind(rows),
    // The same impressions per visitor context, for the learned arbitration (decide/offers.ts).
    d1
      .prepare(
        `insert into offer_counters (site_id, placement, rule_id, context, day, impressions)
         select m.site_id, m.placement, m.rule_id, m.context, m.day, count(*)
         from ${NEW_ROWS} m where m.rule_id is not null and m.holdout = 0 and m.context is not null
         group by m.site_id, m.placement, m.rule_id, m.context, m.day
         on conflict do update set impressions = impressions + excluded.impressions`,
      )
      .bind(rows),
  ];
}

/**
 * A shard's part (docs/architecture.md, "Shards"): the first exposures of the cookies on it and
 * the cap counts of the holders whose copies are on it. A cookie is counted only when it may be
 * personalised and was not erased, judged here, where its visitor and erasure are.
 */
function peopleImpressionStatements(d1: D1Like, own: Counted[], capsOnly: Counted[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  if (own.length > 0) {
    const rows = impressionRows(own);
    statements.push(
      // The first exposure wins; a later impression writes nothing (an earlier one, arriving late, moves it).
      d1
        .prepare(
          `insert into exposures (site_id, rule_id, cookie_id, holdout, placement, first_ts)
           select m.site_id, m.rule_id, m.cookie_id, m.holdout, m.placement, min(m.ts) from ${NEW_ROWS} m
           where m.rule_id is not null and m.cookie_id is not null
             and ${personalisableSql("m.site_id", "m.cookie_id", "m.consent_mode")}
           group by m.site_id, m.rule_id, m.cookie_id, m.holdout
           on conflict do update set first_ts = excluded.first_ts where excluded.first_ts < exposures.first_ts`,
        )
        .bind(rows),
      d1
        .prepare(
          `insert into person_caps (site_id, holder, day, rule_id, count)
           select m.site_id, m.holder, m.day, m.rule_id, count(*) from ${NEW_ROWS} m
           where m.rule_id is not null and m.cookie_id is not null and m.holdout = 0 and m.capped = 1
             and ${personalisableSql("m.site_id", "m.cookie_id", "m.consent_mode")}
           group by m.site_id, m.holder, m.rule_id, m.day
           on conflict (site_id, holder, day, rule_id) do update set count = count + excluded.count`,
        )
        .bind(rows),
    );
  }
  if (capsOnly.length > 0) {
    // A customer's count on the other shards of the set, for their devices there. /b counted the
    // cookie only because it may be personalised; here the customer's erasure is what is checked
    // (privacy/erasure.ts writes it to every shard of the set).
    statements.push(
      d1
        .prepare(
          `insert into person_caps (site_id, holder, day, rule_id, count)
           select m.site_id, m.holder, m.day, m.rule_id, count(*) from ${NEW_ROWS} m
           where m.rule_id is not null and m.holder like 'c:%' and m.holdout = 0 and m.capped = 1
             and not exists (select 1 from erasures e where e.site_id = m.site_id and e.kind = 'customer'
               and e.subject = substr(m.holder, 3))
           group by m.site_id, m.holder, m.rule_id, m.day
           on conflict (site_id, holder, day, rule_id) do update set count = count + excluded.count`,
        )
        .bind(impressionRows(capsOnly)),
    );
  }
  return statements;
}

function ledgerStatement(d1: D1Like, ids: number[], now: number): D1PreparedStatement[] {
  if (ids.length === 0) return [];
  return [
    d1
      .prepare(
        `insert into applied_messages (id, applied_at) select value, ?2 from json_each(?1) where true
         on conflict do nothing`,
      )
      .bind(JSON.stringify(ids), now),
  ];
}

/** One database's share: impressions of its own cookies, customers' caps for it, clicks of its cookies. */
type Part = { d1: D1Like; counted: Counted[]; capsOnly: Counted[]; clicks: ClickMessage[]; msgs: Set<number> };

function partOf(parts: Map<D1Like, Part>, people: PeopleDb): Part {
  const part = parts.get(people.d1) ?? {
    d1: people.d1,
    counted: [],
    capsOnly: [],
    clicks: [],
    msgs: new Set<number>(),
  };
  parts.set(people.d1, part);
  return part;
}

/** A database's share of a delivery: exposures and caps, a click's acquisition, their rows refreshed. */
function peopleStatements(part: Part, consentOf: (siteId: number) => string, now: number): D1PreparedStatement[] {
  const statements = [
    ...peopleImpressionStatements(part.d1, part.counted, part.capsOnly),
    ...part.clicks.map((m) => clickAcquisition(part.d1, m, consentOf(m.siteId))),
    ...ledgerStatement(part.d1, [...part.msgs], now),
  ];
  // Cap counts and a click's acquisition are read by /b from the decision rows: the rows of the
  // people written here get theirs refreshed in the same batch (docs/architecture.md, "Decision
  // rows") — only the caps column for capped impressions, the whole row for a click.
  const capped = [...part.counted, ...part.capsOnly].map((c) => c.message).filter(capsCount);
  for (const [siteId, touched] of touchedBySite(capped)) {
    statements.push(...preparedAll(part.d1, capsRefreshStatements(siteId, touched, now)));
  }
  for (const [siteId, touched] of touchedBySite(part.clicks)) {
    statements.push(...preparedAll(part.d1, refreshStatements(siteId, { cookies: touched.cookies }, now)));
  }
  return statements;
}

/**
 * Writes any number of impressions and clicks — single messages, or groups (`decisions`, with
 * their ledger ID) — as one batch in HOME (the counters) and one in each database their people are
 * in (exposures, caps, a click's acquisition, with their decision rows refreshed): one round trip
 * per database, in parallel, and one in all for sites whose people are in HOME. Each database
 * keeps its own ledger of the group messages it applied, so a redelivered group skips exactly the
 * databases it already reached.
 */
export async function writeBannerMessages(
  env: ShardEnv,
  messages: (BannerMessage | BannerGroupMessage)[],
): Promise<void> {
  const now = Date.now();
  const items = messages.flatMap((message) =>
    (message.kind === "decisions" ? message.items : [message]).map((item) => ({
      item,
      msg: message.kind === "decisions" ? message.id : null,
    })),
  );
  if (items.length === 0) return;
  const sites = await sitePlacements(
    env,
    items.map(({ item }) => item.siteId),
    now,
  );
  const parts = new Map<D1Like, Part>();
  const counted: Counted[] = [];
  const clicks: ClickMessage[] = [];
  const ledger = new Set<number>();
  for (const { item, msg } of items) {
    const site = sites.get(item.siteId);
    // A message of a site deleted since: nothing of it is kept.
    if (!site) continue;
    if (msg !== null) ledger.add(msg);
    if (item.kind === "click") {
      clicks.push(item);
      if (item.cookieId === null) continue;
      const part = partOf(parts, peopleFor(env, site, item.cookieId));
      part.clicks.push(item);
      if (msg !== null) part.msgs.add(msg);
      continue;
    }
    const entry = { message: item, msg, consentMode: site.consentMode };
    counted.push(entry);
    if (item.cookieId === null || item.ruleId === null) continue;
    // The exposure and the count are the cookie's shard's; a customer's count also goes to every
    // other shard of the set (docs/architecture.md, "Shards").
    const own = peopleFor(env, site, item.cookieId);
    const ownPart = partOf(parts, own);
    ownPart.counted.push(entry);
    if (msg !== null) ownPart.msgs.add(msg);
    if ((item.holder ?? "").startsWith("c:") && capsCount(item)) {
      for (const people of peopleOfSite(env, site)) {
        if (people.d1 === own.d1) continue;
        const part = partOf(parts, people);
        part.capsOnly.push(entry);
        if (msg !== null) part.msgs.add(msg);
      }
    }
  }
  const consentOf = (siteId: number) => sites.get(siteId)?.consentMode ?? "implied";
  const home = [...homeImpressionStatements(env.DB, counted), ...clicks.flatMap((m) => clickStatements(env.DB, m))];
  // HOME's own people (sites not moved to shards) go in HOME's batch, under one ledger entry.
  const homePeople = parts.get(env.DB);
  parts.delete(env.DB);
  if (homePeople) home.push(...peopleStatements({ ...homePeople, msgs: new Set() }, consentOf, now));
  home.push(...ledgerStatement(env.DB, [...ledger], now));
  await Promise.all([
    home.length > 0 ? env.DB.batch(home) : undefined,
    ...[...parts.values()].map((part) => {
      const statements = peopleStatements(part, consentOf, now);
      return statements.length > 0 ? part.d1.batch(statements) : undefined;
    }),
  ]);
}

/** An impression that counts toward its holder's daily cap. */
function capsCount(m: ImpressionMessage): boolean {
  return m.ruleId !== null && !m.holdout && m.capped !== false && m.cookieId !== null;
}

/** The cookies and customers (of `c:` holders) per site, deduplicated. */
function touchedBySite(
  entries: readonly { siteId: number; cookieId: string | null; holder?: string }[],
): Map<number, { cookies: string[]; customers: string[] }> {
  const sites = new Map<number, { cookies: Set<string>; customers: Set<string> }>();
  for (const entry of entries) {
    if (entry.cookieId === null) continue;
    const touched = sites.get(entry.siteId) ?? { cookies: new Set<string>(), customers: new Set<string>() };
    touched.cookies.add(entry.cookieId);
    if (entry.holder?.startsWith("c:")) touched.customers.add(entry.holder.slice(2));
    sites.set(entry.siteId, touched);
  }
  return new Map([...sites].map(([siteId, t]) => [siteId, { cookies: [...t.cookies], customers: [...t.customers] }]));
}
