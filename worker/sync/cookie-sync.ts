/**
 * Cookie sync: a partner's pixel calls `/sync` with its own user ID; tagwerk links it to the
 * visitor's `tw_id` cookie so that banners (`/b?p=&puid=`) and audience exports can speak the
 * partner's ID space. One partner user ID points at one cookie per site (the unique index on
 * id_links; the latest sync wins), and nothing is linked for a visitor who refused consent.
 *
 * A link lives on the shard of its partner user ID (`PARTNER:USER_ID`, docs/architecture.md,
 * "Shards"): `/b` with a partner ID finds it with no lookup (resolvePartner()), then reads the
 * cookie's row on the cookie's shard. What starts from cookies — audience exports in a partner's
 * ID space, erasure — asks every shard of the set (partnerIdsOfCookies()).
 */
import { and, eq, sql } from "drizzle-orm";
import { idLinks, visitors } from "../db/schema";
import type { Site } from "../env";
import { SECONDS_PER_DAY } from "../lib/time";
import { MAX_COOKIE_DAYS } from "../lib/visitor-cookie";
import { type Consent, mayPersonalise } from "../privacy/consent";
import { peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";
import { TW_ID_PLACEHOLDER } from "./partners";
import { GDPR_CONSENT_PLACEHOLDER, GDPR_PLACEHOLDER, type TcfSignal } from "./tcf";

/**
 * The sync pixel is loaded on the partner's page, so tagwerk's cookie is a third-party cookie
 * there: a SameSite=Lax or Strict cookie is neither sent with nor stored from a cross-site image
 * request. SameSite=None (which requires Secure) is the only setting under which sync can work;
 * the lifetime follows the site's retention, at most 400 days.
 */
export function syncCookieMaxAge(site: Site) {
  return Math.min(site.retentionDays, MAX_COOKIE_DAYS) * SECONDS_PER_DAY;
}

/** Whether the site's consent mode lets this visitor be linked to a partner (privacy/consent.ts). */
export function consentAllowsLinking(site: Site, consent: Consent): boolean {
  return mayPersonalise(site.consentMode, consent);
}

type SiteShards = { id: number; shards: ShardSet };

/** The key of an id_links row, which picks its shard: the partner's user ID in the partner's space. */
function partnerLinkKey(partnerKey: string, partnerUserId: string): string {
  return `${partnerKey}:${partnerUserId}`;
}

/** The consent the visitor's row holds, read on the cookie's shard. */
export async function visitorConsent(env: ShardEnv, site: SiteShards, cookieId: string): Promise<Consent> {
  const [row] = await peopleFor(env, site, cookieId)
    .db.select({ consent: visitors.consent })
    .from(visitors)
    .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookieId)));
  return row?.consent ?? null;
}

/**
 * Records (partner, partner user ID) → cookie ID. An upsert on the unique (site, partner, puid)
 * index: when the partner ID was synced before with another cookie, the latest sync wins.
 */
export async function recordLink(
  env: ShardEnv,
  site: SiteShards,
  partnerKey: string,
  partnerUserId: string,
  cookieId: string,
  now: number,
): Promise<void> {
  await peopleFor(env, site, partnerLinkKey(partnerKey, partnerUserId))
    .db.insert(idLinks)
    .values({ siteId: site.id, partnerKey, partnerUserId, cookieId, updatedAt: now })
    .onConflictDoUpdate({
      target: [idLinks.siteId, idLinks.partnerKey, idLinks.partnerUserId],
      set: { cookieId: sql`excluded.cookie_id`, updatedAt: sql`excluded.updated_at` },
    });
}

/**
 * The cookie a partner user ID is synced to, or null: one keyed read on the link's shard (the
 * decision path's first step for `/b?p=&puid=`; the cookie's row is then on the cookie's shard).
 */
export async function resolvePartner(
  env: ShardEnv,
  site: SiteShards,
  partnerKey: string,
  partnerUserId: string,
): Promise<string | null> {
  const row = await peopleFor(env, site, partnerLinkKey(partnerKey, partnerUserId))
    .d1.prepare("select cookie_id from id_links where site_id = ?1 and partner_key = ?2 and partner_user_id = ?3")
    .bind(site.id, partnerKey, partnerUserId)
    .first<{ cookie_id: string }>();
  return row?.cookie_id ?? null;
}

/**
 * The latest partner user ID of each of `cookies` in `partnerKey`'s space (a cookie synced several
 * times exports its latest ID only), asked of every shard of the set: a cookie's links are on the
 * shards of its partner IDs. What an audience export in a partner's ID space reads, page by page
 * of members (bounded by the caller: the cookies are one bound JSON parameter per shard).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function partnerIdsOfCookies(
  env: ShardEnv,
  site: SiteShards,
  partnerKey: string,
  cookies: readonly string[],
): Promise<Map<string, string>> {
  const latest = new Map<string, { id: string; at: number; row: number }>();
  if (cookies.length === 0) return new Map();
  const answers = await Promise.all(
    peopleOfSite(env, site).map((people) =>
      people.d1
        .prepare(
          `select cookie_id, partner_user_id, updated_at, id from id_links
            where site_id = ?1 and partner_key = ?2 and cookie_id in (select value from json_each(?3))`,
        )
        .bind(site.id, partnerKey, JSON.stringify(cookies))
        .all<{ cookie_id: string; partner_user_id: string; updated_at: number; id: number }>(),
    ),
  );
  for (const { results } of answers) {
    for (const row of results) {
      const seen = latest.get(row.cookie_id);
      // Newest first, as the single-database export ordered them (updated_at, then id).
      if (!seen || row.updated_at > seen.at || (row.updated_at === seen.at && row.id > seen.row)) {
        latest.set(row.cookie_id, { id: row.partner_user_id, at: row.updated_at, row: row.id });
      }
    }
  }
  return new Map([...latest].map(([cookie, { id }]) => [cookie, id]));
}

/**
 * The only redirect /sync ever makes: to the partner's registered sync URL, and only when the
 * caller asked for exactly that URL or asked for none. Anything else answers the GIF. The URL's
 * `{tw_id}`, `{gdpr}` and `{gdpr_consent}` are filled (percent-encoded; the last two empty when the
 * pixel carried no TCF signal), so the partner receives the consent string the pixel got.
 */
export function syncRedirectTarget(
  registered: string | null,
  requested: string | undefined,
  cookieId: string,
  tcf: TcfSignal = {},
): string | undefined {
  if (!registered) return undefined;
  if (requested !== undefined && requested !== registered) return undefined;
  const fill = (url: string, placeholder: string, value: string) =>
    url.split(placeholder).join(encodeURIComponent(value));
  return fill(
    fill(fill(registered, TW_ID_PLACEHOLDER, cookieId), GDPR_PLACEHOLDER, tcf.gdpr ?? ""),
    GDPR_CONSENT_PLACEHOLDER,
    tcf.consent ?? "",
  );
}

/** A transparent 1×1 GIF (43 bytes). */
export const PIXEL_GIF = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (ch) =>
  ch.charCodeAt(0),
);
