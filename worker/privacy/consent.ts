/**
 * The one answer to "may this visitor be personalised?" (docs/architecture.md, "Consent"): a visitor who
 * refused consent never is; on a `consent_mode: required` site only one who granted it is. A
 * visitor it refuses is treated as an anonymous browser everywhere: `/b` (no profile, no code, no
 * cookie ID on the impression), `/c` (the click is counted without its cookie), frequency-cap
 * counters and impressions (written without the cookie by the queue consumer), `/sync` (not
 * linked) and audience exports (not listed).
 *
 * `mayPersonalise` is the decision in TypeScript (for /b and /sync); `personalisableSql` is the
 * same decision inside the SQL that writes impressions, clicks and cap counters, where it also
 * refuses a cookie that was erased (worker/privacy/erasure.ts): a message queued before an
 * erasure or a consent change is judged when it is written, not when it was sent.
 */
import type { Site } from "../env";

export type Consent = "granted" | "denied" | null;

export function mayPersonalise(consentMode: Site["consentMode"], consent: Consent): boolean {
  if (consent === "denied") return false;
  return consentMode === "required" ? consent === "granted" : true;
}

/**
 * SQL (for raw D1 statements) that is true when the cookie bound at `cookie` (e.g. "?6") of the
 * site bound at `site` may be recorded: not erased, and `mayPersonalise` for its stored consent
 * under the site's consent mode bound at `mode`. The mode is a value, not a read of `sites`: the
 * statement runs where the cookie's visitor is, on a PEOPLE shard (docs/architecture.md, "Shards").
 */
export function personalisableSql(site: string, cookie: string, mode: string): string {
  return `(not exists (select 1 from erasures where site_id = ${site} and kind = 'cookie' and subject = ${cookie})
    and coalesce((select case ${mode} when 'required' then v.consent = 'granted'
        else coalesce(v.consent, '') != 'denied' end
      from (select 1) left join visitors v on v.site_id = ${site} and v.cookie_id = ${cookie}), 0))`;
}
