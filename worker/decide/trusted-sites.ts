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
import { IsolateCache } from "../lib/isolate-cache";
import type { DecisionSite } from "./load";

const SITE_TRUST_MS = 10_000;
const trusted = new IsolateCache<DecisionSite>(SITE_TRUST_MS);

export function rememberDecisionSite(site: DecisionSite, now: number) {
  trusted.set(site.key, site, now);
}

/** The site as last read from D1, if that was less than SITE_TRUST_MS ago. */
export function trustedDecisionSite(siteKey: string, now: number): DecisionSite | undefined {
  return trusted.get(siteKey, now);
}

/** After a write to the site's rules or settings in this isolate. */
export function forgetDecisionSite(siteId: number) {
  trusted.deleteWhere((site) => site.id === siteId);
}
