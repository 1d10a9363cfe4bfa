/**
 * `Idempotency-Key` for coupon redemption and rollback: a retried call answers exactly as the
 * first did (status and body), even when the coupon's state changed in between.
 *
 * The key is reserved before the work (status 0), so two concurrent calls with one key cannot
 * both act: the second sees the reservation and answers 409 `idempotency_in_progress` (retry
 * shortly). When the work fails with an unexpected error the reservation is dropped, so a retry
 * can act; a reservation left by a call that died outright is taken over after a minute. Keys are scoped by site and by operation (`redeem:` / `rollback:`), so one key sent to
 * both endpoints does not replay the wrong answer.
 */
import type { D1Like } from "./claim";

export type StoredAnswer = { status: number; body: string };

const IN_PROGRESS = 0;
/** A reservation older than this was left by a call that died mid-way: the next retry takes it over. */
const STALE_RESERVATION_MS = 60_000;

/** Reserves the key; returns null when it is ours now, otherwise the answer stored (or in progress). */
async function reserveKey(d1: D1Like, siteId: number, key: string, now: number): Promise<StoredAnswer | null> {
  const [reserved, existing] = await d1.batch<{ status: number; body: string }>([
    d1
      .prepare(
        `insert into idempotency_keys (site_id, key, status, body, created_at) values (?1, ?2, 0, '', ?3)
         on conflict (site_id, key) do update set created_at = excluded.created_at
           where idempotency_keys.status = 0 and idempotency_keys.created_at < ?4
         returning status`,
      )
      .bind(siteId, key, now, now - STALE_RESERVATION_MS),
    d1.prepare("select status, body from idempotency_keys where site_id = ?1 and key = ?2").bind(siteId, key),
  ]);
  if (reserved.results.length > 0) return null;
  return existing.results[0] ?? { status: IN_PROGRESS, body: "" };
}

async function storeAnswer(d1: D1Like, siteId: number, key: string, answer: StoredAnswer) {
  await d1
    .prepare("update idempotency_keys set status = ?3, body = ?4 where site_id = ?1 and key = ?2")
    .bind(siteId, key, answer.status, answer.body)
    .run();
}

async function releaseKey(d1: D1Like, siteId: number, key: string) {
  await d1
    .prepare("delete from idempotency_keys where site_id = ?1 and key = ?2 and status = 0")
    .bind(siteId, key)
    .run();
}

/**
 * Runs `work` at most once per key: the first call's answer is stored and every retry gets it.
 * Without a key it simply runs.
 */
export async function runIdempotent(
  d1: D1Like,
  siteId: number,
  key: string | undefined,
  now: number,
  work: () => Promise<StoredAnswer>,
): Promise<StoredAnswer & { replayed: boolean }> {
  if (!key) return { ...(await work()), replayed: false };
  const stored = await reserveKey(d1, siteId, key, now);
  if (stored) {
    if (stored.status === IN_PROGRESS) {
      const body = JSON.stringify({
        error: { code: "idempotency_in_progress", message: "A call with this Idempotency-Key is still running" },
      });
      return { status: 409, body, replayed: false };
    }
    return { ...stored, replayed: true };
  }
  let answer: StoredAnswer;
  try {
    answer = await work();
  } catch (err) {
    await releaseKey(d1, siteId, key);
    throw err;
  }
  await storeAnswer(d1, siteId, key, answer);
  return { ...answer, replayed: false };
}
