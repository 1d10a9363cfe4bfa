/**
 * Privacy endpoints: `GET`/`POST /optout` (the visitor's own opt-out, linked from the shop's
 * privacy page) and the erasure API `DELETE /api/v1/customers/:id`, `DELETE /api/v1/visitors/:cid`
 * (GDPR Art. 17, for the shop's backend or the admin UI).
 */

import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { RETRY_AFTER_SECONDS } from "../abuse/rate-limit";
import { admitRequestWrite } from "../abuse/write-bounds";
import { sweepErasures } from "../archive/sweeps";
import { requireRole } from "../auth/roles";
import type { AppEnv } from "../env";
import { apiError } from "../errors";
import { runAfterResponse } from "../lib/after-response";
import { logError } from "../lib/log";
import { CookieIdParam, CustomerIdParam, errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import {
  holdsCookie,
  MAX_COOKIE_AGE_SECONDS,
  PROOF_COOKIE,
  readCookieId,
  VISITOR_COOKIE,
  visitorCookieScope,
} from "../lib/visitor-cookie";
import { refuseWhileHeld } from "../shards/moves";
import { cachedSiteByKey } from "../sites/site-cache";
import { eraseCustomer, eraseVisitor } from "./erasure";
import { OPTOUT_COOKIE } from "./opt-out";

export const privacyRoutes = createRouter();

const optedOutPage = (erased: boolean) =>
  '<!doctype html><html lang="en"><meta charset="utf-8"><meta name="robots" content="noindex">' +
  "<title>Opted out</title><p>You have opted out. This browser is no longer tracked or shown " +
  (erased
    ? "personalised banners, and the data recorded for it has been erased.</p></html>"
    : "personalised banners. Data recorded for it before is deleted when the shop's retention period " +
      "ends; to have it erased now, ask the shop.</p></html>");

/**
 * The erased lines of the raw event archive go after the response (worker/archive/sweeps.ts); what
 * this run does not finish, the cron resumes (docs/architecture.md, "Raw event archive").
 */
function sweepArchiveAfterErasure(c: Context<AppEnv>, siteId: number) {
  runAfterResponse(
    c,
    sweepErasures(c.env.ARCHIVE, c.var.db, { siteId }).catch((error) =>
      logError("archive.erasure_sweep_failed", { requestId: c.var.requestId, site: siteId, error }),
    ),
  );
}

async function optOut(c: Context<AppEnv>, siteKey: string) {
  const site = await cachedSiteByKey(c.var.db, siteKey);
  if (!site) throw apiError(404, "unknown_site", "No such site");
  refuseWhileHeld(site);
  const current = readCookieId(c);
  // Only the browser that holds tw_id may erase its profile: a cookie ID is known to partners and
  // webhook receivers, its proof only to that browser (worker/lib/visitor-cookie.ts). Without the
  // proof (a forged Cookie header, or a tw_id from before proofs) the browser is still opted out
  // below — tw_optout set, tw_id dropped — and the profile it can no longer reach ages out by
  // retention or is erased by the shop (README, "Opt-out").
  let erased = false;
  if (current !== null && (await holdsCookie(c, current))) {
    // An erasure per request is a write anyone can trigger: bounded per IP and site (a flood of
    // invented cookies gets 429, counted), abuse/write-bounds.ts. A real browser just retries.
    if (!(await admitRequestWrite(c, { kind: "optout", siteId: site.id, reason: "optout", now: Date.now() }))) {
      throw apiError(429, "rate_limited", "Too many opt-outs from this address; retry later", {
        "Retry-After": String(RETRY_AFTER_SECONDS),
      });
    }
    await eraseVisitor(c.env, site, current);
    sweepArchiveAfterErasure(c, site.id);
    erased = true;
  }
  const scope = visitorCookieScope(site);
  // SameSite=None: the cookie must also reach /b inside ad-network iframes on other sites.
  setCookie(c, OPTOUT_COOKIE, "1", {
    httpOnly: true,
    secure: true,
    sameSite: "None",
    maxAge: MAX_COOKIE_AGE_SECONDS,
    ...scope,
  });
  deleteCookie(c, VISITOR_COOKIE, { ...scope, secure: true });
  deleteCookie(c, PROOF_COOKIE, { ...scope, secure: true });
  c.header("Cache-Control", "no-store");
  return c.html(optedOutPage(erased), 200);
}

const SiteField = z.string().min(1).max(63).openapi({ example: "demo" });
const optOutResponses = {
  200: {
    description: "Opted out: the cookie is set, the profile erased",
    content: { "text/html": { schema: z.string() } },
  },
  ...errorResponses(400, 404),
};

privacyRoutes.openapi(
  createRoute({
    operationId: "getOptOut",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "get",
    path: "/optout",
    tags: ["Public"],
    summary: "Opt this browser out: sets tw_optout=1 (400 days) and erases its profile",
    request: { query: z.object({ site: SiteField }) },
    responses: optOutResponses,
  }),
  (c) => optOut(c, c.req.valid("query").site),
);

privacyRoutes.openapi(
  createRoute({
    operationId: "optOut",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "post",
    path: "/optout",
    tags: ["Public"],
    summary: "The same opt-out for an HTML form (application/x-www-form-urlencoded `site`)",
    request: {
      body: {
        required: true,
        content: { "application/x-www-form-urlencoded": { schema: z.object({ site: SiteField }) } },
      },
    },
    responses: optOutResponses,
  }),
  (c) => optOut(c, c.req.valid("form").site),
);

const ErasedSchema = { 204: { description: "Erased" }, ...errorResponses(401, 403, 404) };

privacyRoutes.openapi(
  createRoute({
    operationId: "eraseCustomer",
    method: "delete",
    path: "/api/v1/customers/{id}",
    tags: ["Privacy"],
    summary: "Erase a CRM customer and every visitor linked to it (GDPR Art. 17)",
    description:
      "One transaction: the customer row, linked visitors, their events, partner IDs, audience and webhook " +
      "memberships are deleted; unredeemed coupons released; redeemed ones, impressions, clicks and " +
      "conversions anonymised so counts stay right; rejected events naming the customer or sent by its cookies " +
      "deleted. 404 when nothing matched (no customer, visitor or rejected event).",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      params: CustomerIdParam,
    },
    responses: ErasedSchema,
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const erased = await eraseCustomer(c.env, c.var.site, c.req.valid("param").id);
    sweepArchiveAfterErasure(c, c.var.site.id);
    // Rows only a rejected event named are the customer's data too: erasing them is not a 404.
    if (erased.customers + erased.visitors + erased.rejected === 0)
      throw apiError(404, "not_found", "No such customer");
    return c.body(null, 204);
  },
);

privacyRoutes.openapi(
  createRoute({
    operationId: "eraseVisitor",
    method: "delete",
    path: "/api/v1/visitors/{cid}",
    tags: ["Privacy"],
    summary: "Erase a visitor (tw_id cookie ID) and everything recorded for it (GDPR Art. 17)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      params: CookieIdParam,
    },
    responses: ErasedSchema,
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const erased = await eraseVisitor(c.env, c.var.site, c.req.valid("param").cid);
    sweepArchiveAfterErasure(c, c.var.site.id);
    if (erased.visitors + erased.rejected === 0) throw apiError(404, "not_found", "No such visitor");
    return c.body(null, 204);
  },
);
