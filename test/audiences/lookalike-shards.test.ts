/**
 * Look-alike training and scoring over a site's shard set (docs/architecture.md, "Shards"): the model
 * learns from the people of every shard, each shard's visitors are scored where they live, and a
 * top-N look-alike audience picks the same people as for the same data in HOME.
 */
import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { readLookalikeModel } from "../../worker/audiences/lookalike-model";
import { recomputeLookalikeScores } from "../../worker/audiences/lookalike-scores";
import { refreshAudience } from "../../worker/audiences/refresh";
import { createAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { visitors } from "../../worker/db/schema";
import { peopleOfSite } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import { cookieOf, rowsPerShard, type SiteOnSet, seedPeople, shardDb, siteOn } from "../shards/people-fixture";

const NOW = Date.UTC(2026, 11, 1, 12);
const DAY = 86_400_000;
const db = createDb(env.DB);

/** Twelve display-acquired buyers of watches, thirty browsers of either watches or the sale. */
async function seed(site: SiteOnSet) {
  await seedPeople(
    site,
    [],
    Array.from({ length: 42 }, (_, i) => {
      const buyer = i < 12;
      const watches = buyer || i % 3 === 0;
      return {
        cookieId: cookieOf(i + 1),
        firstSeenAt: NOW - 20 * DAY,
        lastSeenAt: NOW - (i % 5) * DAY,
        visits: watches ? 4 : 1,
        pageviews: watches ? 9 : 2,
        interests: (watches ? { watches: 3 } : { sale: 1 }) as Record<string, number>,
        acquisition: buyer ? "display" : "other",
        lastPurchaseAt: buyer ? NOW - DAY : null,
      };
    }),
  );
}

async function scores(site: SiteOnSet) {
  const cookies = Array.from({ length: 42 }, (_, i) => cookieOf(i + 1));
  const rows = (
    await Promise.all(
      peopleOfSite(env, site).map(({ db: people }) =>
        people
          .select({ cookieId: visitors.cookieId, score: visitors.lookalikeScore })
          .from(visitors)
          .where(and(eq(visitors.siteId, site.id), inArray(visitors.cookieId, cookies))),
      ),
    )
  ).flat();
  return Object.fromEntries(rows.map((r) => [r.cookieId, r.score]));
}

describe("look-alikes over a shard set", () => {
  it("train, score and pick the top N as for the same people in HOME", async () => {
    const sharded = await siteOn([0, 1, 2, 3]);
    const twin = await siteOn(null);
    for (const site of [sharded, twin]) await seed(site);
    expect((await rowsPerShard("visitors", sharded.id)).filter((n) => n > 0)).toHaveLength(4);

    const results = [];
    for (const site of [sharded, twin]) {
      results.push(await recomputeLookalikeScores(db, peopleOfSite(env, site), site.id, NOW));
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toMatchObject({ trained: true, positives: 12, scored: 30 });
    const [mine, oracle] = [await scores(sharded), await scores(twin)];
    expect(mine).toEqual(oracle);
    expect(Object.values(mine).filter((s) => s !== null)).toHaveLength(30);
    const { site_id: _a, ...modelA } = { site_id: 0, ...(await readLookalikeModel(db, sharded.id)) };
    const { site_id: _b, ...modelB } = { site_id: 0, ...(await readLookalikeModel(db, twin.id)) };
    expect(modelA).toEqual(modelB);

    const members = async (site: SiteOnSet) => {
      const audience = await createAudience(
        db,
        site.id,
        { name: "Top", kind: "lookalike", segment_id: null, params: { top: 7 } },
        NOW,
      );
      const { size } = await refreshAudience(db, peopleOfSite(env, site), audience, NOW);
      const res = await call(`/api/v1/audiences/${audience.id}/export?id_space=tw`, { key: site.apiKey });
      return { size, ids: (await res.text()).trim().split("\n").slice(1) };
    };
    const top = await members(sharded);
    expect(top.size).toBe(7);
    expect(top).toEqual(await members(twin));
  });

  it("learns from and scores nothing of a site on a shard outside its set", async () => {
    const a = await siteOn([0, 1]);
    const b = await siteOn([1, 2]);
    for (const site of [a, b]) await seed(site);
    // Decoys of A on shard 2 (B's) and 3 (nobody's): buyers that would change the model, a browser to score.
    for (const k of [2, 3]) {
      for (let n = 0; n < 20; n++) {
        await shardDb(k)
          .insert(visitors)
          .values({
            siteId: a.id,
            cookieId: `dec${k}${String(n).padStart(2, "0")}`.padEnd(32, "0"),
            firstSeenAt: NOW - DAY,
            lastSeenAt: NOW,
            interests: { sale: 5 },
            acquisition: "display",
            lastPurchaseAt: n < 19 ? NOW : null,
          });
      }
    }
    const [ra, rb] = [
      await recomputeLookalikeScores(db, peopleOfSite(env, a), a.id, NOW),
      await recomputeLookalikeScores(db, peopleOfSite(env, b), b.id, NOW),
    ];
    expect(ra).toEqual({ trained: true, positives: 12, scored: 30 });
    expect(ra).toEqual(rb);
    expect(await scores(a)).toEqual(await scores(b));
    const decoys = await shardDb(3)
      .select({ score: visitors.lookalikeScore })
      .from(visitors)
      .where(eq(visitors.siteId, a.id));
    expect(decoys.every((d) => d.score === null)).toBe(true);
  });
});
