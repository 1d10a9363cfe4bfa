/**
 * Placements as objects: every placement a site serves — named by a rule or given a fallback — with
 * its slot size, fallback and rules in the order `/b` tries them (`GET /api/v1/placements`), and
 * the reorder of a placement's rules as one atomic write (`PUT /api/v1/placements/:placement/order`),
 * so "move up" can never leave two rules half-swapped (README.md, "Banners (creatives, rules, `/b`, `/c`)").
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { creatives, placementFallbacks, placementSettings, placementsSeen, rules, sites } from "../db/schema";
import { DEFAULT_SETTING, type OfferStats, posteriorMean, readOfferCounters } from "../decide/offers";
import { forgetDecisionSite } from "../decide/trusted-sites";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY, utcDayKey } from "../lib/time";

const ArbitrationSchema = z.enum(["priority", "best"]).openapi({
  description:
    "priority: the first matching rule by priority; best: the offer most likely to pay off for this kind of visitor (README.md, Next best offer)",
});
const ObjectiveSchema = z.enum(["clicks", "redemptions", "revenue"]).openapi({
  description: "What `best` maximises per impression: clicks, coupon redemptions, or their revenue",
});

export const PlacementSettingPatchSchema = z
  .object({ arbitration: ArbitrationSchema.optional(), objective: ObjectiveSchema.optional() })
  .strict()
  .refine((patch) => patch.arbitration !== undefined || patch.objective !== undefined, {
    message: "give arbitration, objective or both",
  });

export const PlacementSummarySchema = z
  .object({
    placement: z.string(),
    arbitration: ArbitrationSchema,
    objective: ObjectiveSchema,
    width: z.number().nullable().openapi({ description: "The fallback creative's, else the first enabled rule's" }),
    height: z.number().nullable(),
    fallback: z.object({ creative_id: z.number(), name: z.string() }).nullable(),
    rules: z.array(
      z.object({
        id: z.number(),
        name: z.string(),
        priority: z.number(),
        enabled: z.boolean(),
        creative_id: z.number(),
      }),
    ),
    seen: z
      .object({
        first: z.string().openapi({ example: "2026-11-02" }),
        last: z.string().openapi({ example: "2026-12-06" }),
      })
      .nullable()
      .openapi({
        description:
          "The first and the latest UTC day `/b` was asked for the placement (noted once per queue delivery, so a " +
          "few seconds late); null when never. A placement only seen has neither rules nor a fallback yet.",
      }),
  })
  .openapi("Placement");
export type PlacementSummary = z.infer<typeof PlacementSummarySchema>;

export const PlacementDetailSchema = PlacementSummarySchema.extend({
  learned: z
    .array(
      z.object({
        rule_id: z.number(),
        context: z.string().openapi({ description: "CRM cluster, else top interest category, else unknown" }),
        impressions: z.number(),
        clicks: z.number(),
        redemptions: z.number(),
        revenue: z.number(),
        mean: z.number().openapi({ description: "Posterior mean of the objective per impression" }),
      }),
    )
    .openapi({
      description:
        "What each current rule earned per visitor context over the days the arbitration learns from; a rule without a row is explored",
    }),
}).openapi("PlacementDetail");
export type PlacementDetail = z.infer<typeof PlacementDetailSchema>;

/** Rule gaps left by a reorder, so that a rule created later can still go between two others. */
const PRIORITY_STEP = 10;

export async function listPlacements(db: Db, siteId: number): Promise<PlacementSummary[]> {
  const [ruleRows, fallbackRows, creativeRows, seenRows, settingRows] = await db.batch([
    db
      .select()
      .from(rules)
      .where(eq(rules.siteId, siteId))
      .orderBy(asc(rules.placement), asc(rules.priority), asc(rules.id)),
    db.select().from(placementFallbacks).where(eq(placementFallbacks.siteId, siteId)),
    db
      .select({ id: creatives.id, name: creatives.name, width: creatives.width, height: creatives.height })
      .from(creatives)
      .where(eq(creatives.siteId, siteId)),
    db.select().from(placementsSeen).where(eq(placementsSeen.siteId, siteId)),
    db.select().from(placementSettings).where(eq(placementSettings.siteId, siteId)),
  ]);
  const creative = new Map(creativeRows.map((row) => [row.id, row]));
  const seen = new Map(seenRows.map((row) => [row.placement, row]));
  const setting = new Map(settingRows.map((row) => [row.placement, row]));
  const names = [
    ...new Set([...ruleRows.map((r) => r.placement), ...fallbackRows.map((f) => f.placement), ...seen.keys()]),
  ].sort();
  return names.map((placement) => {
    const own = ruleRows.filter((r) => r.placement === placement);
    const fallbackRow = fallbackRows.find((f) => f.placement === placement);
    const fallback = fallbackRow ? creative.get(fallbackRow.creativeId) : undefined;
    // The same order of preference as the ad tag's size (worker/rules/ad-tag.ts placementSize).
    const sized = fallback ?? creative.get(own.find((r) => r.enabled)?.creativeId ?? -1);
    return {
      placement,
      arbitration: setting.get(placement)?.arbitration ?? DEFAULT_SETTING.arbitration,
      objective: setting.get(placement)?.objective ?? DEFAULT_SETTING.objective,
      width: sized?.width ?? null,
      height: sized?.height ?? null,
      fallback: fallback ? { creative_id: fallback.id, name: fallback.name } : null,
      rules: own.map((r) => ({
        id: r.id,
        name: r.name,
        priority: r.priority,
        enabled: r.enabled,
        creative_id: r.creativeId,
      })),
      seen: seenOf(seen.get(placement)),
    };
  });
}

function seenOf(row: { firstDay: number; lastDay: number } | undefined) {
  if (!row) return null;
  return { first: utcDayKey(row.firstDay * MS_PER_DAY), last: utcDayKey(row.lastDay * MS_PER_DAY) };
}

/**
 * Gives the placement's rules the order `ruleIds` lists (priorities 10, 20, …) in one D1 batch —
 * one transaction — together with the rules-version bump. `ruleIds` must name every rule of the
 * placement exactly once: an order made from a stale page (a rule added or removed since) is
 * refused with 409 rather than half applied.
 */
export async function orderPlacementRules(db: Db, siteId: number, placement: string, ruleIds: number[]) {
  const current = await db
    .select({ id: rules.id })
    .from(rules)
    .where(and(eq(rules.siteId, siteId), eq(rules.placement, placement)));
  if (current.length === 0) throw apiError(404, "not_found", `No rules for placement "${placement}" in this site`);
  const known = new Set(current.map((r) => r.id));
  const listed = new Set(ruleIds);
  if (listed.size !== ruleIds.length || listed.size !== known.size || ruleIds.some((id) => !known.has(id))) {
    const expected = [...known].sort((a, b) => a - b).join(", ");
    throw apiError(
      409,
      "conflict",
      `rule_ids: must list each rule of placement "${placement}" exactly once (now: ${expected}); reload and try again`,
    );
  }
  const now = Date.now();
  const [first, ...rest] = ruleIds.map((id, index) =>
    db
      .update(rules)
      .set({ priority: (index + 1) * PRIORITY_STEP, updatedAt: now })
      .where(and(eq(rules.siteId, siteId), eq(rules.id, id))),
  );
  await db.batch([
    first,
    ...rest,
    db
      .update(sites)
      .set({ rulesVersion: sql`${sites.rulesVersion} + 1` })
      .where(eq(sites.id, siteId)),
  ]);
  forgetDecisionSite(siteId);
}

/** One placement with its learned state (rules of the placement only: a deleted rule's counters stay for its days, unlisted). */
export async function placementDetail(
  db: Db,
  siteId: number,
  placement: string,
  now: number,
): Promise<PlacementDetail> {
  const summary = (await listPlacements(db, siteId)).find((p) => p.placement === placement);
  if (!summary) throw apiError(404, "not_found", `No placement "${placement}" in this site`);
  const current = new Set(summary.rules.map((r) => r.id));
  const rows = (await readOfferCounters(db, siteId, [placement], now)).filter((row) => current.has(row.rule_id));
  const redemptions = rows.reduce((sum, row) => sum + row.redemptions, 0);
  const perRedemption = redemptions > 0 ? rows.reduce((sum, row) => sum + row.revenue, 0) / redemptions : 1;
  const learned = rows
    .map((row) => {
      const stats: OfferStats = row;
      return {
        rule_id: row.rule_id,
        context: row.context,
        impressions: row.impressions,
        clicks: row.clicks,
        redemptions: row.redemptions,
        revenue: Math.round(row.revenue * 100) / 100,
        mean: posteriorMean(stats, summary.objective, perRedemption),
      };
    })
    .sort((a, b) => a.context.localeCompare(b.context) || b.mean - a.mean || a.rule_id - b.rule_id);
  return { ...summary, learned };
}

/**
 * Sets how the placement picks among its matching rules (README.md, "Next best offer"), with the
 * rules-version bump in the same batch: every isolate decides by the new setting on its next banner.
 */
export async function setPlacementArbitration(
  db: Db,
  siteId: number,
  placement: string,
  patch: { arbitration?: "priority" | "best"; objective?: "clicks" | "redemptions" | "revenue" },
) {
  const known = (await listPlacements(db, siteId)).find((p) => p.placement === placement);
  if (!known)
    throw apiError(
      404,
      "not_found",
      `No placement "${placement}" in this site (no rule, fallback or banner request names it yet)`,
    );
  const next = {
    arbitration: patch.arbitration ?? known.arbitration,
    objective: patch.objective ?? known.objective,
    updatedAt: Date.now(),
  };
  await db.batch([
    db
      .insert(placementSettings)
      .values({ siteId, placement, ...next })
      .onConflictDoUpdate({ target: [placementSettings.siteId, placementSettings.placement], set: next }),
    db
      .update(sites)
      .set({ rulesVersion: sql`${sites.rulesVersion} + 1` })
      .where(eq(sites.id, siteId)),
  ]);
  forgetDecisionSite(siteId);
}
