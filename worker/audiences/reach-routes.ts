/** `GET /api/v1/audiences/:id/reach`: the share of an audience each ID space reaches (reach.ts). */
import { z } from "@hono/zod-openapi";
import { errorResponses, IdParam, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { peopleOfSite } from "../shards/routing";
import { audienceReach } from "./reach";
import { getAudience } from "./store";

export const reachRoutes = createRouter();

const ReachSchema = z
  .object({
    members: z.number().openapi({ description: "Member cookies" }),
    spaces: z.array(
      z.object({
        id_space: z.string(),
        members: z.number().openapi({ description: "Member cookies (consent allowing) matchable in this space" }),
        share: z.number().openapi({ description: "members / all members, 0..1" }),
        ids: z.number().openapi({ description: "Distinct IDs the last refresh exported in this space" }),
      }),
    ),
  })
  .openapi("AudienceReach");

reachRoutes.openapi(
  createRoute({
    operationId: "getAudienceReach",
    method: "get",
    path: "/api/v1/audiences/{id}/reach",
    tags: ["Audiences"],
    summary: "What share of the audience each ID space reaches: tagwerk IDs, each cookie-synced partner, hashed e-mail",
    security: [{ apiKey: [] }],
    request: { params: IdParam },
    responses: {
      200: jsonContent(ReachSchema, "Reach per ID space"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const audience = await getAudience(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.json(await audienceReach(c.var.db, peopleOfSite(c.env, c.var.site), c.var.site, audience.id), 200);
  },
);
