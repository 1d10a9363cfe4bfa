/**
 * The events consumer archives a delivery's raw events in R2 before its D1 writes
 * (worker/pipeline/events-archive.ts): one NDJSON object per site, keyed by its messages so a
 * redelivery overwrites it; an archive that refuses retries the message and applies nothing; a
 * D1 write that fails leaves none of its lines behind.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { EventsMessage, EventsQueueMessage } from "../../worker/pipeline/messages";
import { QUEUES } from "../../worker/pipeline/queues";
import { countRows, visitorOf } from "../collect/post-events";
import { createTestSite, siteIdOf } from "../fixtures/api";
import { archivedEvents, archiveKeys, countArchived } from "../fixtures/archive";
import { randomCookie } from "../fixtures/banner";
import { FaultyD1 } from "../fixtures/faulty-d1";

const T = Date.UTC(2026, 11, 6, 10, 30);

function eventsMessage(siteId: number, cookieId: string, receivedAt = T): EventsMessage {
  return {
    kind: "events",
    siteId,
    cookieId,
    receivedAt,
    rejected: [],
    events: [
      { type: "page", ts: receivedAt - 5, url: "https://shop.example/rings", ref: "https://search.example/" },
      { type: "event", name: "signup", ts: receivedAt - 1, props: { step: 2 } },
    ],
  };
}

/** One delivery of `bodies` with fixed message IDs and enqueue time, as a redelivery repeats them. */
async function deliver(bodies: EventsQueueMessage[], testEnv: Env = env, attempts = 1) {
  const batch = createMessageBatch<EventsQueueMessage>(
    QUEUES.events.name,
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(T + 1000), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv);
  return getQueueResult(batch, ctx);
}

async function twoSites() {
  const a = await siteIdOf((await createTestSite()).siteKey);
  const b = await siteIdOf((await createTestSite()).siteKey);
  return [a, b];
}

describe("the events consumer's raw event archive", () => {
  it("writes one NDJSON object per site and delivery, under site/<id>/<day>/, with the events table's columns", async () => {
    const [a, b] = await twoSites();
    const [c1, c2, c3] = [randomCookie(), randomCookie(), randomCookie()];
    const result = await deliver([eventsMessage(a, c1), eventsMessage(a, c2), eventsMessage(b, c3)]);
    expect(result.explicitAcks.sort()).toEqual(["msg-0", "msg-1", "msg-2"]);

    const keys = await archiveKeys(a);
    expect(keys).toHaveLength(1);
    // The day of the newest message's enqueue time, then the milliseconds left in that day.
    const left = 86_400_000 - 1 - ((T + 1000) % 86_400_000);
    expect(keys[0]).toMatch(
      new RegExp(`^site/${a}/2026-12-06/${String(left).padStart(8, "0")}-[0-9a-f]{24}\\.ndjson$`),
    );
    const object = await env.ARCHIVE.get(keys[0]);
    expect(object?.httpMetadata?.contentType).toBe("application/x-ndjson");
    const text = await object!.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(4);
    expect(lines[1]).toEqual({
      cookie_id: c1,
      received_at: T,
      type: "event",
      name: "signup",
      ts: T - 1,
      url: null,
      ref: null,
      props: { step: 2 },
    });
    expect(Object.keys(lines[0]).sort()).toEqual(
      ["cookie_id", "name", "props", "received_at", "ref", "ts", "type", "url"].sort(),
    );
    expect(await countArchived(b, c3)).toBe(2);
    // Raw events are no D1 rows any more; the profile still is.
    expect(await countRows("events", "site_id in (?, ?)", a, b)).toBe(0);
    expect(await visitorOf(c1)).toMatchObject({ pageviews: 1 });
  });

  it("a redelivery of the same messages overwrites its object instead of adding a second copy", async () => {
    const [a] = await twoSites();
    const cookie = randomCookie();
    await deliver([eventsMessage(a, cookie)]);
    await deliver([eventsMessage(a, cookie)], env, 2);
    expect(await archiveKeys(a)).toHaveLength(1);
    expect(await countArchived(a, cookie)).toBe(2);
  });

  it("retries a message whose archive object R2 refused, and applies none of it", async () => {
    const [a] = await twoSites();
    const cookie = randomCookie();
    const refusing = {
      ...env.ARCHIVE,
      put: () => Promise.reject(new Error("R2 unavailable")),
    } as unknown as R2Bucket;
    const result = await deliver([eventsMessage(a, cookie)], { ...env, ARCHIVE: refusing } as Env);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["msg-0"]);
    expect(result.explicitAcks).toEqual([]);
    expect(await visitorOf(cookie)).toBeNull();

    // The retry, with R2 back, archives and applies it once.
    expect((await deliver([eventsMessage(a, cookie)], env, 2)).explicitAcks).toEqual(["msg-0"]);
    expect(await countArchived(a, cookie)).toBe(2);
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 1 });
  });

  it("keeps the content of a message R2 refused on its last attempt in rejected_events", async () => {
    const [a] = await twoSites();
    const refusing = { put: () => Promise.reject(new Error("R2 unavailable")) } as unknown as R2Bucket;
    const result = await deliver(
      [eventsMessage(a, randomCookie())],
      { ...env, ARCHIVE: refusing } as Env,
      QUEUES.events.maxRetries + 1,
    );
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await countRows("rejected_events", "site_id = ? and reason like '%archive refused%'", a)).toBe(1);
  });

  it("leaves no archived lines of messages whose D1 writes failed: their retry archives them once", async () => {
    const [a] = await twoSites();
    const [c1, c2] = [randomCookie(), randomCookie()];
    const faulty = new FaultyD1(env.DB);
    faulty.set("fail");
    const down = await deliver([eventsMessage(a, c1), eventsMessage(a, c2)], { ...env, DB: faulty.db } as Env);
    expect(down.retryMessages).toHaveLength(2);
    expect(await countArchived(a)).toBe(0);

    await deliver([eventsMessage(a, c1)], env, 2);
    expect((await archivedEvents(a)).map((line) => line.cookie_id)).toEqual([c1, c1]);
  });
});
