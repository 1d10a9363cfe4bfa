/** Creating sites, updating their settings and rotating their API keys. */

import type { z } from "@hono/zod-openapi";
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { issueApiKey, type KeyScope } from "../auth/api-keys";
import { apiKeys, sites } from "../db/schema";
import { forgetDecisionSite } from "../decide/trusted-sites";
import type { Db, Site } from "../env";
import { apiError } from "../errors";
import { forgetCachedSite } from "./site-cache";
import { type SiteSettingsSchema, settingsToColumns } from "./site-settings";

type Settings = z.infer<typeof SiteSettingsSchema>;

export async function createSite(
  db: Db,
  input: { key: string } & Partial<Settings> & { name: string; shards?: number[] | null },
) {
  const columns = Object.fromEntries(
    Object.entries(settingsToColumns(input)).filter(([, value]) => value !== undefined),
  );
  const [site] = await db
    .insert(sites)
    .values({ ...columns, key: input.key, name: input.name, shards: input.shards ?? null })
    .onConflictDoNothing({ target: sites.key })
    .returning();
  if (!site) throw apiError(409, "site_exists", `A site with key "${input.key}" exists already`);
  const apiKey = await issueApiKey(db, site.id);
  return { site, apiKey };
}

export async function updateSite(db: Db, site: Site, patch: Partial<Settings>): Promise<Site> {
  const columns = Object.fromEntries(Object.entries(settingsToColumns(patch)).filter(([, v]) => v !== undefined));
  if (Object.keys(columns).length === 0) return site;
  const [updated] = await db
    .update(sites)
    .set({ ...columns, updatedAt: Date.now() })
    .where(eq(sites.id, site.id))
    .returning();
  forgetCachedSite(site.key);
  forgetDecisionSite(site.id);
  return updated;
}

/** Issues a new key; with `revokeOthers`, every other key of the site stops working at once. */
/** Issues a key of `scope`; `revokeOthers` revokes the site's other live keys of the same scope. */
export async function rotateApiKeys(db: Db, siteId: number, scope: KeyScope, revokeOthers: boolean) {
  const fresh = await issueApiKey(db, siteId, scope);
  let revoked = 0;
  if (revokeOthers) {
    const result = await db
      .update(apiKeys)
      .set({ revokedAt: Date.now() })
      .where(
        and(eq(apiKeys.siteId, siteId), eq(apiKeys.scope, scope), ne(apiKeys.id, fresh.id), isNull(apiKeys.revokedAt)),
      )
      .returning({ id: apiKeys.id });
    revoked = result.length;
  }
  return { fresh, revoked };
}

export async function listApiKeys(db: Db, siteId: number) {
  return db
    .select({
      id: apiKeys.id,
      prefix: apiKeys.prefix,
      scope: apiKeys.scope,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.siteId, siteId))
    .orderBy(apiKeys.id);
}

export async function revokeApiKey(db: Db, siteId: number, keyId: number) {
  const active = await db
    .select({ count: sql<number>`count(*)` })
    .from(apiKeys)
    .where(
      and(eq(apiKeys.siteId, siteId), isNull(apiKeys.revokedAt), ne(apiKeys.id, keyId), eq(apiKeys.scope, "admin")),
    );
  // Ingest-only keys cannot manage the site: the last admin key stays.
  if ((active[0]?.count ?? 0) === 0) {
    throw apiError(409, "last_key", "This is the site's last active admin key; rotate instead of revoking it");
  }
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: Date.now() })
    .where(and(eq(apiKeys.siteId, siteId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (!row) throw apiError(404, "not_found", `No active API key ${keyId} in this site`);
}

/** Bumps the version that the decision path's per-isolate cache is keyed on. */
export async function bumpRulesVersion(db: Db, siteId: number) {
  await db
    .update(sites)
    .set({ rulesVersion: sql`${sites.rulesVersion} + 1` })
    .where(eq(sites.id, siteId));
  // Anonymous banners of this isolate trust their site row for seconds: they must see this write at once.
  forgetDecisionSite(siteId);
}
