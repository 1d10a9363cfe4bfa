/** `POST /api/v1/site/identity-secret`: a new secret for signed identifies (worker/identity/verified-identify.ts). */
import { z } from "@hono/zod-openapi";
import { requireApiKey } from "../auth/api-keys";
import { requireRole } from "../auth/roles";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { DEFAULT_GRACE_HOURS, rotateIdentitySecret } from "./verified-identify";

export const identityRoutes = createRouter();

identityRoutes.openapi(
  createRoute({
    operationId: "rotateIdentitySecret",
    method: "post",
    path: "/api/v1/site/identity-secret",
    tags: ["Sites"],
    summary: "Make a new identity secret for signed identifies (the old one stops working, or after a grace period)",
    description:
      "The shop's backend signs each customer ID it puts into a page: `tw('identify', {customer, ts, sig})` with " +
      '`ts` the Unix time in seconds and `sig` the lower-case hex HMAC-SHA256 of `customer + "." + ts` under this ' +
      "secret (accepted for 24 hours), or the legacy `{customer, sig}` with the HMAC of the customer ID alone " +
      '(README, "Identity verification"). Unsigned or wrongly signed identifies link nothing. The secret ' +
      `replaced stops working at once, or keeps verifying for \`grace_hours\` (0–168, default ${DEFAULT_GRACE_HOURS}) so ` +
      "that pages rendered just before the rotation keep linking. Other isolates pick the new secret up within 10 seconds.",
    security: [{ apiKey: [] }],
    middleware: [requireApiKey, requireRole("admin")] as const,
    request: {
      body: jsonBody(
        z.object({ grace_hours: z.number().int().min(0).max(168).default(DEFAULT_GRACE_HOURS) }).strict(),
        {
          required: false,
        },
      ),
    },
    responses: {
      201: jsonContent(
        z
          .object({
            identity_secret: z.string(),
            previous_valid_until: z.string().nullable().openapi({
              description: "Until when the replaced secret still verifies (ISO 8601); null: it stopped at once",
            }),
          })
          .openapi("IdentitySecret"),
        "The new secret, shown once",
      ),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const graceHours = c.req.valid("json")?.grace_hours ?? DEFAULT_GRACE_HOURS;
    const { secret, previousValidUntil } = await rotateIdentitySecret(c.var.db, c.var.site, graceHours, Date.now());
    const until = previousValidUntil === null ? null : new Date(previousValidUntil).toISOString();
    return c.json({ identity_secret: secret, previous_valid_until: until }, 201);
  },
);
