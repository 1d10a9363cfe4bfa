/**
 * Next best offer (README.md, "Next best offer"): a placement with
 * `arbitration: "best"` lets every eligible rule compete, and Thompson sampling picks the one most
 * likely to pay off for this kind of visitor. The kind is the visitor's context — its CRM cluster,
 * else its top interest category, else "unknown" — and what each rule earned per context comes
 * from offer_counters, which the impression consumer, the click consumer and a redemption's own
 * batch add to (pipeline/impressions.ts, coupons/redeem.ts).
 *
 * The learned state lives in the isolate beside the rule cache and is read again at most every
 * LEARN_REFRESH_MS, so what a click teaches reaches the decisions within 30 s at the cost of one
 * small read per isolate and site every 30 s — not one per banner.
 *
 * Posteriors: clicks and redemptions per impression are Beta(1 + successes, 1 + failures), so a
 * rule with no data is Beta(1, 1) — uniform, and it wins often until it has been seen (explored,
 * never starved). `revenue` samples the redemption rate the same way and multiplies it by the
 * rule's revenue per redemption (the placement's while the rule has none).
 */
import { toD1 } from "../db/raw";
import type { customers, visitors } from "../db/schema";
import type { Db } from "../env";
import { logError } from "../lib/log";
import { utcDayNumber } from "../lib/time";
import type { CompiledRule } from "./rule-set";

type Arbitration = "priority" | "best";
export type Objective = "clicks" | "redemptions" | "revenue";
export type PlacementSetting = { arbitration: Arbitration; objective: Objective };
export const DEFAULT_SETTING: PlacementSetting = { arbitration: "priority", objective: "clicks" };

export type OfferStats = {
  impressions: number;
  clicks: number;
  redemptions: number;
  revenue: number;
  /** The posterior's sampling constants, worked out once per refresh (preparedOf), not per banner. */
  prepared?: Prepared;
};

/** The posterior of one rule for one objective: Beta(a, b) times `value`, ready to sample. */
type Prepared = BetaConstants & { objective: Objective; perRedemption: number; value: number };

/** The context of a visitor nothing is known about (anonymous, no cluster, no interests). */
export const UNKNOWN_CONTEXT = "unknown";
/**
 * How long the isolate trusts its learned state (README.md, "Next best offer": a click teaches within 30 s).
 * @internal Exported for its test.
 */
export const LEARN_REFRESH_MS = 30_000;
/** How many recent UTC days of counters the posteriors learn from: offers and tastes change. */
const LEARN_DAYS = 28;

/**
 * The visitor's context: its customer's first CRM cluster, else its top interest category (views
 * and cart adds, ties by name — the same order as decision-rows.ts TOP_CATEGORY and the SQL in
 * contextSql below), else "unknown".
 */
export function visitorContext(
  visitor: Pick<typeof visitors.$inferSelect, "interests"> | null,
  customer: Pick<typeof customers.$inferSelect, "clusters"> | null,
): string {
  const cluster = customer?.clusters?.[0];
  if (cluster) return cluster;
  let top: string | null = null;
  let most = -Infinity;
  for (const [category, count] of Object.entries(visitor?.interests ?? {})) {
    if (count > most || (count === most && top !== null && category < top)) {
      top = category;
      most = count;
    }
  }
  return top ?? UNKNOWN_CONTEXT;
}

/**
 * The same context in SQL, for a decision row `d` (left-joined: null when the person has none),
 * used where an outcome arrives without its impression (a redemption).
 */
export const contextSql = (d: string) =>
  `coalesce(json_extract(${d}.customer, '$.clusters[0]'), ${d}.top_category, '${UNKNOWN_CONTEXT}')`;

/*
 * Sampling. Hand-written: the only Beta sampler on npm that runs at the edge without Node's
 * crypto is @stdlib/random-base-beta, which brings some forty @stdlib packages — and under `best`
 * 200 eligible rules mean 200 samples per banner inside the 50 µs decision budget, where its
 * rejection method (two normals, two uniforms and logarithms per sample) cost about 0.1 µs each
 * on this machine (bench/decision-logic.ts). A Beta(a, b) deviate is X / (X + Y) with
 * X ~ Gamma(a), Y ~ Gamma(b); each gamma here is Wilson and Hilferty's cube of a normal (PNAS 17,
 * 1931), within 2 % of the exact quantiles from the 1st to the 99.9th percentile for every shape
 * of at least 1 — and every posterior here has shapes of at least 1 (1 + successes, 1 + failures).
 * The normal comes from a table of the normal quantile function (4,096 steps, linearly
 * interpolated: one Math.random, no logarithm; tails cut at ±3.5 σ), and each posterior's
 * constants are worked out once per refresh (preparedOf). Nothing a click rate can tell apart from
 * the exact draw, at a few tens of nanoseconds: 200 rules that all match cost about 25 µs per
 * decision in bench/decision-logic.ts, choice and render included.
 */

/** Acklam's rational approximation of the standard normal quantile (relative error below 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

const NORMAL_STEPS = 4096;
const NORMAL_TABLE = Float64Array.from({ length: NORMAL_STEPS + 1 }, (_, i) =>
  normalQuantile((i + 0.5) / (NORMAL_STEPS + 1)),
);

/** A standard normal deviate from one uniform, through the quantile table. */
function standardNormal(random: () => number): number {
  const x = random() * NORMAL_STEPS;
  const i = x | 0;
  return NORMAL_TABLE[i] + (NORMAL_TABLE[i + 1] - NORMAL_TABLE[i]) * (x - i);
}

/** A Beta(a, b) posterior's Wilson–Hilferty constants: 1 − 1/(9·shape) and √(1/(9·shape)) of each gamma. */
type BetaConstants = { a: number; b: number; da: number; ca: number; db: number; cb: number };

function betaConstants(a: number, b: number): BetaConstants {
  return { a, b, da: 1 - 1 / (9 * a), ca: Math.sqrt(1 / (9 * a)), db: 1 - 1 / (9 * b), cb: Math.sqrt(1 / (9 * b)) };
}

/**
 * Beta(a, b) as X / (X + Y), X ~ Gamma(a) and Y ~ Gamma(b) each by Wilson–Hilferty
 * (shape · (1 − 1/(9·shape) + Z·√(1/(9·shape)))³, clamped at 0), for shapes of at least 1.
 */
function sampleBeta(k: BetaConstants, random: () => number): number {
  const rx = k.da + k.ca * standardNormal(random);
  const ry = k.db + k.cb * standardNormal(random);
  const x = rx > 0 ? k.a * rx * rx * rx : 0;
  const y = ry > 0 ? k.b * ry * ry * ry : 0;
  return x + y === 0 ? 0.5 : x / (x + y);
}

/**
 * One Beta(a, b) sample (a, b ≥ 1): what arbitration draws, for the sampler's own test.
 * @internal Exported for its test.
 */
export function betaSample(a: number, b: number, random: () => number = Math.random): number {
  return sampleBeta(betaConstants(a, b), random);
}

/** One rule's posterior in the visitor's context: its mean and the sample drawn for this decision. */
export type Draw = { ruleId: number; mean: number; sample: number; impressions: number };

/** What arbitration needs for one decision: the objective, the context's stats per rule, a random source. */
export type OfferArbitration = {
  objective: Objective;
  context: string;
  stats: ReadonlyMap<number, OfferStats> | undefined;
  /** Revenue per redemption over the placement, for a rule that has none yet (revenue objective). */
  placementRevenuePerRedemption: number;
  random: () => number;
};

const NO_STATS: OfferStats = { impressions: 0, clicks: 0, redemptions: 0, revenue: 0 };

/** Beta(a, b) of the success per impression, and what one success is worth (1, or revenue). */
function posterior(
  stats: OfferStats,
  objective: Objective,
  placementRevenuePerRedemption: number,
): { a: number; b: number; value: number } {
  const successes = objective === "clicks" ? stats.clicks : stats.redemptions;
  // A click can be counted before its impression's batch: never more successes than trials.
  const wins = Math.min(successes, stats.impressions);
  const value =
    objective === "revenue"
      ? stats.redemptions > 0
        ? stats.revenue / stats.redemptions
        : placementRevenuePerRedemption
      : 1;
  return { a: 1 + wins, b: 1 + stats.impressions - wins, value };
}

/** The stats' sampling constants for this objective, kept on the stats until the next refresh. */
function preparedOf(stats: OfferStats, offers: OfferArbitration): Prepared {
  const held = stats.prepared;
  if (held && held.objective === offers.objective && held.perRedemption === offers.placementRevenuePerRedemption) {
    return held;
  }
  const { a, b, value } = posterior(stats, offers.objective, offers.placementRevenuePerRedemption);
  // One literal of one shape, not a spread: sampleBeta reads these fields for every eligible rule.
  const k = betaConstants(a, b);
  const prepared: Prepared = {
    a,
    b,
    da: k.da,
    ca: k.ca,
    db: k.db,
    cb: k.cb,
    objective: offers.objective,
    perRedemption: offers.placementRevenuePerRedemption,
    value,
  };
  stats.prepared = prepared;
  return prepared;
}

/** One draw of the rule's outcome per impression; a rule with no data draws from Beta(1, 1), the uniform. */
function sampleOf(stats: OfferStats | undefined, offers: OfferArbitration): number {
  if (stats === undefined) {
    return offers.random() * posterior(NO_STATS, offers.objective, offers.placementRevenuePerRedemption).value;
  }
  const prepared = preparedOf(stats, offers);
  return sampleBeta(prepared, offers.random) * prepared.value;
}

/** The posterior mean of the outcome per impression (GET /api/v1/placements/:placement). */
export function posteriorMean(stats: OfferStats, objective: Objective, placementRevenuePerRedemption = 1): number {
  const { a, b, value } = posterior(stats, objective, placementRevenuePerRedemption);
  return (a / (a + b)) * value;
}

/** Mean and sample of one rule's outcome per impression. */
function drawFor(ruleId: number, offers: OfferArbitration): Draw {
  const stats = offers.stats?.get(ruleId);
  return {
    ruleId,
    mean: posteriorMean(stats ?? NO_STATS, offers.objective, offers.placementRevenuePerRedemption),
    sample: sampleOf(stats, offers),
    impressions: stats?.impressions ?? 0,
  };
}

/**
 * Thompson sampling: the eligible rule whose sample is highest (ties: the earlier, by priority).
 * `draws` (explain) lists each rule's mean and sample; /b asks for none and allocates nothing per rule.
 */
export function arbitrate(eligible: readonly CompiledRule[], offers: OfferArbitration, keepDraws = true) {
  let winner: CompiledRule | null = null;
  let best = -Infinity;
  const draws: Draw[] = [];
  for (const rule of eligible) {
    let sample: number;
    if (keepDraws) {
      const draw = drawFor(rule.id, offers);
      draws.push(draw);
      sample = draw.sample;
    } else {
      sample = sampleOf(offers.stats?.get(rule.id), offers);
    }
    if (sample > best) {
      best = sample;
      winner = rule;
    }
  }
  return { winner, draws };
}

/*
 * The learned state, per site: placement → context → rule → stats, read from the last LEARN_DAYS
 * of offer_counters for the site's `best` placements.
 */
type PlacementLearned = { byContext: Map<string, Map<number, OfferStats>>; revenuePerRedemption: number };
type Learned = { at: number; of: string; placements: Map<string, PlacementLearned> };

const learnedBySite = new Map<number, Learned>();
const refreshing = new Map<number, Promise<Learned>>();

/** Drops the learned state (tests that start over; a setting changed by PATCH). */
export function clearLearnedOffers(siteId?: number) {
  if (siteId === undefined) {
    learnedBySite.clear();
    refreshing.clear();
  } else {
    learnedBySite.delete(siteId);
  }
}

type CounterRow = {
  placement: string;
  rule_id: number;
  context: string;
  impressions: number;
  clicks: number;
  redemptions: number;
  revenue: number;
};

/** Sums of the recent days per placement, rule and context (one statement, the primary key's prefix). */
export async function readOfferCounters(
  db: Db,
  siteId: number,
  placements: readonly string[],
  now: number,
): Promise<CounterRow[]> {
  if (placements.length === 0) return [];
  const { results } = await toD1(db)
    .prepare(
      `select placement, rule_id, context, sum(impressions) as impressions, sum(clicks) as clicks,
         sum(redemptions) as redemptions, sum(revenue) as revenue
       from offer_counters where site_id = ?1 and placement in (select value from json_each(?2)) and day >= ?3
       group by placement, rule_id, context`,
    )
    .bind(siteId, JSON.stringify(placements), utcDayNumber(now) - LEARN_DAYS + 1)
    .all<CounterRow>();
  return results;
}

async function fetchLearned(db: Db, siteId: number, placements: readonly string[], now: number): Promise<Learned> {
  const rows = await readOfferCounters(db, siteId, placements, now);
  const learned: Learned = { at: now, of: placements.join("\n"), placements: new Map() };
  const totals = new Map<string, { redemptions: number; revenue: number }>();
  for (const row of rows) {
    let placement = learned.placements.get(row.placement);
    if (!placement) {
      placement = { byContext: new Map(), revenuePerRedemption: 1 };
      learned.placements.set(row.placement, placement);
    }
    let context = placement.byContext.get(row.context);
    if (!context) {
      context = new Map();
      placement.byContext.set(row.context, context);
    }
    context.set(row.rule_id, {
      impressions: row.impressions,
      clicks: row.clicks,
      redemptions: row.redemptions,
      revenue: row.revenue,
    });
    const total = totals.get(row.placement) ?? { redemptions: 0, revenue: 0 };
    total.redemptions += row.redemptions;
    total.revenue += row.revenue;
    totals.set(row.placement, total);
  }
  for (const [name, total] of totals) {
    const placement = learned.placements.get(name);
    if (placement && total.redemptions > 0) placement.revenuePerRedemption = total.revenue / total.redemptions;
  }
  return learned;
}

/**
 * The site's learned state, read again when older than LEARN_REFRESH_MS (one read per isolate and
 * site at most every 30 s, shared by the requests that notice it at once). A failed or late read
 * keeps the state the isolate has: a stale posterior is still a good one.
 */
export async function learnedOffers(
  db: Db,
  siteId: number,
  bestPlacements: readonly string[],
  now: number,
  bound: <T>(work: Promise<T>) => Promise<T> = (work) => work,
): Promise<Learned> {
  const held = learnedBySite.get(siteId);
  // A placement switched to `best` since (a new rules version) is learned at once, not in 30 s.
  const of = bestPlacements.join("\n");
  if (held && held.of === of && now - held.at < LEARN_REFRESH_MS && now >= held.at) return held;
  let pending = refreshing.get(siteId);
  if (!pending) {
    pending = fetchLearned(db, siteId, bestPlacements, now).finally(() => refreshing.delete(siteId));
    refreshing.set(siteId, pending);
  }
  try {
    const fresh = await bound(pending);
    learnedBySite.set(siteId, fresh);
    return fresh;
  } catch (error) {
    logError("decide.learned_offers_failed", { site: siteId, error });
    // Tried now: the next attempt waits its 30 s instead of every banner paying for a stalled D1.
    const kept: Learned = { at: now, of, placements: held?.placements ?? new Map() };
    learnedBySite.set(siteId, kept);
    return kept;
  }
}

/** What arbitration of one placement needs for one visitor context, from the learned state. */
export function offersFor(
  learned: Learned,
  placement: string,
  context: string,
  objective: Objective,
  random: () => number = Math.random,
): OfferArbitration {
  const held = learned.placements.get(placement);
  return {
    objective,
    context,
    stats: held?.byContext.get(context),
    placementRevenuePerRedemption: held?.revenuePerRedemption ?? 1,
    random,
  };
}
