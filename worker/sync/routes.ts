/**
 * `/api/v1/partners` (management) and `GET /sync` (the public cookie-sync pixel).
 *
 * /sync choices (README "Cookie sync"): a malformed call answers 400 and an unknown site or
 * partner 404 in the JSON error shape, so a partner integrating it sees why; an <img> that gets
 * a 4xx just fires onerror and never breaks the page. A `redirect` other than the registered sync
 * URL is never followed: the link is still recorded and the answer is the GIF.
 */

import { z } from "@hono/zod-openapi";
import { admitRequestWrite } from "../abuse/write-bounds";
import { requireRole } from "../auth/roles";
import { apiError } from "../errors";
import { hasControlCharacters, NO_CONTROL_CHARACTERS } from "../lib/identifiers";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { newCookieId, readCookieId, setVisitorCookie } from "../lib/visitor-cookie";
import { isOptedOut } from "../privacy/opt-out";
import { refuseWhileHeld } from "../shards/moves";
import { cachedSiteByKey } from "../sites/site-cache";
import {
  consentAllowsLinking,
  PIXEL_GIF,
  recordLink,
  syncCookieMaxAge,
  syncRedirectTarget,
  visitorConsent,
} from "./cookie-sync";
import {
  createPartner,
  deletePartner,
  findPartnerByKey,
  getPartner,
  listPartners,
  PARTNER_KEY_PATTERN,
  partnerToJson,
  updatePartner,
} from "./partners";
import { tcfAllowsSync } from "./tcf";

const SyncUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }, "must be an http(s) URL")
  .openapi({
    description:
      "Where /sync redirects; `{tw_id}` is replaced by the visitor's tagwerk ID, `{gdpr}` and `{gdpr_consent}` " +
      "by the TCF signal the pixel carried",
    example: "https://sync.network.example/match?tagwerk={tw_id}",
  });

const PartnerInput = z
  .object({
    key: z.string().regex(PARTNER_KEY_PATTERN, "lower-case letters, digits, _ and - (1-63)"),
    name: z.string().trim().min(1).max(200),
    sync_url: SyncUrl.nullable().optional(),
  })
  .strict();

const PartnerSchema = z
  .object({
    id: z.number(),
    key: z.string(),
    name: z.string(),
    sync_url: z.string().nullable(),
    created_at: z.number(),
  })
  .openapi("Partner");

export const syncRoutes = createRouter();

syncRoutes.openapi(
  createRoute({
    operationId: "listPartners",
    method: "get",
    path: "/api/v1/partners",
    tags: ["Partners"],
    summary: "The site's partners",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(z.object({ partners: z.array(PartnerSchema) }), "Partners"),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ partners: (await listPartners(c.var.db, c.var.site.id)).map(partnerToJson) }, 200),
);

syncRoutes.openapi(
  createRoute({
    operationId: "createPartner",
    method: "post",
    path: "/api/v1/partners",
    tags: ["Partners"],
    summary: "Register a partner",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(PartnerInput) },
    responses: {
      201: jsonContent(PartnerSchema, "Created"),
      ...errorResponses(400, 401, 403, 409),
    },
  }),
  async (c) => c.json(partnerToJson(await createPartner(c.var.db, c.var.site.id, c.req.valid("json"))), 201),
);

syncRoutes.openapi(
  createRoute({
    operationId: "getPartner",
    method: "get",
    path: "/api/v1/partners/{id}",
    tags: ["Partners"],
    summary: "One partner",
    security: [{ apiKey: [] }],
    request: { params: IdParam },
    responses: {
      200: jsonContent(PartnerSchema, "The partner"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => c.json(partnerToJson(await getPartner(c.var.db, c.var.site.id, c.req.valid("param").id)), 200),
);

syncRoutes.openapi(
  createRoute({
    operationId: "updatePartner",
    method: "patch",
    path: "/api/v1/partners/{id}",
    tags: ["Partners"],
    summary: "Change a partner's name or sync URL (the key is fixed)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(patchSchemaOf(PartnerInput.omit({ key: true }))),
    },
    responses: {
      200: jsonContent(PartnerSchema, "The partner"),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const updated = await updatePartner(c.var.db, c.var.site.id, c.req.valid("param").id, c.req.valid("json"));
    return c.json(partnerToJson(updated), 200);
  },
);

syncRoutes.openapi(
  createRoute({
    operationId: "deletePartner",
    method: "delete",
    path: "/api/v1/partners/{id}",
    tags: ["Partners"],
    summary: "Delete a partner and its ID links",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await deletePartner(c.env, c.var.site, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

syncRoutes.openapi(
  createRoute({
    operationId: "syncPartnerId",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "get",
    path: "/sync",
    tags: ["Public"],
    summary: "Cookie sync pixel: links a partner user ID to the visitor's tw_id",
    description:
      "Redirects (302) only to the partner's registered sync URL, with `{tw_id}` filled in, when `redirect` is " +
      "absent or equals that URL; otherwise answers a 1×1 GIF. Visitors who refused consent are not linked. " +
      "`gdpr` and `gdpr_consent` as Prebid Server's /setuid takes them: with gdpr=1 only a TC string granting " +
      "purposes 1 and 4 links; both are passed on to the partner's sync URL.",
    request: {
      query: z.object({
        site: z.string().min(1).max(63),
        p: z.string().regex(PARTNER_KEY_PATTERN),
        // Partner IDs leave in delta and ttd files read line by line (worker/lib/identifiers.ts).
        puid: z
          .string()
          .min(1)
          .max(256)
          .refine((value) => !hasControlCharacters(value), NO_CONTROL_CHARACTERS),
        redirect: z.string().max(2000).optional(),
        gdpr: z.enum(["0", "1"]).optional().openapi({ description: "1 when GDPR applies (TCF)" }),
        gdpr_consent: z.string().max(4000).optional().openapi({ description: "The IAB TCF TC string" }),
      }),
    },
    responses: {
      200: { description: "1×1 GIF", content: { "image/gif": { schema: z.string().openapi({ format: "binary" }) } } },
      302: { description: "Redirect to the partner's registered sync URL" },
      ...errorResponses(400, 404),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const db = c.var.db;
    const site = await cachedSiteByKey(db, query.site);
    if (!site) throw apiError(404, "unknown_site", `No site "${query.site}"`);
    // A move holds the site's person writes for a few seconds (README.md, "Shards"); the partner syncs again.
    refuseWhileHeld(site);
    const partner = await findPartnerByKey(db, site.id, query.p);
    if (!partner) throw apiError(404, "unknown_partner", `No partner "${query.p}" in this site`);

    const now = Date.now();
    let cookieId = readCookieId(c);
    // Opted out (GET /optout): no link, no cookie, no redirect.
    const optedOut = isOptedOut(c);
    const consent = cookieId && !optedOut ? await visitorConsent(c.env, site, cookieId) : null;
    const tcf = { gdpr: query.gdpr, consent: query.gdpr_consent };
    // Within the flood bound only (abuse/write-bounds.ts): beyond it the pixel still answers, but
    // links nothing and sets no cookie; the refusal is counted.
    const linked =
      !optedOut &&
      consentAllowsLinking(site, consent) &&
      tcfAllowsSync(tcf) &&
      (await admitRequestWrite(c, { kind: "sync", siteId: site.id, reason: "sync", now }));
    if (linked) {
      if (!cookieId) {
        // Same cookie (and proof) /e sets, but SameSite=None: see syncCookieMaxAge.
        cookieId = newCookieId();
        await setVisitorCookie(c, site, cookieId, "None", syncCookieMaxAge(site));
      }
      await recordLink(c.env, site, partner.key, query.puid, cookieId, now);
    }

    c.header("Cache-Control", "no-store");
    const target = linked && cookieId ? syncRedirectTarget(partner.syncUrl, query.redirect, cookieId, tcf) : undefined;
    if (target) return c.redirect(target, 302);
    return c.body(PIXEL_GIF, 200, { "Content-Type": "image/gif" });
  },
);
