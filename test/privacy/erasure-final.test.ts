/**
 * Erasure is final: messages already in the events queue when a visitor or customer is erased
 * (its event batch, its banner's impression — exposure and cap count — and its click) never bring it back.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepErasures } from "../../worker/archive/sweeps";
import { createDb } from "../../worker/db/client";
import { countRows, event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { call } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { bannerSite, fetchWorker, randomCookie } from "../fixtures/banner";
import { consumeQueue, recordingQueue } from "../fixtures/queue";

async function inFlight() {
  const site = await bannerSite({ allowed_origins: [SHOP] });
  const creative = await site.creative("html", '<a href="{{click_url}}">hello</a>');
  await site.rule({ creative_id: creative, cap_per_day: 10 });
  const cookie = randomCookie();
  const { queue, sent } = recordingQueue();
  const queueEnv = { ...env, EVENTS_QUEUE: queue } as unknown as Env;
  const batch = { site: site.siteKey, events: [event("page"), await signedIdentify(site.apiKey, "C-1")] };
  expect((await postEvents(batch, { cookie, queue })).status).toBe(204);
  const banner = await fetchWorker(`/b/slot?site=${site.siteKey}&format=json`, { cookie }, queueEnv);
  const clickUrl = ((await banner.json()) as { click_url: string }).click_url;
  await fetchWorker(new URL(clickUrl).pathname, { cookie }, queueEnv);
  // The impression waits in the isolate's group for its flush (impressions.ts).
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(sent.map((m) => m.kind).sort()).toEqual(["click", "decisions", "events"]);
  return { ...site, cookie, sent };
}

async function traces(siteId: number, cookie: string) {
  return {
    visitors: await countRows("visitors", "site_id = ? and cookie_id = ?", siteId, cookie),
    events: await countArchived(siteId, cookie),
    exposures: await countRows("exposures", "site_id = ? and cookie_id = ?", siteId, cookie),
    caps: await countRows("person_caps", "site_id = ? and holder = ?", siteId, `v:${cookie}`),
  };
}

// A click's row in HOME names no cookie (pipeline/impressions.ts): its trace on the person is the
// visitor's acquisition, counted with the visitor.
const NONE = { visitors: 0, events: 0, exposures: 0, caps: 0 };

describe("erasure is final", () => {
  it("a visitor erased while its event batch, impression and click are queued is not recreated by them", async () => {
    const s = await inFlight();
    const erased = await call(`/api/v1/visitors/${s.cookie}`, { method: "DELETE", key: s.apiKey });
    expect(erased.status).toBe(404); // nothing written yet: the tombstone stands all the same
    await consumeQueue(s.sent);
    // Its batch was archived before its D1 writes found the tombstone, and asked for a sweep,
    // which the cron runs (worker/archive/sweeps.ts).
    expect(await countArchived(s.siteId, s.cookie)).toBe(2);
    expect(await sweepErasures(env.ARCHIVE, createDb(env.DB))).toBe(1);
    expect(await traces(s.siteId, s.cookie)).toEqual(NONE);
    // The impression and click still count, without the cookie.
    const counted = await env.DB.prepare(
      "select sum(impressions) as impressions, sum(clicks) as clicks from report_counters where site_id = ?",
    )
      .bind(s.siteId)
      .first();
    expect(counted).toEqual({ impressions: 1, clicks: 1 });
    expect(await countRows("clicks", "site_id = ?", s.siteId)).toBe(1);
  });

  it("a customer erased while its cookie's messages are queued is not recreated, nor is the cookie", async () => {
    const s = await inFlight();
    // The cookie is linked already (an earlier batch), so erasing the customer finds it.
    await postEvents({ site: s.siteKey, events: [await signedIdentify(s.apiKey, "C-1")] }, { cookie: s.cookie });
    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: s.apiKey })).status).toBe(204);
    await consumeQueue(s.sent);
    await sweepErasures(env.ARCHIVE, createDb(env.DB));
    expect(await traces(s.siteId, s.cookie)).toEqual(NONE);
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", s.siteId)).toBe(0);
  });

  it("control: without an erasure the same queued messages write the visitor, its event, exposure, click and cap", async () => {
    const s = await inFlight();
    await consumeQueue(s.sent);
    expect(await traces(s.siteId, s.cookie)).toEqual({ visitors: 1, events: 2, exposures: 1, caps: 1 });
  });
});
