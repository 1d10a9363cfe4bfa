/**
 * wrangler.toml and worker/pipeline/queues.ts describe the same queues: wrangler.toml is what the
 * platform deploys, QUEUES is what the Worker dispatches on and retries against. Read with
 * wrangler's own config reader (Node only, hence the `node` project), so the check sees exactly
 * what `wrangler deploy` would.
 */

import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { QUEUES } from "../../worker/pipeline/queues";
import { MAX_ATTEMPTS } from "../../worker/webhooks/deliver";

type Producer = { binding: string; queue: string };
type Consumer = {
  queue: string;
  max_batch_size?: number;
  max_batch_timeout?: number;
  max_retries?: number;
  dead_letter_queue?: string;
};
// wrangler's declarations do not resolve under this tsconfig (the result is `any`): the fields
// read here are typed by hand, as wrangler's config schema names them.
const config: { queues: { producers?: Producer[]; consumers?: Consumer[] } } = unstable_readConfig({
  config: "wrangler.toml",
});
const defined = Object.values(QUEUES);

describe("the queues of wrangler.toml", () => {
  it("are exactly the ones QUEUES defines, each produced under its binding", () => {
    const producers = (config.queues.producers ?? []).map((p) => ({ binding: p.binding, queue: p.queue }));
    expect(producers).toEqual(defined.map((q) => ({ binding: q.binding, queue: q.name })));
  });

  it("are each consumed with QUEUES' batch size, batch timeout, max_retries and dead-letter queue", () => {
    const consumers = (config.queues.consumers ?? []).map((c) => ({
      queue: c.queue,
      maxBatchSize: c.max_batch_size,
      maxBatchTimeout: c.max_batch_timeout,
      maxRetries: c.max_retries,
      deadLetterQueue: c.dead_letter_queue ?? null,
    }));
    expect(consumers).toEqual(
      defined.map((q) => ({
        queue: q.name,
        maxBatchSize: q.maxBatchSize,
        maxBatchTimeout: q.maxBatchTimeout,
        maxRetries: q.maxRetries,
        deadLetterQueue: q.deadLetterQueue,
      })),
    );
  });

  it("let the webhooks consumer reach its own last attempt before the platform gives up", () => {
    // A delivery is marked failed on attempt MAX_ATTEMPTS; the platform delivers maxRetries + 1 times.
    expect(QUEUES.webhooks.maxRetries + 1).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
  });
});
