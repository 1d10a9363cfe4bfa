/**
 * The asynchronous pipeline in one place: the queues and their limits (queues.ts), the messages
 * they carry (messages.ts), and their consumers. worker/index.ts hands every queue delivery to
 * consumeQueue(), which dispatches on the queue's name as QUEUES defines it.
 */
import { consumeEventsBatch } from "./events-consumer";
import type { EventsQueueMessage, WebhookMessage } from "./messages";
import { QUEUES } from "./queues";
import { consumeWebhooksBatch } from "./webhooks-consumer";

/** The consumer of each queue, by the queue's name. */
const CONSUMERS = new Map<string, (batch: MessageBatch, env: Env) => Promise<void>>([
  [QUEUES.events.name, (batch, env) => consumeEventsBatch(batch as MessageBatch<EventsQueueMessage>, env)],
  [QUEUES.webhooks.name, (batch, env) => consumeWebhooksBatch(batch as MessageBatch<WebhookMessage>, env)],
]);

/**
 * A delivery from a queue this Worker has no consumer for (wrangler.toml names a queue that
 * QUEUES does not — test/pipeline/queues.node.test.ts keeps the two equal) throws: the batch fails
 * loudly in the Worker's logs and the queue's metrics, is retried up to its max_retries and then
 * dropped by the platform. It is not acknowledged, which would drop the messages silently at once,
 * nor retried by hand (`retryAll()`), which hid the mismatch behind one log line per batch.
 */
export async function consumeQueue(batch: MessageBatch, env: Env): Promise<void> {
  const consume = CONSUMERS.get(batch.queue);
  if (!consume) {
    throw new Error(
      `no consumer for queue "${batch.queue}": worker/pipeline/queues.ts defines ${[...CONSUMERS.keys()].join(", ")}`,
    );
  }
  await consume(batch, env);
}
