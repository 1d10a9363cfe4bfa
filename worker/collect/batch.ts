/**
 * What `POST /e` does with a batch once its envelope is usable: bots counted, events validated one
 * by one, consent enforced server-side as well, then the batch either enqueued (through
 * worker/pipeline/producers.ts, when the events queue is bound) or applied directly. Unusable
 * batches are recorded here too: nothing sent to tagwerk is silently dropped.
 */

import { sql } from "drizzle-orm";
import { admitWrite, admitWrites, NO_SITE } from "../abuse/write-bounds";
import { archiveThenApply } from "../archive/archive";
import { codesHeldBy, couponPurchases } from "../coupons";
import type { Db, Site } from "../env";
import { UNVERIFIED_IDENTIFY, verifyIdentify } from "../identity/verified-identify";
import { DEFAULT_BUDGET_MS } from "../lib/budget";
import { logError } from "../lib/log";
import { utcDayKey } from "../lib/time";
import { newCookieId } from "../lib/visitor-cookie";
import type { EventsMessage } from "../pipeline/messages";
import { type ProducerEnv, sendEventBatch } from "../pipeline/producers";
import { refuseWhileHeld } from "../shards/moves";
import type { ShardEnv } from "../shards/routing";
import { applyEventBatch, type RejectedRow, rejectedStatement } from "./apply-events";
import { type Rejection, type TagEvent, validateEvents } from "./event-schema";
import { scrubPayload } from "./scrub";

/**
 * One rejected_events row for a batch that could not be used at all — if the flood bound admits it
 * (abuse/write-bounds.ts); beyond the bound the refusal is only counted under `category` (a fixed
 * word, never request text). The payload is scrubbed of personal data (scrub.ts).
 */
export async function recordUnusableBatch(
  bound: WriteBound,
  site: { id: number | null; key: string | null },
  rejection: { category: string; reason: string },
  payload: unknown,
  now: number,
  cookieId: string | null = null,
) {
  try {
    const admitted = await admitWrite(bound.env, bound.db, {
      kind: "rejection",
      ip: bound.ip,
      siteId: site.id ?? NO_SITE,
      reason: rejection.category,
      now,
    });
    if (!admitted) return;
    const scrubbed = await scrubPayload(payload, site.id);
    const row: RejectedRow = { reason: rejection.reason, siteKey: site.key, cookieId, ...scrubbed };
    await bound.db.run(rejectedStatement(site.id, "collect", [row], now));
  } catch (error) {
    // D1 down: the caller still answers its 4xx, so the sender knows the batch was refused.
    logError("collect.rejection_write_failed", { site: site.id ?? site.key ?? undefined, error });
  }
}

/** What a bounded write needs: the bindings (rate limiters), the database and the client IP. */
export type WriteBound = { env: Partial<Env>; db: Db; ip: string };

export async function countBot(db: Db, siteId: number, now: number) {
  await db.run(sql`
    insert into bot_counts (site_id, day, hits) values (${siteId}, ${utcDayKey(now)}, 1)
    on conflict (site_id, day) do update set hits = bot_counts.hits + 1
  `);
}

export type CollectResult = {
  accepted: number;
  rejected: Rejection[];
  /** Set when the visitor had no valid cookie and this batch created its profile. */
  newCookieId: string | null;
  /** The batch was written directly (no queue, or the queue refused it), not enqueued. */
  written: boolean;
};

/**
 * Server-side consent: on a `required` site, a browser without a tw_id cookie has never sent a
 * consented batch (the cookie is only set after one), so its events count only from
 * `consent: true` on. A denial stops everything after it; it is stored for a known visitor and
 * creates nothing for an unknown one.
 */
function applyConsent(site: Site, hasCookie: boolean, events: { index: number; event: TagEvent }[]) {
  let allowed = site.consentMode === "implied" || hasCookie;
  let denied = false;
  const kept: { index: number; event: TagEvent }[] = [];
  const refused: Rejection[] = [];
  for (const { index, event } of events) {
    if (event.type === "consent") {
      if (event.props.granted) {
        allowed = true;
        denied = false;
        kept.push({ index, event });
      } else {
        if (hasCookie) kept.push({ index, event });
        allowed = false;
        denied = true;
      }
    } else if (allowed) kept.push({ index, event });
    else refused.push({ index, reason: denied ? "consent denied" : "consent required" });
  }
  // A lone denial from an unknown browser: nothing to store, no cookie to set.
  const onlyDenial = !hasCookie && kept.every(({ event: e }) => e.type === "consent" && !e.props.granted);
  return { kept: onlyDenial ? [] : kept, refused };
}

/** The reason a browser purchase naming a code it does not hold is refused (the same for any such code). */
const COUPON_NOT_HELD = "coupon not held by this visitor";

/**
 * The browser's limits (docs/architecture.md, "Trust boundaries"): an identify links only with the shop's
 * signature (its `sig` is not stored), and a purchase may name only a code this cookie or its
 * customer holds. Refused events are reported; nothing of them is applied.
 */
async function applyTrustBoundaries(
  env: ShardEnv,
  db: Db,
  site: Site,
  cookieId: string | null,
  events: { index: number; event: TagEvent }[],
) {
  const kept: { index: number; event: TagEvent }[] = [];
  const refused: Rejection[] = [];
  let verifiedCustomer: string | null = null;
  for (const item of events) {
    const { event } = item;
    if (event.type !== "identify") {
      kept.push(item);
      continue;
    }
    const { customer, sig, ts } = event.props;
    if (await verifyIdentify(site, { customer, sig, ts }, Date.now())) {
      verifiedCustomer = customer;
      kept.push({ index: item.index, event: { ...event, props: { customer } } });
    } else refused.push({ index: item.index, reason: UNVERIFIED_IDENTIFY });
  }
  const codes = couponPurchases(kept.map((k) => k.event)).map((p) => p.code);
  const held = await codesHeldBy(env, db, site, cookieId, verifiedCustomer, codes);
  const allowed = kept.filter(({ index, event }) => {
    const coupon = event.type === "purchase" ? event.props.coupon?.trim() : undefined;
    if (!coupon || held.has(coupon)) return true;
    refused.push({ index, reason: COUPON_NOT_HELD });
    return false;
  });
  return { kept: allowed, refused };
}

/** What collectBatch reaches beyond D1: the events queue (if bound) and the raw event archive. */
export type CollectEnv = ProducerEnv & Pick<Env, "ARCHIVE" | "DB">;

/**
 * Applies or enqueues one batch. With a queue, a refused or stalled send falls back to the direct
 * write (docs/architecture.md, "Ingestion pipeline": a batch answered 204/202 is never lost); only when that fails too
 * does this throw, and /e answers 503. A direct write archives the raw events first
 * (worker/archive/archive.ts) and reports `written`: the caller then asks for the webhooks' check.
 */
export async function collectBatch(
  db: Db,
  env: CollectEnv,
  site: Site,
  cookieId: string | null,
  rawEvents: unknown[],
  now: number,
  bound?: WriteBound,
  queueBudgetMs = DEFAULT_BUDGET_MS,
): Promise<CollectResult> {
  const { accepted, rejected } = validateEvents(rawEvents);
  const consented = applyConsent(site, cookieId !== null, accepted);
  const trusted = await applyTrustBoundaries(env, db, site, cookieId, consented.kept);
  const kept = trusted.kept.map(({ event }) => event);
  const rejections = [...rejected, ...consented.refused, ...trusted.refused].sort((a, b) => a.index - b.index);
  const fresh = cookieId === null && kept.length > 0 ? newCookieId() : null;
  const visitor = cookieId ?? fresh ?? "";
  // Rows only within the flood bound, each row its own place in it (the first rejections of the
  // batch first); the answer lists every rejection.
  const admitted =
    rejections.length === 0
      ? 0
      : !bound
        ? rejections.length
        : await admitWrites(bound.env, db, {
            kind: "rejection",
            ip: bound.ip,
            siteId: site.id,
            reason: "invalid_event",
            now,
            count: rejections.length,
          });
  const rows: RejectedRow[] = await Promise.all(
    rejections.slice(0, admitted).map(async (r) => ({
      reason: `event ${r.index}: ${r.reason}`,
      // Refused for consent: the reason is kept, the event's content is not.
      ...(r.reason.startsWith("consent")
        ? { payload: null, customerRef: null }
        : await scrubPayload(rawEvents[r.index], site.id)),
      siteKey: site.key,
      cookieId: cookieId ?? null,
    })),
  );
  let written = false;
  if (kept.length > 0 || rows.length > 0) {
    const message: EventsMessage = {
      kind: "events",
      siteId: site.id,
      cookieId: visitor,
      events: kept,
      rejected: rows,
      receivedAt: now,
    };
    if (!(await sendEventBatch(env, message, queueBudgetMs))) {
      // Written directly only where a move does not hold the site's person writes (README.md, "Shards"):
      // then the answer is a 503 with Retry-After, as when D1 fails, and nothing is half-written.
      refuseWhileHeld(site);
      await archiveThenApply(env.ARCHIVE, site.id, [{ cookieId: visitor, receivedAt: now, events: kept }], now, () =>
        applyEventBatch(env, site, visitor, kept, now, rows),
      );
      written = true;
    }
  }
  return { accepted: rawEvents.length - rejections.length, rejected: rejections, newCookieId: fresh, written };
}
