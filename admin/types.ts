/**
 * The management API's JSON as the admin pages read it (README.md, "API reference"): inferred
 * from the routes' response schemas where they are exported, so a page cannot drift from the API.
 */
import type { z } from "@hono/zod-openapi";
import type { UserSchema } from "../worker/admin-api/users";
import type { AudienceSchema } from "../worker/audiences/routes";
import type { PoolSchema } from "../worker/coupons/pool-routes";
import type { CreativeSchema } from "../worker/creatives/store";
import type { RuleSchema } from "../worker/rules/store";
import type { SegmentSchema } from "../worker/segments/routes";
import type { WebhookSchema } from "../worker/webhooks/routes";

export type Segment = z.infer<typeof SegmentSchema>;
export type Creative = z.infer<typeof CreativeSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type Pool = z.infer<typeof PoolSchema>;
export type Partner = { id: number; key: string; name: string; sync_url: string | null };
export type Audience = z.infer<typeof AudienceSchema>;
export type Webhook = z.infer<typeof WebhookSchema>;
export type SiteJson = {
  key: string;
  name: string;
  allowed_origins: string[];
  cookie_domain: string | null;
  consent_mode: "required" | "implied";
  holdout: number;
  retention_days: number;
  coupon_param: string;
  claim_policy: "any" | "visited" | "customers";
  claim_min_visits: number;
  crm_ads_consent_default: boolean;
  currency: string;
};
export type ApiKey = {
  id: number;
  prefix: string;
  scope: "admin" | "ingest";
  created_at: number;
  revoked_at: number | null;
};
export type User = z.infer<typeof UserSchema>;
