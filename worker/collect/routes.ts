/**
 * The tag's public endpoints: `GET /t.js` and `GET /tc.js` (the built tag and its CMP-aware build,
 * cacheable with an ETag) and `POST /e` (event batches from the tag or from a shop's server).
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { etag } from "hono/etag";
import { isbot } from "isbot";
import { allowedBy, rateKey } from "../abuse/rate-limit";
import { countWrite, NO_SITE } from "../abuse/write-bounds";
import type { AppEnv, Site } from "../env";
import { apiError } from "../errors";
import { runAfterResponse } from "../lib/after-response";
import { budgetOf } from "../lib/budget";
import { logError } from "../lib/log";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { SECONDS_PER_DAY } from "../lib/time";
import { MAX_COOKIE_AGE_SECONDS, readCookieId, setVisitorCookie } from "../lib/visitor-cookie";
import { requestProfileCheck, sendDeferredBatch } from "../pipeline/producers";
import { trackingRefusal } from "../privacy/opt-out";
import { cachedSiteByKey } from "../sites/site-cache";
import { truncatePayload } from "./apply-events";
import { collectBatch, countBot, recordUnusableBatch } from "./batch";
import { DEFERRED_RETRY_AFTER_SECONDS } from "./deferred";
import { boundOf, rateLimited, readEnvelope, refuseTooLarge } from "./envelope";
import { BatchSchema, EventsResultSchema, MAX_BODY_BYTES } from "./event-schema";
import { CMP_TAG_SCRIPT, TAG_SCRIPT } from "./tag-bundle.generated";

export const collectRoutes = createRouter();

// Shops embed the tag on every page: browsers and CDNs may keep it an hour, then revalidate with
// If-None-Match (a 304 costs a few bytes). /tc.js is the CMP-aware build (tag/build.mjs).
for (const [path, script] of [
  ["/t.js", TAG_SCRIPT],
  ["/tc.js", CMP_TAG_SCRIPT],
] as const) {
  collectRoutes.get(path, etag(), (c) => {
    c.header("Cache-Control", "public, max-age=3600, must-revalidate");
    c.header("Content-Type", "application/javascript; charset=utf-8");
    return c.body(script, 200);
  });
}

// Three steps, each answering one question: is the body within bounds, is the batch usable and
// whose (envelope.ts, `c.var.envelope`), may this origin read the answer (cors).
collectRoutes.use(
  "/e",
  bodyLimit({ maxSize: MAX_BODY_BYTES, onError: refuseTooLarge }),
  readEnvelope,
  cors({
    // Only the site's own origins may read answers and send credentials (the tw_id cookie).
    // A preflight carries no body: it names its site with ?site= (the tag never needs one: it
    // sends text/plain).
    origin: async (origin, c: Context<AppEnv>) => {
      if (!origin) return null;
      const site: Site | null | undefined =
        c.req.method === "OPTIONS" ? await cachedSiteByKey(c.var.db, c.req.query("site") ?? "") : c.var.envelope?.site;
      return site?.allowedOrigins.includes(origin) ? origin : null;
    },
    credentials: true,
    allowMethods: ["POST"],
    maxAge: SECONDS_PER_DAY,
  }),
);

/** D1 failed: enqueue the raw batch for the consumer (202, deferred) or say it was not stored (503). */
async function deferOrRefuse(
  c: Context<AppEnv>,
  siteKey: string,
  cookieId: string | null,
  events: unknown[],
  now: number,
) {
  if (await sendDeferredBatch(c.env, { siteKey, cookieId, events, receivedAt: now })) {
    return c.json({ accepted: events.length, rejected: [], deferred: true }, 202);
  }
  throw apiError(503, "unavailable", "Storage is unavailable; the batch was not stored, retry later", {
    "Retry-After": String(DEFERRED_RETRY_AFTER_SECONDS),
  });
}

collectRoutes.openapi(
  createRoute({
    operationId: "collectEvents",
    // Public: anonymous browsers and networks call it (docs/architecture.md, "Trust boundaries").
    security: [],
    method: "post",
    path: "/e",
    tags: ["Collect"],
    summary: "Record a batch of tag events",
    description:
      "Accepts `text/plain` (what `sendBeacon` sends, without a CORS preflight) or `application/json`, " +
      `at most ${MAX_BODY_BYTES} bytes and 50 events. Sets the \`tw_id\` cookie when absent. Each event is ` +
      "validated on its own: rejected ones are listed in a 202 answer and kept in rejected_events.",
    request: {
      // Documented only: the body is parsed and validated in the handler, because one bad event
      // must not reject its whole batch (and text/plain bodies are not validated by route schemas).
      body: { required: false, content: { "text/plain": { schema: BatchSchema } } },
    },
    responses: {
      204: { description: "Every event accepted" },
      202: jsonContent(
        EventsResultSchema.extend({
          deferred: z
            .boolean()
            .optional()
            .openapi({ description: "true: storage failed, the batch is queued and applied later" }),
        }).openapi("CollectResult"),
        "Some events rejected",
      ),
      ...errorResponses(400, 403, 413, 429, 503),
    },
  }),
  async (c) => {
    const { site, siteKey, events } = c.var.envelope;
    const db = c.var.db;
    const now = Date.now();
    // Opted out (GET /optout), GPC or DNT: nothing is stored, not even the rejection, no cookie set.
    const refusal = trackingRefusal(c);
    if (refusal) {
      return c.json({ accepted: 0, rejected: events.map((_, index) => ({ index, reason: refusal })) }, 202);
    }
    if (!(await allowedBy(c.env.EVENTS_RATE_LIMITER, rateKey(c, siteKey)))) {
      // Kept in rejected_events within the flood bound (a flood must not fill the database with
      // its own rejections), else only counted; the 429 tells the sender in any case.
      const category = { category: "rate_limited", reason: "rate_limited" };
      if (site) await recordUnusableBatch(boundOf(c), site, category, events, now, readCookieId(c));
      else await countWrite(db, NO_SITE, category.category, "refused", now);
      throw rateLimited();
    }
    const cookieId = readCookieId(c);
    if (!site) return deferOrRefuse(c, siteKey, cookieId, events, now);
    const origin = c.req.header("Origin");
    // Browsers always send Origin on a cross-origin POST; servers send none and are accepted.
    if (origin !== undefined && !site.allowedOrigins.includes(origin)) {
      await recordUnusableBatch(
        boundOf(c),
        site,
        { category: "origin_not_allowed", reason: `origin ${truncatePayload(origin, 200)} not allowed` },
        events,
        now,
        cookieId,
      );
      throw apiError(403, "origin_not_allowed", "This origin may not send events for this site");
    }
    if (isbot(c.req.header("User-Agent") ?? "")) {
      await countBot(db, site.id, now);
      return c.body(null, 204);
    }
    let result: Awaited<ReturnType<typeof collectBatch>>;
    try {
      result = await collectBatch(db, c.env, site, cookieId, events, now, boundOf(c), budgetOf(c.env));
    } catch (error) {
      logError("collect.batch_failed", { requestId: c.var.requestId, site: site.id, error });
      return deferOrRefuse(c, site.key, cookieId, events, now);
    }
    // Written directly (not enqueued): the webhooks hear of it now, not from the events consumer.
    if (result.written && result.accepted > 0) {
      const cookie = result.newCookieId ?? cookieId;
      if (cookie) await runAfterResponse(c, requestProfileCheck(c.env, site.id, { cookies: [cookie] }));
    }
    if (result.newCookieId) {
      await setVisitorCookie(c, site, result.newCookieId, "Lax", MAX_COOKIE_AGE_SECONDS);
    }
    if (result.rejected.length > 0) return c.json({ accepted: result.accepted, rejected: result.rejected }, 202);
    return c.body(null, 204);
  },
);
