import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { EventsMessage, EventsQueueMessage } from "../../worker/pipeline/messages";
import { QUEUES } from "../../worker/pipeline/queues";
import { BASE, createTestSite, siteIdOf } from "../fixtures/api";
import { archivedEvents } from "../fixtures/archive";
import { consumeQueue, recordingQueue } from "../fixtures/queue";
import { CHROME_UA, cookieIdOf, event, postEvents, SHOP, signedIdentify, visitorOf } from "./post-events";

const shoppingTrip = async (siteKey: string, apiKey: string) => ({
  site: siteKey,
  events: [
    event("page"),
    event("view", { sku: "R-1", category: "rings", price: 120 }),
    event("view", { sku: "R-2", category: "rings", price: 80 }),
    event("cart", { action: "add", sku: "R-1", category: "rings", price: 120, qty: 1 }),
    await signedIdentify(apiKey, "C-q"),
    event("purchase", { order: "O-1", value: 120 }),
    event("view", { sku: "R-2", category: "rings", price: 80 }),
    event("cart", { action: "add", sku: "R-2", category: "rings", price: 80, qty: 1 }),
    { type: "view", ts: 1 },
  ],
});

const PROFILE_FIELDS =
  "customer_id, visits, pageviews, interests, interest_days, visit_days, cart, cart_items, cart_value, consent";

describe("the events queue", () => {
  it("gives the same profile through the queue as through direct writes", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const direct = await postEvents(await shoppingTrip(siteKey, apiKey));
    expect(direct.status).toBe(202);
    const directCookie = cookieIdOf(direct)!;

    const { queue, sent } = recordingQueue();
    const queued = await postEvents(await shoppingTrip(siteKey, apiKey), { queue });
    expect(queued.status).toBe(202);
    const queuedCookie = cookieIdOf(queued)!;
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      kind: "events",
      cookieId: queuedCookie,
      rejected: [{ reason: expect.any(String) }],
    });
    expect((sent[0] as EventsMessage).events).toHaveLength(8);
    // Nothing is written before the consumer runs.
    expect(await visitorOf(queuedCookie)).toBeNull();

    const result = await consumeQueue(sent);
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(result.retryMessages).toEqual([]);

    const read = (cookie: string) =>
      env.DB.prepare(`select ${PROFILE_FIELDS} from visitors where cookie_id = ?`).bind(cookie).first();
    const directProfile = await read(directCookie);
    expect(directProfile).toMatchObject({ customer_id: "C-q", cart_items: 1, pageviews: 1 });
    expect(await read(queuedCookie)).toEqual(directProfile);
    // The same raw events in the R2 archive (worker/archive/archive.ts), whichever path wrote them.
    const archived = async (cookie: string) =>
      (await archivedEvents(await siteIdOf(siteKey), cookie)).map(({ type, name, url, ref, props }) => ({
        type,
        name,
        url,
        ref,
        props,
      }));
    expect(await archived(queuedCookie)).toHaveLength(8);
    expect(await archived(queuedCookie)).toEqual(await archived(directCookie));
    const customer = await env.DB.prepare(
      "select orders, lifetime_revenue from customers where customer_id = 'C-q'",
    ).first();
    // Browser purchases are behaviour of the cookie: orders and revenue come from the shop's server.
    expect(customer).toBeNull();
  });

  it("retries a failing message and keeps it in rejected_events after the last attempt", async () => {
    const body: EventsQueueMessage = {
      kind: "events",
      siteId: 123_456,
      cookieId: "f".repeat(32),
      events: [{ type: "page", ts: 1 }],
      rejected: [],
      receivedAt: 1,
    };
    const early = await consumeQueue([body], 1);
    expect(early.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m0"]);
    const last = await consumeQueue([body], QUEUES.events.maxRetries + 1);
    expect(last.explicitAcks).toEqual(["m0"]);
    const row = await env.DB.prepare(
      "select source, reason, payload, cookie_id from rejected_events where site_id = 123456",
    ).first<{
      source: string;
      reason: string;
      payload: string;
      cookie_id: string;
    }>();
    expect(row?.source).toBe("queue");
    expect(row?.reason).toMatch(/^queue gave up after 4 attempts/);
    // Kept scrubbed (worker/collect/scrub.ts): the cookie ID in its own column, "[id]" in the payload.
    expect(JSON.parse(row!.payload)).toEqual({ ...body, cookieId: "[id]" });
    expect(row?.cookie_id).toBe(body.cookieId);
  });

  it("keeps a message of an unknown kind instead of dropping it", async () => {
    await consumeQueue([{ kind: "mystery", siteId: 654_321 }], QUEUES.events.maxRetries + 1);
    const row = await env.DB.prepare("select reason from rejected_events where site_id = 654321").first<{
      reason: string;
    }>();
    expect(row?.reason).toContain('unknown message kind "mystery"');
  });

  it("delivers through the real queue binding to the Worker's consumer", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const res = await exports.default.fetch(
      new Request(`${BASE}/e`, {
        method: "POST",
        headers: { "Content-Type": "text/plain", Origin: SHOP, "User-Agent": CHROME_UA },
        body: JSON.stringify({
          site: siteKey,
          events: [event("page"), event("view", { sku: "Q-1", category: "rings" })],
        }),
      }),
    );
    expect(res.status).toBe(204);
    const cookie = cookieIdOf(res)!;
    await vi.waitFor(
      async () => {
        expect(await visitorOf(cookie)).toMatchObject({ pageviews: 1, interests: '{"rings":1}' });
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
