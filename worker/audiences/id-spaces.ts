/**
 * The ID spaces an audience is exported in, and each space's member IDs as one SQL query over
 * audience_members: `tw` (cookie IDs), a partner key (the partner's latest user ID per synced
 * cookie), `email_sha256` and `uid2_email` (the linked customer's hashes, one row per customer
 * however many of its cookies are members, and the CRM customers without cookies). Only members
 * whose consent allows export are listed: a cookie's own, and its customer's `ads_consent`.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Site } from "../env";

export const HASHED_EMAIL_SPACES = ["email_sha256", "uid2_email"] as const;
type HashedEmailSpace = (typeof HASHED_EMAIL_SPACES)[number];

/** Names that are spaces of tagwerk's own: no partner may take them as its key. */
export const BUILT_IN_SPACES = new Set<string>(["tw", ...HASHED_EMAIL_SPACES]);

function isHashedEmailSpace(space: string): space is HashedEmailSpace {
  return (HASHED_EMAIL_SPACES as readonly string[]).includes(space);
}

/** consent != 'denied'; on a consent_mode 'required' site only an explicit 'granted'. */
export function consentCondition(site: Site): SQL {
  return site.consentMode === "required"
    ? sql`v.consent = 'granted'`
    : sql`(v.consent is null or v.consent != 'denied')`;
}

/**
 * A cookie whose CRM customer said `ads_consent = false` is never exported, in any space: the
 * customer's refusal covers every device of theirs (README.md, "Cookie sync, audiences and webhooks").
 */
const NOT_REFUSED_BY_CUSTOMER = sql`not exists (select 1 from customers rc
  where rc.site_id = v.site_id and rc.customer_id = v.customer_id and rc.ads_consent = 0)`;

/**
 * May customer `c` be sent in an e-mail space: said yes at import, or never said and the site's
 * default (`crm_ads_consent_default`) is yes.
 */
export function customerAdsConsent(site: Site): SQL {
  return sql`(c.ads_consent = 1 or (c.ads_consent is null and ${site.crmAdsConsentDefault ? 1 : 0} = 1))`;
}

/**
 * `select value from ...`: the audience's exportable IDs in `space` (distinct, never NULL). The
 * hash columns are fixed names chosen here from a closed list, never taken from input.
 */
export function spaceValues(site: Site, audienceId: number, space: string): SQL {
  const consent = sql`${consentCondition(site)} and ${NOT_REFUSED_BY_CUSTOMER}`;
  if (space === "tw") {
    return sql`select m.cookie_id as value from audience_members m join visitors v on v.id = m.visitor_id
      where m.audience_id = ${audienceId} and v.site_id = ${site.id} and ${consent}`;
  }
  if (isHashedEmailSpace(space)) {
    // The people of the audience who are CRM customers: through a member cookie (whose own consent
    // must allow it too) or as a customer without cookies; either way the customer's consent decides.
    const column = sql.raw(space === "email_sha256" ? "c.email_sha256" : "c.uid2_email");
    const customerConsent = customerAdsConsent(site);
    return sql`select ${column} as value from audience_members m join visitors v on v.id = m.visitor_id
      join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id
      where m.audience_id = ${audienceId} and v.site_id = ${site.id} and ${consent} and ${customerConsent}
        and ${column} is not null
      union
      select ${column} as value from audience_customer_members cm
      join customers c on c.site_id = ${site.id} and c.id = cm.customer_row_id
      where cm.audience_id = ${audienceId} and ${customerConsent} and ${column} is not null`;
  }
  // A cookie synced several times with one partner exports its latest partner ID only.
  return sql`select l.partner_user_id as value from audience_members m
    join visitors v on v.id = m.visitor_id
    join id_links l on l.id = (
      select l2.id from id_links l2
      where l2.site_id = ${site.id} and l2.cookie_id = m.cookie_id and l2.partner_key = ${space}
      order by l2.updated_at desc, l2.id desc limit 1)
    where m.audience_id = ${audienceId} and v.site_id = ${site.id} and ${consent}`;
}
