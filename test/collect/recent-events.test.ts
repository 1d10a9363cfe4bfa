/**
 * `GET /api/v1/events` reads the site's newest objects of the raw event archive (R2,
 * worker/archive/archive.ts): newest first, within `hours`, at most `limit`, the site's own only,
 * whichever path wrote them (/e directly, the events consumer, server-side events).
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archiveKey, archiveLines, putLines } from "../../worker/archive/archive";
import { call, createTestSite, siteIdOf } from "../fixtures/api";
import { randomCookie } from "../fixtures/banner";
import { consumeQueue } from "../fixtures/queue";
import { event, postEvents, SHOP } from "./post-events";

type Recent = { events: { id: string; type: string; name: string | null; cookie_id: string; received_at: number }[] };

async function recent(apiKey: string, query = "") {
  const res = await call(`/api/v1/events${query}`, { key: apiKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as Recent).events;
}

describe("GET /api/v1/events", () => {
  it("lists the newest archived events first, from /e, the events consumer and server-side events", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    const [browser, queued, server] = [randomCookie(), randomCookie(), randomCookie()];
    expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: browser })).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const at = Date.now();
    await consumeQueue([
      {
        kind: "events",
        siteId,
        cookieId: queued,
        receivedAt: at,
        rejected: [],
        events: [{ type: "event", name: "signup", ts: at, props: {} }],
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await call("/api/v1/events", {
      method: "POST",
      key: apiKey,
      json: { events: [{ type: "view", ts: Date.now(), cookie_id: server, props: { sku: "R-1" } }] },
    });
    expect(res.status).toBe(204);

    const events = await recent(apiKey);
    expect(events.map((e) => [e.cookie_id, e.type, e.name])).toEqual([
      [server, "view", null],
      [queued, "event", "signup"],
      [browser, "page", null],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    // Not the props: only what identifies the event.
    expect(events[0]).not.toHaveProperty("props");
    expect(await recent(apiKey, "?limit=2")).toHaveLength(2);
    // Another site sees none of them.
    expect(await recent((await createTestSite()).apiKey)).toEqual([]);
  });

  it("reads earlier days too, and leaves out what was received before `hours`", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const cookie = randomCookie();
    const now = Date.now();
    for (const hoursAgo of [2, 30, 80]) {
      const at = now - hoursAgo * 3_600_000;
      const lines = archiveLines([{ cookieId: cookie, receivedAt: at, events: [{ type: "page", ts: at }] }]);
      await putLines(env.ARCHIVE, archiveKey(siteId, at, `h${hoursAgo}`), lines);
    }
    const ages = (events: Recent["events"]) => events.map((e) => Math.round((now - e.received_at) / 3_600_000));
    expect(ages(await recent(apiKey))).toEqual([2]);
    expect(ages(await recent(apiKey, "?hours=48"))).toEqual([2, 30]);
    expect(ages(await recent(apiKey, "?hours=100"))).toEqual([2, 30, 80]);
  });
});
