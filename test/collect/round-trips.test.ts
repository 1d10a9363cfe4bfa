/**
 * docs/architecture.md, "Budgets and where they are measured": a batch of events costs one D1 round trip. The site a batch names is read
 * once per isolate and kept a few seconds (worker/sites/site-cache.ts); a settings change made
 * through this isolate applies at once. The queue consumer writes a delivery's event batches in one
 * round trip as well.
 */

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import type { EventsQueueMessage } from "../../worker/pipeline/messages";
import { QUEUES } from "../../worker/pipeline/queues";
import { heldSites } from "../../worker/shards/moves";
import { sitePlacements } from "../../worker/shards/site-sets";
import { call, createTestSite, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { CHROME_UA, postEvents, SHOP } from "./post-events";

/** The real D1 binding, counting round trips (a statement's first/all/run/raw, a batch). */
function countingDb() {
  const counter = { trips: 0 };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") counter.trips++;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const originals = new WeakMap<object, D1PreparedStatement>();
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare")
        return (query: string) => {
          const real = target.prepare(query);
          const wrapped = wrap(real);
          originals.set(wrapped, real);
          return wrapped;
        };
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          counter.trips++;
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, counter };
}

async function postCounted(siteKey: string, db: D1Database) {
  const body = JSON.stringify({
    site: siteKey,
    events: Array.from({ length: 20 }, (_, i) => ({
      type: "view",
      ts: Date.now(),
      url: `${SHOP}/p/${i}`,
      props: { sku: `S-${i}`, category: "rings", price: 10 },
    })),
  });
  const res = await call("/e", {
    method: "POST",
    headers: { "Content-Type": "text/plain", "User-Agent": CHROME_UA, Origin: SHOP },
    cookie: "a".repeat(32),
    body,
    env: { ...env, DB: db, EVENTS_QUEUE: undefined } as unknown as Env,
    settle: true,
  });
  return res;
}

describe("the cost of a batch of events", () => {
  it("writes a batch of 20 events in one D1 round trip once its site is known to the isolate", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const first = countingDb();
    expect((await postCounted(siteKey, first.db)).status).toBe(204);
    const second = countingDb();
    expect((await postCounted(siteKey, second.db)).status).toBe(204);
    expect(second.counter.trips).toBe(1);
    // The raw events are in the R2 archive, no D1 row (worker/archive/archive.ts).
    expect(await countArchived(await siteIdOf(siteKey), "a".repeat(32))).toBe(40);
  });

  it("applies a changed list of allowed origins at once", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const batch = { site: siteKey, events: [{ type: "page", ts: Date.now(), url: `${SHOP}/` }] };
    expect((await postEvents(batch)).status).toBe(204);
    const other = "https://other.example";
    expect((await postEvents(batch, { origin: other })).status).toBe(403);
    const patched = await call("/api/v1/site", {
      method: "PATCH",
      key: apiKey,
      json: { allowed_origins: [SHOP, other] },
    });
    expect(patched.status).toBe(200);
    expect((await postEvents(batch, { origin: other })).status).toBe(204);
  });

  it("writes the event batches of a whole queue delivery in one D1 round trip", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<number>("id");
    const cookies = Array.from({ length: 5 }, (_, i) => String(i).repeat(32));
    const bodies: EventsQueueMessage[] = cookies.map((cookieId) => ({
      kind: "events",
      siteId: siteId as number,
      cookieId,
      events: [
        { type: "page", ts: 1, url: `${SHOP}/` },
        { type: "view", ts: 2, url: `${SHOP}/p`, props: { sku: "R-1", category: "rings", price: 10 } },
      ],
      rejected: [],
      receivedAt: Date.now(),
    }));
    const batch = createMessageBatch<EventsQueueMessage>(
      QUEUES.events.name,
      bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const { db, counter } = countingDb();
    const ctx = createExecutionContext();
    // The isolate learns a site's shard set with its first message and keeps it (shards/site-sets.ts):
    // the steady state is what is counted here.
    await heldSites(createDb(env.DB));
    await sitePlacements(env, [siteId as number]);
    await worker.queue(batch, { ...env, DB: db } as unknown as Env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(counter.trips).toBe(1);
    for (const cookieId of cookies) {
      const visitor = await env.DB.prepare(
        "select pageviews, interests from visitors where site_id = ? and cookie_id = ?",
      )
        .bind(siteId, cookieId)
        .first<{ pageviews: number; interests: string }>();
      expect(visitor).toEqual({ pageviews: 1, interests: JSON.stringify({ rings: 1 }) });
    }
  });
});
