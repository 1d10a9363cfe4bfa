/**
 * The retention purge on sites with shard sets (docs/architecture.md, "Shards"): a site's events
 * are purged on each database of its set and nowhere else; caps and the ledger on every database.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY } from "../../worker/lib/time";
import { purgeExpired } from "../../worker/privacy/retention";
import { shardBindings } from "../../worker/shards/routing";
import { randomCookie, shardedSite } from "./helpers";

const NOW = Date.UTC(2026, 6, 1);
const TODAY = Math.floor(NOW / MS_PER_DAY);

async function event(d1: D1Database, siteId: number, age: number) {
  const at = NOW - age * MS_PER_DAY;
  await d1
    .prepare("insert into events (site_id, cookie_id, type, ts, received_at) values (?, ?, 'page', ?, ?)")
    .bind(siteId, randomCookie(), at, at)
    .run();
}

const count = async (d1: D1Database, sql: string, ...params: unknown[]) =>
  (
    await d1
      .prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("the retention purge on shard sets", () => {
  it("purges each site's old events on every database of its set, keeps the young ones and touches no other", async () => {
    const wide = await shardedSite([0, 1, 2, 3]);
    const narrow = await shardedSite([1, 3]);
    await env.DB.prepare("update sites set retention_days = 30 where id in (?, ?)")
      .bind(wide.siteId, narrow.siteId)
      .run();
    const shards = shardBindings(env);
    for (const k of [0, 1, 2, 3]) {
      await event(shards[k], wide.siteId, 40);
      await event(shards[k], wide.siteId, 5);
      // The narrow site's rows on shards outside its set (left there by hand): not its set, not purged.
      await event(shards[k], narrow.siteId, 40);
    }
    const result = await purgeExpired(env, NOW);
    expect(result.events).toBeGreaterThanOrEqual(6);
    for (const k of [0, 1, 2, 3]) {
      const events = "select count(*) as n from events where site_id = ?";
      expect(await count(shards[k], events, wide.siteId), `shard ${k}`).toBe(1);
      expect(await count(shards[k], events, narrow.siteId), `shard ${k}`).toBe([1, 3].includes(k) ? 0 : 1);
    }
  });

  it("purges caps of past days and old ledger entries on every shard", async () => {
    const site = await shardedSite([0, 1, 2, 3]);
    const shards = shardBindings(env);
    for (const k of [0, 1, 2, 3]) {
      await shards[k]
        .prepare(
          "insert into person_caps (site_id, holder, day, rule_id, count) values (?1, 'c:C', ?2, 1, 1), (?1, 'c:C', ?3, 1, 1)",
        )
        .bind(site.siteId, TODAY - 5, TODAY)
        .run();
      await shards[k]
        .prepare("insert into applied_messages (id, applied_at) values (?, ?)")
        .bind(1_000_000 + k + Math.floor(Math.random() * 1e9), NOW - 20 * MS_PER_DAY)
        .run();
    }
    const result = await purgeExpired(env, NOW);
    expect(result.personCaps).toBeGreaterThanOrEqual(4);
    for (const k of [0, 1, 2, 3]) {
      const caps = await shards[k]
        .prepare("select day from person_caps where site_id = ?")
        .bind(site.siteId)
        .all<{ day: number }>();
      expect(caps.results).toEqual([{ day: TODAY }]);
      expect(
        await count(
          shards[k],
          "select count(*) as n from applied_messages where applied_at < ?",
          NOW - 15 * MS_PER_DAY,
        ),
      ).toBe(0);
    }
  });
});
