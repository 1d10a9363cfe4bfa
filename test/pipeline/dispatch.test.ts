/** worker/index.ts's queue handler dispatches through worker/pipeline by the names QUEUES defines. */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { QUEUES } from "../../worker/pipeline/queues";

describe("the queue handler", () => {
  it("fails a delivery from a queue it has no consumer for, naming it, and acknowledges nothing", async () => {
    const batch = createMessageBatch("tagwerk-renamed", [
      { id: "m0", timestamp: new Date(), attempts: 1, body: { kind: "events" } },
    ]);
    const ctx = createExecutionContext();
    await expect(worker.queue(batch, env)).rejects.toThrow(
      `no consumer for queue "tagwerk-renamed": worker/pipeline/queues.ts defines ${QUEUES.events.name}, ${QUEUES.webhooks.name}`,
    );
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.ackAll).toBe(false);
  });

  it("hands the webhooks queue's messages to the webhooks consumer", async () => {
    // A delivery ID that does not exist is skipped and acknowledged (webhooks/deliver.ts).
    const batch = createMessageBatch(QUEUES.webhooks.name, [
      { id: "w0", timestamp: new Date(), attempts: 1, body: { delivery_id: 987_654_321 } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["w0"]);
  });
});
