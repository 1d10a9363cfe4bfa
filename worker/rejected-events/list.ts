/**
 * Reading a site's rejected events back (`GET /api/v1/rejected-events`): what the shop sent that
 * tagwerk refused, newest first, by UTC day and reason, with keyset pagination on the row ID (a
 * cursor, never OFFSET), and what the flood bound only counted that day (write_counters).
 * Only the calling site's rows: rows of requests that named no known site are nobody's to read.
 */
import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import { rejectedEvents, writeCounters } from "../db/schema";
import type { Db } from "../env";
import { MS_PER_DAY } from "../lib/time";

export type RejectedQuery = { day?: string; reason?: string; limit: number; cursor?: number };

export async function listRejectedEvents(db: Db, siteId: number, query: RejectedQuery) {
  const conditions = [eq(rejectedEvents.siteId, siteId)];
  if (query.day) {
    const start = Date.parse(`${query.day}T00:00:00Z`);
    conditions.push(gte(rejectedEvents.receivedAt, start), lt(rejectedEvents.receivedAt, start + MS_PER_DAY));
  }
  // A prefix: `event 0: ` or `unknown event type` both narrow the list as a shop would expect.
  if (query.reason) {
    conditions.push(sql`substr(${rejectedEvents.reason}, 1, ${query.reason.length}) = ${query.reason}`);
  }
  if (query.cursor !== undefined) conditions.push(lt(rejectedEvents.id, query.cursor));
  const rows = await db
    .select({
      id: rejectedEvents.id,
      receivedAt: rejectedEvents.receivedAt,
      source: rejectedEvents.source,
      reason: rejectedEvents.reason,
      payload: rejectedEvents.payload,
    })
    .from(rejectedEvents)
    .where(and(...conditions))
    .orderBy(desc(rejectedEvents.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const counters = query.day
    ? await db
        .select({ reason: writeCounters.reason, kept: writeCounters.kept, refused: writeCounters.refused })
        .from(writeCounters)
        .where(and(eq(writeCounters.siteId, siteId), eq(writeCounters.day, query.day)))
        .orderBy(writeCounters.reason)
    : [];
  return {
    rejected_events: page.map((r) => ({
      id: r.id,
      received_at: r.receivedAt,
      source: r.source,
      reason: r.reason,
      payload: parsePayload(r.payload),
    })),
    next_cursor: rows.length > query.limit ? String(page[page.length - 1].id) : null,
    counts: counters,
  };
}

/** Stored payloads are JSON (scrubbed), or text cut at the size cap: shown as they are then. */
function parsePayload(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
