/**
 * The retention purge run by the cron: raw and rejected events older than each site's
 * retention_days — the D1 rows written before the archive, and the R2 archive's days — and
 * Idempotency-Key answers after a week; nothing younger is touched.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archiveKey, archiveLines, putLines } from "../../worker/archive/archive";
import { purgeArchive } from "../../worker/archive/sweeps";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import { MS_PER_DAY as DAY_MS } from "../../worker/lib/time";
import { purgeExpired } from "../../worker/privacy/retention";
import { countRows } from "../collect/post-events";
import { createTestSite, siteIdOf } from "../fixtures/api";
import { archivedEvents, archiveKeys } from "../fixtures/archive";
import { randomCookie } from "../fixtures/banner";
import { inHome } from "../fixtures/people";

const NOW = Date.UTC(2026, 6, 1);

async function siteWithHistory(retentionDays: number) {
  const { siteKey } = await createTestSite({ retention_days: retentionDays });
  await inHome(siteKey);
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
    const lines = archiveLines([{ cookieId: cookie, receivedAt: at, events: [{ type: "page", ts: at }] }]);
    await putLines(env.ARCHIVE, archiveKey(siteId, at, `age${age}`), lines);
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

    const result = await purgeExpired(env, NOW);
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

  it("deletes the archive's days older than each site's own retention, and only those", async () => {
    const short = await siteWithHistory(30);
    const long = await siteWithHistory(400);
    expect(await archiveKeys(short)).toHaveLength(4);
    expect(await purgeArchive(env.ARCHIVE, createDb(env.DB), NOW)).toBeGreaterThanOrEqual(2);
    for (const [siteId, days] of [
      [short, 30],
      [long, 400],
    ]) {
      const kept = await archivedEvents(siteId);
      expect(kept.map((line) => line.received_at).sort()).toEqual([NOW - (days - 1) * DAY_MS, NOW - DAY_MS]);
      expect((await archiveKeys(siteId)).every((key) => key.startsWith(`site/${siteId}/`))).toBe(true);
    }
    // Idempotent: a second run finds nothing more.
    const again = await purgeArchive(env.ARCHIVE, createDb(env.DB), NOW);
    expect(await archiveKeys(short)).toHaveLength(2);
    expect(again).toBe(0);
  });

  it("forgets Segment messageIds after a week and keeps the younger ones", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare(
      "insert into segment_messages (site_id, message_id, received_at) values (?1, 'old', ?2), (?1, 'new', ?3)",
    )
      .bind(siteId, NOW - 8 * DAY_MS, NOW - 6 * DAY_MS)
      .run();
    const result = await purgeExpired(env, NOW);
    expect(result.segmentMessages).toBeGreaterThanOrEqual(1);
    expect(await countRows("segment_messages", "site_id = ? and message_id = 'old'", siteId)).toBe(0);
    expect(await countRows("segment_messages", "site_id = ? and message_id = 'new'", siteId)).toBe(1);
  });

  it("forgets login-attempt counters a day after their last attempt, unless a lock still holds", async () => {
    await env.DB.prepare(
      `insert into login_attempts (key, attempts, locked_until, granted, updated_at) values
       ('stale', 2, 0, 1, ?1), ('recent', 2, 0, 1, ?2), ('locked', 9, ?3, 1, ?1)`,
    )
      .bind(NOW - 2 * DAY_MS, NOW - 60_000, NOW + 60_000)
      .run();
    const result = await purgeExpired(env, NOW);
    expect(result.loginAttempts).toBe(1);
    const left = await env.DB.prepare("select key from login_attempts order by key").all<{ key: string }>();
    expect(left.results.map((r) => r.key)).toEqual(["locked", "recent"]);
  });

  it("runs from the cron's scheduled handler", async () => {
    const siteId = await siteWithHistory(10);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: NOW, cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await countRows("events", "site_id = ?", siteId)).toBe(2);
    expect(await countRows("events", "site_id = ? and received_at < ?", siteId, NOW - 10 * DAY_MS)).toBe(0);
    expect(await archiveKeys(siteId)).toHaveLength(2);
  });
});
