/**
 * `/e` when the events queue refuses a send or does not answer (docs/architecture.md,
 * "Ingestion pipeline": a batch once answered 204/202 is never lost): the batch is written directly to D1
 * instead, within the budget; only the queue AND D1 failing together answer 503.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { CHROME_UA, countRows, event, SHOP, visitorOf } from "../collect/post-events";
import { BASE, createTestSite, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { randomCookie } from "../fixtures/banner";
import { FaultyD1 } from "../fixtures/faulty-d1";
import { recordingQueue } from "../fixtures/queue";

const BUDGET_MS = 300;

async function post(testEnv: Env, batch: unknown, cookie: string) {
  const ctx = createExecutionContext();
  const started = Date.now();
  const res = await worker.fetch(
    new Request(`${BASE}/e`, {
      method: "POST",
      headers: { "Content-Type": "text/plain", Origin: SHOP, "User-Agent": CHROME_UA, Cookie: `tw_id=${cookie}` },
      body: JSON.stringify(batch),
    }),
    testEnv,
    ctx,
  );
  const elapsed = Date.now() - started;
  await waitOnExecutionContext(ctx);
  return { res, elapsed };
}

function envWith(queue: Queue, db: D1Database = env.DB): Env {
  return { ...env, DB: db, EVENTS_QUEUE: queue, DECISION_BUDGET_MS: String(BUDGET_MS) } as unknown as Env;
}

const trip = (siteKey: string) => ({
  site: siteKey,
  events: [event("page"), event("view", { sku: "R-1", category: "rings", price: 120 })],
});

describe("/e when the events queue refuses", () => {
  it("writes the batch directly to D1 when the queue send throws, and answers 204", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const q = recordingQueue({ refuse: true });
    const cookie = randomCookie();
    const { res } = await post(envWith(q.queue), trip(siteKey), cookie);
    expect(res.status).toBe(204);
    expect(q.attempts).toBe(1);
    expect(q.sent).toEqual([]);
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 1 });
    expect(await countArchived(await siteIdOf(siteKey), cookie)).toBe(2);
  });

  it("writes directly when the queue send does not answer within the budget, instead of holding the beacon open", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const q = recordingQueue({ stall: true });
    const cookie = randomCookie();
    const { res, elapsed } = await post(envWith(q.queue), trip(siteKey), cookie);
    expect(res.status).toBe(204);
    // Bounded by the budget (plus the direct write), not by the stalled send.
    expect(elapsed).toBeLessThan(BUDGET_MS * 10);
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 1 });
  });

  it("keeps the rejected events of a mixed batch too, with their reasons, through the direct write", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const q = recordingQueue({ refuse: true });
    const cookie = randomCookie();
    const { res } = await post(
      envWith(q.queue),
      { site: siteKey, events: [event("page"), { type: "view", ts: 1 }] },
      cookie,
    );
    expect(res.status).toBe(202);
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 1 });
    expect(await countRows("rejected_events", "site_key = ? and reason like 'event 1:%'", siteKey)).toBe(1);
  });

  it("answers 503 with Retry-After only when the queue and D1 both fail", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const q = recordingQueue({ refuse: true });
    // The site lookup passes, then every D1 call fails.
    const faulty = new FaultyD1(env.DB).failAfter(1);
    const cookie = randomCookie();
    const { res } = await post(envWith(q.queue, faulty.db), trip(siteKey), cookie);
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(await visitorOf(cookie)).toBeNull();
  });

  it("uses the queue again as soon as it takes sends", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const q = recordingQueue({ refuse: true });
    await post(envWith(q.queue), trip(siteKey), randomCookie());
    q.faults.refuse = false;
    const cookie = randomCookie();
    const { res } = await post(envWith(q.queue), trip(siteKey), cookie);
    expect(res.status).toBe(204);
    expect(q.sent).toHaveLength(1);
    expect(await visitorOf(cookie)).toBeNull(); // the consumer writes it, later
  });
});
