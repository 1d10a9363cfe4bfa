/**
 * The events queue's consumer (QUEUES.events): writes the event batches of a delivery in one D1
 * round trip (and its impressions and clicks in another), falling back to one round trip per
 * message. A message that fails is retried; on its last attempt its content lands in
 * rejected_events with the reason, so nothing is lost. Messages carry a `kind` (messages.ts): /e's
 * batches, deferred batches, impressions and clicks share the queue. The raw events of a delivery
 * are archived in R2 before its D1 writes (events-archive.ts).
 */
import { applyEventBatch, eventBatchStatements, rejectedStatement, touchedBy } from "../collect/apply-events";
import { applyDeferredBatch } from "../collect/deferred";
import { scrubPayload } from "../collect/scrub";
import { couponPurchases } from "../coupons";
import { createDb } from "../db/client";
import { runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";
import { archiveDelivery } from "./events-archive";
import { writeBannerMessages } from "./impressions";
import type { BannerGroupMessage, BannerMessage, EventsMessage, EventsQueueMessage } from "./messages";
import { requestProfileCheck } from "./producers";
import { QUEUES } from "./queues";
import { takeMoveMessages } from "./shard-moves";

async function applyMessage(db: Db, archive: R2Bucket, body: EventsQueueMessage) {
  switch (body.kind) {
    case "events":
      await applyEventBatch(db, { id: body.siteId }, body.cookieId, body.events, body.receivedAt, body.rejected);
      return;
    case "deferred-events":
      await applyDeferredBatch(db, archive, body);
      return;
    case "impression":
    case "click":
    case "decisions":
      await writeBannerMessages(db, [body]);
      return;
    default:
      throw new Error(`unknown message kind ${JSON.stringify((body as { kind?: unknown }).kind)}`);
  }
}

/**
 * Impressions and clicks of the whole delivery are written in ONE D1 batch (with the cap counters);
 * if that fails, each is retried on its own through the per-message path below.
 */
async function writeDecisionBatch(db: Db, messages: readonly Message<EventsQueueMessage>[]) {
  const decisions = messages.filter(
    (m) => m.body.kind === "impression" || m.body.kind === "click" || m.body.kind === "decisions",
  );
  if (decisions.length === 0) return new Set<Message<EventsQueueMessage>>();
  try {
    await writeBannerMessages(
      db,
      decisions.map((m) => m.body as BannerMessage | BannerGroupMessage),
    );
    for (const message of decisions) message.ack();
    return new Set(decisions);
  } catch {
    return new Set<Message<EventsQueueMessage>>();
  }
}

/**
 * The event batches of one delivery go out as ONE D1 batch too: applied one by one, the consumer
 * wrote about a third of the events /e accepted (bench/RESULTS.md, "Ingestion"). A batch with a
 * coupon purchase takes the per-message path (it redeems the coupon first), and if the combined
 * batch fails, each message is retried on its own below.
 */
async function writeEventBatches(
  db: Db,
  messages: readonly Message<EventsQueueMessage>[],
  unarchived: ReadonlySet<Message<EventsQueueMessage>>,
) {
  const plain = messages.filter(
    (m): m is Message<EventsMessage> =>
      m.body.kind === "events" && couponPurchases(m.body.events).length === 0 && !unarchived.has(m),
  );
  if (plain.length < 2) return new Set<Message<EventsQueueMessage>>();
  try {
    // The decision rows of the whole delivery are refreshed once per site, after all its writes:
    // two statements instead of two per message (docs/architecture.md, "Decision rows").
    const touched = new Map<number, { cookies: string[]; customers: string[] }>();
    for (const { body } of plain) {
      if (body.events.length === 0) continue;
      const { cookies, customers } = touchedBy(body.cookieId, body.events);
      const site = touched.get(body.siteId) ?? { cookies: [], customers: [] };
      site.cookies.push(...cookies);
      site.customers.push(...customers);
      touched.set(body.siteId, site);
    }
    const now = Date.now();
    await runBatch(db, [
      ...plain.flatMap(({ body }) =>
        eventBatchStatements(body.siteId, body.cookieId, body.events, body.receivedAt, body.rejected, {}, false),
      ),
      ...[...touched].flatMap(([siteId, people]) => refreshStatements(siteId, people, now)),
    ]);
    for (const message of plain) message.ack();
    return new Set<Message<EventsQueueMessage>>(plain);
  } catch {
    return new Set<Message<EventsQueueMessage>>();
  }
}

export async function consumeEventsBatch(batch: MessageBatch<EventsQueueMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  // A move's steps run, and the messages of a site whose writes a move holds wait (shard-moves.ts).
  const messages = await takeMoveMessages(env, batch.messages);
  // Raw events to R2 before any D1 write (events-archive.ts): a message not archived is not applied.
  const archive = await archiveDelivery(env.ARCHIVE, messages);
  const written = await writeDecisionBatch(db, messages);
  for (const message of await writeEventBatches(db, messages, archive.failed)) written.add(message);
  for (const message of messages) {
    if (written.has(message)) continue;
    try {
      if (archive.failed.has(message)) throw new Error("the raw event archive refused the batch");
      await applyMessage(db, env.ARCHIVE, message.body);
      message.ack();
      written.add(message);
    } catch (error) {
      // `attempts` counts from 1: the last delivery is the one after max_retries retries.
      if (message.attempts > QUEUES.events.maxRetries) {
        const body = message.body as { siteId?: unknown; cookieId?: unknown };
        const siteId = typeof body?.siteId === "number" ? body.siteId : null;
        const reason = `queue gave up after ${message.attempts} attempts: ${String(error).slice(0, 500)}`;
        try {
          await db.run(
            rejectedStatement(
              siteId,
              "queue",
              [
                {
                  reason,
                  ...(await scrubPayload(message.body, siteId)),
                  cookieId: typeof body?.cookieId === "string" ? body.cookieId : null,
                },
              ],
              Date.now(),
            ),
          );
          message.ack();
        } catch {
          message.retry();
        }
      } else {
        message.retry();
      }
    }
  }
  await archive.settle(written);
  await requestWebhookChecks(
    env,
    [...written].map((m) => m.body),
  );
}

/**
 * The visitors whose profile these messages changed, for the webhooks' entry and exit check
 * (docs/architecture.md, "Budgets and where they are measured": a webhook leaves within a minute of the event). A queue message, no D1
 * round trip; if it cannot be sent, the cron catches the change up.
 */
async function requestWebhookChecks(env: Env, bodies: EventsQueueMessage[]) {
  const bySite = new Map<number, string[]>();
  for (const body of bodies) {
    if (body.kind !== "events" || body.events.length === 0) continue;
    bySite.set(body.siteId, [...(bySite.get(body.siteId) ?? []), body.cookieId]);
  }
  for (const [siteId, cookies] of bySite) await requestProfileCheck(env, siteId, { cookies });
}
