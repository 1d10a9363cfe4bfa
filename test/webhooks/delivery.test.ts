import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../worker/auth/crypto";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import type { WebhookMessage } from "../../worker/pipeline/messages";
import { QUEUES } from "../../worker/pipeline/queues";
import { backoffSeconds, MAX_ATTEMPTS, messageIdOf, signatureHeaders } from "../../worker/webhooks/deliver";
import { syncWebhookMembers } from "../../worker/webhooks/entries";
import { getWebhook, webhookKey } from "../../worker/webhooks/store";
import { postEvents, SHOP } from "../collect/post-events";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { dohAnswer } from "../fixtures/doh";
import { consumeQueue } from "../fixtures/queue";

/** Runs the webhooks consumer on `messages` as one batch delivered for the `attempts`-th time. */
async function consumeWebhooks(messages: WebhookMessage[], attempts: number) {
  const batch = createMessageBatch<WebhookMessage>(
    QUEUES.webhooks.name,
    messages.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

const db = createDb(env.DB);
const RECEIVER = "https://receiver.test/hook";
const cookie = (n: number) => n.toString(16).padStart(32, "0");

/**
 * A webhook receiver as a customer writes one: the official Standard Webhooks library checks the
 * signature and the timestamp over the raw body; the receiver keeps what it accepted, raw and parsed.
 */
function makeReceiver(secret: string) {
  const accepted: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const ids: string[] = [];
  let failWith: number | undefined;
  const verifier = new Webhook(secret);
  async function receive(request: Request): Promise<Response> {
    if (failWith) return new Response("down", { status: failWith });
    const body = await request.text();
    try {
      accepted.push(verifier.verify(body, Object.fromEntries(request.headers)) as Record<string, unknown>);
    } catch {
      return new Response("bad signature", { status: 401 });
    }
    raw.push(body);
    ids.push(request.headers.get("webhook-id") ?? "");
    return new Response(null, { status: 204 });
  }
  return {
    accepted,
    raw,
    ids,
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
    // The receiver's name resolves to a public address (deliveries resolve it first: public-url.ts).
    const dns = dohAnswer(request, { "receiver.test": ["93.184.216.34", "2606:2800:220:1::1"] });
    if (dns) return dns;
    if (receiver && request.url === RECEIVER) return receiver.receive(request);
    return originalFetch(input, init);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  receiver = undefined;
});

async function setup(expression: string, consentMode: "implied" | "required" = "implied") {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP], consent_mode: consentMode });
  const siteId = await siteIdOf(siteKey);
  const segment = await call("/api/v1/segments", {
    method: "POST",
    key: apiKey,
    json: { name: "Under test", expression },
  });
  const { id: segmentId } = (await segment.json()) as { id: number };
  const created = await call("/api/v1/webhooks", {
    method: "POST",
    key: apiKey,
    json: { url: RECEIVER, segment_id: segmentId },
  });
  expect(created.status).toBe(201);
  const webhook = (await created.json()) as { id: number; secret: string };
  receiver = makeReceiver(webhook.secret);
  return { siteKey, siteId, apiKey, segmentId, webhookId: webhook.id, secret: webhook.secret };
}

function cartEvent(action: "add" | "remove") {
  return {
    type: "cart",
    ts: Date.now(),
    url: `${SHOP}/cart`,
    props: { action, sku: "R-1", category: "rings", price: 90, qty: 1 },
  };
}

/** Waits for the real queues (events → check → delivery) to bring the receiver `count` deliveries. */
async function received(count: number) {
  await vi.waitFor(() => expect(receiver?.accepted.length).toBeGreaterThanOrEqual(count), {
    timeout: 30_000,
    interval: 200,
  });
  return receiver?.accepted ?? [];
}

async function deliveryRow(id: number) {
  return env.DB.prepare("select status, attempts, last_error from webhook_deliveries where id = ?")
    .bind(id)
    .first<{ status: string; attempts: number; last_error: string | null }>();
}

/**
 * Applies an event batch through the events queue's consumer, keeping its check request from the
 * real webhooks queue (the test runs the check itself).
 */
async function applyEvents(siteId: number, cookieId: string, events: unknown[]) {
  const result = await consumeQueue(
    [{ kind: "events", siteId, cookieId, events, rejected: [], receivedAt: Date.now() }],
    1,
    { ...env, WEBHOOKS_QUEUE: capturingQueue().queue },
  );
  expect(result.explicitAcks).toHaveLength(1);
}

/** Captures what a sync would put on the queue. */
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
  return { sent, queue: queue, ids: () => sent.map((m) => ("delivery_id" in m ? m.delivery_id : -1)) };
}

describe("webhook deliveries", () => {
  it("a test send posts one signed webhook.test the receiver verifies, answers its status, and stores nothing", async () => {
    const { apiKey, webhookId, segmentId } = await setup("cart_items > 0");
    const sent = await call(`/api/v1/webhooks/${webhookId}/test`, { method: "POST", key: apiKey });
    expect(sent.status).toBe(200);
    const result = (await sent.json()) as { message_id: string; delivered: boolean; receiver_status: number };
    expect(result).toMatchObject({ delivered: true, receiver_status: 204, error: null });
    expect(result.message_id).toMatch(/^msg_test_[0-9a-f]{32}$/);
    expect(receiver?.accepted).toEqual([
      expect.objectContaining({ type: "webhook.test", webhook_id: webhookId, segment_id: segmentId }),
    ]);
    expect(receiver?.ids).toEqual([result.message_id]);
    const rows = await env.DB.prepare("select count(*) as n from webhook_deliveries where webhook_id = ?")
      .bind(webhookId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
    // A receiver holding another secret refuses the signature: the answer says so.
    receiver = makeReceiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const refused = (await (
      await call(`/api/v1/webhooks/${webhookId}/test`, { method: "POST", key: apiKey })
    ).json()) as object;
    expect(refused).toMatchObject({ delivered: false, receiver_status: 401, error: "HTTP 4xx from receiver" });
  });

  it("shows the secret in the Standard Webhooks whsec_ form", async () => {
    const { secret } = await setup("cart_items > 0");
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });

  it("rotates the secret: the old one still verifies deliveries during the grace period, the new one at once, the old one not after it", async () => {
    const { siteId, apiKey, webhookId, secret: oldSecret } = await setup("cart_items > 0");
    const rotated = await call(`/api/v1/webhooks/${webhookId}/secret`, { method: "POST", key: apiKey });
    expect(rotated.status).toBe(201);
    const { secret: newSecret, previous_valid_until } = (await rotated.json()) as {
      secret: string;
      previous_valid_until: number;
    };
    expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(newSecret).not.toBe(oldSecret);
    expect(previous_valid_until - Date.now()).toBeGreaterThan(23 * 3_600_000);
    let n = 20;
    async function deliverOne() {
      n += 1;
      await applyEvents(siteId, cookie(n), [cartEvent("add")]);
      const capture = capturingQueue();
      await syncWebhookMembers(db, await getWebhook(db, siteId, webhookId), Date.now(), {
        queue: capture.queue,
        changed: { cookies: [cookie(n)] },
      });
      await consumeWebhooks(capture.sent, 1);
      return deliveryRow(capture.ids()[0]);
    }
    // A receiver still on the old secret, and one already on the new one, both accept.
    expect(await deliverOne()).toMatchObject({ status: "delivered" });
    receiver = makeReceiver(newSecret);
    expect(await deliverOne()).toMatchObject({ status: "delivered" });
    // The grace period over, only the new secret signs.
    await env.DB.prepare("update webhooks set previous_secret_until = ? where id = ?")
      .bind(Date.now() - 1, webhookId)
      .run();
    receiver = makeReceiver(oldSecret);
    expect(await deliverOne()).toMatchObject({ status: "pending", last_error: "HTTP 4xx from receiver" });
    receiver = makeReceiver(newSecret);
    expect(await deliverOne()).toMatchObject({ status: "delivered" });
  });

  it("delivers segment.entered and segment.left with the customer and e-mail hash within seconds of the events, verified by standardwebhooks", async () => {
    const { siteKey, apiKey, webhookId, segmentId } = await setup("cart_items > 0");
    expect((await importCsv(apiKey, "customer_id,email\nC-1, Anna@Example.com")).status).toBe(200);
    const linked = await importCsv(apiKey, `cookie_id,customer_id\n${cookie(1)},C-1`, "/api/v1/import/links");
    expect(((await linked.json()) as { accepted: number }).accepted).toBe(1);

    expect((await postEvents({ site: siteKey, events: [cartEvent("add")] }, { cookie: cookie(1) })).status).toBe(204);
    const [entered] = await received(1);
    const person = {
      webhook_id: webhookId,
      segment_id: segmentId,
      visitor: cookie(1),
      customer: "C-1",
      email_sha256: await sha256Hex("anna@example.com"),
    };
    // `sequence` is new: the per-member order a receiver can rely on (it is the delivery's ID).
    expect(entered).toEqual({
      type: "segment.entered",
      ...person,
      at: expect.any(Number),
      sequence: expect.any(Number),
    });
    // Integers are written as integers (D1 binds numbers as reals: "1.0" was what receivers got).
    expect(receiver?.raw[0]).toContain(`"webhook_id":${webhookId},`);
    expect(receiver?.raw[0]).not.toMatch(/\d\.0[,}]/);
    expect(Number.isInteger(entered.at)).toBe(true);

    expect((await postEvents({ site: siteKey, events: [cartEvent("remove")] }, { cookie: cookie(1) })).status).toBe(
      204,
    );
    const [, left] = await received(2);
    expect(left).toEqual({ type: "segment.left", ...person, at: expect.any(Number), sequence: expect.any(Number) });
    expect(left.sequence as number).toBeGreaterThan(entered.sequence as number);
    expect(new Set(receiver?.ids).size).toBe(2);
  }, 60_000);

  it("announces a CRM customer without any cookie entering and leaving a customer segment after imports", async () => {
    const { apiKey } = await setup("lifetime_revenue > 100");
    expect((await importCsv(apiKey, "customer_id,email,lifetime_revenue\nC-2,bert@example.com,150")).status).toBe(200);
    const [entered] = await received(1);
    expect(entered).toMatchObject({
      type: "segment.entered",
      visitor: null,
      customer: "C-2",
      email_sha256: await sha256Hex("bert@example.com"),
    });
    expect((await importCsv(apiKey, "customer_id,lifetime_revenue\nC-2,50")).status).toBe(200);
    const [, left] = await received(2);
    expect(left).toMatchObject({ type: "segment.left", visitor: null, customer: "C-2" });
  }, 60_000);

  it("treats two devices of one customer as one person: one entry, and the exit only when neither matches", async () => {
    const { siteId, apiKey, webhookId } = await setup("cart_items > 0");
    await importCsv(apiKey, "customer_id\nC-3");
    await importCsv(apiKey, `cookie_id,customer_id\n${cookie(3)},C-3\n${cookie(4)},C-3`, "/api/v1/import/links");
    const webhook = await getWebhook(db, siteId, webhookId);
    // The checks run here by hand (the function the webhooks consumer runs), one step at a time.
    const step = async (cookieId: string, action: "add" | "remove") => {
      await applyEvents(siteId, cookieId, [cartEvent(action)]);
      return syncWebhookMembers(db, webhook, Date.now(), {
        queue: capturingQueue().queue,
        changed: { cookies: [cookieId] },
      });
    };
    expect(await step(cookie(3), "add")).toMatchObject({ entered: 1, left: 0 });
    expect(await step(cookie(4), "add")).toMatchObject({ entered: 0, left: 0 });
    expect(await step(cookie(3), "remove")).toMatchObject({ entered: 0, left: 0 });
    expect(await step(cookie(4), "remove")).toMatchObject({ entered: 0, left: 1 });
  });

  it("announces no entry for a visitor who refused consent, nor on a consent-required site for one who never granted it", async () => {
    const setConsent = (cookieId: string, consent: string | null) =>
      env.DB.prepare("update visitors set consent = ? where cookie_id = ?").bind(consent, cookieId).run();
    for (const [mode, consent] of [
      ["implied", "denied"],
      ["required", null],
      ["required", "denied"],
    ] as const) {
      const { siteId, apiKey, webhookId } = await setup("cart_items > 0", mode);
      await importCsv(apiKey, "customer_id\nC-9");
      const [own, linked] = [cookie(20 + siteId * 4), cookie(21 + siteId * 4)];
      await importCsv(apiKey, `cookie_id,customer_id\n${linked},C-9`, "/api/v1/import/links");
      const webhook = await getWebhook(db, siteId, webhookId);
      for (const id of [own, linked]) {
        await applyEvents(siteId, id, [cartEvent("add")]);
        await setConsent(id, consent);
      }
      const queue = capturingQueue();
      const result = await syncWebhookMembers(db, webhook, Date.now(), { queue: queue.queue });
      expect([mode, consent, result.entered, queue.sent.length]).toEqual([mode, consent, 0, 0]);
    }
  });

  it("sends segment.left, within seconds, when a member withdraws consent, and a customer's entry names only a consenting cookie", async () => {
    const { siteKey, siteId, apiKey } = await setup("cart_items > 0", "required");
    await importCsv(apiKey, "customer_id\nC-10");
    const [first, second] = [cookie(0x100 + siteId), cookie(0x200 + siteId)];
    await importCsv(apiKey, `cookie_id,customer_id\n${first},C-10\n${second},C-10`, "/api/v1/import/links");
    // The second device refused; the first grants and fills its cart.
    await env.DB.prepare("update visitors set consent = 'denied', last_seen_at = ? where cookie_id = ?")
      .bind(Date.now() + 60_000, second)
      .run();
    const grant = { type: "consent", ts: Date.now(), url: `${SHOP}/`, props: { granted: true } };
    expect((await postEvents({ site: siteKey, events: [grant, cartEvent("add")] }, { cookie: first })).status).toBe(
      204,
    );
    const [entered] = await received(1);
    expect(entered).toMatchObject({ type: "segment.entered", customer: "C-10", visitor: first });
    const withdraw = { type: "consent", ts: Date.now(), url: `${SHOP}/`, props: { granted: false } };
    expect((await postEvents({ site: siteKey, events: [withdraw] }, { cookie: first })).status).toBe(204);
    const [, left] = await received(2);
    expect(left).toMatchObject({ type: "segment.left", customer: "C-10", visitor: null });
    expect(JSON.stringify(receiver?.accepted)).not.toContain(second);
  }, 60_000);

  it("the cron's whole-site sync catches up what no check saw, and records a new webhook's members as its baseline", async () => {
    const { siteId, webhookId } = await setup("cart_items > 0");
    // Written through the queue consumer, whose check request this test keeps from the webhooks.
    await applyEvents(siteId, cookie(5), [cartEvent("add")]);
    const webhook = await getWebhook(db, siteId, webhookId);
    const capture = capturingQueue();
    const result = await syncWebhookMembers(db, webhook, Date.now(), { queue: capture.queue, range: 1 });
    expect(result.entered).toBe(1);
    expect(capture.ids()).toEqual(result.deliveries);
    // Nothing new on the next run; a second webhook starts with cookie 5 inside, announcing nobody.
    expect((await syncWebhookMembers(db, webhook, Date.now(), { notify: false })).entered).toBe(0);
  });

  it("a receiver refuses a body that was tampered with, and a stale timestamp", async () => {
    const { siteId, webhookId, secret } = await setup("cart_items > 0");
    const verifier = new Webhook(secret);
    const key = await webhookKey(env.SIGNING_SECRET, webhookId);
    const headers = await signatureHeaders([key], messageIdOf(1), '{"visitor":"a"}', Date.now());
    expect(verifier.verify('{"visitor":"a"}', headers)).toEqual({ visitor: "a" });
    expect(() => verifier.verify('{"visitor":"b"}', headers)).toThrow();
    const stale = await signatureHeaders([key], messageIdOf(1), '{"visitor":"a"}', Date.now() - 10 * 60_000);
    expect(() => verifier.verify('{"visitor":"a"}', stale)).toThrow(/too old/);
    expect(siteId).toBeGreaterThan(0);
  });

  it("retries a failing receiver with backoff, then keeps the delivery failed with its last error, and replays it", async () => {
    const { siteId, apiKey, webhookId } = await setup("cart_items > 0");
    receiver?.fail(503);
    await applyEvents(siteId, cookie(6), [cartEvent("add")]);
    const capture = capturingQueue();
    await syncWebhookMembers(db, await getWebhook(db, siteId, webhookId), Date.now(), {
      queue: capture.queue,
      changed: { cookies: [cookie(6)] },
    });
    const [message] = capture.sent;
    const deliveryId = capture.ids()[0];

    const first = await consumeWebhooks([message], 1);
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m0"]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "HTTP 5xx from receiver",
    });
    expect((await consumeWebhooks([message], 2)).retryMessages).toHaveLength(1);
    const last = await consumeWebhooks([message], MAX_ATTEMPTS);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual(["m0"]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: "failed",
      attempts: 3,
      last_error: "HTTP 5xx from receiver",
    });

    const listed = await call(`/api/v1/webhooks/${webhookId}/deliveries?status=failed`, { key: apiKey });
    const { deliveries } = (await listed.json()) as { deliveries: { id: number; last_error: string }[] };
    expect(deliveries.map((d) => [d.id, d.last_error])).toEqual([[deliveryId, "HTTP 5xx from receiver"]]);

    // The receiver is back: a replay goes through the real queue and its consumer, same webhook-id.
    receiver?.fail(undefined);
    const replay = await call(`/api/v1/webhooks/${webhookId}/deliveries/${deliveryId}/replay`, {
      method: "POST",
      key: apiKey,
    });
    expect(replay.status).toBe(202);
    await vi.waitFor(async () => expect((await deliveryRow(deliveryId))?.status).toBe("delivered"), {
      timeout: 20_000,
      interval: 200,
    });
    expect(receiver?.accepted.map((p) => p.visitor)).toEqual([cookie(6)]);
    expect(receiver?.ids).toEqual([messageIdOf(deliveryId)]);
  }, 30_000);

  it("numbers each member's deliveries, so a receiver can order a left that overtakes its retried entered", async () => {
    const { siteId, webhookId } = await setup("cart_items > 0");
    const webhook = await getWebhook(db, siteId, webhookId);
    const step = async (action: "add" | "remove") => {
      await applyEvents(siteId, cookie(7), [cartEvent(action)]);
      const capture = capturingQueue();
      await syncWebhookMembers(db, webhook, Date.now(), { queue: capture.queue, changed: { cookies: [cookie(7)] } });
      return capture.sent[0];
    };
    receiver?.fail(503);
    const entered = await step("add");
    expect((await consumeWebhooks([entered], 1)).retryMessages).toHaveLength(1);
    receiver?.fail(undefined);
    const left = await step("remove");
    await consumeWebhooks([left], 1);
    await consumeWebhooks([entered], 2);
    const got = (receiver?.accepted ?? []) as { type: string; sequence: number; visitor: string; customer: null }[];
    expect(got.map((p) => p.type)).toEqual(["segment.left", "segment.entered"]);
    expect(got.every((p) => Number.isInteger(p.sequence))).toBe(true);
    expect(got[0].sequence).toBeGreaterThan(got[1].sequence);
    // A receiver keeping the highest sequence per member ends with the member out, as it is.
    const latest = new Map<string, { type: string; sequence: number }>();
    for (const p of got) {
      const member = p.customer ?? p.visitor;
      if ((latest.get(member)?.sequence ?? -1) < p.sequence) latest.set(member, p);
    }
    expect(latest.get(cookie(7))?.type).toBe("segment.left");
  });

  it("backs off exponentially between attempts, capped at an hour", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(backoffSeconds)).toEqual([30, 60, 120, 240, 480, 960, 3600]);
  });

  it("refuses a plain-http URL that is not localhost, and hides other sites' webhooks", async () => {
    const { apiKey, segmentId, webhookId } = await setup("cart_items > 0");
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
