/**
 * The events queue's consumer (QUEUES.events): writes the event batches of a delivery in one D1
 * round trip (and its impressions and clicks in another), falling back to one round trip per
 * message. A message that fails is retried; on its last attempt its content lands in
 * rejected_events with the reason, so nothing is lost. Messages carry a `kind` (messages.ts): /e's
 * batches, deferred batches, impressions and clicks share the queue. The raw events of a delivery
 * are archived in R2 before its D1 writes (events-archive.ts).
 */
import {
  applyEventBatch,
  type BatchWrites,
  eventBatchStatements,
  reachesBeyondCookie,
  rejectedStatement,
  writeBatch,
} from "../collect/apply-events";
import { applyDeferredBatch } from "../collect/deferred";
import { scrubPayload } from "../collect/scrub";
import { couponPurchases } from "../coupons";
import { createDb } from "../db/client";
import { refreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";
import { type PeopleDb, peopleFor } from "../shards/routing";
import { sitePlacements } from "../shards/site-sets";
import { archiveDelivery } from "./events-archive";
import { writeBannerMessages } from "./impressions";
import type { BannerGroupMessage, BannerMessage, EventsMessage, EventsQueueMessage } from "./messages";
import { requestProfileCheck } from "./producers";
import { QUEUES } from "./queues";

async function applyMessage(db: Db, env: Env, body: EventsQueueMessage) {
  switch (body.kind) {
    case "events": {
      const site = (await sitePlacements(env, [body.siteId])).get(body.siteId);
      // No such site (deleted since, or never): retried, then kept in rejected_events, not dropped.
      if (!site) throw new Error(`site ${body.siteId} does not exist`);
      await applyEventBatch(env, site, body.cookieId, body.events, body.receivedAt, body.rejected);
      return;
    }
    case "deferred-events":
      await applyDeferredBatch(db, env, body);
      return;
    case "impression":
    case "click":
    case "decisions":
      await writeBannerMessages(env, [body]);
      return;
    default:
      throw new Error(`unknown message kind ${JSON.stringify((body as { kind?: unknown }).kind)}`);
  }
}

/**
 * Impressions and clicks of the whole delivery are written in ONE D1 batch (with the cap counters);
 * if that fails, each is retried on its own through the per-message path below.
 */
async function writeDecisionBatch(env: Env, messages: readonly Message<EventsQueueMessage>[]) {
  const decisions = messages.filter(
    (m) => m.body.kind === "impression" || m.body.kind === "click" || m.body.kind === "decisions",
  );
  if (decisions.length === 0) return new Set<Message<EventsQueueMessage>>();
  try {
    await writeBannerMessages(
      env,
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
  env: Env,
  messages: readonly Message<EventsQueueMessage>[],
  unarchived: ReadonlySet<Message<EventsQueueMessage>>,
) {
  // A batch that links a customer goes on its own too: what it changes reaches beyond its
  // cookie's database (apply-events.ts, afterBatch).
  const plain = messages.filter(
    (m): m is Message<EventsMessage> =>
      m.body.kind === "events" &&
      couponPurchases(m.body.events).length === 0 &&
      !reachesBeyondCookie(m.body.events) &&
      !unarchived.has(m),
  );
  if (plain.length < 2) return new Set<Message<EventsQueueMessage>>();
  try {
    const now = Date.now();
    const sites = await sitePlacements(
      env,
      plain.map(({ body }) => body.siteId),
      now,
    );
    // One batch per database the delivery's people are in (docs/architecture.md, "Shards"), and one
    // for HOME's rejections; each database's decision rows are refreshed once per site, after all
    // its writes: two statements instead of two per message (docs/architecture.md, "Decision rows").
    const batches = new Map<D1Database, { people: PeopleDb; writes: BatchWrites; touched: Map<number, string[]> }>();
    const home: BatchWrites["home"] = [];
    for (const { body } of plain) {
      const site = sites.get(body.siteId);
      if (!site) continue;
      const people = peopleFor(env, site, body.cookieId);
      const batch = batches.get(people.d1) ?? {
        people,
        writes: { people: [], home: [] } as BatchWrites,
        touched: new Map<number, string[]>(),
      };
      batches.set(people.d1, batch);
      const writes = eventBatchStatements(
        body.siteId,
        body.cookieId,
        body.events,
        body.receivedAt,
        body.rejected,
        {},
        false,
      );
      batch.writes.people.push(...writes.people);
      home.push(...writes.home);
      if (body.events.length > 0)
        batch.touched.set(body.siteId, [...(batch.touched.get(body.siteId) ?? []), body.cookieId]);
    }
    const written: Promise<unknown>[] = [];
    for (const { people, writes, touched } of batches.values()) {
      for (const [siteId, cookies] of touched) writes.people.push(...refreshStatements(siteId, { cookies }, now));
      // HOME's rejections ride with HOME's people when there are some (sites not moved to shards yet).
      if (people.shard === null) writes.home.push(...home.splice(0));
      written.push(writeBatch(env, people, writes));
    }
    if (home.length > 0)
      written.push(writeBatch(env, { shard: null, d1: env.DB, db: createDb(env.DB) }, { people: [], home }));
    await Promise.all(written);
    // A message of an unknown site was not written: it takes the per-message path (and its retries).
    const done = plain.filter(({ body }) => sites.has(body.siteId));
    for (const message of done) message.ack();
    return new Set<Message<EventsQueueMessage>>(done);
  } catch {
    return new Set<Message<EventsQueueMessage>>();
  }
}

export async function consumeEventsBatch(batch: MessageBatch<EventsQueueMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  // Raw events to R2 before any D1 write (events-archive.ts): a message not archived is not applied.
  const archive = await archiveDelivery(env.ARCHIVE, batch.messages);
  const written = await writeDecisionBatch(env, batch.messages);
  for (const message of await writeEventBatches(env, batch.messages, archive.failed)) written.add(message);
  for (const message of batch.messages) {
    if (written.has(message)) continue;
    try {
      if (archive.failed.has(message)) throw new Error("the raw event archive refused the batch");
      await applyMessage(db, env, message.body);
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
