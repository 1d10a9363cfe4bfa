/** worker/index.ts's queue handler dispatches through worker/pipeline by the names QUEUES defines. */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { WebhookMessage } from "../../worker/pipeline/messages";
import { enqueueDeliveries } from "../../worker/pipeline/producers";
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

  it('takes webhook deliveries with kind "delivery" and, queued before kinds, without one', async () => {
    const sent: WebhookMessage[] = [];
    const queue = {
      sendBatch: async (messages: { body: WebhookMessage }[]) => void sent.push(...messages.map((m) => m.body)),
    } as unknown as Queue<WebhookMessage>;
    await enqueueDeliveries(queue, [987_654_320]);
    expect(sent).toEqual([{ kind: "delivery", delivery_id: 987_654_320 }]);
    // Delivery IDs that do not exist are skipped and acknowledged (webhooks/deliver.ts); a check is not a delivery.
    const batch = createMessageBatch<WebhookMessage>(QUEUES.webhooks.name, [
      { id: "new", timestamp: new Date(), attempts: 1, body: sent[0] },
      { id: "old", timestamp: new Date(), attempts: 1, body: { delivery_id: 987_654_321 } },
      { id: "check", timestamp: new Date(), attempts: 1, body: { kind: "check", siteId: 987_654_321, cookies: [] } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["check", "new", "old"]);
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
