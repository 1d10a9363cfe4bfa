/**
 * `/e` while D1 fails or stalls: the batch is not lost. When the events queue is bound, the raw
 * batch is enqueued as a `deferred-events` message (pipeline/producers.ts, sendDeferredBatch) and the answer is 202 `{accepted, rejected: [],
 * deferred: true}`; the consumer later does everything /e would have done (site lookup,
 * validation, consent, profile update) and the queue retries it while D1 is still down, until its
 * last attempt lands in rejected_events. Without a queue (or if enqueueing fails too) the answer
 * is 503 with Retry-After: the sender knows the batch was not stored.
 *
 * A browser without a tw_id gets no cookie from a deferred batch: the site's consent mode is not
 * known without D1, and a cookie is what marks a browser as having consented.
 */
import type { Db } from "../env";
import type { DeferredEventsMessage } from "../pipeline/messages";
import { cachedSiteByKey } from "../sites/site-cache";
import { rejectedStatement } from "./apply-events";
import { type CollectEnv, collectBatch } from "./batch";
import { scrubPayload } from "./scrub";

export const DEFERRED_RETRY_AFTER_SECONDS = 30;

/** The consumer's side: what /e would have done. Throws (so the queue retries) while D1 fails. */
export async function applyDeferredBatch(db: Db, env: CollectEnv, message: DeferredEventsMessage): Promise<void> {
  const site = await cachedSiteByKey(db, message.siteKey);
  if (!site) {
    await db.run(
      rejectedStatement(
        null,
        "collect",
        [
          {
            reason: "unknown site",
            payload: (await scrubPayload(message.events, null)).payload,
            siteKey: message.siteKey.slice(0, 64),
          },
        ],
        message.receivedAt,
      ),
    );
    return;
  }
  // No queue: the consumer writes the batch itself, its raw events archived first.
  // No queue: the consumer writes the batch itself (a second enqueue would only go round again).
  await collectBatch(
    db,
    { ...env, EVENTS_QUEUE: undefined },
    site,
    message.cookieId,
    message.events,
    message.receivedAt,
  );
}
