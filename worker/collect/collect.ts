/**
 * What `POST /e` does with a batch once its envelope is usable: bots counted, events validated one
 * by one, consent enforced server-side as well, then the batch either enqueued (EVENTS_QUEUE
 * bound) or applied directly. Unusable batches are recorded here too: nothing sent to tagwerk is
 * silently dropped.
 */
import { sql } from "drizzle-orm";
import type { DecisionMessage } from "../decide/impressions";
import type { Db, Site } from "../env";
import { utcDayKey } from "../lib/time";
import { newCookieId } from "../lib/visitor-cookie";
import { applyEventBatch, type RejectedRow, rejectedStatement, truncatePayload } from "./apply-events";
import type { DeferredEventsMessage } from "./deferred";
import { type Rejection, type TagEvent, validateEvents } from "./event-schema";

/** The events queue's message body; `kind` lets other producers (impressions) share the queue. */
export type EventsMessage = {
  kind: "events";
  siteId: number;
  cookieId: string;
  events: TagEvent[];
  rejected: RejectedRow[];
  receivedAt: number;
};
export type QueueMessage = EventsMessage | DecisionMessage | DeferredEventsMessage;

/** One rejected_events row for a batch that could not be used at all. */
export async function recordUnusableBatch(
  db: Db,
  site: { id: number | null; key: string | null },
  reason: string,
  payload: unknown,
  now: number,
) {
  try {
    await db.run(
      rejectedStatement(site.id, "collect", [{ reason, payload: truncatePayload(payload), siteKey: site.key }], now),
    );
  } catch (error) {
    // D1 down: the caller still answers its 4xx, so the sender knows the batch was refused.
    console.error(JSON.stringify({ level: "error", where: "record unusable batch", error: String(error) }));
  }
}

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
  const kept: TagEvent[] = [];
  const refused: Rejection[] = [];
  for (const { index, event } of events) {
    if (event.type === "consent") {
      if (event.props.granted) {
        allowed = true;
        denied = false;
        kept.push(event);
      } else {
        if (hasCookie) kept.push(event);
        allowed = false;
        denied = true;
      }
    } else if (allowed) kept.push(event);
    else refused.push({ index, reason: denied ? "consent denied" : "consent required" });
  }
  // A lone denial from an unknown browser: nothing to store, no cookie to set.
  const onlyDenial = !hasCookie && kept.every((e) => e.type === "consent" && !e.props.granted);
  return { kept: onlyDenial ? [] : kept, refused };
}

export async function collectBatch(
  db: Db,
  queue: Queue<QueueMessage> | undefined,
  site: Site,
  cookieId: string | null,
  rawEvents: unknown[],
  now: number,
): Promise<CollectResult> {
  const { accepted, rejected } = validateEvents(rawEvents);
  const { kept, refused } = applyConsent(site, cookieId !== null, accepted);
  const rejections = [...rejected, ...refused].sort((a, b) => a.index - b.index);
  // Refused for consent: the reason is kept, the event's content is not.
  const rows: RejectedRow[] = rejections.map((r) => ({
    reason: `event ${r.index}: ${r.reason}`,
    payload: r.reason.startsWith("consent") ? null : truncatePayload(rawEvents[r.index]),
    siteKey: site.key,
  }));
  const fresh = cookieId === null && kept.length > 0 ? newCookieId() : null;
  const visitor = cookieId ?? fresh ?? "";
  if (kept.length > 0 || rows.length > 0) {
    if (queue) {
      await queue.send({
        kind: "events",
        siteId: site.id,
        cookieId: visitor,
        events: kept,
        rejected: rows,
        receivedAt: now,
      });
    } else {
      await applyEventBatch(db, site, visitor, kept, now, rows);
    }
  }
  return { accepted: rawEvents.length - rejections.length, rejected: rejections, newCookieId: fresh };
}
