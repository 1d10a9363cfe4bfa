/**
 * The Worker's queues, defined once: their names, the producer bindings and the consumer settings.
 * wrangler.toml declares the same queues for the platform; test/pipeline/queues.node.test.ts reads
 * wrangler.toml and fails when the two differ, so a rename or a changed retry limit cannot drift
 * (docs/architecture.md, "Ingestion pipeline").
 */

type QueueDefinition = {
  /** The queue's name in wrangler.toml (`queue = ...` of its producer and consumer). */
  name: string;
  /** The producer binding on `env`. */
  binding: keyof Env;
  maxBatchSize: number;
  /** Seconds. */
  maxBatchTimeout: number;
  /**
   * Retries after the first delivery: a message is delivered at most `maxRetries + 1` times, and
   * `message.attempts` counts from 1. After the last one the platform drops it (no dead-letter queue).
   */
  maxRetries: number;
  deadLetterQueue: string | null;
};

/**
 * Messages per `sendBatch` call, the platform's limit for every queue (Queues limits: 100 messages
 * and 256 KB per batch): producers.ts splits longer lists.
 */
export const SEND_BATCH_MAX = 100;

export const QUEUES = {
  /**
   * Event batches from /e (and deferred ones), impressions and clicks. After its last attempt a
   * message's content is kept in rejected_events (events-consumer.ts), so none is lost silently.
   */
  events: {
    name: "tagwerk-events",
    binding: "EVENTS_QUEUE",
    maxBatchSize: 50,
    maxBatchTimeout: 1,
    maxRetries: 3,
    deadLetterQueue: null,
  },
  /**
   * Webhook deliveries and profile checks. maxRetries sits above the consumer's own attempt limit
   * (MAX_ATTEMPTS, webhooks/deliver.ts), so the platform never drops a delivery before its row is
   * marked failed.
   */
  webhooks: {
    name: "tagwerk-webhooks",
    binding: "WEBHOOKS_QUEUE",
    maxBatchSize: 10,
    maxBatchTimeout: 2,
    maxRetries: 10,
    deadLetterQueue: null,
  },
} as const satisfies Record<string, QueueDefinition>;
