/**
 * The retention purge run by the cron: raw and rejected events older than each site's
 * retention_days, Idempotency-Key answers after a week; nothing younger is touched.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import { DAY_MS, purgeExpired } from "../../worker/privacy/retention";
import { countRows } from "../collect/post-events";
import { randomCookie, siteIdOf } from "../decide/helpers";
import { createTestSite } from "../fixtures/api";

const NOW = Date.UTC(2026, 6, 1);

async function siteWithHistory(retentionDays: number) {
  const { siteKey } = await createTestSite({ retention_days: retentionDays });
  const siteId = await siteIdOf(siteKey);
  const cookie = randomCookie();
  for (const age of [1, retentionDays - 1, retentionDays + 1, retentionDays + 100]) {
    const at = NOW - age * DAY_MS;
    await env.DB.prepare("insert into events (site_id, cookie_id, type, ts, received_at) values (?, ?, 'page', ?, ?)")
      .bind(siteId, cookie, at, at)
      .run();
    await env.DB.prepare(
      "insert into rejected_events (site_id, site_key, source, reason, received_at) values (?, ?, 'collect', 'x', ?)",
    )
      .bind(siteId, siteKey, at)
      .run();
  }
  return siteId;
}

describe("the retention purge", () => {
  it("deletes events and rejected events older than each site's own retention, and only those", async () => {
    const short = await siteWithHistory(30);
    const long = await siteWithHistory(400);
    await env.DB.prepare(
      "insert into idempotency_keys (site_id, key, status, body, created_at) values (?, 'old', 200, '{}', ?), (?, 'new', 200, '{}', ?)",
    )
      .bind(short, NOW - 8 * DAY_MS, short, NOW - 6 * DAY_MS)
      .run();

    const result = await purgeExpired(createDb(env.DB), NOW);
    expect(result.events).toBeGreaterThanOrEqual(4);
    for (const siteId of [short, long]) {
      expect(await countRows("events", "site_id = ?", siteId)).toBe(2);
      expect(await countRows("rejected_events", "site_id = ?", siteId)).toBe(2);
    }
    const retention = { [short]: 30, [long]: 400 };
    for (const siteId of [short, long]) {
      const oldest = await env.DB.prepare("select min(received_at) as t from events where site_id = ?")
        .bind(siteId)
        .first<{ t: number }>();
      expect(oldest!.t).toBe(NOW - (retention[siteId] - 1) * DAY_MS);
    }
    expect(await countRows("idempotency_keys", "site_id = ?", short)).toBe(1);
    expect(await countRows("idempotency_keys", "site_id = ? and key = 'new'", short)).toBe(1);
  });

  it("runs from the cron's scheduled handler", async () => {
    const siteId = await siteWithHistory(10);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: NOW, cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await countRows("events", "site_id = ?", siteId)).toBe(2);
    expect(await countRows("events", "site_id = ? and received_at < ?", siteId, NOW - 10 * DAY_MS)).toBe(0);
  });
});
