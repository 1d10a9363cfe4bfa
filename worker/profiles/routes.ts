/**
 * `GET /api/v1/customers/:id` and `GET /api/v1/visitors/:cid`: a person's profile (profile.ts,
 * README.md, "Profiles"). The erasure of the same paths (`DELETE`) lives in worker/privacy/.
 */
import { z } from "@hono/zod-openapi";
import { COUPON_STATES } from "../coupons/state";
import { apiError } from "../errors";
import { CookieIdParam, CustomerIdParam, errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { customerProfile, visitorProfile } from "./profile";

export const profilesRoutes = createRouter();

const Time = z.string().nullable().openapi({ description: "ISO 8601, UTC" });

const CustomerFieldsSchema = z
  .object({
    customer_id: z.string(),
    email_sha256: z.string().nullable().openapi({ description: "Hex SHA-256 of the e-mail; never the address" }),
    uid2_email: z.string().nullable(),
    gender: z.string().nullable(),
    lifetime_revenue: z.number().nullable(),
    orders: z.number().nullable(),
    first_order_at: Time,
    last_order_at: Time,
    coupons_redeemed: z.number().nullable(),
    clusters: z.array(z.string()),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    ads_consent: z.boolean().nullable().openapi({ description: "The import's ads_consent; null when never said" }),
  })
  .openapi("CustomerFields");

const VisitorFieldsSchema = z
  .object({
    cookie_id: z.string(),
    customer_id: z.string().nullable(),
    first_seen_at: Time,
    last_seen_at: Time,
    visits: z.number(),
    pageviews: z.number(),
    interests: z.record(z.string(), z.number()),
    event_counts: z.record(z.string(), z.number()),
    cart: z.object({ items: z.number(), value: z.number(), updated_at: Time }),
    last_purchase_at: Time,
    consent: z.enum(["granted", "denied"]).nullable(),
    acquisition: z.string().nullable(),
    lookalike_score: z.number().nullable(),
  })
  .openapi("VisitorFields");

const PersonParts = {
  segments: z.array(z.object({ id: z.number(), name: z.string() })).openapi({
    description: "Segments the person matches now (request-context fields such as placement count as missing)",
  }),
  audiences: z
    .array(z.object({ id: z.number(), name: z.string(), kind: z.string() }))
    .openapi({ description: "Audiences the person is in as of their last refresh" }),
  codes: z.array(
    z.object({
      code: z.string(),
      pool_id: z.number(),
      rule_id: z.number().nullable(),
      state: z.enum(COUPON_STATES),
      assigned_at: Time,
      expires_at: Time,
      redeemed_at: Time,
      archived_at: Time,
      order: z.string().nullable(),
    }),
  ),
  acquisition: z.string().nullable().openapi({ description: "How the person first arrived (banner, display, other)" }),
  lookalike_score: z.number().nullable(),
};

const CustomerProfileSchema = z
  .object({
    customer: CustomerFieldsSchema,
    cookies: z.array(VisitorFieldsSchema).openapi({ description: "The customer's linked cookies" }),
    ...PersonParts,
    consent: z.object({
      ads_consent: z.boolean().nullable(),
      email_export_allowed: z
        .boolean()
        .openapi({ description: "ads_consent, or the site's crm_ads_consent_default when never said" }),
      cookies: z.array(z.object({ cookie_id: z.string(), consent: z.enum(["granted", "denied"]).nullable() })),
    }),
  })
  .openapi("CustomerProfile");

const VisitorProfileSchema = z
  .object({
    visitor: VisitorFieldsSchema,
    customer: CustomerFieldsSchema.nullable().openapi({ description: "The linked CRM customer, if any" }),
    ...PersonParts,
    consent: z.object({
      cookie: z.enum(["granted", "denied"]).nullable(),
      ads_consent: z.boolean().nullable(),
      email_export_allowed: z.boolean(),
    }),
  })
  .openapi("VisitorProfile");

profilesRoutes.openapi(
  createRoute({
    operationId: "getCustomerProfile",
    method: "get",
    path: "/api/v1/customers/{id}",
    tags: ["Profiles"],
    summary: "A CRM customer's profile: fields, cookies, segments, audiences, codes, consent",
    security: [{ apiKey: [] }],
    request: {
      params: CustomerIdParam,
    },
    responses: {
      200: jsonContent(CustomerProfileSchema, "The profile"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const profile = await customerProfile(c.env, c.var.db, c.var.site, c.req.valid("param").id, Date.now());
    if (!profile) throw apiError(404, "not_found", "No such customer");
    return c.json(profile, 200);
  },
);

profilesRoutes.openapi(
  createRoute({
    operationId: "getVisitorProfile",
    method: "get",
    path: "/api/v1/visitors/{cid}",
    tags: ["Profiles"],
    summary: "A visitor's profile (tw_id cookie ID): fields, linked customer, segments, audiences, codes, consent",
    security: [{ apiKey: [] }],
    request: {
      params: CookieIdParam,
    },
    responses: {
      200: jsonContent(VisitorProfileSchema, "The profile"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const profile = await visitorProfile(c.env, c.var.db, c.var.site, c.req.valid("param").cid, Date.now());
    if (!profile) throw apiError(404, "not_found", "No such visitor");
    return c.json(profile, 200);
  },
);
