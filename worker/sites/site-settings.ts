/** A site's settings as the public contract shows them (`GET /api/v1/site`), and their validation. */
import { z } from "@hono/zod-openapi";
import type { Site } from "../env";

/** The runtime's own ISO 4217 list (ICU): a code it cannot format is refused, not stored. */
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

const origin = z
  .string()
  .max(200)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "must be an origin like https://shop.example (scheme, host and optional port, no path)");

export const SiteSettingsSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    allowed_origins: z.array(origin).max(50),
    cookie_domain: z
      .string()
      .regex(/^\.?([a-z0-9-]+\.)*[a-z0-9-]+$/i, "must be a host name like shop.example")
      .max(253)
      .nullable(),
    consent_mode: z.enum(["required", "implied"]),
    holdout: z.number().min(0).max(1),
    retention_days: z.number().int().min(1).max(3650),
    coupon_param: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "letters, digits, _ and - only (1-40)"),
    claim_policy: z.enum(["any", "visited", "customers"]).openapi({
      description:
        'Who may claim a coupon code from a banner (README, "Coupon claims"): `any` visitor, one with at ' +
        "least `claim_min_visits` visits (`visited`; linked customers too), or only visitors linked to a CRM " +
        "customer (`customers`). A refused claim shows the rule's banner without a code",
    }),
    claim_min_visits: z.number().int().min(1).max(1000).openapi({ description: "Visits `visited` asks for" }),
    /** May CRM customers imported without `ads_consent` be exported in the e-mail ID spaces. */
    crm_ads_consent_default: z.boolean(),
    currency: z
      .string()
      .refine((code) => CURRENCIES.has(code), "must be an ISO 4217 currency code in capitals, like EUR or USD")
      .openapi({
        description: "The currency of the shop's order values (ISO 4217); reports show revenue in it",
        example: "EUR",
      }),
  })
  .strict();

export const SiteSchema = SiteSettingsSchema.extend({
  key: z.string().openapi({ example: "demo" }),
}).openapi("Site");

export const SITE_KEY_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

export function siteToJson(site: Site): z.infer<typeof SiteSchema> {
  return {
    key: site.key,
    name: site.name,
    allowed_origins: site.allowedOrigins,
    cookie_domain: site.cookieDomain,
    consent_mode: site.consentMode,
    holdout: site.holdout,
    retention_days: site.retentionDays,
    coupon_param: site.couponParam,
    claim_policy: site.claimPolicy,
    claim_min_visits: site.claimMinVisits,
    crm_ads_consent_default: site.crmAdsConsentDefault,
    currency: site.currency,
  };
}

type SettingsPatch = Partial<z.infer<typeof SiteSettingsSchema>>;

/** Maps contract field names onto the drizzle columns. */
export function settingsToColumns(patch: SettingsPatch) {
  return {
    name: patch.name,
    allowedOrigins: patch.allowed_origins,
    cookieDomain: patch.cookie_domain,
    consentMode: patch.consent_mode,
    holdout: patch.holdout,
    retentionDays: patch.retention_days,
    couponParam: patch.coupon_param,
    claimPolicy: patch.claim_policy,
    claimMinVisits: patch.claim_min_visits,
    crmAdsConsentDefault: patch.crm_ads_consent_default,
    currency: patch.currency,
  };
}
