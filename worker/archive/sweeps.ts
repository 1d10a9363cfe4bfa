/**
 * The archive's two sweeps (docs/architecture.md, "Raw event archive"), run after an erasure in the
 * background and by the cron:
 *
 * - Erasure: an erasure (privacy/erasure.ts) leaves an `archive_sweeps` row with the erased cookie
 *   IDs and the first day that can hold their lines. The sweep reads the site's objects from that
 *   day on, in key order, and rewrites each one that holds such a line without it (deleting an
 *   object left empty). It records the last key done after every page of objects, so a sweep cut short (a
 *   request's time, a failed read) resumes there on the next cron run; the row goes when the
 *   sweep has passed the newest object. A batch archived before the erasure but applied after it
 *   asks for one more sweep itself (archive.ts, archiveErasureGuard).
 * - Retention: per site, whole days older than the site's `retention_days` are deleted (a day's
 *   objects go once the whole day lies before the cutoff). The bucket's lifecycle rule (README,
 *   "Retention") is the deployment-wide backstop; this is what keeps each site's own limit.
 *
 * A rewrite is conditional on the object's etag: an object changed meanwhile is read again.
 */
import { toD1 } from "../db/raw";
import type { Db } from "../env";
import { MS_PER_DAY, utcDayKey } from "../lib/time";
import { dayPrefix, parseNdjson, rewriteLines, sitePrefix, toNdjson } from "./archive";

type SweepRow = { id: number; site_id: number; cookies: string; from_day: string; cursor: string | null };

/** Objects read per run of the erasure sweep; the rest waits for the next run (its cursor is kept). */
const SWEEP_OBJECTS = 500;

/** Removes the lines of `cookies` from one object; true when the object is done (changed or not). */
async function sweepObject(bucket: R2Bucket, key: string, cookies: Set<string>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const object = await bucket.get(key);
    if (!object) return true;
    const lines = parseNdjson(await object.text());
    const kept = lines.filter((line) => !cookies.has(line.cookie_id));
    if (kept.length === lines.length) return true;
    if (kept.length === 0) {
      await rewriteLines(bucket, key, kept);
      return true;
    }
    const written = await bucket.put(key, toNdjson(kept), {
      httpMetadata: object.httpMetadata,
      onlyIf: { etagMatches: object.etag },
    });
    if (written) return true;
  }
  return false;
}

/**
 * Carries out the pending erasure sweeps (oldest first) within `maxObjects` object reads. Returns
 * how many sweeps finished. `siteId` limits it to one site (the erasure's own background run).
 */
export async function sweepErasures(
  bucket: R2Bucket,
  db: Db,
  options: { siteId?: number; maxObjects?: number } = {},
): Promise<number> {
  const d1 = toD1(db);
  let budget = options.maxObjects ?? SWEEP_OBJECTS;
  const { results: rows } = await d1
    .prepare(
      "select id, site_id, cookies, from_day, cursor from archive_sweeps where ?1 is null or site_id = ?1 order by id",
    )
    .bind(options.siteId ?? null)
    .all<SweepRow>();
  let finished = 0;
  for (const row of rows) {
    const cookies = new Set(JSON.parse(row.cookies) as string[]);
    // Keys of the sweep's first day sort after its prefix, earlier days' before it.
    let startAfter = row.cursor ?? dayPrefix(row.site_id, row.from_day);
    let done = false;
    while (budget > 0 && !done) {
      const page = await bucket.list({ prefix: sitePrefix(row.site_id), startAfter, limit: Math.min(budget, 1000) });
      for (const { key } of page.objects) {
        if (!(await sweepObject(bucket, key, cookies))) throw new Error(`archive object ${key} kept changing`);
        budget -= 1;
        startAfter = key;
      }
      done = !page.truncated;
      // Once per page: a run cut short within a page sweeps a few objects again, which changes nothing.
      if (!done) await d1.prepare("update archive_sweeps set cursor = ?2 where id = ?1").bind(row.id, startAfter).run();
    }
    if (!done) break;
    await d1.prepare("delete from archive_sweeps where id = ?1").bind(row.id).run();
    finished += 1;
  }
  return finished;
}

/**
 * Deletes each site's archive days that lie wholly before its retention cutoff. Idempotent: a run
 * cut short is completed by the next. Returns how many objects were deleted.
 */
export async function purgeArchive(bucket: R2Bucket, db: Db, now: number): Promise<number> {
  const { results: siteRows } = await toD1(db)
    .prepare("select id, retention_days as retentionDays from sites")
    .all<{ id: number; retentionDays: number }>();
  let deleted = 0;
  for (const site of siteRows) {
    const firstKept = dayPrefix(site.id, utcDayKey(now - site.retentionDays * MS_PER_DAY));
    let cursor: string | undefined;
    const expired: string[] = [];
    do {
      const page = await bucket.list({ prefix: sitePrefix(site.id), delimiter: "/", cursor });
      expired.push(...page.delimitedPrefixes.filter((day) => day < firstKept));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    for (const day of expired) {
      let more = true;
      while (more) {
        // Each list starts at the day's first remaining key: the ones before are deleted.
        const page = await bucket.list({ prefix: day, limit: 1000 });
        if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
        deleted += page.objects.length;
        more = page.truncated;
      }
    }
  }
  return deleted;
}
