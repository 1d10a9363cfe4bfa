/** `POST /api/v1/site/identity-secret`: a new secret for signed identifies (worker/identity/verified-identify.ts). */
import { z } from "@hono/zod-openapi";
import { requireApiKey } from "../auth/api-keys";
import { requireRole } from "../auth/roles";
import { errorResponses } from "../lib/openapi-shared";
import { createRoute } from "../lib/route";
import { createRouter } from "../lib/router";
import { rotateIdentitySecret } from "./verified-identify";

export const identityRoutes = createRouter();

identityRoutes.openapi(
  createRoute({
    operationId: "rotateIdentitySecret",
    method: "post",
    path: "/api/v1/site/identity-secret",
    tags: ["Sites"],
    summary: "Make a new identity secret for signed identifies (the old one stops working)",
    description:
      "The shop's backend signs each customer ID it puts into a page: `tw('identify', {customer, sig})` with " +
      "`sig` the lower-case hex HMAC-SHA256 of the customer ID under this secret. Unsigned or wrongly signed " +
      "identifies link nothing. Other isolates pick the new secret up within 10 seconds.",
    security: [{ apiKey: [] }],
    middleware: [requireApiKey, requireRole("admin")] as const,
    responses: {
      201: {
        description: "The new secret, shown once",
        content: {
          "application/json": {
            schema: z.object({ identity_secret: z.string() }).openapi("IdentitySecret"),
          },
        },
      },
      ...errorResponses(401, 403),
    },
  }),
  async (c) => c.json({ identity_secret: await rotateIdentitySecret(c.var.db, c.var.site) }, 201),
);
