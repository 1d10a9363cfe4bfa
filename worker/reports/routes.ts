/**
 * `GET /api/v1/reports/rules/:id` and `/api/v1/reports/placements/:placement`: what each one earned;
 * `GET /api/v1/dashboard`: all of them at once, as the admin's dashboard shows them.
 */
import { z } from "@hono/zod-openapi";
import { errorResponses, IdParam, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { peopleOfSite } from "../shards/routing";
import { buildDashboard } from "./dashboard";
import { buildReport, resolvePeriod } from "./earnings";

const PeriodQuery = z.object({
  from: z.string().optional().openapi({ description: "ISO 8601 start (inclusive); default 30 days before `to`" }),
  to: z.string().optional().openapi({ description: "ISO 8601 end (exclusive); default the end of today (UTC)" }),
});

const GroupSchema = z.object({ visitors: z.number(), conversions: z.number() });

const CumulativePointSchema = z
  .object({
    day: z.string(),
    exposed_rate: z.number().nullable(),
    holdout_rate: z.number().nullable(),
    uplift: z.number().nullable(),
    low: z.number().nullable().openapi({ description: "Lower end of the 95% Newcombe (Wilson score) interval" }),
    high: z.number().nullable(),
  })
  .openapi("CumulativeUplift", {
    description:
      "The uplift over everyone who joined the exposed or holdout group from the period's start up to this day; null until both groups have visitors",
  });

const TotalsSchema = z.object({
  impressions: z.number(),
  holdout_impressions: z.number(),
  clicks: z.number(),
  ctr: z.number().nullable(),
  coupons_assigned: z.number(),
  coupons_redeemed: z.number(),
  revenue: z.number().openapi({ description: "In the site's currency (`currency` of GET /api/v1/site)" }),
  holdout: GroupSchema,
  exposed: GroupSchema,
  exposed_rate: z.number().nullable(),
  holdout_rate: z.number().nullable(),
  uplift: z.number().nullable().openapi({ description: "Exposed conversion rate minus holdout rate" }),
  ci: z
    .object({ low: z.number(), high: z.number(), level: z.literal(0.95), method: z.literal("newcombe-wilson") })
    .nullable(),
  verdict: z.string(),
});

const PeriodSchema = z.object({ from: z.string(), to: z.string() });

const DayPointSchema = z.object({
  day: z.string(),
  impressions: z.number(),
  holdout_impressions: z.number(),
  clicks: z.number(),
  coupons_assigned: z.number(),
  coupons_redeemed: z.number(),
  revenue: z.number(),
  exposed_visitors: z.number().openapi({ description: "Visitors whose first exposed impression was this day" }),
  exposed_conversions: z.number(),
  holdout_visitors: z.number(),
  holdout_conversions: z.number(),
});

const ReportSchema = TotalsSchema.extend({
  period: PeriodSchema,
  daily: z.array(DayPointSchema),
  cumulative: z.array(CumulativePointSchema),
  contexts: z
    .array(
      z.object({
        day: z.string(),
        context: z.string().openapi({ description: "CRM cluster, else top interest category, else unknown" }),
        rule_id: z.number(),
        impressions: z.number(),
        share: z
          .number()
          .openapi({ description: "The rule's share of the placement's impressions that day in that context" }),
      }),
    )
    .openapi({
      description:
        "Per UTC day and visitor context, the impressions each rule won and their share of the placement's (README.md, Next best offer)",
    }),
}).openapi("Report");

const DashboardSchema = z
  .object({
    currency: z.string().openapi({ description: "The site's currency, of every revenue figure", example: "EUR" }),
    period: PeriodSchema,
    previous_period: PeriodSchema.openapi({ description: "The period of the same length just before" }),
    totals: TotalsSchema.openapi({ description: "Every placement together, fallbacks included" }),
    previous_totals: TotalsSchema,
    daily: z.array(DayPointSchema),
    previous_daily: z.array(DayPointSchema),
    cumulative: z.array(CumulativePointSchema),
    placements: z.array(TotalsSchema.extend({ placement: z.string() })),
    rules: z.array(
      TotalsSchema.extend({ id: z.number(), name: z.string(), placement: z.string(), enabled: z.boolean() }),
    ),
    audiences: z.array(
      z.object({
        id: z.number(),
        name: z.string(),
        sizes: z.array(z.object({ day: z.string(), size: z.number() })),
      }),
    ),
  })
  .openapi("Dashboard");

export const reportsRoutes = createRouter();

reportsRoutes.openapi(
  createRoute({
    operationId: "getRuleReport",
    method: "get",
    path: "/api/v1/reports/rules/{id}",
    tags: ["Reports"],
    summary: "A rule's impressions, clicks, coupons, revenue and uplift over its holdout",
    description:
      "Conversions: visitors who purchased at or after their first impression of the rule in the period " +
      "(a redemption of the rule's coupon, or the tag's purchase event). Uplift: exposed rate minus holdout " +
      "rate with a 95% Newcombe (Wilson score) interval.",
    security: [{ apiKey: [] }],
    request: { params: IdParam, query: PeriodQuery },
    responses: {
      200: jsonContent(ReportSchema, "The report"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const { from, to } = c.req.valid("query");
    const report = await buildReport(
      c.var.db,
      peopleOfSite(c.env, c.var.site),
      c.var.site.id,
      { kind: "rule", ruleId: c.req.valid("param").id },
      resolvePeriod(from, to),
    );
    return c.json(report, 200);
  },
);

reportsRoutes.openapi(
  createRoute({
    operationId: "getPlacementReport",
    method: "get",
    path: "/api/v1/reports/placements/{placement}",
    tags: ["Reports"],
    summary: "The same figures for every rule of one placement together",
    security: [{ apiKey: [] }],
    request: {
      params: z.object({
        placement: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .openapi({ param: { name: "placement", in: "path" } }),
      }),
      query: PeriodQuery,
    },
    responses: {
      200: jsonContent(ReportSchema, "The report"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { from, to } = c.req.valid("query");
    const report = await buildReport(
      c.var.db,
      peopleOfSite(c.env, c.var.site),
      c.var.site.id,
      { kind: "placement", placement: c.req.valid("param").placement },
      resolvePeriod(from, to),
    );
    return c.json(report, 200);
  },
);

reportsRoutes.openapi(
  createRoute({
    operationId: "getDashboard",
    method: "get",
    path: "/api/v1/dashboard",
    tags: ["Reports"],
    summary: "The site's figures in one call: totals and days against the previous period, each placement and rule",
    description:
      "The same reports as /api/v1/reports/placements/{placement} and /api/v1/reports/rules/{id}, read at once: " +
      "`placements` and `rules` equal those reports' figures, `totals` and `daily` are the placements' sums, " +
      "`previous_*` the same for the period of equal length just before `from`; audiences' sizes from `from` on.",
    security: [{ apiKey: [] }],
    request: { query: PeriodQuery },
    responses: {
      200: jsonContent(DashboardSchema, "The dashboard"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { from, to } = c.req.valid("query");
    return c.json(
      await buildDashboard(c.var.db, peopleOfSite(c.env, c.var.site), c.var.site, resolvePeriod(from, to)),
      200,
    );
  },
);
