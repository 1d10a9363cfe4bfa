/**
 * /b sends impressions to the events queue in groups (worker/pipeline/producers.ts): several
 * banners of one isolate share ONE message, a full group goes out at once, a lone impression is
 * still flushed, a refused group is written directly instead of being lost, and a group delivered
 * twice counts once.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { BannerGroupMessage, EventsQueueMessage, ImpressionMessage } from "../../worker/pipeline/messages";
import { bufferBannerMessage, IMPRESSION_FLUSH_MAX, sendBannerMessage } from "../../worker/pipeline/producers";
import { BASE } from "../fixtures/api";
import { bannerSite, randomCookie } from "../fixtures/banner";
import { consumeQueue, recordingQueue } from "../fixtures/queue";

function impression(siteId: number, i: number): ImpressionMessage {
  return {
    kind: "impression",
    siteId,
    uid: `grp${i}${randomCookie()}`.slice(0, 32),
    placement: "slot",
    // The fallback's impression (no rule, a creative); no rule and no creative is the empty one, counted nowhere.
    ruleId: null,
    creativeId: 7,
    cookieId: null,
    couponId: null,
    holdout: false,
    ts: Date.now(),
  };
}

function collector() {
  const work: Promise<unknown>[] = [];
  return { waitUntil: (p: Promise<unknown>) => void work.push(p), settled: () => Promise.all(work) };
}

/** The site's impressions as the report counters hold them. */
async function impressionsOfSite(siteId: number) {
  return env.DB.prepare("select coalesce(sum(impressions), 0) as n from report_counters where site_id = ?")
    .bind(siteId)
    .first<number>("n");
}

/** The impressions each sent message carries. */
function itemsPerMessage(groups: EventsQueueMessage[][]): number[] {
  return groups.flat().map((m) => (m as BannerGroupMessage).items.length);
}

describe("impression groups for the events queue", () => {
  it("sends the impressions of several banners as one message, after the first one's wait", async () => {
    const { queue, groups } = recordingQueue();
    const after = collector();
    for (let i = 0; i < 3; i++) bufferBannerMessage(queue, env, impression(1, i), after.waitUntil);
    expect(groups).toHaveLength(0);
    await after.settled();
    expect(groups.map((g) => g.length)).toEqual([1]);
    expect(itemsPerMessage(groups)).toEqual([3]);
    expect(groups[0][0]).toMatchObject({ kind: "decisions", id: expect.any(Number) });
  });

  it("sends a full group at once and opens a new group for the next impression", async () => {
    const { queue, groups } = recordingQueue();
    const after = collector();
    for (let i = 0; i < IMPRESSION_FLUSH_MAX; i++) bufferBannerMessage(queue, env, impression(1, i), after.waitUntil);
    // The group was sent before any wait elapsed.
    expect(itemsPerMessage(groups)).toEqual([IMPRESSION_FLUSH_MAX]);
    bufferBannerMessage(queue, env, impression(1, 99), after.waitUntil);
    await after.settled();
    expect(itemsPerMessage(groups)).toEqual([IMPRESSION_FLUSH_MAX, 1]);
  });

  it("writes a refused group directly to D1", async () => {
    const site = await bannerSite();
    const { queue } = recordingQueue({ refuse: true });
    const after = collector();
    for (let i = 0; i < 4; i++) bufferBannerMessage(queue, env, impression(site.siteId, i), after.waitUntil);
    await after.settled();
    expect(await impressionsOfSite(site.siteId)).toBe(4);
  });

  it("writes a refused single message directly to D1 too (the path without an execution context)", async () => {
    const site = await bannerSite();
    const { queue } = recordingQueue({ refuse: true });
    const queueEnv = { ...env, EVENTS_QUEUE: queue } as unknown as Env;
    await sendBannerMessage(queueEnv, impression(site.siteId, 0));
    expect(await impressionsOfSite(site.siteId)).toBe(1);
  });

  it("through /b: concurrent banners' impressions all reach the queue and the consumer writes them all", async () => {
    const site = await bannerSite();
    const ruleId = await site.rule({ creative_id: await site.creative("html", "<p>offer</p>") });
    const { queue, groups } = recordingQueue();
    const queueEnv = { ...env, EVENTS_QUEUE: queue } as unknown as Env;
    const contexts = Array.from({ length: 5 }, () => createExecutionContext());
    const responses = await Promise.all(
      contexts.map((ctx) =>
        worker.fetch(
          new Request(`${BASE}/b/slot?site=${site.siteKey}&format=json`, {
            headers: { Cookie: `tw_id=${randomCookie()}` },
          }),
          queueEnv,
          ctx,
        ),
      ),
    );
    for (const res of responses) expect(((await res.json()) as { rule: number }).rule).toBe(ruleId);
    // Nothing was sent during the requests: the group waits until after the responses.
    expect(groups).toHaveLength(0);
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
    const sent = groups.flat();
    expect(sent.map((m) => m.kind)).toEqual(["decisions"]);
    expect(itemsPerMessage(groups)).toEqual([5]);

    expect((await consumeQueue(sent)).explicitAcks).toHaveLength(1);
    expect(await impressionsOfSite(site.siteId)).toBe(5);
    // Delivered again (queues deliver at least once): the ledger makes it count nothing more.
    expect((await consumeQueue(sent, 2)).explicitAcks).toHaveLength(1);
    expect(await impressionsOfSite(site.siteId)).toBe(5);
    expect(
      await env.DB.prepare("select count(*) as n from applied_messages where id = ?")
        .bind((sent[0] as BannerGroupMessage).id)
        .first("n"),
    ).toBe(1);
  });
});
