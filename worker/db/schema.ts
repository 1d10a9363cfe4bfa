/**
 * The whole tagwerk data model (docs/architecture.md, "Data model"): the single source of truth for every
 * table. Migrations in migrations/ are generated from this file by drizzle-kit.
 *
 * Conventions: every row is scoped by `site_id`; times are integer milliseconds since the epoch
 * (segment day counts are plain arithmetic on them in SQL); free-form structures are JSON text.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, peopleTables } from "./people-tables";

const siteRef = () =>
  integer()
    .notNull()
    .references(() => sites.id, { onDelete: "cascade" });

/** Everything about a person (worker/db/people-tables.ts): in HOME, with its foreign keys. */
export const {
  archiveSweeps,
  products,
  productAffinities,
  personCodes,
  personCaps,
  customers,
  visitors,
  idLinks,
  events,
  exposures,
  appliedMessages,
  decisionRows,
  ruleConversions,
  erasures,
  audienceMembers,
  audienceCustomerMembers,
  audienceSpaceMembers,
  audienceChanges,
  webhookMembers,
  webhookMemberships,
} = peopleTables({
  siteId: siteRef,
  audienceId: () =>
    integer()
      .notNull()
      .references(() => audiences.id, { onDelete: "cascade" }),
  webhookId: () =>
    integer()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
});
export type { CartItem } from "./people-tables";

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
  /**
   * The shop's key for signed identifies (docs/architecture.md, "Trust boundaries"): HMAC-SHA256 of the
   * customer ID under it. Kept recoverable because verifying an HMAC needs the key itself (an API
   * key is only compared, so only its hash is kept); null until `POST /api/v1/site/identity-secret`.
   */
  identitySecret: text(),
  /**
   * The secret a rotation replaced, still accepted until `previousIdentitySecretUntil` (a grace
   * period, so pages rendered before the rotation keep verifying; README "Identity verification").
   */
  previousIdentitySecret: text(),
  previousIdentitySecretUntil: integer(),
  /**
   * Which visitors may claim a coupon code at all (README "Coupon claims"): `any` browser, one with
   * at least `claimMinVisits` visits (`visited`), or only visitors linked to a CRM customer
   * (`customers`). Checked inside the claim's own SQL (worker/coupons/claim.ts).
   */
  claimPolicy: text({ enum: ["any", "visited", "customers"] })
    .notNull()
    .default("any"),
  claimMinVisits: integer().notNull().default(2),
  /**
   * Whether a CRM customer imported without an `ads_consent` column may be sent to ad networks in
   * the e-mail ID spaces (README.md, "Cookie sync, audiences and webhooks"); off unless the shop says so.
   */
  crmAdsConsentDefault: integer({ mode: "boolean" }).notNull().default(false),
  /** ISO 4217 code the shop's order values are in: how reports and the admin show revenue. */
  currency: text().notNull().default("EUR"),
  /**
   * The PEOPLE shards this site's people live on (docs/architecture.md, "Shards"): indexes of the
   * `PEOPLE_k` bindings, a row's shard a stable hash within them (worker/shards/routing.ts). Null:
   * a site created before shards, whose people are still in HOME until the operator moves them.
   */
  shards: text({ mode: "json" }).$type<number[]>(),
  /**
   * True while a move of the site's people (worker/shards/moves.ts) holds their writes: the queue
   * consumers put the site's messages back for later, the synchronous writers answer "try again".
   * Read with `shards` from the same row and caches, so an isolate that sees the hold lifted sees
   * the new set too (docs/architecture.md, "Shards").
   */
  shardsHeld: integer({ mode: "boolean" }).notNull().default(false),
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
    /** 'admin': the whole API; 'ingest': only sends events (/api/v1/events, /v1/*), for Segment & co. */
    scope: text({ enum: ["admin", "ingest"] })
      .notNull()
      .default("admin"),
    createdAt: createdAt(),
    revokedAt: integer(),
    lastUsedAt: integer(),
  },
  (t) => [index("api_keys_site_idx").on(t.siteId)],
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
    /** The offending input, scrubbed of personal data and capped (worker/collect/scrub.ts). */
    payload: text(),
    receivedAt: integer().notNull(),
    /** The sending browser's tw_id, so that erasing the visitor reaches its rejections. */
    cookieId: text(),
    /** SHA-256 of (site, customer ID) named in the payload, so that erasing the customer reaches them. */
    customerRef: text(),
  },
  (t) => [
    index("rejected_events_site_idx").on(t.siteId, t.receivedAt),
    index("rejected_events_cookie_idx").on(t.siteId, t.cookieId),
    index("rejected_events_customer_idx").on(t.siteId, t.customerRef),
  ],
);

/**
 * What unauthenticated writes (rejections, cookie-sync links, clicks, opt-outs, …) did per site,
 * UTC day and reason: `kept` rows were written, `refused` ones were beyond the bound (per IP, per
 * site) and only counted here, so a flood costs one counter row instead of a row per request
 * (worker/abuse/write-bounds.ts). Site 0 stands for requests that named no known site.
 */
export const writeCounters = sqliteTable(
  "write_counters",
  {
    siteId: integer().notNull(),
    day: text().notNull(),
    reason: text().notNull(),
    kept: integer().notNull().default(0),
    refused: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.day, t.reason] })],
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

/**
 * Claims refused by the claim gate (worker/coupons/claim-gate.ts), per pool, UTC day and reason:
 * `ip_limit` (one address claiming too fast), `pool_limit` (the pool claimed too fast by everyone)
 * and `policy` (the site's claim_policy). A flood costs a counter, never a row per request.
 */
export const claimRefusals = sqliteTable(
  "claim_refusals",
  {
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    poolId: integer()
      .notNull()
      .references(() => couponPools.id, { onDelete: "cascade" }),
    day: text().notNull(),
    reason: text({ enum: ["ip_limit", "pool_limit", "policy"] }).notNull(),
    count: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.poolId, t.day, t.reason] })],
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
    /** When a merge of one person's holdings archived this still-live code (worker/coupons/merge.ts). */
    archivedAt: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("coupons_site_code_idx").on(t.siteId, t.code),
    uniqueIndex("coupons_pool_holder_idx").on(t.poolId, t.holder),
    index("coupons_pool_free_idx").on(t.poolId, t.id).where(sql`${t.holder} is null`),
  ],
);

/**
 * Customer service's manual redemptions and rollbacks, with the reason given and who did it (an
 * admin user's e-mail, or "api key"): the lookup (`GET /api/v1/coupons/:code`) shows them.
 */
export const couponNotes = sqliteTable(
  "coupon_notes",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    couponId: integer()
      .notNull()
      .references(() => coupons.id, { onDelete: "cascade" }),
    action: text({ enum: ["redeem", "rollback"] }).notNull(),
    orderId: text().notNull(),
    reason: text().notNull(),
    actor: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("coupon_notes_coupon_idx").on(t.couponId)],
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

/**
 * How a placement picks among its matching rules (README.md, "Next best offer"): `priority` (no
 * row, the default) takes the first by priority; `best` samples the offer most likely to pay off
 * for the visitor's context, by `objective`. A placement is named by its rules and fallback, so
 * only a placement that was set has a row here.
 */
export const placementSettings = sqliteTable(
  "placement_settings",
  {
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    placement: text().notNull(),
    arbitration: text({ enum: ["priority", "best"] })
      .notNull()
      .default("priority"),
    objective: text({ enum: ["clicks", "redemptions", "revenue"] })
      .notNull()
      .default("clicks"),
    updatedAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.placement] })],
);

/**
 * What each offer earned per visitor context (worker/decide/offers.ts): impressions, clicks,
 * redemptions and their revenue per site, placement, rule, context (the visitor's CRM cluster,
 * else top interest category, else "unknown") and UTC day. Added to by the same consumer batches
 * as report_counters (impressions, clicks) and by the redemption's own batch; the learned
 * arbitration reads its recent days, the rule report its share of impressions per context.
 */
export const offerCounters = sqliteTable(
  "offer_counters",
  {
    siteId: integer().notNull(),
    placement: text().notNull(),
    ruleId: integer().notNull(),
    context: text().notNull(),
    /** UTC day number (days since the epoch). */
    day: integer().notNull(),
    impressions: integer().notNull().default(0),
    clicks: integer().notNull().default(0),
    redemptions: integer().notNull().default(0),
    revenue: real().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.placement, t.ruleId, t.context, t.day] })],
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

/**
 * What every report reads instead of a row per impression (docs/architecture.md, "Counters"):
 * impressions and clicks per site, UTC day, placement, rule (0: none), creative (0: the built-in
 * empty one) and arm (holdout or not), added to once per consumer batch.
 */
export const reportCounters = sqliteTable(
  "report_counters",
  {
    siteId: integer().notNull(),
    /** UTC day number (days since the epoch). */
    day: integer().notNull(),
    placement: text().notNull(),
    ruleId: integer().notNull(),
    creativeId: integer().notNull(),
    holdout: integer({ mode: "boolean" }).notNull(),
    impressions: integer().notNull().default(0),
    clicks: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.day, t.placement, t.ruleId, t.creativeId, t.holdout] })],
);

/**
 * Placements `/b` was asked for, per site: what the Placements page lists beside the ones rules and
 * fallbacks name — a slot a shop installed before anyone configured it. Written by the impressions
 * consumer once per delivery and placement (worker/pipeline/impressions.ts), never per request, and
 * only when `last_day` moves; at most MAX_SEEN_PLACEMENTS names per site, so that requests for
 * made-up placements cannot grow it without bound.
 */
export const placementsSeen = sqliteTable(
  "placements_seen",
  {
    siteId: integer()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    placement: text().notNull(),
    /** UTC day numbers (days since the epoch) of the first and the latest request. */
    firstDay: integer().notNull(),
    lastDay: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.placement] })],
);

/** Remembered answers for `Idempotency-Key` on coupon redemption. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    siteId: integer().notNull(),
    key: text().notNull(),
    status: integer().notNull(),
    body: text().notNull(),
    /** SHA-256 of method, path and body: the same key with another request answers 422 (legacy rows: ''). */
    fingerprint: text().notNull().default(""),
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
    /** Change-log entries up to this seq were purged: a delta cursor before it has expired. */
    changesPurgedThrough: integer().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("audiences_site_idx").on(t.siteId)],
);

/**
 * The site's last look-alike training (worker/audiences/lookalike-scores.ts): its quality on
 * held-out people, or why it was refused. One row per site, replaced by each training.
 */
export const lookalikeModels = sqliteTable("lookalike_models", {
  siteId: integer()
    .primaryKey()
    .references(() => sites.id, { onDelete: "cascade" }),
  status: text({ enum: ["trained", "refused"] }).notNull(),
  reason: text(),
  positives: integer().notNull(),
  negatives: integer().notNull(),
  heldOut: integer().notNull().default(0),
  auc: real(),
  topDecileLift: real(),
  trainedAt: integer().notNull(),
});

/** A segment's size per UTC day (the cron's last count that day): the trend the Segments page shows. */
export const segmentSizes = sqliteTable(
  "segment_sizes",
  {
    segmentId: integer()
      .notNull()
      .references(() => segments.id, { onDelete: "cascade" }),
    day: text().notNull(),
    visitors: integer().notNull(),
    customers: integer().notNull(),
    ts: integer().notNull(),
  },
  (t) => [uniqueIndex("segment_sizes_idx").on(t.segmentId, t.day)],
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
    /**
     * The signing secret is derived, never stored (webhooks/store.ts): a rotation moves to the next
     * version; the previous version still signs too until `previousSecretUntil` (a grace period).
     */
    secretVersion: integer().notNull().default(0),
    previousSecretUntil: integer(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("webhooks_site_idx").on(t.siteId)],
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
    /**
     * Bumped by logout, password and role changes; a session token carries the version it was
     * issued under and is refused once it differs (checked on the row every request re-reads).
     */
    sessionVersion: integer().notNull().default(0),
    createdAt: createdAt(),
  },
  // Accounts belong to one site: the same e-mail may be a user of several sites, each its own
  // account, so creating a user never reveals another tenant's users (SECURITY.md).
  (t) => [uniqueIndex("admin_users_site_email_idx").on(t.siteId, t.email)],
);

/**
 * Failed-login counting per (e-mail, client IP), keyed by an HMAC of both so neither is stored:
 * a stranger elsewhere cannot lock the owner out, and unknown e-mails lock exactly like known ones.
 * `attempts` is reserved atomically before each password check (worker/auth/login-attempts.ts).
 */
export const loginAttempts = sqliteTable("login_attempts", {
  key: text().primaryKey(),
  attempts: integer().notNull().default(0),
  lockedUntil: integer().notNull().default(0),
  granted: integer().notNull().default(0),
  updatedAt: integer().notNull(),
});

/**
 * Segment `messageId`s already ingested through `/v1/*` (worker/segment-com-ingest/), per site: a
 * retried batch changes nothing twice. Purged after SEGMENT_MESSAGE_DAYS (worker/privacy/retention.ts).
 */
export const segmentMessages = sqliteTable(
  "segment_messages",
  {
    siteId: integer().notNull(),
    messageId: text().notNull(),
    receivedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("segment_messages_idx").on(t.siteId, t.messageId),
    index("segment_messages_received_idx").on(t.receivedAt),
  ],
);

/**
 * A click followed through /c: unique per impression, so a second click on one banner counts once;
 * in HOME, in the transaction of the counters it adds to (pipeline/impressions.ts).
 */
export const clicks = sqliteTable(
  "clicks",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: siteRef(),
    impressionUid: text().notNull().unique(),
    ruleId: integer(),
    cookieId: text(),
    ts: integer().notNull(),
  },
  (t) => [index("clicks_rule_idx").on(t.ruleId, t.ts)],
);

/**
 * The operator's moves of a site's people from one placement (a shard set, or HOME for a site
 * created before shards) to another (worker/shards/moves.ts, docs/architecture.md, "Shards"):
 * where a move is, so that each bounded step continues from the last one and a move that was
 * interrupted or failed can be resumed or rolled back.
 */
export const shardMoves = sqliteTable(
  "shard_moves",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    siteId: siteRef(),
    /** The placement moved from: a shard set, or null for HOME. */
    fromShards: text({ mode: "json" }).$type<number[] | null>(),
    toShards: text({ mode: "json" }).$type<number[]>().notNull(),
    /** running, failed (resumable), rolling_back, rolled_back or done. */
    state: text({ enum: ["running", "failed", "rolling_back", "rolled_back", "done"] }).notNull(),
    /** copying, holding, syncing, verifying, switched, codes, deleting or done (moves.ts, MovePhase). */
    phase: text().notNull(),
    /** When the phase began: what the waits for the isolates' caches count from. */
    phaseAt: integer().notNull(),
    /** JSON: where the phase's next step starts (table, database, row ID). */
    cursor: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    /** JSON {table: rows copied}. */
    progress: text({ mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
    /** JSON: per table and destination, the source's and the destination's count and checksum. */
    verified: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    error: text(),
    /** A step runs only under this lease: two drivers (a redelivery, a resume) never run one move at once. */
    leaseUntil: integer(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [index("shard_moves_site_idx").on(t.siteId, t.id), index("shard_moves_state_idx").on(t.state)],
);
