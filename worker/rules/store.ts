/**
 * Banner rules and placement fallbacks. Every referenced ID (segment, creative, pool) must belong to
 * the same site, else 400 naming the field; every write bumps the site's rules version, which is
 * what invalidates the decision path's per-isolate cache.
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { couponPools, creatives, placementFallbacks, rules, segments } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { patchSchemaOf } from "../lib/patch-schema";
import { bumpRulesVersion } from "../sites/store";

const PLACEMENT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const PlacementSchema = z
  .string()
  .regex(PLACEMENT_PATTERN, "letters, digits, _ and - only (1-64)")
  .openapi({ example: "home-hero" });

const isoTime = z.iso
  .datetime({ offset: true })
  .nullable()
  .openapi({ description: "ISO 8601 time with zone, e.g. 2026-12-01T00:00:00Z; null for open-ended" });

export const RuleInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    placement: PlacementSchema,
    segment_id: z.number().int().positive().nullable().default(null).openapi({ description: "null matches everyone" }),
    creative_id: z.number().int().positive(),
    pool_id: z.number().int().positive().nullable().default(null),
    priority: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(100)
      .openapi({ description: "Lower numbers are tried first; ties go to the older rule" }),
    starts_at: isoTime.default(null),
    ends_at: isoTime.default(null),
    cap_per_day: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .nullable()
      .default(null)
      .openapi({ description: "Impressions per visitor per UTC day; null for no cap" }),
    holdout: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .default(null)
      .openapi({ description: "Control-group share (0..1); null takes the site's" }),
    stop_after_conversion: z.boolean().default(false),
    enabled: z.boolean().default(true),
  })
  .strict();

export const RulePatchSchema = patchSchemaOf(RuleInputSchema);

export const RuleSchema = RuleInputSchema.extend({
  id: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
}).openapi("Rule");

type RuleInput = z.infer<typeof RuleInputSchema>;
type RuleRow = typeof rules.$inferSelect;

const toIso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toMs = (iso: string | null | undefined) => (iso == null ? iso : Date.parse(iso));

export function ruleToJson(row: RuleRow): z.infer<typeof RuleSchema> {
  return {
    id: row.id,
    name: row.name,
    placement: row.placement,
    segment_id: row.segmentId,
    creative_id: row.creativeId,
    pool_id: row.poolId,
    priority: row.priority,
    starts_at: toIso(row.startsAt),
    ends_at: toIso(row.endsAt),
    cap_per_day: row.capPerDay,
    holdout: row.holdout,
    stop_after_conversion: row.stopAfterConversion,
    enabled: row.enabled,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** 400 naming the field when a referenced row is missing or belongs to another site. */
async function checkReferences(
  db: Db,
  siteId: number,
  refs: { segment_id?: number | null; creative_id?: number; pool_id?: number | null },
) {
  const checks: [string, number | null | undefined, typeof segments | typeof creatives | typeof couponPools][] = [
    ["segment_id", refs.segment_id, segments],
    ["creative_id", refs.creative_id, creatives],
    ["pool_id", refs.pool_id, couponPools],
  ];
  for (const [field, id, table] of checks) {
    if (id == null) continue;
    const [row] = await db
      .select({ id: table.id })
      .from(table)
      .where(and(eq(table.siteId, siteId), eq(table.id, id)));
    if (!row) throw apiError(400, "invalid_reference", `${field}: no ${field.replace("_id", "")} ${id} in this site`);
  }
}

function checkSchedule(startsAt: number | null | undefined, endsAt: number | null | undefined) {
  if (startsAt != null && endsAt != null && endsAt <= startsAt) {
    throw apiError(400, "validation_failed", "ends_at: must be after starts_at");
  }
}

export async function listRules(db: Db, siteId: number, placement?: string) {
  return db
    .select()
    .from(rules)
    .where(placement ? and(eq(rules.siteId, siteId), eq(rules.placement, placement)) : eq(rules.siteId, siteId))
    .orderBy(asc(rules.placement), asc(rules.priority), asc(rules.id));
}

export async function getRule(db: Db, siteId: number, id: number) {
  const [row] = await db
    .select()
    .from(rules)
    .where(and(eq(rules.siteId, siteId), eq(rules.id, id)));
  if (!row) throw apiError(404, "not_found", `No rule ${id} in this site`);
  return row;
}

function columnsOf(input: Partial<RuleInput>) {
  return {
    name: input.name,
    placement: input.placement,
    segmentId: input.segment_id,
    creativeId: input.creative_id,
    poolId: input.pool_id,
    priority: input.priority,
    startsAt: toMs(input.starts_at),
    endsAt: toMs(input.ends_at),
    capPerDay: input.cap_per_day,
    holdout: input.holdout,
    stopAfterConversion: input.stop_after_conversion,
    enabled: input.enabled,
  };
}

export async function createRule(db: Db, siteId: number, input: RuleInput, now = Date.now()) {
  await checkReferences(db, siteId, input);
  const columns = columnsOf(input);
  checkSchedule(columns.startsAt, columns.endsAt);
  const [row] = await db
    .insert(rules)
    .values({
      ...columns,
      name: input.name,
      placement: input.placement,
      creativeId: input.creative_id,
      siteId,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await bumpRulesVersion(db, siteId);
  return row;
}

export async function updateRule(db: Db, siteId: number, id: number, patch: Partial<RuleInput>, now = Date.now()) {
  const existing = await getRule(db, siteId, id);
  await checkReferences(db, siteId, patch);
  const columns = columnsOf(patch);
  checkSchedule(
    columns.startsAt === undefined ? existing.startsAt : columns.startsAt,
    columns.endsAt === undefined ? existing.endsAt : columns.endsAt,
  );
  const [row] = await db
    .update(rules)
    .set({ ...columns, updatedAt: now })
    .where(and(eq(rules.siteId, siteId), eq(rules.id, id)))
    .returning();
  await bumpRulesVersion(db, siteId);
  return row;
}

export async function deleteRule(db: Db, siteId: number, id: number) {
  await getRule(db, siteId, id);
  await db.delete(rules).where(and(eq(rules.siteId, siteId), eq(rules.id, id)));
  await bumpRulesVersion(db, siteId);
}

// ---- Placement fallbacks ----

export const FallbackSchema = z
  .object({ placement: z.string(), creative_id: z.number(), updated_at: z.number() })
  .openapi("PlacementFallback");

export async function getFallback(db: Db, siteId: number, placement: string) {
  const [row] = await db
    .select()
    .from(placementFallbacks)
    .where(and(eq(placementFallbacks.siteId, siteId), eq(placementFallbacks.placement, placement)));
  if (!row) throw apiError(404, "not_found", `No fallback for placement "${placement}" in this site`);
  return { placement: row.placement, creative_id: row.creativeId, updated_at: row.updatedAt };
}

export async function setFallback(db: Db, siteId: number, placement: string, creativeId: number, now = Date.now()) {
  await checkReferences(db, siteId, { creative_id: creativeId });
  await db
    .insert(placementFallbacks)
    .values({ siteId, placement, creativeId, updatedAt: now })
    .onConflictDoUpdate({
      target: [placementFallbacks.siteId, placementFallbacks.placement],
      set: { creativeId, updatedAt: now },
    });
  await bumpRulesVersion(db, siteId);
  return { placement, creative_id: creativeId, updated_at: now };
}

export async function deleteFallback(db: Db, siteId: number, placement: string) {
  await getFallback(db, siteId, placement);
  await db
    .delete(placementFallbacks)
    .where(and(eq(placementFallbacks.siteId, siteId), eq(placementFallbacks.placement, placement)));
  await bumpRulesVersion(db, siteId);
}
