/**
 * The gate in front of every claim a banner makes (README, "Coupon claims"; docs/architecture.md,
 * "Decision path", step 5). A claim is a write from an anonymous browser that empties a pool, so:
 *   1. a visitor not linked to a CRM customer claims at most CLAIM_IP_LIMITER's bound per address
 *      and site (an IPv6 /64 is one address: a host gets a whole /64);
 *   2. a pool hands out at most CLAIM_POOL_LIMITER's bound per 10 s, whoever asks;
 *   3. the site's `claim_policy` (and the erasure guard), checked inside the claim's own SQL
 *      (claim.ts), so no caller can skip them.
 * Both bounds are Workers Rate Limiting bindings (wrangler.toml): no D1 read on the way, and a
 * limiter fault admits (as worker/abuse/rate-limit.ts). A refused claim is the same as a dry pool
 * for the banner — the rule's creative without a code — and is counted in claim_refusals per pool,
 * UTC day and reason, which the pool API and the admin's pools page show the pool's owner.
 */
import { sql } from "drizzle-orm";
import { allowedBy } from "../abuse/rate-limit";
import type { Db } from "../env";
import { logError } from "../lib/log";
import { utcDayKey } from "../lib/time";
import type { ShardEnv } from "../shards/routing";
import { type ClaimInput, type ClaimResult, claimOrRefusal } from "./claim";

type ClaimLimiters = Partial<Pick<Env, "CLAIM_IP_LIMITER" | "CLAIM_POOL_LIMITER">>;

type RefusalReason = "ip_limit" | "pool_limit" | "policy";

/**
 * The address a bound is keyed on: an IPv4 address as it is, an IPv6 address by its /64 (the
 * first four groups), since one host or customer line gets a whole /64 to pick addresses from.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function addressBucket(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head, tail = ""] = ip.toLowerCase().split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0"), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** claimCoupon() behind the bounds and the policy; null when refused, dry or already redeemed. */
export async function claimThroughGate(
  env: ClaimLimiters & ShardEnv,
  db: Db,
  input: ClaimInput & { siteKey: string; ip: string },
): Promise<ClaimResult | null> {
  const { siteKey, pool } = input;
  let refused: RefusalReason | null = null;
  if (
    input.holder.startsWith("v:") &&
    !(await allowedBy(env.CLAIM_IP_LIMITER, `claim|${siteKey}|${addressBucket(input.ip)}`))
  ) {
    refused = "ip_limit";
  } else if (!(await allowedBy(env.CLAIM_POOL_LIMITER, `claim|${siteKey}|${pool.id}`))) {
    refused = "pool_limit";
  } else {
    const outcome = await claimOrRefusal(db, env, input);
    if (outcome === "policy") refused = "policy";
    else if (outcome !== "erased") return outcome;
  }
  if (refused) await countRefusal(db, input.siteId, pool.id, refused, input.now);
  return null;
}

/** One upsert per refused claim (a flood costs a counter, not a row). A D1 fault is logged, not raised. */
async function countRefusal(db: Db, siteId: number, poolId: number, reason: RefusalReason, now: number) {
  try {
    await db.run(sql`
      insert into claim_refusals (site_id, pool_id, day, reason, count)
      values (${siteId}, ${poolId}, ${utcDayKey(now)}, ${reason}, 1)
      on conflict (pool_id, day, reason) do update set count = claim_refusals.count + 1
    `);
  } catch (error) {
    logError("coupons.refusal_counter_failed", { site: siteId, error });
  }
}
