import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import { backoffSeconds, MAX_ATTEMPTS } from "../../worker/webhooks/deliver";
import type { WebhookMessage } from "../../worker/webhooks/entries";
import { syncWebhookMembers } from "../../worker/webhooks/entries";
import { getWebhook } from "../../worker/webhooks/webhooks";
import { addVisitor, cookie, siteIdOf } from "../audiences/helpers";
import { call, createTestSite } from "../fixtures/api";

const db = createDb(env.DB);
const RECEIVER = "https://receiver.test/hook";

/**
 * A webhook receiver as a customer would write one: recomputes the HMAC over the raw body with
 * its own WebCrypto code, refuses bad signatures and stale timestamps, and keeps what it accepted.
 */
function makeReceiver(secret: string) {
  const accepted: Record<string, unknown>[] = [];
  let failWith: number | undefined;
  async function receive(request: Request): Promise<Response> {
    if (failWith) return new Response("down", { status: failWith });
    const timestamp = request.headers.get("X-Tagwerk-Timestamp") ?? "";
    const signature = request.headers.get("X-Tagwerk-Signature") ?? "";
    const body = await request.text();
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return new Response("stale", { status: 400 });
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const hex = signature.replace(/^v1=/, "");
    const bytes = new Uint8Array((hex.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
    const ok = await crypto.subtle.verify("HMAC", key, bytes, new TextEncoder().encode(`${timestamp}.${body}`));
    if (!ok) return new Response("bad signature", { status: 401 });
    accepted.push(JSON.parse(body) as Record<string, unknown>);
    return new Response(null, { status: 204 });
  }
  return {
    accepted,
    receive,
    fail(status: number | undefined) {
      failWith = status;
    },
  };
}

let receiver: ReturnType<typeof makeReceiver> | undefined;
const originalFetch = globalThis.fetch;

beforeEach(() => {
  // Outbound requests to the receiver's host reach the receiver above; nothing else is expected.
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (receiver && request.url === RECEIVER) return receiver.receive(request);
    return originalFetch(input, init);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  receiver = undefined;
});

/** Captures what the entry detection would put on the queue. */
function capturingQueue() {
  const sent: WebhookMessage[] = [];
  const queue = {
    async send(body: WebhookMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: WebhookMessage }>) {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue<WebhookMessage>;
  return { sent, queue };
}

async function consume(messages: WebhookMessage[], attempts = 1) {
  const batch = createMessageBatch<WebhookMessage>(
    "tagwerk-webhooks",
    messages.map((body, i) => ({ id: `m${i}-${attempts}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function setup() {
  const { siteKey, apiKey } = await createTestSite();
  const siteId = await siteIdOf(siteKey);
  await addVisitor(siteId, cookie(1), { cart_items: 2 });
  const segment = await call("/api/v1/segments", {
    method: "POST",
    key: apiKey,
    json: { name: "Has a cart", expression: "cart_items > 0" },
  });
  const { id: segmentId } = (await segment.json()) as { id: number };
  const created = await call("/api/v1/webhooks", {
    method: "POST",
    key: apiKey,
    json: { url: RECEIVER, segment_id: segmentId },
  });
  expect(created.status).toBe(201);
  const webhook = (await created.json()) as { id: number; secret: string };
  expect(webhook.secret).toMatch(/^[0-9a-f]{64}$/);
  return { siteId, apiKey, segmentId, webhookId: webhook.id, secret: webhook.secret };
}

async function deliveryRow(id: number) {
  return env.DB.prepare("select status, attempts, last_error from webhook_deliveries where id = ?")
    .bind(id)
    .first<{ status: string; attempts: number; last_error: string | null }>();
}

describe("webhooks", () => {
  it("delivers a signed segment.entered event for a visitor who entered, not for those already inside", async () => {
    const { siteId, webhookId, segmentId, secret } = await setup();
    receiver = makeReceiver(secret);
    await addVisitor(siteId, cookie(2), { cart_items: 1 });
    const { sent, queue } = capturingQueue();
    const webhook = await getWebhook(db, siteId, webhookId);
    const result = await syncWebhookMembers(db, webhook, Date.now(), { queue });
    expect(result.entered).toBe(1);
    expect(sent).toHaveLength(1);

    const outcome = await consume(sent);
    expect(outcome.explicitAcks).toHaveLength(1);
    expect(receiver.accepted).toEqual([
      {
        event: "segment.entered",
        webhook_id: webhookId,
        segment_id: segmentId,
        visitor: cookie(2),
        at: expect.any(Number),
      },
    ]);
    expect(await deliveryRow(sent[0].delivery_id)).toMatchObject({
      status: "delivered",
      attempts: 1,
      last_error: null,
    });

    // A second check finds nobody new; the redelivered message is not sent twice.
    expect((await syncWebhookMembers(db, webhook, Date.now(), { queue })).entered).toBe(0);
    await consume(sent, 2);
    expect(receiver.accepted).toHaveLength(1);
  });

  it("a receiver refuses a body that was tampered with", async () => {
    const { secret } = await setup();
    receiver = makeReceiver(secret);
    const { signatureHeaders } = await import("../../worker/webhooks/deliver");
    const headers = await signatureHeaders(secret, '{"visitor":"a"}', Date.now());
    const res = await fetch(RECEIVER, { method: "POST", headers, body: '{"visitor":"b"}' });
    expect(res.status).toBe(401);
    const good = await fetch(RECEIVER, { method: "POST", headers, body: '{"visitor":"a"}' });
    expect(good.status).toBe(204);
  });

  it("retries a failing receiver with backoff, then keeps the delivery failed with its last error, and replays it", async () => {
    const { siteId, apiKey, webhookId, secret } = await setup();
    receiver = makeReceiver(secret);
    receiver.fail(503);
    await addVisitor(siteId, cookie(3), { cart_items: 1 });
    const { sent, queue } = capturingQueue();
    await syncWebhookMembers(db, await getWebhook(db, siteId, webhookId), Date.now(), { queue });
    const [message] = sent;

    const first = await consume([message], 1);
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m0-1"]);
    expect(await deliveryRow(message.delivery_id)).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "HTTP 503",
    });

    const second = await consume([message], 2);
    expect(second.retryMessages).toHaveLength(1);

    const last = await consume([message], MAX_ATTEMPTS);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual([`m0-${MAX_ATTEMPTS}`]);
    expect(await deliveryRow(message.delivery_id)).toMatchObject({
      status: "failed",
      attempts: 3,
      last_error: "HTTP 503",
    });

    const listed = await call(`/api/v1/webhooks/${webhookId}/deliveries?status=failed`, { key: apiKey });
    const { deliveries } = (await listed.json()) as { deliveries: { id: number; last_error: string }[] };
    expect(deliveries.map((d) => [d.id, d.last_error])).toEqual([[message.delivery_id, "HTTP 503"]]);

    // The receiver is back: a replay goes through the real queue and its consumer.
    receiver.fail(undefined);
    const replay = await call(`/api/v1/webhooks/${webhookId}/deliveries/${message.delivery_id}/replay`, {
      method: "POST",
      key: apiKey,
    });
    expect(replay.status).toBe(202);
    await vi.waitFor(
      async () => {
        expect((await deliveryRow(message.delivery_id))?.status).toBe("delivered");
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(receiver.accepted.map((p) => p.visitor)).toEqual([cookie(3)]);
  });

  it("backs off exponentially between attempts, capped at an hour", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(backoffSeconds)).toEqual([30, 60, 120, 240, 480, 960, 3600]);
  });

  it("notifies again when a visitor leaves the segment and comes back", async () => {
    const { siteId, webhookId } = await setup();
    const webhook = await getWebhook(db, siteId, webhookId);
    await env.DB.prepare("update visitors set cart_items = 0 where cookie_id = ?").bind(cookie(1)).run();
    expect((await syncWebhookMembers(db, webhook, Date.now(), { notify: false })).entered).toBe(0);
    await env.DB.prepare("update visitors set cart_items = 1 where cookie_id = ?").bind(cookie(1)).run();
    const { sent, queue } = capturingQueue();
    expect((await syncWebhookMembers(db, webhook, Date.now(), { queue })).entered).toBe(1);
    expect(sent).toHaveLength(1);
  });

  it("refuses a plain-http URL that is not localhost, and hides other sites' webhooks", async () => {
    const { apiKey, segmentId, webhookId } = await setup();
    const bad = await call("/api/v1/webhooks", {
      method: "POST",
      key: apiKey,
      json: { url: "http://hooks.example/x", segment_id: segmentId },
    });
    expect(bad.status).toBe(400);
    const other = await createTestSite();
    expect((await call(`/api/v1/webhooks/${webhookId}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/webhooks/${webhookId}/deliveries`, { key: other.apiKey })).status).toBe(404);
  });
});
