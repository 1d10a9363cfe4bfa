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
import { type D1Like, preparedAll, toD1 } from "../db/raw";
import { capsRefreshStatements, refreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";
import { utcDayNumber } from "../lib/time";
import { personalisableSql } from "../privacy/consent";
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
function clickAcquisition(d1: D1Like, message: ClickMessage): D1PreparedStatement {
  return d1
    .prepare(
      `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, visits, acquisition)
       select ?1, ?2, ?3, ?3, 0, 'banner' where ${personalisableSql("?1", "?2")}
       on conflict (site_id, cookie_id) do update set acquisition = 'banner'
       where visitors.acquisition is null or visitors.first_seen_at >= excluded.first_seen_at`,
    )
    .bind(message.siteId, message.cookieId, message.ts);
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

function clickStatements(d1: D1Like, message: ClickMessage): D1PreparedStatement[] {
  const statements = [
    d1
      .prepare(
        `insert into clicks (site_id, impression_uid, rule_id, cookie_id, ts)
         values (?1, ?2, ?3, (select ?4 where ${personalisableSql("?1", "?4")}), ?5)
         on conflict (impression_uid) do nothing`,
      )
      .bind(message.siteId, message.impressionUid, message.ruleId, message.cookieId, message.ts),
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
  if (message.cookieId !== null) statements.push(clickAcquisition(d1, message));
  return statements;
}

/** The impressions of `?1` (a JSON array of rows) as a table, for the set-based statements below. */
const IMPRESSION_ROWS = `(select json_extract(value, '$[0]') as uid, json_extract(value, '$[1]') as site_id,
    json_extract(value, '$[2]') as placement, json_extract(value, '$[3]') as rule_id,
    json_extract(value, '$[4]') as creative_id, json_extract(value, '$[5]') as cookie_id,
    json_extract(value, '$[6]') as capped, json_extract(value, '$[7]') as holdout,
    json_extract(value, '$[8]') as day, json_extract(value, '$[9]') as ts, json_extract(value, '$[10]') as msg,
    json_extract(value, '$[11]') as context
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
type Counted = { message: ImpressionMessage; msg: number | null };

/**
 * All impressions of a delivery in five statements, whatever their number: the report counters,
 * the placements seen, the offer counters per context, the first exposures and the cap counts. The empty creative's messages (no
 * rule, no creative) only mark their placement seen. Their ledger rows are written after them (ledgerStatement).
 */
function impressionStatements(d1: D1Like, impressions: Counted[]): D1PreparedStatement[] {
  if (impressions.length === 0) return [];
  // A message delivered twice within one delivery counts once, as a redelivery later does.
  const unique = [...new Map(impressions.map((c) => [c.message.uid, c])).values()];
  const rows = JSON.stringify(
    unique.map(({ message: m, msg }) => [
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
    ]),
  );
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
    // The first exposure wins; a later impression writes nothing (an earlier one, arriving late, moves it).
    d1
      .prepare(
        `insert into exposures (site_id, rule_id, cookie_id, holdout, placement, first_ts)
         select m.site_id, m.rule_id, m.cookie_id, m.holdout, m.placement, min(m.ts) from ${NEW_ROWS} m
         where m.rule_id is not null and m.cookie_id is not null and ${personalisableSql("m.site_id", "m.cookie_id")}
         group by m.site_id, m.rule_id, m.cookie_id, m.holdout
         on conflict do update set first_ts = excluded.first_ts where excluded.first_ts < exposures.first_ts`,
      )
      .bind(rows),
    d1
      .prepare(
        `insert into cap_counters (site_id, cookie_id, rule_id, day, count)
         select m.site_id, m.cookie_id, m.rule_id, m.day, count(*) from ${NEW_ROWS} m
         where m.rule_id is not null and m.cookie_id is not null and m.holdout = 0 and m.capped = 1
           and ${personalisableSql("m.site_id", "m.cookie_id")}
         group by m.site_id, m.cookie_id, m.rule_id, m.day
         on conflict (site_id, cookie_id, day, rule_id) do update set count = count + excluded.count`,
      )
      .bind(rows),
  ];
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

/** Cookie IDs per site, deduplicated. */
function bySite(entries: { siteId: number; cookieId: string | null }[]): Map<number, string[]> {
  const sites = new Map<number, Set<string>>();
  for (const { siteId, cookieId } of entries) {
    if (cookieId === null) continue;
    const cookies = sites.get(siteId) ?? new Set<string>();
    cookies.add(cookieId);
    sites.set(siteId, cookies);
  }
  return new Map([...sites].map(([siteId, cookies]) => [siteId, [...cookies]]));
}

/**
 * Writes any number of impressions and clicks — single messages, or groups (`decisions`, with
 * their ledger ID) — in one D1 round trip (hand-written SQL batch).
 */
export async function writeBannerMessages(
  db: Db | D1Like,
  messages: (BannerMessage | BannerGroupMessage)[],
): Promise<void> {
  const d1 = toD1(db);
  const counted: Counted[] = [];
  const clicks: ClickMessage[] = [];
  const ledger: number[] = [];
  for (const message of messages) {
    const items = message.kind === "decisions" ? message.items : [message];
    const msg = message.kind === "decisions" ? message.id : null;
    if (msg !== null) ledger.push(msg);
    for (const item of items) {
      if (item.kind === "impression") counted.push({ message: item, msg });
      else clicks.push(item);
    }
  }
  const now = Date.now();
  const statements = [
    ...impressionStatements(d1, counted),
    ...clicks.flatMap((m) => clickStatements(d1, m)),
    ...ledgerStatement(d1, ledger, now),
  ];
  // Cap counts and a click's acquisition are read by /b from the decision rows: the cookies
  // written here get theirs refreshed in the same batch (docs/architecture.md, "Decision rows") —
  // only the caps column for capped impressions, the whole row for a click (its visitor changed).
  const capped = counted.map((c) => c.message).filter((m) => m.ruleId !== null && !m.holdout && m.capped !== false);
  for (const [siteId, cookies] of bySite(capped)) {
    statements.push(...preparedAll(d1, capsRefreshStatements(siteId, { cookies }, now)));
  }
  for (const [siteId, cookies] of bySite(clicks)) {
    statements.push(...preparedAll(d1, refreshStatements(siteId, { cookies }, now)));
  }
  if (statements.length > 0) await d1.batch(statements);
}
