/**
 * `POST /e`'s envelope, read once before anything else looks at the batch: the body parsed, the
 * envelope validated and its site looked up. A middleware of its own, ahead of CORS in the chain
 * (collect/routes.ts), so that each step answers one question: this one "is the batch usable, and
 * whose is it" (refusing it with 400/413/429 and a rejected_events row when not), cors's origin
 * callback "may this origin read the answer", the handler "what happens to the events". Its result
 * is `c.var.envelope`.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { HTTPException } from "hono/http-exception";
import { allowedBy, clientIp, RETRY_AFTER_SECONDS, rateKey } from "../abuse/rate-limit";
import { countWrite, NO_SITE } from "../abuse/write-bounds";
import type { AppEnv, Site } from "../env";
import { apiError } from "../errors";
import { budgetOf, withinBudget } from "../lib/budget";
import { logError } from "../lib/log";
import { readCookieId } from "../lib/visitor-cookie";
import { cachedSiteByKey } from "../sites/site-cache";
import { recordUnusableBatch, type WriteBound } from "./batch";
import { BatchEnvelopeSchema, describeIssues, MAX_BODY_BYTES } from "./event-schema";

/** `site` is null when D1 failed while looking it up: the batch is then deferred (deferred.ts). */
export type Envelope = { site: Site | null; siteKey: string; events: unknown[] };

/** What a bounded rejection write needs from this request (abuse/write-bounds.ts). */
export function boundOf(c: Context<AppEnv>): WriteBound {
  return { env: c.env, db: c.var.db, ip: clientIp(c) };
}

export function rateLimited() {
  return apiError(429, "rate_limited", "Too many batches from this address; retry later", {
    "Retry-After": String(RETRY_AFTER_SECONDS),
  });
}

/**
 * Refuses a batch that cannot be used at all: a 429 once this address is over /e's rate limit
 * (only counted then), else a row in rejected_events within the flood bound and the given error.
 */
async function refuseUnusable(
  c: Context<AppEnv>,
  site: { id: number | null; key: string | null },
  rejection: { category: string; reason: string },
  payload: unknown,
  error: HTTPException,
): Promise<never> {
  const now = Date.now();
  // An unknown or unread site shares one bucket per address: inventing site keys gains nothing.
  if (!(await allowedBy(c.env.EVENTS_RATE_LIMITER, rateKey(c, site.id === null ? "?" : (site.key ?? "?"))))) {
    await countWrite(c.var.db, site.id ?? NO_SITE, rejection.category, "refused", now);
    throw rateLimited();
  }
  await recordUnusableBatch(boundOf(c), site, rejection, payload, now, readCookieId(c));
  throw error;
}

/** bodyLimit's answer to a body over MAX_BODY_BYTES: refused and recorded like any unusable batch. */
export function refuseTooLarge(c: Context<AppEnv>): Promise<never> {
  return refuseUnusable(
    c,
    { id: null, key: null },
    { category: "too_large", reason: `body over ${MAX_BODY_BYTES} bytes` },
    null,
    apiError(413, "payload_too_large", `The body exceeds ${MAX_BODY_BYTES} bytes`),
  );
}

async function parseEnvelope(c: Context<AppEnv>): Promise<Envelope> {
  // text/plain is what sendBeacon sends without a preflight; JSON from servers is read the same.
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refuseUnusable(
      c,
      { id: null, key: null },
      { category: "invalid_json", reason: "malformed JSON" },
      text,
      apiError(400, "invalid_json", "The body is not valid JSON"),
    );
  }
  const parsed = BatchEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const key = typeof (json as { site?: unknown })?.site === "string" ? (json as { site: string }).site : null;
    const message = describeIssues(parsed.error);
    return refuseUnusable(
      c,
      { id: null, key: key?.slice(0, 64) ?? null },
      { category: "invalid_batch", reason: message },
      json,
      apiError(400, "invalid_batch", message),
    );
  }
  let site: Site | undefined;
  try {
    // Budgeted: a stalled lookup defers the batch instead of holding the beacon open. Only this
    // read is: a profile write that outlived its budget might still land, and deferring it too
    // would apply the batch twice.
    site = await withinBudget(cachedSiteByKey(c.var.db, parsed.data.site), budgetOf(c.env), "site lookup");
  } catch (error) {
    logError("collect.site_lookup_failed", { requestId: c.var.requestId, site: parsed.data.site, error });
    return { site: null, siteKey: parsed.data.site, events: parsed.data.events };
  }
  if (!site) {
    return refuseUnusable(
      c,
      { id: null, key: parsed.data.site },
      { category: "unknown_site", reason: "unknown site" },
      json,
      apiError(400, "unknown_site", `No site with key "${parsed.data.site}"`),
    );
  }
  return { site, siteKey: site.key, events: parsed.data.events };
}

/** Sets `c.var.envelope` for a batch (a preflight, or any method but POST, passes through). */
export const readEnvelope = createMiddleware<AppEnv>(async function readEnvelope(c, next) {
  if (c.req.method === "POST") c.set("envelope", await parseEnvelope(c));
  await next();
});
