/**
 * A site's rules, creatives, segments, pools and fallbacks, compiled once per rules version and
 * kept in the isolate. Every management write bumps `sites.rules_version`; the decision batch reads
 * the version, so a stale entry is noticed on the very next request and the rules are reloaded
 * (the only time a decision costs an extra round trip for them).
 */
import { and, eq } from "drizzle-orm";
import type { ClaimPool } from "../coupons";
import { type CompiledCreative, compileCreative } from "../creatives/compile";
import { couponPools, creatives, placementFallbacks, placementSettings, rules, segments } from "../db/schema";
import type { Db } from "../env";
import { compileSegment, type SegmentPredicate } from "../segments";
import { clearLearnedOffers, type PlacementSetting } from "./offers";

type DecisionPool = ClaimPool & { discount: string };

export type CompiledRule = {
  id: number;
  priority: number;
  startsAt: number | null;
  endsAt: number | null;
  capPerDay: number | null;
  holdout: number | null;
  stopAfterConversion: boolean;
  /** null: the rule has no segment and matches everyone. Throws when the segment did not compile. */
  matches: SegmentPredicate | null;
  /** String literals of the segment: the cluster shown is the customer's first one named here. */
  segmentLiterals: string[];
  creative: CompiledCreative;
  pool: DecisionPool | null;
};

export type RuleSet = {
  version: number;
  /** Enabled rules per placement, by priority (lower first), then age. */
  byPlacement: Map<string, CompiledRule[]>;
  fallbacks: Map<string, CompiledCreative>;
  /** Placements set to something other than the default (`priority`, `clicks`): offers.ts. */
  settings: Map<string, PlacementSetting>;
  /** The placements with `arbitration: "best"`, by name: whose learned state the isolate keeps. */
  bestPlacements: string[];
};

const cache = new Map<number, RuleSet>();
/** One load per (site, version) even when many requests of one isolate notice the change at once. */
const loading = new Map<string, Promise<RuleSet>>();

export function cachedRuleSet(siteId: number, version: number): RuleSet | undefined {
  const hit = cache.get(siteId);
  return hit && hit.version === version ? hit : undefined;
}

/** The newest rule set this isolate holds for a site, whatever its version: the fallback when D1 stalls. */
export function lastKnownRuleSet(siteId: number): RuleSet | undefined {
  return cache.get(siteId);
}

/**
 * Drops every cached rule set and the learned offers beside it (tests that compare cold and warm paths).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function clearRuleSetCache() {
  cache.clear();
  loading.clear();
  clearLearnedOffers();
}

export async function loadRuleSet(db: Db, siteId: number, version: number): Promise<RuleSet> {
  const hit = cachedRuleSet(siteId, version);
  if (hit) return hit;
  const key = `${siteId}:${version}`;
  let pending = loading.get(key);
  if (!pending) {
    pending = fetchRuleSet(db, siteId, version).finally(() => loading.delete(key));
    loading.set(key, pending);
  }
  const set = await pending;
  const current = cache.get(siteId);
  if (!current || current.version <= version) cache.set(siteId, set);
  return set;
}

function brokenSegment(error: unknown): SegmentPredicate {
  return () => {
    throw error;
  };
}

async function fetchRuleSet(db: Db, siteId: number, version: number): Promise<RuleSet> {
  // One batch: the rules and everything they reference.
  const [ruleRows, creativeRows, segmentRows, poolRows, fallbackRows, settingRows] = await db.batch([
    db
      .select()
      .from(rules)
      .where(and(eq(rules.siteId, siteId), eq(rules.enabled, true))),
    db.select().from(creatives).where(eq(creatives.siteId, siteId)),
    db.select().from(segments).where(eq(segments.siteId, siteId)),
    db.select().from(couponPools).where(eq(couponPools.siteId, siteId)),
    db.select().from(placementFallbacks).where(eq(placementFallbacks.siteId, siteId)),
    db.select().from(placementSettings).where(eq(placementSettings.siteId, siteId)),
  ]);
  const compiled = new Map<number, CompiledCreative>();
  const creativeOf = (id: number) => {
    let creative = compiled.get(id);
    if (!creative) {
      const row = creativeRows.find((r) => r.id === id);
      if (!row) throw new Error(`creative ${id} is missing`);
      creative = compileCreative(row);
      compiled.set(id, creative);
    }
    return creative;
  };
  const segmentById = new Map(segmentRows.map((s) => [s.id, s.expression]));
  const poolById = new Map(poolRows.map((p) => [p.id, p]));

  const byPlacement = new Map<string, CompiledRule[]>();
  for (const row of ruleRows.sort((a, b) => a.priority - b.priority || a.id - b.id)) {
    let matches: SegmentPredicate | null = null;
    let literals: string[] = [];
    if (row.segmentId !== null) {
      const expression = segmentById.get(row.segmentId);
      try {
        if (expression === undefined) throw new Error(`segment ${row.segmentId} is missing`);
        matches = compileSegment(expression);
        literals = [...expression.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
      } catch (error) {
        // A rule that cannot be evaluated is a fault when it is reached (the placement serves its
        // fallback and the error is logged), never a silent skip to a lower-priority rule.
        matches = brokenSegment(new Error(`rule ${row.id}: segment ${row.segmentId}: ${String(error)}`));
      }
    }
    const pool = row.poolId === null ? undefined : poolById.get(row.poolId);
    const rule: CompiledRule = {
      id: row.id,
      priority: row.priority,
      startsAt: row.startsAt,
      endsAt: row.endsAt,
      capPerDay: row.capPerDay,
      holdout: row.holdout,
      stopAfterConversion: row.stopAfterConversion,
      matches,
      segmentLiterals: literals,
      creative: creativeOf(row.creativeId),
      pool: pool
        ? { id: pool.id, kind: pool.kind, prefix: pool.prefix, validDays: pool.validDays, discount: pool.discount }
        : null,
    };
    const list = byPlacement.get(row.placement) ?? [];
    list.push(rule);
    byPlacement.set(row.placement, list);
  }
  const fallbacks = new Map<string, CompiledCreative>();
  for (const row of fallbackRows) fallbacks.set(row.placement, creativeOf(row.creativeId));
  const settings = new Map<string, PlacementSetting>(
    settingRows.map((row) => [row.placement, { arbitration: row.arbitration, objective: row.objective }]),
  );
  const bestPlacements = settingRows
    .filter((row) => row.arbitration === "best")
    .map((row) => row.placement)
    .sort();
  return { version, byPlacement, fallbacks, settings, bestPlacements };
}
