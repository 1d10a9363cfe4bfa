/**
 * Claiming a coupon for one person: the heart of "one code per visitor (or customer) per pool,
 * never the same code to two people".
 *
 * Who holds a code is a string: `c:CUSTOMER_ID` for a visitor linked to a CRM customer (so all
 * their devices share one code) or `v:COOKIE_ID`. The unique index coupons_pool_holder_idx on
 * (pool_id, holder) is what makes "one per holder per pool" hold under any concurrency; SQLite
 * (D1) runs one write at a time, so a list pool's "take the lowest free row" UPDATE can never
 * hand one row to two holders.
 *
 * A claim is ONE D1 round trip: a batch (a transaction in D1) that
 *   1. moves the visitor's cookie code over to the customer when the visitor is now linked,
 *   2. archives the holder's expired, unredeemed assignment (holder becomes `x:ID:HOLDER`, so the
 *      unique index frees up and the old row keeps its history),
 *   3. takes a free list code / inserts a fresh generated code — guarded by NOT EXISTS and
 *      ON CONFLICT DO NOTHING so that nothing in the batch can fail and roll the others back,
 *   4. reads the holder's assignment back: just claimed, or the one they already had.
 *
 * Steps 3 also carry two guards of their own, in SQL so that no caller can skip them (README,
 * "Coupon claims"): a cookie or customer in `erasures` claims nothing (an erased person is never
 * written back into coupons by a later banner), and the site's `claim_policy` decides which
 * visitors may claim at all (`any`; `visited`: this cookie has at least `claim_min_visits` visits;
 * `customers`: only a visitor linked to a CRM customer — a linked customer passes `visited` too).
 * Step 4 reads which guard held, so the claim gate (claim-gate.ts) counts policy refusals.
 *
 * Decisions: an expired, unredeemed assignment is replaced by a new code on the next claim (its
 * row stays, archived); a redeemed assignment is final — the holder gets no second code from that
 * pool and claimCoupon answers null (the rule's no-coupon variant).
 *
 * The decision path reads the visitor's and its customer's assignments inside its own single batch
 * (worker/decide/load.ts, through the unique (pool_id, holder) index) and turns the rows into a map
 * with assignmentsByPool(); only a first claim costs a second trip (docs/architecture.md,
 * "Decision path").
 */
import { type D1Like, toD1 } from "../db/raw";
import type { Db } from "../env";
import { MS_PER_DAY as DAY_MS } from "../lib/time";
import type { ShardEnv, ShardSet } from "../shards/routing";
import { generateCode } from "./code-format";
import { type CodeCopy, copyInHomeStatements, holderCodesStatement, writePersonCodes } from "./person-codes";

export type ClaimPool = { id: number; kind: "list" | "generated"; prefix: string; validDays: number };

export type ClaimInput = {
  siteId: number;
  pool: ClaimPool;
  /** `c:CUSTOMER_ID` or `v:COOKIE_ID`: see couponHolder(). */
  holder: string;
  cookieId: string | null;
  customerId: string | null;
  ruleId: number | null;
  /** The site's shard set: where the holder's code copies go (person-codes.ts). */
  shards: ShardSet;
  /** The cookie's visits as its decision row says (0 without one): the `visited` claim policy. */
  visits: number;
  now: number;
  /**
   * Runs the write of the holder's code copies (person-codes.ts) after the response, for a caller
   * that has an execution context; without it the claim waits for that write.
   */
  defer?: (work: Promise<unknown>) => Promise<unknown> | undefined;
};

export type ClaimResult = { code: string; expiresAt: number; couponId: number; fresh: boolean };

export type Assignment = {
  couponId: number;
  poolId: number;
  code: string;
  holder: string;
  expiresAt: number;
  /** Set when the holder already used the code: the decision path serves the no-coupon variant. */
  redeemedAt: number | null;
};

/** A coupon row as the decision batch reads it (worker/decide/load.ts), in D1's column names. */
export type AssignmentRow = {
  id: number;
  pool_id: number;
  code: string;
  holder: string;
  expires_at: number | null;
  redeemed_at: number | null;
};

const GENERATED_ATTEMPTS = 5;

/** Why a claim took nothing although the pool had a code for this holder. */
export type ClaimRefusal = "policy" | "erased";

/**
 * The guards of step 3 as SQL over the statement's own parameters (numbers of the placeholders
 * holding the site ID, holder, cookie ID and customer ID).
 */
function notErased(site: string, cookie: string, customer: string): string {
  return `not exists (select 1 from erasures where site_id = ${site}
            and ((kind = 'cookie' and subject = ${cookie}) or (kind = 'customer' and subject = ${customer})))`;
}
/**
 * `visits` is the cookie's visit count as the caller's decision row says: the visitor lives on a
 * PEOPLE shard (docs/architecture.md, "Shards"), which this HOME statement cannot read.
 */
function policyAllows(site: string, holder: string, visits: string): string {
  return `exists (select 1 from sites s where s.id = ${site} and (s.claim_policy = 'any' or substr(${holder}, 1, 2) = 'c:'
            or (s.claim_policy = 'visited' and ${visits} >= s.claim_min_visits)))`;
}

/** One code per customer across devices when the visitor is linked, otherwise per cookie. */
export function couponHolder(ids: { customerId?: string | null; cookieId?: string | null }): string {
  if (ids.customerId) return `c:${ids.customerId}`;
  if (ids.cookieId) return `v:${ids.cookieId}`;
  throw new Error("a coupon holder needs a customer ID or a cookie ID");
}

/**
 * Gives `holder` their code in `pool`: the one they hold, or a new one claimed atomically.
 * Null when the pool is dry (list pools) or the holder already redeemed their code.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function claimCoupon(db: Db | D1Like, env: ShardEnv, input: ClaimInput): Promise<ClaimResult | null> {
  const outcome = await claimOrRefusal(db, env, input);
  return typeof outcome === "string" ? null : outcome;
}

/** claimCoupon(), saying why nothing was claimed when a guard refused it (claim-gate.ts counts it). */
export async function claimOrRefusal(
  db: Db | D1Like,
  env: ShardEnv,
  input: ClaimInput,
): Promise<ClaimResult | ClaimRefusal | null> {
  const d1 = toD1(db);
  for (let attempt = 0; attempt < GENERATED_ATTEMPTS; attempt++) {
    const result = await claimOnce(d1, env, input);
    if (result !== "collision") return result;
  }
  throw new Error(`pool ${input.pool.id}: ${GENERATED_ATTEMPTS} generated codes in a row collided`);
}

async function claimOnce(
  d1: D1Like,
  env: ShardEnv,
  input: ClaimInput,
): Promise<ClaimResult | ClaimRefusal | null | "collision"> {
  const { siteId, pool, holder, cookieId, customerId, ruleId, visits, now } = input;
  // The holders whose codes this batch may change: the claimer, and the cookie whose code moves
  // over to its customer (step 1).
  const holders = holder.startsWith("c:") && cookieId ? [holder, `v:${cookieId}`] : [holder];
  const expiresAt = now + pool.validDays * DAY_MS;
  const statements: D1PreparedStatement[] = [];

  if (holder.startsWith("c:") && cookieId) {
    statements.push(
      d1
        .prepare(
          `update coupons set holder = ?1, customer_id = ?2
           where pool_id = ?3 and holder = ?4
             and not exists (select 1 from coupons where pool_id = ?3 and holder = ?1)`,
        )
        .bind(holder, customerId, pool.id, `v:${cookieId}`),
    );
  }
  statements.push(
    d1
      .prepare(
        `update coupons set holder = 'x:' || id || ':' || holder
         where pool_id = ?1 and holder = ?2 and redeemed_at is null and expires_at <= ?3`,
      )
      .bind(pool.id, holder, now),
  );
  if (pool.kind === "list") {
    statements.push(
      d1
        .prepare(
          `update coupons
           set holder = ?1, cookie_id = ?2, customer_id = ?3, rule_id = ?4, assigned_at = ?5, expires_at = ?6
           where id = (select id from coupons where pool_id = ?7 and holder is null order by id limit 1)
             and not exists (select 1 from coupons where pool_id = ?7 and holder = ?1)
             and ${notErased("?8", "?2", "?3")} and ${policyAllows("?8", "?1", "?9")}
           returning id`,
        )
        .bind(holder, cookieId, customerId, ruleId, now, expiresAt, pool.id, siteId, visits),
    );
  } else {
    statements.push(
      d1
        .prepare(
          `insert into coupons
             (site_id, pool_id, code, holder, cookie_id, customer_id, rule_id, assigned_at, expires_at)
           select ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
           where not exists (select 1 from coupons where pool_id = ?2 and holder = ?4)
             and ${notErased("?1", "?5", "?6")} and ${policyAllows("?1", "?4", "?10")}
           on conflict do nothing
           returning id`,
        )
        .bind(siteId, pool.id, generateCode(pool.prefix), holder, cookieId, customerId, ruleId, now, expiresAt, visits),
    );
  }
  const claimAt = statements.length - 1;
  // The holders' codes after the batch, for their copies beside their decision rows.
  statements.push(holderCodesStatement(d1, siteId, holders));
  // A site whose people are in HOME: the copies and the rows come along in this transaction.
  const inHome = input.shards === null;
  if (inHome) statements.push(...copyInHomeStatements(d1, siteId, holders, now));
  // Always one row: the holder's assignment (null columns when none) and which guard held.
  statements.push(
    d1
      .prepare(
        `select c.id, c.code, c.expires_at, c.redeemed_at,
                ${notErased("?3", "?4", "?5")} as not_erased, ${policyAllows("?3", "?2", "?6")} as allowed
         from (select 1) left join coupons c on c.pool_id = ?1 and c.holder = ?2`,
      )
      .bind(pool.id, holder, siteId, cookieId, customerId, visits),
  );

  const results = await d1.batch(statements);
  const claimed = results[claimAt].results as { id: number }[];
  // A claim runs only when the claimer's decision row shows no live code for the pool: whatever
  // HOME answers goes to the copies beside the row (also a code the copy missed, which heals it).
  const answered = (results[results.length - 1].results as { id: number | null }[])[0]?.id != null;
  const changed = results.slice(0, claimAt + 1).some((r) => (r.meta?.changes ?? 0) > 0);
  if (!inHome && (changed || answered)) {
    const codes = results[claimAt + 1].results as CodeCopy[];
    const copy = writePersonCodes(env, { id: siteId, shards: input.shards }, holders, codes, now);
    // Awaited only where the caller has no execution context to run it after the response.
    await (input.defer ? input.defer(copy) : copy);
  }
  const current = (
    results[results.length - 1].results as (Omit<AssignmentRow, "pool_id" | "holder" | "id"> & {
      id: number | null;
      not_erased: number;
      allowed: number;
    })[]
  )[0];
  if (current.id === null) {
    if (!current.not_erased) return "erased";
    if (!current.allowed) return "policy";
    // Nothing held and nothing claimed: a list pool is dry, or a generated code hit an existing
    // code of the site (the unique index on (site_id, code)) and is retried with a new one.
    return pool.kind === "generated" ? "collision" : null;
  }
  if (current.redeemed_at !== null) return null;
  return {
    code: current.code,
    expiresAt: current.expires_at ?? expiresAt,
    couponId: current.id,
    fresh: claimed.length > 0,
  };
}

/**
 * Turns the assignment rows of the decision batch (worker/decide/load.ts) into one assignment per
 * pool, preferring holders earlier in `holders` (pass the customer holder first) and dropping
 * expired, unredeemed rows.
 * When the assignment found is not held by `holders[0]` (a code claimed before the visitor was
 * linked to a customer), calling claimCoupon() with the customer holder moves it to the customer.
 */
export function assignmentsByPool(rows: AssignmentRow[], holders: string[], now: number): Map<number, Assignment> {
  const byPool = new Map<number, Assignment>();
  for (const row of rows) {
    const assignment = toAssignment(row, now);
    if (!assignment) continue;
    const existing = byPool.get(row.pool_id);
    if (!existing || holders.indexOf(row.holder) < holders.indexOf(existing.holder)) {
      byPool.set(row.pool_id, assignment);
    }
  }
  return byPool;
}

function toAssignment(row: AssignmentRow, now: number): Assignment | null {
  const expiresAt = row.expires_at ?? 0;
  if (row.redeemed_at === null && expiresAt <= now) return null;
  return {
    couponId: row.id,
    poolId: row.pool_id,
    code: row.code,
    holder: row.holder,
    expiresAt,
    redeemedAt: row.redeemed_at,
  };
}
