/**
 * `GET /c/:token`: a click on a creative. A genuine token answers 302 to the rule's landing URL
 * with the coupon in the site's coupon parameter and records the click (once per impression);
 * anything else answers 400 — never a redirect to somewhere the token did not sign.
 */
import { z } from "@hono/zod-openapi";
import { admitRequestWrite } from "../abuse/write-bounds";
import { apiError } from "../errors";
import { runAfterResponse } from "../lib/after-response";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { readCookieId } from "../lib/visitor-cookie";
import { sendBannerMessage } from "../pipeline/producers";
import { landingWithCoupon, readClickToken } from "./tokens";

export const clicksRoutes = createRouter();

clicksRoutes.openapi(
  createRoute({
    operationId: "followClick",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "get",
    path: "/c/{token}",
    tags: ["Banners"],
    summary: "Follow a click: 302 to the landing page with the coupon applied",
    request: {
      params: z.object({
        token: z
          .string()
          .max(4000)
          .openapi({ param: { name: "token", in: "path" } }),
      }),
    },
    responses: {
      302: { description: "Redirect to the landing URL; the coupon is in the site's coupon parameter" },
      ...errorResponses(400),
    },
  }),
  async (c) => {
    const now = Date.now();
    const claims = await readClickToken(c.env.SIGNING_SECRET, c.req.valid("param").token, now);
    if (!claims) throw apiError(400, "invalid_token", "The click token is invalid or expired");
    // The redirect always happens; the click is recorded within the flood bound, else counted.
    runAfterResponse(
      c,
      admitRequestWrite(c, { kind: "click", siteId: claims.siteId, reason: "click", now }).then((admitted) =>
        admitted
          ? sendBannerMessage(c.env, {
              kind: "click",
              siteId: claims.siteId,
              impressionUid: claims.impression,
              ruleId: claims.ruleId,
              placement: claims.placement,
              creativeId: claims.creativeId,
              holdout: claims.holdout,
              context: claims.context,
              cookieId: readCookieId(c),
              ts: now,
            })
          : undefined,
      ),
    );
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    return c.redirect(landingWithCoupon(claims), 302);
  },
);
