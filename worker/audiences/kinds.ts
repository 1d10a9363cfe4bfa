/**
 * Audience kinds and their parameters, and each kind's membership condition as one SQL fragment
 * over the aliases `v` (visitors) and `c` (the linked customer, left-joined) — the same shape the
 * segment compiler produces, so every kind refreshes through the same chunked statements.
 * `now` is always a bound parameter: refreshes are reproducible and tests move the clock.
 */
import { z } from "@hono/zod-openapi";
import { type SQL, sql } from "drizzle-orm";
import { apiError } from "../errors";
import { MS_PER_DAY as DAY, utcDayNumber } from "../lib/time";

const HOUR = 3_600_000;

export const AUDIENCE_KINDS = [
  "segment",
  "new_customers",
  "cart_abandoners",
  "dormant",
  "cluster",
  "lookalike",
] as const;
export type AudienceKind = (typeof AUDIENCE_KINDS)[number];

const Days = z.number().int().min(1).max(3650);

const PARAMS_SCHEMAS = {
  segment: z.object({}).strict(),
  new_customers: z.object({ days: Days.default(28) }).strict(),
  cart_abandoners: z.object({ hours: z.number().int().min(1).max(8760).default(24) }).strict(),
  dormant: z.object({ days: Days.default(180) }).strict(),
  cluster: z.object({ cluster: z.string().trim().min(1).max(200) }).strict(),
  lookalike: z.union([
    z.object({ threshold: z.number().min(0).max(1) }).strict(),
    z.object({ top: z.number().int().min(1).max(10_000_000) }).strict(),
  ]),
} satisfies Record<AudienceKind, z.ZodType>;

export type AudienceParams = {
  segment: Record<string, never>;
  new_customers: { days: number };
  cart_abandoners: { hours: number };
  dormant: { days: number };
  cluster: { cluster: string };
  lookalike: { threshold: number } | { top: number };
};

/** Validates (and fills defaults into) a kind's params; 400 naming the field otherwise. */
export function parseParams(kind: AudienceKind, params: unknown): Record<string, unknown> {
  const empty = params == null || (typeof params === "object" && Object.keys(params).length === 0);
  // A look-alike audience without params takes the visitors the model calls more likely than not.
  const input = empty ? (kind === "lookalike" ? { threshold: 0.5 } : {}) : params;
  const result = PARAMS_SCHEMAS[kind].safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = ["params", ...issue.path].join(".");
    throw apiError(400, "validation_failed", `${path}: ${issue.message} (kind ${kind})`);
  }
  return result.data as Record<string, unknown>;
}

/** Visitors who never bought: the population look-alikes are drawn from. */
export const NO_PURCHASE = sql`(v.last_purchase_at is null and (c.id is null or coalesce(c.orders, 0) = 0) and c.first_order_at is null)`;

/**
 * The condition of a built-in kind. Day counts follow the segment language (`days_since_X` counts
 * whole UTC days, worker/segments/evaluate.ts), so `new_customers {days: 28}` equals
 * `days_since_first_order <= 28`: a first order on UTC day D is in the list through day D + 28, and
 * out of it on day D + 29; `dormant {days: 180}` equals `days_since_last_order >= 180`.
 */
export function builtInCondition(
  kind: Exclude<AudienceKind, "segment" | "lookalike">,
  params: Record<string, unknown>,
  now: number,
): SQL {
  switch (kind) {
    case "new_customers": {
      const { days } = params as AudienceParams["new_customers"];
      return sql`(c.first_order_at is not null and c.first_order_at >= ${(utcDayNumber(now) - days) * DAY})`;
    }
    case "cart_abandoners": {
      const { hours } = params as AudienceParams["cart_abandoners"];
      return sql`(v.cart_items > 0 and v.cart_updated_at <= ${now - hours * HOUR}
        and (v.last_purchase_at is null or v.last_purchase_at < v.cart_updated_at))`;
    }
    case "dormant": {
      const { days } = params as AudienceParams["dormant"];
      // The first instant of the UTC day after the last day that is `days` days ago.
      const cutoff = (utcDayNumber(now) - days + 1) * DAY;
      return sql`(c.id is not null and coalesce(c.last_order_at, c.first_order_at) < ${cutoff}
        and (v.last_purchase_at is null or v.last_purchase_at < ${cutoff}))`;
    }
    case "cluster": {
      const { cluster } = params as AudienceParams["cluster"];
      return sql`(c.id is not null and exists (select 1 from json_each(c.clusters) cl where cl.value = ${cluster}))`;
    }
  }
}
