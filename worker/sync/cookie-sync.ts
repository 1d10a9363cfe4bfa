/**
 * Cookie sync: a partner's pixel calls `/sync` with its own user ID; tagwerk links it to the
 * visitor's `tw_id` cookie so that banners (`/b?p=&puid=`) and audience exports can speak the
 * partner's ID space. One partner user ID points at one cookie per site (the unique index on
 * id_links; the latest sync wins), and nothing is linked for a visitor who refused consent.
 */
import { and, eq, sql } from "drizzle-orm";
import { idLinks, visitors } from "../db/schema";
import type { Db, Site } from "../env";
import { SECONDS_PER_DAY } from "../lib/time";
import { MAX_COOKIE_DAYS } from "../lib/visitor-cookie";
import { type Consent, mayPersonalise } from "../privacy/consent";
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

export async function visitorConsent(db: Db, siteId: number, cookieId: string): Promise<Consent> {
  const [row] = await db
    .select({ consent: visitors.consent })
    .from(visitors)
    .where(and(eq(visitors.siteId, siteId), eq(visitors.cookieId, cookieId)));
  return row?.consent ?? null;
}

/**
 * Records (partner, partner user ID) → cookie ID. An upsert on the unique (site, partner, puid)
 * index: when the partner ID was synced before with another cookie, the latest sync wins.
 */
export async function recordLink(
  db: Db,
  siteId: number,
  partnerKey: string,
  partnerUserId: string,
  cookieId: string,
  now: number,
): Promise<void> {
  await db
    .insert(idLinks)
    .values({ siteId, partnerKey, partnerUserId, cookieId, updatedAt: now })
    .onConflictDoUpdate({
      target: [idLinks.siteId, idLinks.partnerKey, idLinks.partnerUserId],
      set: { cookieId: sql`excluded.cookie_id`, updatedAt: sql`excluded.updated_at` },
    });
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
