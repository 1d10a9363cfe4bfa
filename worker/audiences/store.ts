/** Audiences of a site: CRUD with per-kind parameter validation, and their dated sizes. */
import { and, asc, desc, eq } from "drizzle-orm";
import { audienceCustomerMembers, audienceMembers, audienceSizes, audiences, segments } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import type { PeopleDb } from "../shards/routing";
import { type AudienceKind, parseParams } from "./kinds";

export type Audience = typeof audiences.$inferSelect;

export type AudienceInput = {
  name: string;
  kind: AudienceKind;
  segment_id?: number | null;
  params?: Record<string, unknown>;
};

export function audienceToJson(a: Audience) {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    segment_id: a.segmentId,
    params: a.params,
    size: a.size,
    refreshed_at: a.refreshedAt,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

export function listAudiences(db: Db, siteId: number) {
  return db.select().from(audiences).where(eq(audiences.siteId, siteId)).orderBy(asc(audiences.id));
}

export async function getAudience(db: Db, siteId: number, id: number): Promise<Audience> {
  const [row] = await db
    .select()
    .from(audiences)
    .where(and(eq(audiences.siteId, siteId), eq(audiences.id, id)));
  if (!row) throw apiError(404, "not_found", `No audience ${id} in this site`);
  return row;
}

/** The last `limit` dated sizes, oldest first: what the admin UI draws. */
export async function audienceSizeHistory(db: Db, audienceId: number, limit = 90) {
  const rows = await db
    .select({ day: audienceSizes.day, size: audienceSizes.size })
    .from(audienceSizes)
    .where(eq(audienceSizes.audienceId, audienceId))
    .orderBy(desc(audienceSizes.day))
    .limit(limit);
  return rows.reverse();
}

/** kind `segment` needs a segment of this site; every other kind takes none. */
async function checkSegment(db: Db, siteId: number, kind: AudienceKind, segmentId: number | null | undefined) {
  if (kind !== "segment") {
    if (segmentId != null) throw apiError(400, "validation_failed", `segment_id: only kind segment takes one`);
    return null;
  }
  if (segmentId == null) throw apiError(400, "validation_failed", "segment_id: required for kind segment");
  const [row] = await db
    .select({ id: segments.id })
    .from(segments)
    .where(and(eq(segments.siteId, siteId), eq(segments.id, segmentId)));
  if (!row) throw apiError(400, "validation_failed", `segment_id: no segment ${segmentId} in this site`);
  return segmentId;
}

export async function createAudience(db: Db, siteId: number, input: AudienceInput, now: number): Promise<Audience> {
  const params = parseParams(input.kind, input.params);
  const segmentId = await checkSegment(db, siteId, input.kind, input.segment_id);
  const [row] = await db
    .insert(audiences)
    .values({ siteId, name: input.name, kind: input.kind, segmentId, params, createdAt: now, updatedAt: now })
    .returning();
  return row;
}

/** A change of kind, segment or params takes effect at the next refresh. */
export async function updateAudience(
  db: Db,
  siteId: number,
  id: number,
  patch: Partial<AudienceInput>,
  now: number,
): Promise<Audience> {
  const current = await getAudience(db, siteId, id);
  const kind = patch.kind ?? current.kind;
  const kindChanged = kind !== current.kind;
  const params = parseParams(kind, patch.params ?? (kindChanged ? undefined : current.params));
  const segmentId = await checkSegment(
    db,
    siteId,
    kind,
    patch.segment_id !== undefined ? patch.segment_id : kind === "segment" ? current.segmentId : null,
  );
  const [row] = await db
    .update(audiences)
    .set({ name: patch.name ?? current.name, kind, segmentId, params, updatedAt: now })
    .where(and(eq(audiences.siteId, siteId), eq(audiences.id, id)))
    .returning();
  return row;
}

/**
 * Members and sizes go with it (explicitly, rather than trusting foreign-key enforcement). Members
 * are on every database of the site's set (`people`, docs/architecture.md "Shards"): a shard's are
 * deleted first, so a failure leaves the audience to delete again rather than orphaned members;
 * in HOME all goes in one batch, as always.
 */
export async function deleteAudience(db: Db, people: readonly PeopleDb[], siteId: number, id: number): Promise<void> {
  await getAudience(db, siteId, id);
  const members = (own: Db) =>
    [
      own.delete(audienceMembers).where(eq(audienceMembers.audienceId, id)),
      own.delete(audienceCustomerMembers).where(eq(audienceCustomerMembers.audienceId, id)),
    ] as const;
  for (const shard of people.filter((p) => p.shard !== null)) await shard.db.batch(members(shard.db));
  const own = [
    db.delete(audienceSizes).where(eq(audienceSizes.audienceId, id)),
    db.delete(audiences).where(and(eq(audiences.siteId, siteId), eq(audiences.id, id))),
  ] as const;
  if (people.some((p) => p.shard === null)) await db.batch([...members(db), ...own]);
  else await db.batch(own);
}
