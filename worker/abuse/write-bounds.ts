/**
 * Bounds on every write that needs no key (docs/architecture.md, "Trust boundaries": anything through /e, /b,
 * /c, /sync can be forged by anyone). Before such a write the caller asks `admitWrite`: per IP and
 * site, and per site, through the Workers Rate Limiting bindings (wrangler.toml; no D1 read on the
 * way). Beyond the bound the write does not happen and the request is only counted: one
 * write_counters row per site, UTC day and reason, whatever the flood's length — so a flood costs
 * a counter, not a row per request, and the count says how much was refused.
 *
 * Kinds and their bounds:
 * - `rejection` (rejected_events rows from /e, whatever the reason): 10 rows per IP and site and
 *   minute, 10 per site and minute — rows, not requests: a batch of 50 rejected events takes 50
 *   places (admitWrites), and write_counters counts rows kept and rows refused;
 * - `sync` (id_links), `click` (clicks), `optout` (erasures from /optout): 60 per IP, site and kind
 *   and minute, 1,000 per site and kind per 10 s.
 * Requests that name no known site count under site 0 and share one bucket per IP (a flood cannot
 * dodge the bound by inventing site keys). A limiter fault admits (fails open), as rate-limit.ts.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv, Db } from "../env";
import { logError } from "../lib/log";
import { utcDayKey } from "../lib/time";
import { allowedBy, clientIp } from "./rate-limit";

export type WriteKind = "rejection" | "sync" | "click" | "optout";

/** Site 0: the request named no site tagwerk knows. */
export const NO_SITE = 0;

type Limiters = Pick<Env, "REJECTION_IP_LIMITER" | "REJECTION_LOG_LIMITER" | "WRITE_IP_LIMITER" | "WRITE_SITE_LIMITER">;

/**
 * Whether this unauthenticated write may happen. `reason` names what is counted (a fixed
 * category such as `invalid_json`, `sync`: never text from the request, which would let a flood
 * make a counter row per request).
 */
export async function admitWrite(
  env: Partial<Limiters>,
  db: Db,
  input: { kind: WriteKind; ip: string; siteId: number; reason: string; now: number },
): Promise<boolean> {
  return (await admitWrites(env, db, { ...input, count: 1 })) === 1;
}

/**
 * How many of `count` rows of one request may be written: each row takes its own place within
 * the bound (a batch of 50 rejected events is 50 rows, not one admission), the first ones first;
 * the rest are counted as refused. One counter write per request, whatever `count`.
 */
export async function admitWrites(
  env: Partial<Limiters>,
  db: Db,
  input: { kind: WriteKind; ip: string; siteId: number; reason: string; now: number; count: number },
): Promise<number> {
  const { kind, ip, siteId } = input;
  const perIp = kind === "rejection" ? env.REJECTION_IP_LIMITER : env.WRITE_IP_LIMITER;
  const perSite = kind === "rejection" ? env.REJECTION_LOG_LIMITER : env.WRITE_SITE_LIMITER;
  let admitted = 0;
  // Stops at the first refusal: within one request the bucket does not refill.
  while (
    admitted < input.count &&
    (await allowedBy(perIp, `${kind}|${ip}|${siteId}`)) &&
    (await allowedBy(perSite, `${kind}|${siteId}`))
  ) {
    admitted++;
  }
  await countWrites(db, siteId, input.reason, { kept: admitted, refused: input.count - admitted }, input.now);
  return admitted;
}

/** `admitWrite` for a request: its client IP is the key. */
export function admitRequestWrite(
  c: Context<AppEnv>,
  input: { kind: WriteKind; siteId: number; reason: string; now: number },
): Promise<boolean> {
  return admitWrite(c.env, c.var.db, { ...input, ip: clientIp(c) });
}

/** Adds one to the kept or refused count of (site, day, reason). A D1 fault is logged, not raised. */
export function countWrite(
  db: Db,
  siteId: number,
  reason: string,
  column: "kept" | "refused",
  now: number,
  by = 1,
): Promise<void> {
  return countWrites(db, siteId, reason, column === "kept" ? { kept: by, refused: 0 } : { kept: 0, refused: by }, now);
}

async function countWrites(
  db: Db,
  siteId: number,
  reason: string,
  counts: { kept: number; refused: number },
  now: number,
): Promise<void> {
  try {
    await db.run(sql`
      insert into write_counters (site_id, day, reason, kept, refused)
      values (${siteId}, ${utcDayKey(now)}, ${reason.slice(0, 64)}, ${counts.kept}, ${counts.refused})
      on conflict (site_id, day, reason) do update
        set kept = write_counters.kept + excluded.kept, refused = write_counters.refused + excluded.refused
    `);
  } catch (error) {
    logError("abuse.write_counter_failed", { site: siteId, error });
  }
}
