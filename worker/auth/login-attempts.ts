/**
 * The admin login's slow-down, counted in one atomic statement per bound. Three bounds, each its
 * own row, checked in this order and each only when the one before granted the attempt:
 * - per (e-mail, client network): FREE_ATTEMPTS, then locks. Counted per pair rather than per
 *   account alone, so that a stranger's guesses do not lock the owner out of their own network;
 * - per client network, whatever the e-mail: NETWORK_FREE_ATTEMPTS (one address sprays many
 *   accounts);
 * - per account, whatever the network: ACCOUNT_FREE_ATTEMPTS (guesses spread over many
 *   addresses). The price: someone guessing one account from many networks can make its owner
 *   wait too; the lock doubles from 30 s and a right password clears the account's count.
 * The network is the IPv4 address, or the IPv6 /64: one subscriber holds a whole /64, so counting
 * per address would give them 2^64 fresh pairs. Counted per e-mail whether or not an account
 * exists, a lock says nothing about which e-mails have accounts. Neither the e-mail nor the IP is
 * stored: each row key is an HMAC under the session secret (an IPv4 address alone would be
 * brute-forced from a hash). Rows untouched for a day are purged (worker/privacy/retention.ts).
 *
 * Why one UPSERT … RETURNING before the password check: a read-then-write count lets parallel
 * guesses all read "4 failures" and all check a password (40 parallel guesses got 9 checks).
 * D1 runs one statement at a time, so each guess reserves its check atomically: the first
 * `free` reservations are granted, the one reaching `free` also sets the lock (lifted again if
 * its password is right), and every call while the lock holds is refused unchecked. Each attempt
 * after a lock ran out doubles it, up to MAX_LOCK_MS.
 */
import { eq, sql } from "drizzle-orm";
import { loginAttempts } from "../db/schema";
import type { Db } from "../env";
import { toHex } from "./crypto";

/**
 * Password checks allowed before the pair locks; each further one doubles the lock.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export const FREE_ATTEMPTS = 5;
/**
 * The same for one network over every e-mail, and for one account over every network.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export const NETWORK_FREE_ATTEMPTS = 20;
/** @internal Exported for tests; the Worker itself does not import it. */
export const ACCOUNT_FREE_ATTEMPTS = 20;
const BASE_LOCK_MS = 30_000;
const MAX_LOCK_MS = 60 * 60_000;
/** BASE_LOCK_MS << 7 passes MAX_LOCK_MS: the shift never needs to grow beyond it. */
const MAX_DOUBLINGS = 7;

type Reservation = { granted: true; lockedUntil: number } | { granted: false; retryAfterMs: number };

const encoder = new TextEncoder();

/** @internal Exported for tests; the Worker itself does not import it. */
export async function attemptKey(secret: string, email: string, ip: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`login\u0000${email}\u0000${ip}`)));
}

/**
 * The network an address counts for: an IPv4 address itself, an IPv6 address's /64.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function clientNetwork(ip: string): string {
  if (!ip.includes(":")) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  const [head, tail = ""] = ip.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = ip.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** The bounds one login attempt reserves, in order: the pair, the network, the account. */
export async function attemptBounds(secret: string, email: string, ip: string) {
  const network = clientNetwork(ip);
  return [
    { key: await attemptKey(secret, email, network), free: FREE_ATTEMPTS },
    { key: await attemptKey(secret, "*", network), free: NETWORK_FREE_ATTEMPTS },
    { key: await attemptKey(secret, email, "*"), free: ACCOUNT_FREE_ATTEMPTS },
  ];
}

/** Reserves one password check for `key`, or says how long the bound stays locked. */
export async function reserveAttempt(db: Db, key: string, now: number, free = FREE_ATTEMPTS): Promise<Reservation> {
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
          when ${t.attempts} + 1 >= ${free}
            then ${now} + min(${MAX_LOCK_MS}, ${BASE_LOCK_MS} << min(${t.attempts} + 1 - ${free}, ${MAX_DOUBLINGS}))
          else ${t.lockedUntil} end`,
        updatedAt: now,
      },
    })
    .returning({ granted: t.granted, lockedUntil: t.lockedUntil });
  return row.granted === 1
    ? { granted: true, lockedUntil: row.lockedUntil }
    : { granted: false, retryAfterMs: row.lockedUntil - now };
}

/**
 * A right password gives the network back the check it reserved: the network bound counts failures
 * only (an office logging in all day is no spray), yet it is not cleared, since a valid account of
 * one's own must not reset a spray's count. A lock this check set goes with it.
 */
export async function refundAttempt(db: Db, key: string, free: number) {
  const t = loginAttempts;
  await db
    .update(t)
    .set({
      attempts: sql`max(${t.attempts} - 1, 0)`,
      lockedUntil: sql`case when ${t.attempts} - 1 < ${free} then 0 else ${t.lockedUntil} end`,
    })
    .where(eq(t.key, key));
}

/** A right password clears the pair's count (and the lock its own reservation may have set). */
export async function clearAttempts(db: Db, key: string) {
  await db.delete(loginAttempts).where(eq(loginAttempts.key, key));
}
