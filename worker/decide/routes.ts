/**
 * `GET /b/:placement`: the banner for this visitor, as an iframe document, SVG or JSON; and
 * `POST /api/v1/visitor-tokens`: the short-lived `t=` token for networks that pass a value through
 * their macros instead of syncing cookies (minted by the shop backend, or by the tag's own edge).
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { allowedBy, clientIp, rateKey } from "../abuse/rate-limit";
import { mintVisitorToken, VISITOR_TOKEN_TTL_SECONDS } from "../auth/jwt";
import { requireRole } from "../auth/roles";
import type { AppEnv } from "../env";
import { apiError } from "../errors";
import { executionContextOf, runAfterResponse } from "../lib/after-response";
import { publicBase } from "../lib/base-path";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { COOKIE_ID_PATTERN, VISITOR_COOKIE } from "../lib/visitor-cookie";
import type { BannerMessage } from "../pipeline/messages";
import { recordBannerMessage } from "../pipeline/producers";
import { isOptedOut } from "../privacy/opt-out";
import { PlacementSchema } from "../rules/store";
import { readBrowserCaps } from "./cap-cookie";
import { encodeTrailingClickMacro } from "./click-macro";
import { decide } from "./decision-path";
import { carryBookmark, decisionSessionFor } from "./read-replica";

/** The banner's impression, after the response (worker/pipeline/producers.ts groups them for the queue). */
function recordImpression(c: Context<AppEnv>, message: BannerMessage) {
  const ctx = executionContextOf(c);
  recordBannerMessage(c.env, message, ctx && ((work) => ctx.waitUntil(work)), (work) => runAfterResponse(c, work));
}

export const decideRoutes = createRouter();

// Before validation: an expanded unescaped click macro becomes one `click` parameter again.
decideRoutes.use("/b/*", async function trailingClickMacro(c, next) {
  const rewritten = encodeTrailingClickMacro(c.req.url);
  if (rewritten) c.req.raw = new Request(rewritten, c.req.raw);
  await next();
});

/** Cache-buster parameters ad servers add (`ord`, `cb`, `cachebuster`): accepted and ignored. */
const CacheBuster = z.string().max(2000).optional().openapi({ description: "Cache-buster; ignored" });

export const BannerQuery = z.object({
  site: z.string().min(1).max(63).openapi({ example: "demo" }),
  format: z.enum(["html", "json", "svg"]).default("html"),
  p: z.string().max(64).optional().openapi({ description: "Partner key, with puid: the visitor via id_links" }),
  puid: z.string().max(256).optional(),
  t: z.string().max(2000).optional().openapi({ description: "A visitor token from POST /api/v1/visitor-tokens" }),
  click: z
    .string()
    .max(2000)
    .optional()
    .openapi({
      description:
        "The ad network's click macro: prefix of the click URL (http(s) only). Unescaped (starting with " +
        "http:// or https:// as is) it must be the last parameter: everything after `click=` is taken",
    }),
  ord: CacheBuster,
  cb: CacheBuster,
  cachebuster: CacheBuster,
});
export type BannerQueryInput = z.infer<typeof BannerQuery>;

/**
 * The banner response for a validated request: called by the route below and by the fast path
 * ahead of Hono (fast-path.ts) with the same kind of Context, so both answer alike.
 */
export async function answerBanner(c: Context<AppEnv>, placement: string, query: BannerQueryInput): Promise<Response> {
  // Over the per-IP limit: still a 200 with the placement's fallback (an ad network must never
  // see an error), just not personalised — no profile read, no coupon claimed.
  const limited = !(await allowedBy(c.env.BANNER_RATE_LIMITER, rateKey(c, query.site)));
  const anonymous = limited || isOptedOut(c);
  // Reads through the D1 Sessions API: a replica may answer (worker/decide/read-replica.ts).
  const session = decisionSessionFor(c);
  const now = Date.now();
  const browserCaps = anonymous ? null : await readBrowserCaps(c, c.env.SIGNING_SECRET, query.site, now);
  // decide() never throws: every fault already ended in the placement's fallback (decision-path.ts).
  const decision = await decide(c.env, session.db, {
    anonymous,
    siteKey: query.site,
    placement,
    format: query.format,
    cookie: getCookie(c, VISITOR_COOKIE),
    token: query.t,
    partner: query.p && query.puid ? { key: query.p, userId: query.puid } : null,
    clickMacro: query.click,
    userAgent: c.req.header("User-Agent"),
    country: typeof c.req.raw.cf?.country === "string" ? c.req.raw.cf.country : undefined,
    origin: publicBase(c),
    now,
    ip: clientIp(c),
    browserCaps,
    defer: (work) => runAfterResponse(c, work),
  });
  if (decision.kind === "unknown-site") {
    throw apiError(404, "unknown_site", `No site "${query.site}"`, { "Cache-Control": "no-store" });
  }
  const { rendered, impression, claimed } = decision;
  if (impression && !limited) recordImpression(c, impression);
  if (claimed) carryBookmark(c, session);
  await browserCaps?.write(c, c.env.SIGNING_SECRET);
  const headers: Record<string, string> = {
    "Content-Type": rendered.contentType,
    "Cache-Control": "no-store",
    ...rendered.headers,
  };
  if (query.format === "json") headers["Access-Control-Allow-Origin"] = "*";
  return c.body(rendered.body, 200, headers);
}

const DecisionJsonSchema = z
  .object({
    impression: z.string().nullable(),
    rule: z.number().nullable(),
    creative: z.object({
      id: z.number().nullable(),
      format: z.enum(["html", "svg", "json"]),
      width: z.number(),
      height: z.number(),
      body: z.union([z.string(), z.record(z.string(), z.unknown())]),
    }),
    coupon: z.object({ code: z.string(), expires: z.string() }).nullable(),
    click_url: z.string().nullable(),
  })
  .openapi("BannerDecision");

decideRoutes.openapi(
  createRoute({
    operationId: "getBanner",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "get",
    path: "/b/{placement}",
    tags: ["Banners"],
    summary: "The banner for this visitor (never a 5xx: faults serve the placement's fallback)",
    request: {
      params: z.object({ placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }) }),
      query: BannerQuery,
    },
    responses: {
      200: {
        description: "The creative; `Cache-Control: no-store`",
        content: {
          "text/html": { schema: z.string() },
          "image/svg+xml": { schema: z.string() },
          "application/json": { schema: DecisionJsonSchema },
        },
      },
      ...errorResponses(400, 404),
    },
  }),
  // The same answer as the fast path ahead of Hono (fast-path.ts), which serves most banners.
  (c) => answerBanner(c, c.req.valid("param").placement, c.req.valid("query")) as never,
);

decideRoutes.openapi(
  createRoute({
    operationId: "createVisitorToken",
    method: "post",
    path: "/api/v1/visitor-tokens",
    tags: ["Banners"],
    summary: "Mint a short-lived visitor token for `t=` on /b (for the shop backend)",
    security: [{ apiKey: [] }],
    // Minting tokens is a campaign action: viewers (read-only admin sessions) may not.
    middleware: [requireRole("marketer")] as const,
    request: {
      body: jsonBody(
        z.object({ cookie_id: z.string().regex(COOKIE_ID_PATTERN, "a tw_id: 32 hex characters") }).strict(),
      ),
    },
    responses: {
      201: jsonContent(z.object({ token: z.string(), expires_at: z.number() }).openapi("VisitorToken"), "The token"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const now = Date.now();
    const token = await mintVisitorToken(c.env.SIGNING_SECRET, c.var.site.key, c.req.valid("json").cookie_id, now);
    return c.json({ token, expires_at: now + VISITOR_TOKEN_TTL_SECONDS * 1000 }, 201);
  },
);
