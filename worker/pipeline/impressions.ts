/**
 * Impressions and clicks are recorded after the response (`waitUntil`) through the events queue,
 * whose consumer writes many of them in ONE D1 batch together with the frequency-cap counters; a
 * deployment without the queue binding writes them directly, still as one batch.
 *
 * Through the queue, /b does not send one message per banner: impressions are buffered per isolate
 * and sent together with `sendBatch` (see bufferDecisionMessage) — one `send` per banner cost
 * about a fifth of a decision's CPU (bench/RESULTS.md).
 *
 * A cookie is written only when it may be personalised and was not erased (privacy/consent.ts),
 * judged in the writing statement itself: a message queued before an erasure recreates nothing.
 *
 * Writes are idempotent, because queues deliver at least once: an impression's cap increment is
 * guarded by "this impression UID is not stored yet" and runs before the insert; clicks are unique
 * per impression UID.
 */
import { type D1Like, toD1 } from "../db/raw";
import { dayOf } from "../decide/load";
import type { Db } from "../env";
import { personalisableSql } from "../privacy/consent";
import type { ClickMessage, DecisionMessage } from "./messages";

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

function statementsFor(d1: D1Like, message: DecisionMessage): D1PreparedStatement[] {
  if (message.kind === "click") {
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
  const day = dayOf(message.ts);
  const statements: D1PreparedStatement[] = [];
  if (message.ruleId !== null && message.cookieId !== null && !message.holdout) {
    statements.push(
      d1
        .prepare(
          `insert into cap_counters (site_id, cookie_id, rule_id, day, count)
           select ?1, ?2, ?3, ?4, 1 where not exists (select 1 from impressions where uid = ?5)
             and ${personalisableSql("?1", "?2")}
           on conflict (site_id, cookie_id, day, rule_id) do update set count = count + 1`,
        )
        .bind(message.siteId, message.cookieId, message.ruleId, day, message.uid),
    );
  }
  statements.push(
    d1
      .prepare(
        `insert into impressions (uid, site_id, placement, rule_id, creative_id, cookie_id, coupon_id, holdout, day, ts)
         values (?1, ?2, ?3, ?4, ?5, (select ?6 where ${personalisableSql("?2", "?6")}), ?7, ?8, ?9, ?10)
         on conflict (uid) do nothing`,
      )
      .bind(
        message.uid,
        message.siteId,
        message.placement,
        message.ruleId,
        message.creativeId,
        message.cookieId,
        message.couponId,
        message.holdout ? 1 : 0,
        day,
        message.ts,
      ),
  );
  return statements;
}

/** Writes any number of impressions and clicks in one D1 round trip (hand-written SQL batch). */
export async function writeDecisionMessages(db: Db | D1Like, messages: DecisionMessage[]): Promise<void> {
  const d1 = toD1(db);
  const statements = messages.flatMap((m) => statementsFor(d1, m));
  if (statements.length > 0) await d1.batch(statements);
}

/**
 * Sends one impression or click on its way: into the events queue, or — without the binding —
 * straight into D1. Runs inside waitUntil, after the response; failures are logged, not thrown.
 */
export async function recordDecisionMessage(env: Env, message: DecisionMessage): Promise<void> {
  try {
    if (env.EVENTS_QUEUE) await env.EVENTS_QUEUE.send(message);
    else await writeDecisionMessages(env.DB, [message]);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", where: `record ${message.kind}`, error: String(error) }));
  }
}

/**
 * How long the first impression of a group waits for others, and how many make a full group. The
 * wait runs inside `waitUntil`, after the response (the runtime keeps waitUntil work alive for up
 * to 30 s after the response), so no banner waits for it; 50 matches the consumer's
 * max_batch_size in wrangler.toml and stays far below sendBatch's limit of 100 messages / 256 KB.
 */
const IMPRESSION_FLUSH_MS = 250;
export const IMPRESSION_FLUSH_MAX = 50;

type PendingGroup = { queue: Queue; db: D1Database; messages: DecisionMessage[] };
/** The isolate's open group: requests of one isolate share it (module state outlives a request). */
let pending: PendingGroup | null = null;

async function sendGroup(group: PendingGroup): Promise<void> {
  const messages = group.messages.splice(0);
  if (messages.length === 0) return;
  try {
    await group.queue.sendBatch(messages.map((body) => ({ body })));
  } catch (error) {
    // A refused group would lose every banner in it: write them directly instead (idempotent).
    console.error(JSON.stringify({ level: "error", where: "impression sendBatch", error: String(error) }));
    try {
      await writeDecisionMessages(group.db, messages);
    } catch (writeError) {
      console.error(JSON.stringify({ level: "error", where: "impression direct write", error: String(writeError) }));
    }
  }
}

/**
 * Adds an impression (or click) to the isolate's open group for the events queue. The request
 * that opens a group registers its flush IMPRESSION_FLUSH_MS later with its own `waitUntil`; the
 * request that fills it sends it at once. Every message therefore has a flush registered by a
 * request that was alive when it was added. A group belongs to one queue binding: a different one
 * (another deployment's env, a test double) closes the open group first.
 */
export function bufferDecisionMessage(
  queue: Queue,
  db: D1Database,
  message: DecisionMessage,
  waitUntil: (work: Promise<unknown>) => void,
): void {
  if (pending && pending.queue !== queue) {
    waitUntil(sendGroup(pending));
    pending = null;
  }
  if (!pending) {
    const group: PendingGroup = { queue, db, messages: [] };
    pending = group;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, IMPRESSION_FLUSH_MS)).then(() => {
        if (pending === group) pending = null;
        return sendGroup(group);
      }),
    );
  }
  const group = pending;
  group.messages.push(message);
  if (group.messages.length >= IMPRESSION_FLUSH_MAX) {
    pending = null;
    waitUntil(sendGroup(group));
  }
}
