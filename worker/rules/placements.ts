/**
 * Placements as objects: every placement a site serves — named by a rule or given a fallback — with
 * its slot size, fallback and rules in the order `/b` tries them (`GET /api/v1/placements`), and
 * the reorder of a placement's rules as one atomic write (`PUT /api/v1/placements/:placement/order`),
 * so "move up" can never leave two rules half-swapped (README.md, "Banners (creatives, rules, `/b`, `/c`)").
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { creatives, placementFallbacks, placementsSeen, rules, sites } from "../db/schema";
import { forgetDecisionSite } from "../decide/trusted-sites";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY, utcDayKey } from "../lib/time";

export const PlacementSummarySchema = z
  .object({
    placement: z.string(),
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

/** Rule gaps left by a reorder, so that a rule created later can still go between two others. */
const PRIORITY_STEP = 10;

export async function listPlacements(db: Db, siteId: number): Promise<PlacementSummary[]> {
  const [ruleRows, fallbackRows, creativeRows, seenRows] = await db.batch([
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
  ]);
  const creative = new Map(creativeRows.map((row) => [row.id, row]));
  const seen = new Map(seenRows.map((row) => [row.placement, row]));
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
