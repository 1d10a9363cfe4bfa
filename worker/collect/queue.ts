/**
 * The events queue's consumer: applies each message's batch in one D1 round trip. A message that
 * fails is retried; on its last attempt its content lands in rejected_events with the reason, so
 * nothing is lost. Messages carry a `kind` so other producers (impressions) can share the queue.
 */
import { createDb } from "../db/client";
import type { Db } from "../env";
import { applyEventBatch, rejectedStatement, truncatePayload } from "./apply-events";
import type { QueueMessage } from "./collect";

/** Must match `max_retries` of the consumer in wrangler.toml. */
export const EVENTS_QUEUE_MAX_RETRIES = 3;

async function applyMessage(db: Db, body: QueueMessage) {
  switch (body.kind) {
    case "events":
      await applyEventBatch(db, { id: body.siteId }, body.cookieId, body.events, body.receivedAt, body.rejected);
      return;
    default:
      throw new Error(`unknown message kind ${JSON.stringify((body as { kind?: unknown }).kind)}`);
  }
}

export async function consumeQueueBatch(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  for (const message of batch.messages) {
    try {
      await applyMessage(db, message.body);
      message.ack();
    } catch (error) {
      // `attempts` counts from 1: the last delivery is the one after max_retries retries.
      if (message.attempts > EVENTS_QUEUE_MAX_RETRIES) {
        const body = message.body as Partial<QueueMessage>;
        const reason = `queue gave up after ${message.attempts} attempts: ${String(error).slice(0, 500)}`;
        try {
          await db.run(
            rejectedStatement(
              typeof body?.siteId === "number" ? body.siteId : null,
              "queue",
              [{ reason, payload: truncatePayload(message.body, 30_000) }],
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
}
