/**
 * `Idempotency-Key` for coupon redemption and rollback: a retried call answers exactly as the
 * first did (status and body), even when the coupon's state changed in between.
 *
 * The key is reserved before the work (status 0), so two concurrent calls with one key cannot
 * both act: the second sees the reservation and answers 409 `idempotency_in_progress` (retry
 * shortly). When the work fails with an unexpected error the reservation is dropped, so a retry
 * can act; a reservation left by a call that died outright is taken over after a minute. Keys are scoped by site and by operation (`redeem:` / `rollback:`), so one key sent to
 * both endpoints does not replay the wrong answer.
 *
 * Each key is stored with a fingerprint of its request (SHA-256 of method, path and validated
 * body): the same key with another body is a client bug (say, one key reused for two codes), and
 * replaying the first answer would leave the second code silently unredeemed. It answers 422
 * `idempotency_mismatch` and changes nothing (README.md, "Coupons").
 */
import { sha256Hex } from "../auth/crypto";
import type { D1Like } from "../db/raw";
import { errorBody } from "../errors";

export type StoredAnswer = { status: number; body: string };
type StoredRow = StoredAnswer & { fingerprint: string };

/** What makes two calls "the same request": method, path and the validated body. */
export function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  return sha256Hex(`${method.toUpperCase()} ${path}\n${JSON.stringify(body)}`);
}

const IN_PROGRESS = 0;
/** A reservation older than this was left by a call that died mid-way: the next retry takes it over. */
const STALE_RESERVATION_MS = 60_000;

/** Reserves the key; returns null when it is ours now, otherwise the answer stored (or in progress). */
async function reserveKey(
  d1: D1Like,
  siteId: number,
  key: string,
  fingerprint: string,
  now: number,
): Promise<StoredRow | null> {
  const [reserved, existing] = await d1.batch<StoredRow>([
    d1
      .prepare(
        `insert into idempotency_keys (site_id, key, status, body, fingerprint, created_at) values (?1, ?2, 0, '', ?5, ?3)
         on conflict (site_id, key) do update set created_at = excluded.created_at, fingerprint = excluded.fingerprint
           where idempotency_keys.status = 0 and idempotency_keys.created_at < ?4
         returning status`,
      )
      .bind(siteId, key, now, now - STALE_RESERVATION_MS, fingerprint),
    d1
      .prepare("select status, body, fingerprint from idempotency_keys where site_id = ?1 and key = ?2")
      .bind(siteId, key),
  ]);
  if (reserved.results.length > 0) return null;
  return existing.results[0] ?? { status: IN_PROGRESS, body: "", fingerprint };
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

function refusal(status: number, code: string, message: string) {
  return { status, body: JSON.stringify(errorBody(status, message, code)), replayed: false };
}

/**
 * Runs `work` at most once per key: the first call's answer is stored and every retry with the
 * same fingerprint gets it; another request under the key answers 422. Without a key it simply runs.
 */
export async function runIdempotent(
  d1: D1Like,
  siteId: number,
  key: string | undefined,
  fingerprint: string,
  now: number,
  work: () => Promise<StoredAnswer>,
): Promise<StoredAnswer & { replayed: boolean }> {
  if (!key) return { ...(await work()), replayed: false };
  const stored = await reserveKey(d1, siteId, key, fingerprint, now);
  if (stored) {
    // '' marks a row stored before fingerprints existed: it replays as it did then.
    if (stored.fingerprint !== "" && stored.fingerprint !== fingerprint) {
      return refusal(
        422,
        "idempotency_mismatch",
        "This Idempotency-Key was used for a different request; use a new key for a new request",
      );
    }
    if (stored.status === IN_PROGRESS) {
      return refusal(409, "idempotency_in_progress", "A call with this Idempotency-Key is still running");
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
