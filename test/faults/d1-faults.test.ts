/**
 * D1 failing or stalling under the public endpoints, with the real binding wrapped by FaultyD1:
 * /b still serves the placement's fallback within its budget, /e keeps the batch (queued for the
 * consumer, or a 503 that says it was not stored), an import broken half-way leaves whole batches
 * only, and the retention cron interrupted and run again ends where an uninterrupted run would.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { MS_PER_DAY } from "../../worker/lib/time";
import type { EventsQueueMessage } from "../../worker/pipeline/messages";
import { purgeExpired } from "../../worker/privacy/retention";
import { event, SHOP } from "../collect/post-events";
import { BASE, createTestSite, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { type BannerJson, bannerSite, randomCookie } from "../fixtures/banner";
import { FaultyD1 } from "../fixtures/faulty-d1";
import { inHome } from "../fixtures/people";
import { consumeQueue, recordingQueue } from "../fixtures/queue";

const BUDGET_MS = "300";

function envWith(faulty: FaultyD1, extra: Record<string, unknown> = {}): Env {
  return { ...env, DB: faulty.db, EVENTS_QUEUE: undefined, DECISION_BUDGET_MS: BUDGET_MS, ...extra } as unknown as Env;
}

async function fetchWith(testEnv: Env, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), testEnv, ctx);
  return { res, ctx };
}

/** A site with a personalised rule and a fallback for `slot`, warmed once through the healthy D1. */
async function warmedBannerSite(faulty: FaultyD1) {
  const site = await bannerSite();
  const personal = await site.creative("html", "<p>PERSONAL</p>");
  const fallback = await site.creative("html", "<p>FALLBACK</p>");
  await site.rule({ creative_id: personal });
  await site.fallback("slot", fallback);
  faulty.set("ok");
  const { res, ctx } = await fetchWith(envWith(faulty), `/b/slot?site=${site.siteKey}&format=json`, {
    headers: { Cookie: `tw_id=${randomCookie()}` },
  });
  await waitOnExecutionContext(ctx);
  expect(((await res.json()) as BannerJson).creative.body).toContain("PERSONAL");
  return site;
}

describe("/b when D1 fails or stalls", () => {
  it("serves the placement's fallback from the isolate when D1 stalls, instead of hanging", async () => {
    const faulty = new FaultyD1(env.DB);
    const site = await warmedBannerSite(faulty);
    faulty.set("stall");
    const { res } = await fetchWith(envWith(faulty), `/b/slot?site=${site.siteKey}&format=json`, {
      headers: { Cookie: `tw_id=${randomCookie()}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BannerJson;
    expect(body.rule).toBeNull();
    expect(body.creative.body).toContain("FALLBACK");
    expect(faulty.calls).toBeGreaterThan(0);
  });

  it("serves the placement's fallback when every D1 call throws", async () => {
    const faulty = new FaultyD1(env.DB);
    const site = await warmedBannerSite(faulty);
    faulty.set("fail");
    const { res } = await fetchWith(envWith(faulty), `/b/slot?site=${site.siteKey}&format=html`, {
      headers: { Cookie: `tw_id=${randomCookie()}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain("FALLBACK");
    expect(html).not.toContain("PERSONAL");
  });

  it("answers 200 with the built-in empty creative for a site this isolate has never seen while D1 stalls", async () => {
    const faulty = new FaultyD1(env.DB).set("stall");
    const { res } = await fetchWith(envWith(faulty), "/b/slot?site=never-seen-site&format=json");
    expect(res.status).toBe(200);
    const body = (await res.json()) as BannerJson;
    expect(body.rule).toBeNull();
    expect(body.impression).toBeNull();
  });

  it("serves the fallback when D1 is slower than the budget", async () => {
    const faulty = new FaultyD1(env.DB);
    const site = await warmedBannerSite(faulty);
    faulty.set("slow", 1_500);
    const { res } = await fetchWith(envWith(faulty), `/b/slot?site=${site.siteKey}&format=json`, {
      headers: { Cookie: `tw_id=${randomCookie()}` },
    });
    expect(((await res.json()) as BannerJson).creative.body).toContain("FALLBACK");
  });
});

async function postBatch(testEnv: Env, batch: unknown, cookie?: string) {
  const headers = new Headers({ "Content-Type": "text/plain", Origin: SHOP });
  if (cookie) headers.set("Cookie", `tw_id=${cookie}`);
  const { res, ctx } = await fetchWith(testEnv, "/e", { method: "POST", headers, body: JSON.stringify(batch) });
  await waitOnExecutionContext(ctx);
  return res;
}

describe("/e when D1 fails", () => {
  it("queues the batch, answers 202 deferred, and the consumer stores it once D1 is back", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const cookie = randomCookie();
    const faulty = new FaultyD1(env.DB).set("fail");
    const { queue, sent } = recordingQueue();
    const res = await postBatch(
      envWith(faulty, { EVENTS_QUEUE: queue }),
      {
        site: siteKey,
        events: [event("page"), event("view", { sku: "S-1", category: "rings", price: 5 })],
      },
      cookie,
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [], deferred: true });
    expect(sent).toHaveLength(1);
    expect(sent[0].kind).toBe("deferred-events");

    // Still down when the consumer runs: the message is retried, nothing acknowledged.
    const down = await consumeQueue(sent, 1, envWith(faulty));
    expect(down.retryMessages).toHaveLength(1);
    expect(down.explicitAcks).toHaveLength(0);

    faulty.set("ok");
    const up = await consumeQueue(sent, 2, envWith(faulty));
    expect(up.explicitAcks).toHaveLength(1);
    // Its raw events once in the R2 archive: the failed attempt archived nothing.
    expect(await countArchived(await siteIdOf(siteKey), cookie)).toBe(2);
  });

  it("queues the batch within the budget when D1 stalls, instead of holding the beacon open", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const faulty = new FaultyD1(env.DB).set("stall");
    const { queue, sent } = recordingQueue();
    const res = await postBatch(
      envWith(faulty, { EVENTS_QUEUE: queue }),
      { site: siteKey, events: [event("page")] },
      randomCookie(),
    );
    expect(res.status).toBe(202);
    expect(((await res.json()) as { deferred: boolean }).deferred).toBe(true);
    expect(sent.map((m) => m.kind)).toEqual(["deferred-events"]);
  });

  it("answers 503 when the site is found but the direct profile write fails (no queue bound)", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    // The site lookup passes, the profile batch fails.
    const faulty = new FaultyD1(env.DB).failAfter(1);
    const res = await postBatch(
      envWith(faulty, { EVENTS_QUEUE: undefined }),
      {
        site: siteKey,
        events: [event("page")],
      },
      randomCookie(),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
  });

  it("answers 503 with Retry-After, saying nothing was stored, when there is no queue to keep the batch", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const faulty = new FaultyD1(env.DB).set("fail");
    const res = await postBatch(envWith(faulty), { site: siteKey, events: [event("page")] });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unavailable");
    expect(body.error.message).toContain("not stored");
  });

  it("lands a deferred batch in rejected_events after the queue's last attempt", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const message: EventsQueueMessage = {
      kind: "deferred-events",
      siteKey,
      cookieId: randomCookie(),
      events: [event("page")],
      receivedAt: Date.now(),
    };
    // The profile write fails on the message's last attempt.
    const faulty = new FaultyD1(env.DB).failAfter(0, "batch");
    const result = await consumeQueue([message], 4, envWith(faulty));
    expect(result.explicitAcks).toHaveLength(1);
    const kept = await env.DB.prepare(
      "select reason, payload from rejected_events where source = 'queue' and cookie_id = ?",
    )
      .bind(message.cookieId)
      .first<{ reason: string; payload: string }>();
    expect(kept?.reason).toContain("queue gave up");
  });
});

describe("an import broken half-way", () => {
  it("keeps whole batches only: 400 rows written, the failed batch rolled back, 503 says so", async () => {
    const { apiKey, site } = await createTestSite();
    // In HOME, where the faulty binding stands in for the database the import writes.
    await inHome(site.key as string);
    const lines = ["customer_id,email,orders"];
    for (let i = 0; i < 1_000; i++) lines.push(`C-${i},c${i}@example.com,${i % 7}`);
    const faulty = new FaultyD1(env.DB).failAfter(1, "batch");
    const { res, ctx } = await fetchWith(envWith(faulty), "/api/v1/import/customers", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "text/csv" },
      body: lines.join("\n"),
    });
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    const count = await env.DB.prepare(
      "select count(*) as n from customers c join sites s on s.id = c.site_id where s.key = ?",
    )
      .bind(site.key as string)
      .first<{ n: number }>();
    expect(count?.n).toBe(400);
  });
});

describe("the retention cron interrupted", () => {
  it("ends, when run again, with exactly the rows an uninterrupted run leaves", async () => {
    const { siteKey } = await createTestSite({ retention_days: 30 });
    await inHome(siteKey);
    const site = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
    const now = Date.UTC(2026, 5, 1);
    const cookie = randomCookie();
    // 12,000 expired events (three purge chunks) and 50 recent ones.
    const insert = (count: number, age: number) =>
      env.DB.prepare(
        `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
         insert into events (site_id, cookie_id, type, ts, received_at) select ?, ?, 'page', ?, ? from n`,
      )
        .bind(count, site!.id, cookie, now - age, now - age)
        .run();
    await insert(12_000, 31 * MS_PER_DAY);
    await insert(50, 29 * MS_PER_DAY);

    // Sites are purged in id order and this one is the file's newest: let the site list, the two
    // deletes of every earlier site and this site's first chunk through, then fail.
    // An earlier site on shards has one delete in HOME (rejected events; its events are on its shards).
    const earlier = await env.DB.prepare(
      "select coalesce(sum(case when shards is null then 2 else 1 end), 0) as n from sites where id < ?",
    )
      .bind(site!.id)
      .first<{ n: number }>();
    const faulty = new FaultyD1(env.DB).failAfter(1 + earlier!.n + 1);
    await expect(purgeExpired({ ...env, DB: faulty.db }, now)).rejects.toThrow(/injected/);
    const between = await env.DB.prepare("select count(*) as n from events where site_id = ?")
      .bind(site!.id)
      .first<{ n: number }>();
    expect(between!.n).toBeGreaterThan(50);
    expect(between!.n).toBeLessThan(12_050);

    const again = await purgeExpired(env, now);
    expect(again.events).toBe(between!.n - 50);
    const after = await env.DB.prepare("select count(*) as n, min(received_at) as oldest from events where site_id = ?")
      .bind(site!.id)
      .first<{ n: number; oldest: number }>();
    expect(after).toEqual({ n: 50, oldest: now - 29 * MS_PER_DAY });
    // A third run changes nothing.
    expect((await purgeExpired(env, now)).events).toBe(0);
  });
});
