/**
 * Per-site API keys for server-to-server calls (`Authorization: Bearer KEY`). Only the SHA-256 of
 * a key is stored; the key itself is shown once, when it is made.
 *
 * A key's scope is `admin` (the whole management API) or `ingest`: it may only send events —
 * `POST /api/v1/events` and the Segment-compatible `/v1/*` — and answers 403 everywhere else. That is
 * the key a shop pastes into Segment, RudderStack or Jitsu, where a leak must not hand over the
 * tenant (README, "API keys"). A route accepts ingest keys by declaring the scope in its security
 * requirement (`security: [{ apiKey: ["ingest"] }]`, worker/lib/secured-route.ts).
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { apiKeys, sites } from "../db/schema";
import type { AppEnv, Db } from "../env";
import { apiError } from "../errors";
import { randomBytes, sha256Hex, timingSafeEqualText, toBase64Url } from "./crypto";

const KEY_PREFIX = "tw_";

function generateApiKey(): string {
  return KEY_PREFIX + toBase64Url(randomBytes(32));
}

/** @internal Exported for the bench and the seed scripts; the Worker itself does not import it. */
export const hashApiKey = sha256Hex;

export type KeyScope = "admin" | "ingest";

/** Stores a new key for the site and returns it in clear, the only time it is ever seen. */
export async function issueApiKey(db: Db, siteId: number, scope: KeyScope = "admin", key = generateApiKey()) {
  const [row] = await db
    .insert(apiKeys)
    .values({ siteId, prefix: key.slice(0, 10), hash: await hashApiKey(key), scope })
    .returning({ id: apiKeys.id, prefix: apiKeys.prefix, scope: apiKeys.scope, createdAt: apiKeys.createdAt });
  return { ...row, key };
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** The user name of an HTTP Basic header (Segment's clients send the write key there, password empty). */
export function basicUser(header: string | undefined): string | undefined {
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i);
  if (!match) return undefined;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return undefined;
  }
  const user = decoded.split(":")[0];
  return user === "" ? undefined : user;
}

/** Resolves an API key to its site, or undefined. */
export async function findSiteByApiKey(db: Db, key: string) {
  const hash = await hashApiKey(key);
  const [row] = await db
    .select({ site: sites, keyHash: apiKeys.hash, keyId: apiKeys.id, scope: apiKeys.scope })
    .from(apiKeys)
    .innerJoin(sites, eq(sites.id, apiKeys.siteId))
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  // The lookup is by hash (an index seek); the explicit constant-time check keeps the comparison
  // itself free of timing differences whatever the database does.
  if (!row || !(await timingSafeEqualText(row.keyHash, hash))) return undefined;
  return row;
}

const UNAUTHORIZED_HEADERS = { "WWW-Authenticate": 'Bearer realm="tagwerk"' };

/** Resolves the Bearer key of the request to its site, or answers 401. */
async function bearerKeySite(c: Context<AppEnv>) {
  const key = bearerToken(c.req.header("Authorization"));
  if (!key) {
    throw apiError(401, "unauthorized", "Missing API key: send Authorization: Bearer KEY", UNAUTHORIZED_HEADERS);
  }
  const found = await findSiteByApiKey(c.var.db, key);
  if (!found) throw apiError(401, "unauthorized", "Unknown or revoked API key", UNAUTHORIZED_HEADERS);
  return found;
}

/**
 * Management API authentication: a site's admin-scope API key acts with the admin role on that
 * site only; an ingest-only key is refused (403). Another authenticator (the admin UI's session)
 * may already have set `site`; then this passes.
 */
export const requireApiKey = createMiddleware<AppEnv>(async function requireApiKey(c, next) {
  if (c.get("site")) return next();
  const found = await bearerKeySite(c);
  if (found.scope !== "admin") {
    throw apiError(403, "ingest_key", "This key may only send events (POST /api/v1/events, /v1/*)");
  }
  c.set("site", found.site);
  c.set("role", "admin");
  await next();
});

/**
 * For the routes that send events: any key of the site. An ingest-only key acts as a marketer
 * (what sending events needs), an admin key as an admin.
 */
export const requireEventsKey = createMiddleware<AppEnv>(async function requireEventsKey(c, next) {
  if (c.get("site")) return next();
  const found = await bearerKeySite(c);
  c.set("site", found.site);
  c.set("role", found.scope === "admin" ? "admin" : "marketer");
  await next();
});
