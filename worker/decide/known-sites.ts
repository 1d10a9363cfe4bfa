/**
 * The sites this isolate decided for recently, by key: what lets a banner for a browser tagwerk
 * does not know (no cookie, no partner ID, no visitor token) be decided with no D1 round trip at
 * all (docs/architecture.md, "Decision path"). Such a visitor has no profile, caps, assignments or conversions, so
 * the decision needs only the site row and its compiled rules, and both are in the isolate.
 *
 * A site is trusted for SITE_TRUST_MS: a change made through another isolate reaches anonymous
 * banners here within that time (known visitors read the site with their batch and see it at
 * once). A change made through this isolate — a rules version bump or a settings update — drops
 * the entry at once (worker/sites/store.ts), so the next anonymous banner reads D1 again.
 */
import type { DecisionSite } from "./load";

const SITE_TRUST_MS = 10_000;
/** Bounded by the sites of a deployment; keys come from requests, so the oldest goes first. */
const MAX_SITES = 1_000;
const trusted = new Map<string, { site: DecisionSite; until: number }>();

export function rememberDecisionSite(site: DecisionSite, now: number) {
  if (!trusted.has(site.key) && trusted.size >= MAX_SITES) trusted.delete(trusted.keys().next().value as string);
  trusted.set(site.key, { site, until: now + SITE_TRUST_MS });
}

/** The site as last read from D1, if that was less than SITE_TRUST_MS ago. */
export function trustedDecisionSite(siteKey: string, now: number): DecisionSite | undefined {
  const hit = trusted.get(siteKey);
  return hit && hit.until > now ? hit.site : undefined;
}

/** After a write to the site's rules or settings in this isolate. */
export function forgetDecisionSite(siteId: number) {
  for (const [key, entry] of trusted) if (entry.site.id === siteId) trusted.delete(key);
}

/**
 * Forgets every site (tests that empty the database between files: a site key seeded again gets a
 * new row ID, which an entry of the emptied database would still name for SITE_TRUST_MS).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function forgetAllDecisionSites() {
  trusted.clear();
}
