/**
 * The admin login's slow-down, counted per (e-mail, client IP) in one atomic statement.
 *
 * Why per pair: counted per account, anyone who knows an admin's e-mail could lock the owner out
 * by guessing badly; counted per e-mail whether or not an account exists, a lock says nothing
 * about which e-mails have accounts. Neither the e-mail nor the IP is stored: the row key is an
 * HMAC of both under the session secret (an IPv4 address alone would be brute-forced from a hash).
 *
 * Why one UPSERT … RETURNING before the password check: a read-then-write count lets parallel
 * guesses all read "4 failures" and all check a password (40 parallel guesses got 9 checks).
 * D1 runs one statement at a time, so each guess reserves its check atomically: the first
 * FREE_ATTEMPTS reservations are granted, the one reaching FREE_ATTEMPTS also sets the lock (lifted
 * again if its password is right), and every call while the lock holds is refused unchecked. Each
 * attempt after a lock ran out doubles it, up to MAX_LOCK_MS.
 */
import { eq, sql } from "drizzle-orm";
import { loginAttempts } from "../db/schema";
import type { Db } from "../env";
import { toHex } from "./crypto";

/** Password checks allowed before the pair locks; each further one doubles the lock. */
export const FREE_ATTEMPTS = 5;
const BASE_LOCK_MS = 30_000;
const MAX_LOCK_MS = 60 * 60_000;
/** BASE_LOCK_MS << 7 passes MAX_LOCK_MS: the shift never needs to grow beyond it. */
const MAX_DOUBLINGS = 7;

type Reservation = { granted: true; lockedUntil: number } | { granted: false; retryAfterMs: number };

const encoder = new TextEncoder();

export async function attemptKey(secret: string, email: string, ip: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`login\u0000${email}\u0000${ip}`)));
}

/** Reserves one password check for `key`, or says how long the pair stays locked. */
export async function reserveAttempt(db: Db, key: string, now: number): Promise<Reservation> {
  const t = loginAttempts;
  // SQLite evaluates every SET expression against the row as it was, so `granted`, `attempts` and
  // `locked_until` below all see the same old values.
  const locked = sql`${t.lockedUntil} > ${now}`;
  const [row] = await db
    .insert(t)
    .values({ key, attempts: 1, lockedUntil: 0, granted: 1, updatedAt: now })
    .onConflictDoUpdate({
      target: t.key,
      set: {
        granted: sql`case when ${locked} then 0 else 1 end`,
        attempts: sql`case when ${locked} then ${t.attempts} else ${t.attempts} + 1 end`,
        lockedUntil: sql`case when ${locked} then ${t.lockedUntil}
          when ${t.attempts} + 1 >= ${FREE_ATTEMPTS}
            then ${now} + min(${MAX_LOCK_MS}, ${BASE_LOCK_MS} << min(${t.attempts} + 1 - ${FREE_ATTEMPTS}, ${MAX_DOUBLINGS}))
          else ${t.lockedUntil} end`,
        updatedAt: now,
      },
    })
    .returning({ granted: t.granted, lockedUntil: t.lockedUntil });
  return row.granted === 1
    ? { granted: true, lockedUntil: row.lockedUntil }
    : { granted: false, retryAfterMs: row.lockedUntil - now };
}

/** A right password clears the pair's count (and the lock its own reservation may have set). */
export async function clearAttempts(db: Db, key: string) {
  await db.delete(loginAttempts).where(eq(loginAttempts.key, key));
}
