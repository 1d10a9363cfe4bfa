/** `GET /api/v1/placements/:placement/tag`: the third-party ad tag for GAM, Xandr or any ad server. */
import { z } from "@hono/zod-openapi";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { AD_NETWORKS, adTag, NETWORK_MACROS, placementSize } from "./ad-tag";
import { PlacementSchema } from "./store";

export const adTagRoutes = createRouter();

const AdTagSchema = z
  .object({
    placement: z.string(),
    network: z.enum(AD_NETWORKS),
    width: z.number(),
    height: z.number(),
    macros: z.object({ click: z.string(), cache_buster: z.string() }).nullable(),
    tag: z.string().openapi({ description: "The HTML to paste into the ad server's third-party creative" }),
  })
  .openapi("AdTag");

adTagRoutes.openapi(
  createRoute({
    operationId: "getPlacementTag",
    method: "get",
    path: "/api/v1/placements/{placement}/tag",
    tags: ["Rules"],
    summary: "A ready-to-paste third-party ad tag (iframe) with the ad server's click and cache-buster macros",
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax, not a JS template
      "`gam`: `%%CLICK_URL_UNESC%%` and `%%CACHEBUSTER%%`; `xandr`: `${CLICK_URL}` and `${CACHEBUSTER}`; " +
      "`generic`: no macros. The slot size is the fallback creative's, else the first enabled rule's.",
    security: [{ apiKey: [] }],
    request: {
      params: z.object({ placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }) }),
      query: z.object({ network: z.enum(AD_NETWORKS).default("generic") }),
    },
    responses: {
      200: jsonContent(AdTagSchema, "The tag"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const { placement } = c.req.valid("param");
    const { network } = c.req.valid("query");
    const { width, height } = await placementSize(c.var.db, c.var.site.id, placement);
    const macros = NETWORK_MACROS[network];
    const edge = new URL(c.req.url).origin;
    return c.json(
      {
        placement,
        network,
        width,
        height,
        macros: macros && { click: macros.click, cache_buster: macros.cacheBuster },
        tag: adTag({ edge, siteKey: c.var.site.key, placement, width, height, network }),
      },
      200,
    );
  },
);
