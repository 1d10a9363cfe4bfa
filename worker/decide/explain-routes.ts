/** `POST /api/v1/placements/:placement/explain`: why a visitor gets what (explain.ts); records and claims nothing. */
import { z } from "@hono/zod-openapi";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { COOKIE_ID_PATTERN } from "../lib/visitor-cookie";
import { PlacementSchema } from "../rules/store";
import { explainPlacement } from "./explain";

export const explainRoutes = createRouter();

const ExplainBody = z
  .union([
    z.object({ cookie_id: z.string().regex(COOKIE_ID_PATTERN, "a tw_id: 32 hex characters") }).strict(),
    z.object({ customer: z.string().trim().min(1).max(200) }).strict(),
  ])
  .and(z.object({ format: z.enum(["html", "svg", "json"]).optional() }))
  .openapi({ description: "The visitor: a cookie ID, or a CRM customer ID (its most recently seen cookie)" });

const ExplanationSchema = z
  .object({
    placement: z.string(),
    arbitration: z.object({
      mode: z.enum(["priority", "best"]),
      objective: z.enum(["clicks", "redemptions", "revenue"]),
      context: z
        .string()
        .openapi({ description: "The visitor's CRM cluster, else top interest category, else unknown" }),
    }),
    visitor: z.object({ cookie_id: z.string().nullable(), customer: z.string().nullable(), known: z.boolean() }),
    rules: z.array(
      z.object({
        id: z.number(),
        name: z.string(),
        priority: z.number(),
        matched: z.boolean(),
        reason: z.string().openapi({ description: 'Every reason the rule is passed over, joined by "; "' }),
        reasons: z
          .array(z.string())
          .optional()
          .openapi({ description: "The failing checks one by one (schedule, cap, conversion, segment)" }),
        offer: z.object({ mean: z.number(), sample: z.number(), impressions: z.number() }).optional().openapi({
          description:
            "Under arbitration best, for an eligible rule: its posterior mean in the visitor's context and the sample drawn; the highest sample decided",
        }),
      }),
    ),
    chosen: z
      .number()
      .nullable()
      .openapi({ description: "The first rule that matched, or under best the one whose sample won (null: none)" }),
    holdout: z.object({ rule: z.number(), share: z.number() }).nullable(),
    outcome: z.enum(["rule", "holdout", "fallback", "empty"]),
    coupon: z
      .object({
        pool_id: z.number(),
        state: z.enum(["held", "would_claim", "redeemed", "dry", "no_consent"]).openapi({
          description:
            "`no_consent`: the visitor may not be personalised (refused, or never granted on a `required` site): " +
            "/b decides for it as for an anonymous browser and shows and claims no code",
        }),
        code: z.string().nullable(),
        expires: z.string().nullable(),
      })
      .nullable(),
    creative: z
      .object({
        id: z.number(),
        format: z.string(),
        width: z.number(),
        height: z.number(),
        body: z.union([z.string(), z.record(z.string(), z.unknown())]),
      })
      .nullable()
      .openapi({
        description: "The creative this visitor would see, rendered (the landing URL in place of a click URL)",
      }),
  })
  .openapi("Explanation");

explainRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/placements/{placement}/explain",
    tags: ["Rules"],
    operationId: "explainPlacement",
    summary: "Why this visitor gets what: every rule of the placement, matched or why not; nothing recorded",
    security: [{ apiKey: [] }],
    request: {
      params: z.object({ placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }) }),
      body: jsonBody(ExplainBody),
    },
    responses: {
      200: jsonContent(ExplanationSchema, "The explanation"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const site = c.var.site;
    const who = "cookie_id" in body ? { cookie_id: body.cookie_id } : { customer: body.customer };
    const explanation = await explainPlacement(
      c.env,
      c.var.db,
      {
        id: site.id,
        key: site.key,
        holdout: site.holdout,
        couponParam: site.couponParam,
        rulesVersion: site.rulesVersion,
        consentMode: site.consentMode,
        shards: site.shards,
      },
      c.req.valid("param").placement,
      who,
      { format: body.format, userAgent: c.req.header("User-Agent") },
    );
    return c.json(explanation, 200);
  },
);
