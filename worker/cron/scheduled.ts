/**
 * The cron trigger (wrangler.toml, every 15 minutes): the retention purge (D1, then the R2 archive's
 * erasure sweeps and retention), then per site, look-alike scores first (so that
 * look-alike audiences use fresh ones), then every audience, each segment's size of the day, then webhook segment entries;
 * once a day (the first run after midnight UTC) the item-to-item product affinities.
 * Each step logs its own failures and the next one still runs.
 */
import { purgeArchive, sweepErasures } from "../archive/sweeps";
import { recomputeLookalikeScores } from "../audiences/lookalike-scores";
import { refreshSiteAudiences } from "../audiences/refresh";
import { affinityRunDue, recomputeProductAffinities } from "../catalogue/affinities";
import { createDb } from "../db/client";
import { sites } from "../db/schema";
import { logError } from "../lib/log";
import { queuesOf } from "../pipeline/producers";
import { purgeExpired } from "../privacy/retention";
import { recordSegmentSizes } from "../segments/sizes";
import { peopleOfSite } from "../shards/routing";
import { checkSiteWebhooks } from "../webhooks/entries";

async function step(name: string, siteId: number, run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    logError(`cron.${name}_failed`, { site: siteId, error });
  }
}

export async function runScheduled(env: Env, now: number): Promise<void> {
  const db = createDb(env.DB);
  // Raw events past each site's retention go first (worker/privacy/retention.ts): idempotent, so a
  // run cut short is completed by the next one.
  await step("retention-purge", 0, () => purgeExpired(env, now));
  // The raw event archive in R2 (docs/architecture.md, "Raw event archive"): erasure sweeps an
  // earlier run or the erasure's own background run left unfinished, then each site's retention.
  await step("archive-erasure-sweep", 0, () => sweepErasures(env.ARCHIVE, db));
  await step("archive-retention", 0, () => purgeArchive(env.ARCHIVE, db, now));
  const siteRows = await db.select({ id: sites.id, shards: sites.shards }).from(sites);
  for (const site of siteRows) {
    const id = site.id;
    // Every database of the site's set: what a read of many people asks (docs/architecture.md,
    // "Shards"); inside each step, so a set naming an unbound shard fails that site's steps only.
    const people = () => peopleOfSite(env, site);
    await step("lookalike-scores", id, () => recomputeLookalikeScores(db, people(), id, now));
    await step("audience-refresh", id, () => refreshSiteAudiences(db, people(), id, now));
    await step("segment-sizes", id, () => recordSegmentSizes(db, people(), id, now));
    await step("webhook-entries", id, () => checkSiteWebhooks(db, id, queuesOf(env).webhooks, now, undefined, env));
    if (affinityRunDue(now)) {
      await step("product-affinities", id, () => recomputeProductAffinities(env, site, now));
    }
  }
}
