/**
 * Partners (ad networks, DSPs) registered per site: the key that names them in `/sync?p=` and in
 * export ID spaces, and the sync URL that `/sync` may redirect to — the only redirect target.
 */
import { and, asc, eq } from "drizzle-orm";
import { BUILT_IN_SPACES } from "../audiences/id-spaces";
import { createDb } from "../db/client";
import { idLinks, partners } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

export type Partner = typeof partners.$inferSelect;

export const PARTNER_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** `tw`, `email_sha256` and `uid2_email` name tagwerk's own ID spaces in exports: no partner may take them. */
const RESERVED_PARTNER_KEYS = BUILT_IN_SPACES;
/** Replaced by the visitor's tw_id when /sync redirects to a partner. */
export const TW_ID_PLACEHOLDER = "{tw_id}";

export function partnerToJson(p: Partner) {
  return { id: p.id, key: p.key, name: p.name, sync_url: p.syncUrl, created_at: p.createdAt };
}

export function listPartners(db: Db, siteId: number) {
  return db.select().from(partners).where(eq(partners.siteId, siteId)).orderBy(asc(partners.id));
}

export async function getPartner(db: Db, siteId: number, id: number): Promise<Partner> {
  const [row] = await db
    .select()
    .from(partners)
    .where(and(eq(partners.siteId, siteId), eq(partners.id, id)));
  if (!row) throw apiError(404, "not_found", `No partner ${id} in this site`);
  return row;
}

export async function findPartnerByKey(db: Db, siteId: number, key: string): Promise<Partner | undefined> {
  const [row] = await db
    .select()
    .from(partners)
    .where(and(eq(partners.siteId, siteId), eq(partners.key, key)));
  return row;
}

export async function createPartner(
  db: Db,
  siteId: number,
  input: { key: string; name: string; sync_url?: string | null },
): Promise<Partner> {
  if (RESERVED_PARTNER_KEYS.has(input.key)) throw apiError(400, "validation_failed", `key: "${input.key}" is reserved`);
  const [row] = await db
    .insert(partners)
    .values({ siteId, key: input.key, name: input.name, syncUrl: input.sync_url ?? null })
    .onConflictDoNothing()
    .returning();
  if (!row) throw apiError(409, "conflict", `A partner with key "${input.key}" exists in this site`);
  return row;
}

/** The key is immutable: id_links and export URLs name the partner by it. */
export async function updatePartner(
  db: Db,
  siteId: number,
  id: number,
  patch: { name?: string; sync_url?: string | null },
): Promise<Partner> {
  await getPartner(db, siteId, id);
  const set: Partial<typeof partners.$inferInsert> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.sync_url !== undefined) set.syncUrl = patch.sync_url;
  if (Object.keys(set).length === 0) return getPartner(db, siteId, id);
  const [row] = await db
    .update(partners)
    .set(set)
    .where(and(eq(partners.siteId, siteId), eq(partners.id, id)))
    .returning();
  return row;
}

/**
 * Deleting a partner forgets its ID links too: they mean nothing without it. The links are on
 * every shard of the site's set (by partner user ID): deleted there first, then the partner in
 * HOME, so a failure part-way leaves the partner to delete again, never links without a partner.
 */
export async function deletePartner(env: ShardEnv, site: { id: number; shards: ShardSet }, id: number): Promise<void> {
  const db = createDb(env.DB);
  const partner = await getPartner(db, site.id, id);
  await Promise.all(
    peopleOfSite(env, site).map(({ db: people }) =>
      people.delete(idLinks).where(and(eq(idLinks.siteId, site.id), eq(idLinks.partnerKey, partner.key))),
    ),
  );
  await db.delete(partners).where(and(eq(partners.siteId, site.id), eq(partners.id, id)));
}
