/**
 * The whole tagwerk data model (DESIGN.md, "Data model"): the single source of truth for every
 * table. Migrations in migrations/ are generated from this file by drizzle-kit.
 *
 * Conventions: every row is scoped by `site_id`; times are integer milliseconds since the epoch
 * (segment day counts are plain arithmetic on them in SQL); free-form structures are JSON text.
 */
import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () => integer().notNull().default(sql`(cast(unixepoch('subsecond') * 1000 as integer))`);

export const sites = sqliteTable("sites", {
  id: integer().primaryKey({ autoIncrement: true }),
  key: text().notNull().unique(),
  name: text().notNull(),
  /** JSON array of origins (scheme://host[:port]) allowed to send events and embed the tag. */
  allowedOrigins: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  cookieDomain: text(),
  consentMode: text({ enum: ["required", "implied"] })
    .notNull()
    .default("implied"),
  /** Default holdout share for rules that do not set their own (0..1). */
  holdout: real().notNull().default(0.05),
  retentionDays: integer().notNull().default(395),
  /** Query parameter the shop reads a coupon code from on its landing pages. */
  couponParam: text().notNull().default("coupon"),
  /** Name of the Worker secret that signs this site's tokens (per-site keys are derived from it). */
  signingSecretRef: text().notNull().default("SIGNING_SECRET"),
  /** Bumped on every change to rules, creatives, segments, pools or fallbacks: the decision cache key. */
  rulesVersion: integer().notNull().default(1),
  createdAt: createdAt(),
  updatedAt: createdAt(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    /** First characters of the key, shown in the UI so a key can be recognised; not a secret. */
    prefix: text().notNull(),
    /** SHA-256 (hex) of the whole key; the key itself is never stored. */
    hash: text().notNull().unique(),
    createdAt: createdAt(),
    revokedAt: integer(),
    lastUsedAt: integer(),
  },
  (t) => [index("api_keys_site_idx").on(t.siteId)],
);

export const customers = sqliteTable(
  "customers",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    customerId: text().notNull(),
    /** SHA-256 (hex) of the lower-cased, trimmed e-mail address; the address is never stored. */
    emailSha256: text(),
    gender: text(),
    lifetimeRevenue: real(),
    orders: integer(),
    firstOrderAt: integer(),
    lastOrderAt: integer(),
    couponsRedeemed: integer(),
    /** JSON array of cluster names. */
    clusters: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** JSON object of free CRM attributes (`attr.NAME` columns). */
    attributes: text({ mode: "json" })
      .$type<Record<string, string | number | boolean | null>>()
      .notNull()
      .default(sql`'{}'`),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    uniqueIndex("customers_site_customer_idx").on(t.siteId, t.customerId),
    index("customers_site_email_idx").on(t.siteId, t.emailSha256),
  ],
);

export type CartItem = { sku: string; category?: string; price?: number; qty: number };

export const visitors = sqliteTable(
  "visitors",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    /** The `tw_id` cookie: 128 random bits as 32 hex characters. */
    cookieId: text().notNull(),
    /** CRM customer ID this cookie is linked to (identify, CRM link import). */
    customerId: text(),
    firstSeenAt: integer().notNull(),
    lastSeenAt: integer().notNull(),
    visits: integer().notNull().default(0),
    pageviews: integer().notNull().default(0),
    /** JSON {category: count}: product views and cart adds, all time. */
    interests: text({ mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
    /** JSON {category: {"YYYY-MM-DD": count}}: the same per day, last 90 days. */
    interestDays: text({ mode: "json" }).$type<Record<string, Record<string, number>>>().notNull().default(sql`'{}'`),
    /** JSON {"YYYY-MM-DD": visits}: visits per day, last 90 days. */
    visitDays: text({ mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
    cart: text({ mode: "json" }).$type<CartItem[]>().notNull().default(sql`'[]'`),
    cartItems: integer().notNull().default(0),
    cartValue: real().notNull().default(0),
    cartUpdatedAt: integer(),
    lastPurchaseAt: integer(),
    /** Consent as the tag last reported it: 'granted', 'denied', or null (never said). */
    consent: text({ enum: ["granted", "denied"] }),
    lookalikeScore: real(),
    /** How the visitor first arrived ('display', 'banner', 'direct', ...), for look-alike training. */
    acquisition: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("visitors_site_cookie_idx").on(t.siteId, t.cookieId),
    index("visitors_site_customer_idx").on(t.siteId, t.customerId),
    index("visitors_site_last_seen_idx").on(t.siteId, t.lastSeenAt),
  ],
);

/** The shop's products as the tag reports them (view/cart events) or a catalogue import sends them. */
export const products = sqliteTable(
  "products",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    sku: text().notNull(),
    name: text(),
    category: text(),
    price: real(),
    url: text(),
    imageUrl: text(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("products_site_sku_idx").on(t.siteId, t.sku),
    // The decision batch picks the newest product of the visitor's top category: an index range,
    // not a sort of the whole catalogue on every banner.
    index("products_site_category_idx").on(t.siteId, t.category, t.updatedAt),
  ],
);

export const partners = sqliteTable(
  "partners",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    key: text().notNull(),
    name: text().notNull(),
    /** Registered sync URL; `{tw_id}` in it is replaced by tagwerk's ID for the partner. */
    syncUrl: text(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("partners_site_key_idx").on(t.siteId, t.key)],
);

export const idLinks = sqliteTable(
  "id_links",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    partnerKey: text().notNull(),
    partnerUserId: text().notNull(),
    cookieId: text().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("id_links_partner_user_idx").on(t.siteId, t.partnerKey, t.partnerUserId),
    index("id_links_cookie_idx").on(t.siteId, t.cookieId, t.partnerKey),
  ],
);

export const events = sqliteTable(
  "events",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    cookieId: text().notNull(),
    type: text().notNull(),
    name: text(),
    /** Client time of the event (ms), as sent by the tag. */
    ts: integer().notNull(),
    receivedAt: integer().notNull(),
    url: text(),
    ref: text(),
    props: text({ mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index("events_site_received_idx").on(t.siteId, t.receivedAt),
    index("events_site_cookie_idx").on(t.siteId, t.cookieId),
  ],
);

export const rejectedEvents = sqliteTable(
  "rejected_events",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** Null when the site itself could not be resolved. */
    siteId: integer(),
    siteKey: text(),
    /** Where it was refused: 'collect', 'queue', ... */
    source: text().notNull(),
    reason: text().notNull(),
    /** The offending input, truncated to a bounded size. */
    payload: text(),
    receivedAt: integer().notNull(),
  },
  (t) => [index("rejected_events_site_idx").on(t.siteId, t.receivedAt)],
);

/** Bots are counted per site and day, never stored as visitors. */
export const botCounts = sqliteTable(
  "bot_counts",
  {
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    day: text().notNull(),
    hits: integer().notNull().default(0),
  },
  (t) => [uniqueIndex("bot_counts_site_day_idx").on(t.siteId, t.day)],
);

export const segments = sqliteTable(
  "segments",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    name: text().notNull(),
    expression: text().notNull(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("segments_site_idx").on(t.siteId)],
);

export const creatives = sqliteTable(
  "creatives",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    name: text().notNull(),
    format: text({ enum: ["html", "svg", "json"] }).notNull(),
    /** HTML or SVG source with {{variables}}; for `json`, a JSON object of fields. */
    template: text().notNull(),
    width: integer().notNull(),
    height: integer().notNull(),
    landingUrl: text().notNull(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("creatives_site_idx").on(t.siteId)],
);

export const couponPools = sqliteTable(
  "coupon_pools",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    name: text().notNull(),
    kind: text({ enum: ["list", "generated"] }).notNull(),
    prefix: text().notNull().default(""),
    validDays: integer().notNull().default(30),
    /** Shown in creatives as {{discount}}, e.g. "10 %" or "15 EUR". */
    discount: text().notNull().default(""),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("coupon_pools_site_idx").on(t.siteId)],
);

export const coupons = sqliteTable(
  "coupons",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    poolId: integer()
      .notNull()
      .references(() => couponPools.id, { onDelete: "cascade" }),
    code: text().notNull(),
    /**
     * Who holds the code: `c:CUSTOMER_ID` for a linked customer (across devices) or `v:COOKIE_ID`.
     * The unique index on (pool, holder) is what makes "one code per person per pool" atomic.
     */
    holder: text(),
    cookieId: text(),
    customerId: text(),
    ruleId: integer(),
    assignedAt: integer(),
    expiresAt: integer(),
    redeemedAt: integer(),
    orderId: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("coupons_site_code_idx").on(t.siteId, t.code),
    uniqueIndex("coupons_pool_holder_idx").on(t.poolId, t.holder),
    index("coupons_pool_free_idx").on(t.poolId, t.id).where(sql`${t.holder} is null`),
  ],
);

export const rules = sqliteTable(
  "rules",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    name: text().notNull(),
    placement: text().notNull(),
    segmentId: integer().references(() => segments.id, { onDelete: "restrict" }),
    creativeId: integer()
      .notNull()
      .references(() => creatives.id, { onDelete: "restrict" }),
    poolId: integer().references(() => couponPools.id, { onDelete: "restrict" }),
    priority: integer().notNull().default(100),
    startsAt: integer(),
    endsAt: integer(),
    capPerDay: integer(),
    /** Holdout share for this rule (0..1); null takes the site's. */
    holdout: real(),
    stopAfterConversion: integer({ mode: "boolean" }).notNull().default(false),
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("rules_site_placement_idx").on(t.siteId, t.placement, t.priority)],
);

export const placementFallbacks = sqliteTable(
  "placement_fallbacks",
  {
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    placement: text().notNull(),
    creativeId: integer()
      .notNull()
      .references(() => creatives.id, { onDelete: "restrict" }),
    updatedAt: integer().notNull(),
  },
  (t) => [uniqueIndex("placement_fallbacks_idx").on(t.siteId, t.placement)],
);

export const impressions = sqliteTable(
  "impressions",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** Random public ID carried by click tokens. */
    uid: text().notNull().unique(),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    placement: text().notNull(),
    /** Null when the fallback was served without a rule. */
    ruleId: integer(),
    creativeId: integer(),
    cookieId: text(),
    couponId: integer(),
    /** True when the visitor fell into the rule's holdout group and saw the fallback. */
    holdout: integer({ mode: "boolean" }).notNull().default(false),
    /** UTC day number (days since the epoch), for frequency caps and daily reports. */
    day: integer().notNull(),
    ts: integer().notNull(),
  },
  (t) => [
    index("impressions_site_cookie_day_idx").on(t.siteId, t.cookieId, t.day),
    index("impressions_rule_day_idx").on(t.ruleId, t.day),
  ],
);

/** Per visitor, rule and day impression counts, updated by the impression batches. */
export const capCounters = sqliteTable(
  "cap_counters",
  {
    siteId: integer().notNull(),
    cookieId: text().notNull(),
    ruleId: integer().notNull(),
    day: integer().notNull(),
    count: integer().notNull().default(0),
  },
  (t) => [uniqueIndex("cap_counters_idx").on(t.siteId, t.cookieId, t.day, t.ruleId)],
);

export const clicks = sqliteTable(
  "clicks",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    impressionUid: text().notNull().unique(),
    ruleId: integer(),
    cookieId: text(),
    ts: integer().notNull(),
  },
  (t) => [index("clicks_rule_idx").on(t.ruleId, t.ts)],
);

/** A visitor (or linked customer) converted on a rule: a coupon of the rule was redeemed. */
export const ruleConversions = sqliteTable(
  "rule_conversions",
  {
    siteId: integer().notNull(),
    ruleId: integer().notNull(),
    cookieId: text().notNull(),
    orderId: text(),
    revenue: real(),
    ts: integer().notNull(),
  },
  (t) => [
    uniqueIndex("rule_conversions_idx").on(t.ruleId, t.cookieId),
    // The decision batch reads a visitor's conversions by (site, cookie): without this index that
    // read scans every conversion of every site on every banner.
    index("rule_conversions_site_cookie_idx").on(t.siteId, t.cookieId),
  ],
);

/** Remembered answers for `Idempotency-Key` on coupon redemption. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    siteId: integer().notNull(),
    key: text().notNull(),
    status: integer().notNull(),
    body: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [uniqueIndex("idempotency_keys_idx").on(t.siteId, t.key)],
);

export const audiences = sqliteTable(
  "audiences",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    name: text().notNull(),
    kind: text({
      enum: ["segment", "new_customers", "cart_abandoners", "dormant", "cluster", "lookalike"],
    }).notNull(),
    segmentId: integer().references(() => segments.id, { onDelete: "restrict" }),
    params: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    size: integer().notNull().default(0),
    refreshedAt: integer(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("audiences_site_idx").on(t.siteId)],
);

export const audienceMembers = sqliteTable(
  "audience_members",
  {
    audienceId: integer()
      .notNull()
      .references(() => audiences.id, { onDelete: "cascade" }),
    visitorId: integer().notNull(),
    cookieId: text().notNull(),
  },
  (t) => [uniqueIndex("audience_members_idx").on(t.audienceId, t.visitorId)],
);

/** One row per refresh: the dated size the admin UI draws. */
export const audienceSizes = sqliteTable(
  "audience_sizes",
  {
    audienceId: integer()
      .notNull()
      .references(() => audiences.id, { onDelete: "cascade" }),
    day: text().notNull(),
    size: integer().notNull(),
    ts: integer().notNull(),
  },
  (t) => [uniqueIndex("audience_sizes_idx").on(t.audienceId, t.day)],
);

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    url: text().notNull(),
    segmentId: integer()
      .notNull()
      .references(() => segments.id, { onDelete: "restrict" }),
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("webhooks_site_idx").on(t.siteId)],
);

/** Visitors currently inside a webhook's segment: entering it is what triggers a delivery. */
export const webhookMembers = sqliteTable(
  "webhook_members",
  {
    webhookId: integer()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    cookieId: text().notNull(),
    enteredAt: integer().notNull(),
  },
  (t) => [uniqueIndex("webhook_members_idx").on(t.webhookId, t.cookieId)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer().notNull(),
    webhookId: integer()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    payload: text().notNull(),
    status: text({ enum: ["pending", "delivered", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer().notNull().default(0),
    lastError: text(),
    createdAt: integer().notNull(),
    deliveredAt: integer(),
  },
  (t) => [index("webhook_deliveries_idx").on(t.webhookId, t.status)],
);

export const adminUsers = sqliteTable(
  "admin_users",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    email: text().notNull(),
    /** `pbkdf2-sha256$ITERATIONS$SALT_B64$HASH_B64` */
    passwordHash: text().notNull(),
    role: text({ enum: ["admin", "marketer", "viewer"] })
      .notNull()
      .default("viewer"),
    failedLogins: integer().notNull().default(0),
    lockedUntil: integer(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("admin_users_email_idx").on(t.email)],
);
