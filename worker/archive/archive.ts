/**
 * The raw event archive (docs/architecture.md, "Raw event archive"): raw events are NDJSON objects
 * in the R2 bucket `ARCHIVE`, not D1 rows — D1 bills every row and index entry written, and a raw
 * event is read only by the recent-events view. One object per consumer batch (per site), or per
 * direct write, at
 *
 *   site/<siteId>/<YYYY-MM-DD>/<8 digits: ms left until the day's end>-<name>.ndjson
 *
 * Days sort oldest first (retention deletes whole day prefixes, a lifecycle rule matches them),
 * and within a day the newest object lists first: R2 lists keys in ascending order only, and the
 * recent view wants the newest objects of a day without listing the whole day.
 *
 * A line holds exactly the columns the D1 `events` table held (cookie ID, receive time, type,
 * name, client time, URL, referrer, props) — never more personal data than that table.
 *
 * Order against D1: the object is written first and the D1 batch second. A failed put throws
 * before anything is applied, so the batch is retried, not lost; a failed D1 batch removes the
 * lines again (the retry writes them anew), since the profile writes are not idempotent and the
 * D1 batch must not be re-applied just to repair the archive.
 */
import { type SQL, sql } from "drizzle-orm";
import { sha256Hex } from "../auth/crypto";
import type { TagEvent } from "../collect/event-schema";
import { logError } from "../lib/log";
import { MS_PER_DAY, utcDayKey } from "../lib/time";

/** One NDJSON line: the D1 `events` table's columns (site_id is in the key). */
export type ArchivedEvent = {
  cookie_id: string;
  received_at: number;
  type: string;
  name: string | null;
  ts: number;
  url: string | null;
  ref: string | null;
  props: Record<string, unknown> | null;
};

/** One visitor's validated batch as the archive receives it. */
export type ArchiveBatch = { cookieId: string; receivedAt: number; events: readonly TagEvent[] };

export function archiveLines(batches: readonly ArchiveBatch[]): ArchivedEvent[] {
  return batches.flatMap(({ cookieId, receivedAt, events }) =>
    events.map((event) => ({
      cookie_id: cookieId,
      received_at: receivedAt,
      type: event.type,
      name: "name" in event ? (event.name ?? null) : null,
      ts: event.ts,
      url: event.url ?? null,
      ref: event.ref ?? null,
      props: (event.props as Record<string, unknown> | undefined) ?? null,
    })),
  );
}

export function toNdjson(lines: readonly ArchivedEvent[]): string {
  return lines.map((line) => `${JSON.stringify(line)}\n`).join("");
}

export function parseNdjson(text: string): ArchivedEvent[] {
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ArchivedEvent);
}

export function sitePrefix(siteId: number): string {
  return `site/${siteId}/`;
}

export function dayPrefix(siteId: number, day: string): string {
  return `${sitePrefix(siteId)}${day}/`;
}

/** The object key for a write at `at` (ms) named `name`: see the module header. */
export function archiveKey(siteId: number, at: number, name: string): string {
  const left = MS_PER_DAY - 1 - (at - Math.floor(at / MS_PER_DAY) * MS_PER_DAY);
  return `${dayPrefix(siteId, utcDayKey(at))}${String(left).padStart(8, "0")}-${name}.ndjson`;
}

/**
 * A name derived from the content and the queue's message IDs: a redelivery of the same messages
 * writes the same key again instead of a second copy of its lines.
 */
export async function contentName(messageIds: readonly string[], ndjson: string): Promise<string> {
  return (await sha256Hex(`${[...messageIds].sort().join(",")}\n${ndjson}`)).slice(0, 24);
}

const NDJSON = { httpMetadata: { contentType: "application/x-ndjson" } };

/** Writes `lines` at `key` (nothing when there are none). Throws when R2 refuses. */
export async function putLines(bucket: R2Bucket, key: string, lines: readonly ArchivedEvent[]): Promise<void> {
  if (lines.length === 0) return;
  await bucket.put(key, toNdjson(lines), NDJSON);
}

/** Replaces the object at `key` with `lines`, or deletes it when none are left. */
export async function rewriteLines(bucket: R2Bucket, key: string, lines: readonly ArchivedEvent[]): Promise<void> {
  if (lines.length === 0) await bucket.delete(key);
  else await bucket.put(key, toNdjson(lines), NDJSON);
}

/**
 * A direct write (no queue, the server-side events, a deferred batch): the object at a fresh key,
 * then `apply` (the D1 batch). If `apply` throws, the object is removed before the error goes on,
 * so a retried call archives its lines once.
 */
export async function archiveThenApply<T>(
  bucket: R2Bucket,
  siteId: number,
  batches: readonly ArchiveBatch[],
  now: number,
  apply: () => Promise<T>,
): Promise<T> {
  const lines = archiveLines(batches);
  if (lines.length === 0) return apply();
  const key = archiveKey(siteId, now, crypto.randomUUID().replaceAll("-", ""));
  await putLines(bucket, key, lines);
  try {
    return await apply();
  } catch (error) {
    await bucket
      .delete(key)
      .catch((cleanup) => logError("archive.cleanup_failed", { site: siteId, key, error: cleanup }));
    throw error;
  }
}

/**
 * Part of every event batch's D1 writes (collect/apply-events.ts), run after its archive object was
 * written: when the cookie was erased meanwhile — the erasure's own sweep may already have passed
 * that object — it asks for one more sweep of this cookie from the batch's day (erasure-sweep.ts).
 * It writes nothing otherwise.
 */
export function archiveErasureGuard(siteId: number, cookieId: string, now: number): SQL {
  return sql`
    insert into archive_sweeps (site_id, cookies, from_day, created_at)
    select ${siteId}, json_array(${cookieId}), ${utcDayKey(now)}, ${now}
    where exists (select 1 from erasures where site_id = ${siteId} and kind = 'cookie' and subject = ${cookieId})
  `;
}

/** The objects read at most for one recent-events answer (a bound on R2 reads per request). */
const RECENT_OBJECTS = 50;

/**
 * The site's newest archived events received since `since`, newest first: the day prefixes that
 * exist (one list with a delimiter), then the newest objects of each day, newest day first.
 */
export async function readRecentEvents(
  bucket: R2Bucket,
  siteId: number,
  since: number,
  limit: number,
): Promise<(ArchivedEvent & { id: string })[]> {
  const days: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: sitePrefix(siteId), delimiter: "/", cursor });
    days.push(...page.delimitedPrefixes);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const sinceDay = dayPrefix(siteId, utcDayKey(since));
  const found: (ArchivedEvent & { id: string })[] = [];
  let objects = 0;
  for (const day of days
    .filter((d) => d >= sinceDay)
    .sort()
    .reverse()) {
    const listed = await bucket.list({ prefix: day, limit: RECENT_OBJECTS - objects });
    for (const { key } of listed.objects) {
      const body = await bucket.get(key);
      objects += 1;
      if (!body) continue;
      parseNdjson(await body.text()).forEach((line, i) => {
        if (line.received_at >= since) found.push({ ...line, id: `${key.slice(day.length, -".ndjson".length)}:${i}` });
      });
      if (found.length >= limit) break;
    }
    if (found.length >= limit || objects >= RECENT_OBJECTS) break;
  }
  return found.sort((a, b) => b.received_at - a.received_at || b.ts - a.ts).slice(0, limit);
}
