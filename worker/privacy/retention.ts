/**
 * The retention purge, run by the cron (`scheduled`): raw events and rejected events older than
 * their site's `retention_days`, rejected events of no known site after REJECTED_ORPHAN_DAYS, and
 * Idempotency-Key answers after IDEMPOTENCY_DAYS, Segment messageIds after SEGMENT_MESSAGE_DAYS, and login-attempt counters a day after their
 * last attempt once no lock holds (worker/auth/login-attempts.ts); the counters' ledger of applied
 * queue messages after LEDGER_DAYS, and cap counts of days no cap reads any more (CAP_DAYS).
 *
 * Raw events are written to the R2 archive now (docs/architecture.md, "Raw event archive"; its
 * retention is worker/archive/sweeps.ts, purgeArchive): the `events` rows purged here are the ones
 * written before.
 *
 * Deletes go in bounded chunks (PURGE_CHUNK rows per statement) so one run never holds D1's
 * single writer for long. Every statement only deletes what is older than a cutoff computed from
 * `now`, so a run that is interrupted part-way and run again ends with exactly the same rows as an
 * uninterrupted run: the purge is idempotent.
 */
import { toD1 } from "../db/raw";
import type { Db } from "../env";
import { MS_PER_DAY as DAY_MS } from "../lib/time";

const IDEMPOTENCY_DAYS = 7;
const REJECTED_ORPHAN_DAYS = 30;
/** Segment's own clients retry for minutes to hours; a week covers any retry and replayed backlog. */
const SEGMENT_MESSAGE_DAYS = 7;
const PURGE_CHUNK = 5_000;
/** Queues keep an unacknowledged message at most 14 days: no redelivery is older than that. */
const LEDGER_DAYS = 15;
/** Caps count today; yesterday's stay a day for decisions around midnight. */
const CAP_DAYS = 2;

export type PurgeResult = {
  events: number;
  rejectedEvents: number;
  idempotencyKeys: number;
  segmentMessages: number;
  loginAttempts: number;
  ledger: number;
  capCounters: number;
};

/** Repeats one chunked delete until it deletes nothing more (or `maxChunks`, for tests). */
async function drain(statement: D1PreparedStatement, maxChunks: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxChunks; i++) {
    const { meta } = await statement.run();
    total += meta.changes;
    if (meta.changes < PURGE_CHUNK) break;
  }
  return total;
}

export async function purgeExpired(db: Db, now: number, options: { maxChunks?: number } = {}): Promise<PurgeResult> {
  const d1 = toD1(db);
  const maxChunks = options.maxChunks ?? 1_000;
  const { results: siteRows } = await d1
    .prepare("select id, retention_days as retentionDays from sites")
    .all<{ id: number; retentionDays: number }>();
  const result: PurgeResult = {
    events: 0,
    rejectedEvents: 0,
    idempotencyKeys: 0,
    segmentMessages: 0,
    loginAttempts: 0,
    ledger: 0,
    capCounters: 0,
  };
  for (const site of siteRows) {
    const cutoff = now - site.retentionDays * DAY_MS;
    // `id in (select ... limit)`: SQLite in D1 has no DELETE ... LIMIT; the subquery uses the
    // (site_id, received_at) index of each table.
    result.events += await drain(
      d1
        .prepare("delete from events where id in (select id from events where site_id = ? and received_at < ? limit ?)")
        .bind(site.id, cutoff, PURGE_CHUNK),
      maxChunks,
    );
    result.rejectedEvents += await drain(
      d1
        .prepare(
          "delete from rejected_events where id in (select id from rejected_events where site_id = ? and received_at < ? limit ?)",
        )
        .bind(site.id, cutoff, PURGE_CHUNK),
      maxChunks,
    );
  }
  result.rejectedEvents += await drain(
    d1
      .prepare(
        `delete from rejected_events where id in (select id from rejected_events
         where (site_id is null or site_id not in (select id from sites)) and received_at < ? limit ?)`,
      )
      .bind(now - REJECTED_ORPHAN_DAYS * DAY_MS, PURGE_CHUNK),
    maxChunks,
  );
  result.idempotencyKeys += await drain(
    d1
      .prepare(
        "delete from idempotency_keys where rowid in (select rowid from idempotency_keys where created_at < ? limit ?)",
      )
      .bind(now - IDEMPOTENCY_DAYS * DAY_MS, PURGE_CHUNK),
    maxChunks,
  );
  result.segmentMessages += await drain(
    d1
      .prepare(
        "delete from segment_messages where rowid in (select rowid from segment_messages where received_at < ? limit ?)",
      )
      .bind(now - SEGMENT_MESSAGE_DAYS * DAY_MS, PURGE_CHUNK),
    maxChunks,
  );
  result.loginAttempts += await drain(
    d1
      .prepare(
        `delete from login_attempts where rowid in (select rowid from login_attempts
         where updated_at < ?1 and locked_until < ?2 limit ?3)`,
      )
      .bind(now - DAY_MS, now, PURGE_CHUNK),
    maxChunks,
  );
  result.ledger += await drain(
    d1
      .prepare(
        "delete from applied_messages where id in (select id from applied_messages where applied_at < ? limit ?)",
      )
      .bind(now - LEDGER_DAYS * DAY_MS, PURGE_CHUNK),
    maxChunks,
  );
  result.capCounters += await drain(
    d1
      .prepare("delete from person_caps where rowid in (select rowid from person_caps where day < ? limit ?)")
      .bind(Math.floor(now / DAY_MS) - CAP_DAYS, PURGE_CHUNK),
    maxChunks,
  );
  return result;
}
