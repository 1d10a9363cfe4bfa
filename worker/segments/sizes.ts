/**
 * Segment sizes over time: the cron counts every segment (visitors and customers, the preview's
 * count) and keeps one row per segment and UTC day — as audiences keep theirs — so the Segments
 * page shows a trend, not just today's number.
 */
import { and, asc, eq, gte, sql } from "drizzle-orm";
import { segmentSizes, segments } from "../db/schema";
import type { Db } from "../env";
import { logError } from "../lib/log";
import { MS_PER_DAY as DAY, utcDayKey } from "../lib/time";
import type { PeopleDb } from "../shards/routing";
import { countSegment } from "./query";

/**
 * Counts each segment of the site now, over every database of its set (`people`); a segment whose
 * expression no longer compiles is skipped. The sizes are HOME's (`db`).
 */
export async function recordSegmentSizes(db: Db, people: readonly PeopleDb[], siteId: number, now: number) {
  const rows = await db.select().from(segments).where(eq(segments.siteId, siteId));
  for (const segment of rows) {
    let counts: { visitors: number; customers: number };
    try {
      counts = await countSegment(people, siteId, segment.expression, now);
    } catch (error) {
      logError("segments.size_failed", { site: siteId, segment: segment.id, error });
      continue;
    }
    await db
      .insert(segmentSizes)
      .values({ segmentId: segment.id, day: utcDayKey(now), ...counts, ts: now })
      .onConflictDoUpdate({
        target: [segmentSizes.segmentId, segmentSizes.day],
        set: { visitors: sql`excluded.visitors`, customers: sql`excluded.customers`, ts: sql`excluded.ts` },
      });
  }
}

export type SegmentSizeDay = { day: string; visitors: number; customers: number };

/** Every segment's recorded sizes of the last `days` days, oldest first, by segment ID. */
export async function segmentSizeHistory(db: Db, siteId: number, now: number, days = 30) {
  const rows = await db
    .select({
      segmentId: segmentSizes.segmentId,
      day: segmentSizes.day,
      visitors: segmentSizes.visitors,
      customers: segmentSizes.customers,
    })
    .from(segmentSizes)
    .innerJoin(segments, eq(segments.id, segmentSizes.segmentId))
    .where(and(eq(segments.siteId, siteId), gte(segmentSizes.day, utcDayKey(now - (days - 1) * DAY))))
    .orderBy(asc(segmentSizes.segmentId), asc(segmentSizes.day));
  const history: Record<string, SegmentSizeDay[]> = {};
  for (const { segmentId, ...day } of rows) {
    history[segmentId] = [...(history[segmentId] ?? []), day];
  }
  return history;
}
