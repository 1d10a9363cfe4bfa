/**
 * Impressions and clicks are recorded after the response (`waitUntil`) through the events queue,
 * whose consumer writes many of them in ONE D1 batch together with the frequency-cap counters —
 * all impressions of a delivery in two set-based statements (impressionStatements); a
 * deployment without the queue binding writes them directly, still as one batch.
 *
 * Through the queue, /b does not send one message per banner: impressions are buffered per isolate
 * and sent together with `sendBatch` (producers.ts, bufferDecisionMessage) — one `send` per banner
 * cost about a fifth of a decision's CPU (bench/RESULTS.md).
 *
 * A cookie is written only when it may be personalised and was not erased (privacy/consent.ts),
 * judged in the writing statement itself: a message queued before an erasure recreates nothing.
 *
 * Writes are idempotent, because queues deliver at least once: an impression's cap increment is
 * guarded by "this impression UID is not stored yet" and runs before the insert; clicks are unique
 * per impression UID.
 */
import { type D1Like, toD1 } from "../db/raw";
import type { Db } from "../env";
import { utcDayNumber } from "../lib/time";
import { personalisableSql } from "../privacy/consent";
import type { ClickMessage, DecisionMessage, ImpressionMessage } from "./messages";

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

function clickStatements(d1: D1Like, message: ClickMessage): D1PreparedStatement[] {
  const statements = [
    d1
      .prepare(
        `insert into clicks (site_id, impression_uid, rule_id, cookie_id, ts)
         values (?1, ?2, ?3, (select ?4 where ${personalisableSql("?1", "?4")}), ?5)
         on conflict (impression_uid) do nothing`,
      )
      .bind(message.siteId, message.impressionUid, message.ruleId, message.cookieId, message.ts),
  ];
  if (message.cookieId !== null) statements.push(clickAcquisition(d1, message));
  return statements;
}

/** The impressions of `?1` (a JSON array of rows) as a table, for the set-based statements below. */
const IMPRESSION_ROWS = `(select json_extract(value, '$[0]') as uid, json_extract(value, '$[1]') as site_id,
    json_extract(value, '$[2]') as placement, json_extract(value, '$[3]') as rule_id,
    json_extract(value, '$[4]') as creative_id, json_extract(value, '$[5]') as cookie_id,
    json_extract(value, '$[6]') as coupon_id, json_extract(value, '$[7]') as holdout,
    json_extract(value, '$[8]') as day, json_extract(value, '$[9]') as ts from json_each(?1))`;

/**
 * All impressions of a delivery in two statements, whatever their number: the cap counters (before
 * the insert, guarded by "this impression UID is not stored yet", so a redelivery counts nothing),
 * then the impression rows. Two statements per impression made the consumer's batch grow with the
 * delivery, each statement costing about a keyed read (bench/RESULTS.md, "Decision path").
 */
function impressionStatements(d1: D1Like, impressions: ImpressionMessage[]): D1PreparedStatement[] {
  if (impressions.length === 0) return [];
  // A message delivered twice within one delivery counts once, as a redelivery later does.
  const unique = [...new Map(impressions.map((m) => [m.uid, m])).values()];
  const rows = JSON.stringify(
    unique.map((m) => [
      m.uid,
      m.siteId,
      m.placement,
      m.ruleId,
      m.creativeId,
      m.cookieId,
      m.couponId,
      m.holdout ? 1 : 0,
      utcDayNumber(m.ts),
      m.ts,
    ]),
  );
  return [
    d1
      .prepare(
        `insert into cap_counters (site_id, cookie_id, rule_id, day, count)
         select m.site_id, m.cookie_id, m.rule_id, m.day, count(*) from ${IMPRESSION_ROWS} m
         where m.rule_id is not null and m.cookie_id is not null and m.holdout = 0
           and not exists (select 1 from impressions where uid = m.uid)
           and ${personalisableSql("m.site_id", "m.cookie_id")}
         group by m.site_id, m.cookie_id, m.rule_id, m.day
         on conflict (site_id, cookie_id, day, rule_id) do update set count = count + excluded.count`,
      )
      .bind(rows),
    d1
      .prepare(
        `insert into impressions (uid, site_id, placement, rule_id, creative_id, cookie_id, coupon_id, holdout, day, ts)
         select m.uid, m.site_id, m.placement, m.rule_id, m.creative_id,
           case when ${personalisableSql("m.site_id", "m.cookie_id")} then m.cookie_id end,
           m.coupon_id, m.holdout, m.day, m.ts
         from ${IMPRESSION_ROWS} m where true
         on conflict (uid) do nothing`,
      )
      .bind(rows),
  ];
}

/** Writes any number of impressions and clicks in one D1 round trip (hand-written SQL batch). */
export async function writeDecisionMessages(db: Db | D1Like, messages: DecisionMessage[]): Promise<void> {
  const d1 = toD1(db);
  const statements = [
    ...impressionStatements(
      d1,
      messages.filter((m): m is ImpressionMessage => m.kind === "impression"),
    ),
    ...messages.flatMap((m) => (m.kind === "click" ? clickStatements(d1, m) : [])),
  ];
  if (statements.length > 0) await d1.batch(statements);
}
