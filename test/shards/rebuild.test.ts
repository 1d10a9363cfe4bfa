/**
 * The operator's decision-row rebuild on a site with a shard set (docs/architecture.md, "Shards"):
 * every database of the set in turn, lines naming the shard, a cursor that resumes on it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardBindings, shardOf } from "../../worker/shards/routing";
import { call, OPERATOR_TOKEN } from "../fixtures/api";
import { countsByDatabase, randomCookie, shardedSite } from "./helpers";

const rebuild = (siteKey: string, query = "") =>
  call(`/api/v1/sites/${siteKey}/decision-rows/rebuild${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
  });

const linesOf = async (res: Response) =>
  (await res.text())
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));

describe("the decision-row rebuild on a shard set", () => {
  it("rebuilds every shard of the set in set order, names the shard, and resumes on it", async () => {
    const set = [3, 1];
    const site = await shardedSite(set);
    const now = Date.now();
    const perShard = new Map<number, number>();
    for (let i = 0; i < 6; i++) {
      const cookie = randomCookie();
      const k = shardOf(set, cookie);
      perShard.set(k, (perShard.get(k) ?? 0) + 1);
      await shardBindings(env)
        [k].prepare("insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at) values (?, ?, ?, ?)")
        .bind(site.siteId, cookie, now, now)
        .run();
    }
    const res = await rebuild(site.siteKey);
    expect(res.status).toBe(200);
    const lines = await linesOf(res);
    expect(lines.at(-1)).toEqual({ done: true, rows: 6 });
    const steps = lines.slice(0, -1);
    expect(steps.map((line) => line.shard)).toEqual(set.filter((k) => perShard.has(k)));
    for (const step of steps) expect(step.rows).toBe(perShard.get(step.shard));
    expect(await countsByDatabase("decision_rows", site.siteId)).toEqual({
      home: 0,
      shards: [0, 1, 2, 3].map((k) => perShard.get(k) ?? 0),
    });

    // Resumed after the last line: nothing left; resumed on the first shard from its start: all of it.
    const last = steps.at(-1);
    expect(await linesOf(await rebuild(site.siteKey, `?shard=${last.shard}&after=${last.after}`))).toEqual([
      { done: true, rows: 0 },
    ]);
    const again = await linesOf(await rebuild(site.siteKey, `?shard=${set[0]}&after=0`));
    expect(again.at(-1)).toEqual({ done: true, rows: 6 });
    // A shard outside the set is refused.
    expect((await rebuild(site.siteKey, "?shard=0")).status).toBe(400);
  });
});
