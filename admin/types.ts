/** The management API's JSON as the admin pages read it (DESIGN.md, "Public contract"). */
export type Segment = { id: number; name: string; expression: string };
export type Creative = {
  id: number;
  name: string;
  format: "html" | "svg" | "json";
  template: string | Record<string, unknown>;
  width: number;
  height: number;
  landing_url: string;
};
export type Rule = {
  id: number;
  name: string;
  placement: string;
  segment_id: number | null;
  creative_id: number;
  pool_id: number | null;
  priority: number;
  starts_at: string | null;
  ends_at: string | null;
  cap_per_day: number | null;
  holdout: number | null;
  stop_after_conversion: boolean;
  enabled: boolean;
};
export type Pool = {
  id: number;
  name: string;
  kind: "list" | "generated";
  prefix: string;
  valid_days: number;
  discount: string;
  counts: { total: number; free: number | null; assigned: number; expired: number; redeemed: number };
};
export type Partner = { id: number; key: string; name: string; sync_url: string | null };
export type Audience = {
  id: number;
  name: string;
  kind: string;
  segment_id: number | null;
  params: Record<string, unknown>;
  size?: number;
  refreshed_at?: number | null;
};
export type Webhook = { id: number; url: string; segment_id: number; enabled?: boolean };
export type SiteJson = {
  key: string;
  name: string;
  allowed_origins: string[];
  cookie_domain: string | null;
  consent_mode: "required" | "implied";
  holdout: number;
  retention_days: number;
  coupon_param: string;
};
export type ApiKey = { id: number; prefix: string; created_at: number; revoked_at: number | null };
export type User = {
  id: number;
  email: string;
  role: "admin" | "marketer" | "viewer";
  created_at: number;
  locked_until: number | null;
};
