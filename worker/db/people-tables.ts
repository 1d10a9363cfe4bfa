/**
 * Everything about a person (docs/architecture.md, "Shards"): the tables a PEOPLE shard holds, defined
 * once and instantiated twice. `worker/db/schema.ts` makes them for HOME, where a site created before
 * shards keeps its people until the operator moves it, with the foreign keys to sites, audiences and
 * webhooks HOME always had; `worker/db/people-schema.ts` makes them for the shards, which hold no
 * sites, audiences or webhooks to point at (drizzle-kit generates migrations/people/ from it). The
 * SQL a query builds is the same from either instance, so code queries with one of them.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const createdAt = () => integer().notNull().default(sql`(cast(unixepoch('subsecond') * 1000 as integer))`);

const notNullInteger = () => integer().notNull();
type IdColumn = ReturnType<typeof notNullInteger>;

/** The ID columns that reference HOME's rows: with a foreign key in HOME, a plain column on a shard. */
export type PeopleRefs = { siteId: () => IdColumn; audienceId: () => IdColumn; webhookId: () => IdColumn };

export type CartItem = { sku: string; category?: string; price?: number; qty: number };

export function peopleTables(refs: PeopleRefs) {
  /**
   * Erasures still to be carried out in the raw event archive (R2, worker/archive/erasure-sweep.ts):
   * the cookie IDs whose NDJSON lines must go from the site's objects, the first day that can hold
   * them, and how far the sweep got (the last key done), so the cron resumes an interrupted sweep.
   * The row is deleted when the sweep has passed the newest object. Kept beside the erasures it
   * follows from (docs/architecture.md, "Shards"): the cron sweeps every database's rows.
   */
  const archiveSweeps = sqliteTable(
    "archive_sweeps",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: integer().notNull(),
      /** JSON array of erased cookie IDs. */
      cookies: text().notNull(),
      /** `YYYY-MM-DD`: objects of earlier days cannot hold these cookies' lines. */
      fromDay: text().notNull(),
      /** The last object key swept; null before the first. */
      cursor: text(),
      createdAt: integer().notNull(),
    },
    (t) => [index("archive_sweeps_site_idx").on(t.siteId)],
  );

  /**
   * The shop's catalogue, written only by the catalogue import (`POST /api/v1/products`); events
   * name SKUs. HOME's is the shop's; each shard of a site's set holds a copy, which the decision
   * row's product comes from (docs/architecture.md, "Shards").
   */
  const products = sqliteTable(
    "products",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: refs.siteId(),
      sku: text().notNull(),
      name: text(),
      category: text(),
      price: real(),
      /** ISO 4217, upper-case. */
      currency: text(),
      url: text(),
      imageUrl: text(),
      /** False for products out of stock: creatives do not show them. */
      available: integer({ mode: "boolean" }).notNull().default(true),
      updatedAt: integer().notNull(),
    },
    (t) => [
      uniqueIndex("products_site_sku_idx").on(t.siteId, t.sku),
      // The decision batch picks the newest product of the visitor's top category: an index range,
      // not a sort of the whole catalogue on every banner.
      index("products_site_category_idx").on(t.siteId, t.category, t.updatedAt),
    ],
  );

  /**
   * Item-to-item affinities of a site's catalogue (worker/catalogue/affinities.ts): for each SKU the
   * SKUs most often viewed or put in the cart by the same people (co-views and co-purchases: what an
   * order buys goes through the cart), recomputed by the cron from the visitors' recent products.
   * The decision row's product is the best available match for what its visitor viewed.
   */
  const productAffinities = sqliteTable(
    "product_affinities",
    {
      siteId: integer().notNull(),
      sku: text().notNull(),
      otherSku: text().notNull(),
      /** How many people viewed or carted both. */
      score: real().notNull(),
    },
    (t) => [primaryKey({ columns: [t.siteId, t.sku, t.otherSku] })],
  );

  /**
   * The coupon codes a holder (`v:COOKIE` or `c:CUSTOMER`) holds or held, as HOME's coupons say: a
   * copy on the holder's shards (docs/architecture.md, "Shards"), written by whatever changes a
   * code's holder, expiry or redemption. The decision row's `codes` and `converted` come from it.
   */
  const personCodes = sqliteTable(
    "person_codes",
    {
      siteId: integer().notNull(),
      holder: text().notNull(),
      couponId: integer().notNull(),
      poolId: integer().notNull(),
      /** The rule that handed the code out (null: assigned by the API). */
      ruleId: integer(),
      code: text().notNull(),
      expiresAt: integer(),
      redeemedAt: integer(),
    },
    (t) => [primaryKey({ columns: [t.siteId, t.holder, t.couponId] })],
  );

  /**
   * Today's impressions of capped rules per holder (`v:COOKIE`, or `c:CUSTOMER` for a cookie
   * linked to a customer: every device of the person counts toward one cap), added to by the
   * impression batches; a customer's counts are on every shard of the set (docs/architecture.md,
   * "Shards"). Older days are purged.
   */
  const personCaps = sqliteTable(
    "person_caps",
    {
      siteId: integer().notNull(),
      holder: text().notNull(),
      day: integer().notNull(),
      ruleId: integer().notNull(),
      count: integer().notNull().default(0),
    },
    (t) => [primaryKey({ columns: [t.siteId, t.holder, t.day, t.ruleId] })],
  );

  const customers = sqliteTable(
    "customers",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: refs.siteId(),
      customerId: text().notNull(),
      /** SHA-256 (hex) of the lower-cased, trimmed e-mail address; the address is never stored. */
      /**
       * A copy of a customer whose own row is on another shard, kept here for the cookies linked to
       * it (docs/architecture.md, "Shards"); counting people counts the rows that are not copies.
       */
      copy: integer({ mode: "boolean" }).notNull().default(false),
      /**
       * On the customer's own row: the shards that hold a copy of it (JSON array of shard indexes),
       * kept by the writers that link cookies. What a CRM update rewrites, and how counting people
       * knows a customer has cookies on other shards.
       */
      copiesOn: text({ mode: "json" }).$type<number[]>().notNull().default(sql`'[]'`),
      emailSha256: text(),
      /** UID2 e-mail hash (Base64 SHA-256 after UID2 normalisation); only from a clear address. */
      uid2Email: text(),
      gender: text(),
      lifetimeRevenue: real(),
      orders: integer(),
      firstOrderAt: integer(),
      lastOrderAt: integer(),
      couponsRedeemed: integer(),
      /**
       * The import's `ads_consent`: may this customer be sent to ad networks. false: never, through
       * any space or cookie; null (never said): per the site's crm_ads_consent_default.
       */
      adsConsent: integer({ mode: "boolean" }),
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

  const visitors = sqliteTable(
    "visitors",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: refs.siteId(),
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
      /** JSON {name: count}: custom events (`tw('event', name)`) by name, all time. */
      eventCounts: text({ mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
      /** JSON {name: {"YYYY-MM-DD": count}}: the same per day, last 90 days. */
      eventDays: text({ mode: "json" }).$type<Record<string, Record<string, number>>>().notNull().default(sql`'{}'`),
      /** JSON {"YYYY-MM-DD": purchases}: purchase events per day, last 90 days. */
      purchaseDays: text({ mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
      cart: text({ mode: "json" }).$type<CartItem[]>().notNull().default(sql`'[]'`),
      /**
       * JSON [sku]: the products the visitor last viewed or put in the cart, most recent last, at
       * most RECENT_SKUS (collect/apply-events.ts): what item-to-item affinities match against.
       */
      recentSkus: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
      cartItems: integer().notNull().default(0),
      cartValue: real().notNull().default(0),
      cartUpdatedAt: integer(),
      lastPurchaseAt: integer(),
      /** Consent as the tag last reported it: 'granted', 'denied', or null (never said). */
      consent: text({ enum: ["granted", "denied"] }),
      lookalikeScore: real(),
      /**
       * How the visitor first arrived: 'banner' (a tagwerk click), 'display' (first landing URL with
       * utm_medium display/banner/cpm/programmatic) or 'other'; set once, never overwritten
       * (worker/collect/acquisition.ts). The look-alike model learns from customers won through display.
       */
      acquisition: text(),
      createdAt: createdAt(),
    },
    (t) => [
      uniqueIndex("visitors_site_cookie_idx").on(t.siteId, t.cookieId),
      index("visitors_site_customer_idx").on(t.siteId, t.customerId),
      index("visitors_site_last_seen_idx").on(t.siteId, t.lastSeenAt),
    ],
  );

  const idLinks = sqliteTable(
    "id_links",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: refs.siteId(),
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

  const events = sqliteTable(
    "events",
    {
      id: integer().primaryKey({ autoIncrement: true }),
      siteId: refs.siteId(),
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

  /**
   * The first time a visitor saw a rule, or was held out of it: all that uplift needs (the exposed
   * and holdout groups and whether each member purchased after joining). Written once per person
   * and rule; later impressions of the same person write nothing here.
   */
  const exposures = sqliteTable(
    "exposures",
    {
      siteId: integer().notNull(),
      ruleId: integer().notNull(),
      cookieId: text().notNull(),
      holdout: integer({ mode: "boolean" }).notNull(),
      placement: text().notNull(),
      firstTs: integer().notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.siteId, t.ruleId, t.cookieId, t.holdout] }),
      index("exposures_site_cookie_idx").on(t.siteId, t.cookieId),
    ],
  );

  /**
   * Queue messages whose counters were added, by the message's own random ID: a message the queue
   * delivers again (at least once) adds nothing twice. One row per message of up to a group of
   * impressions (pipeline/impressions.ts), purged after LEDGER_DAYS (privacy/retention.ts).
   */
  const appliedMessages = sqliteTable("applied_messages", {
    id: integer().primaryKey(),
    appliedAt: integer().notNull(),
  });

  /**
   * The decision row (docs/architecture.md, "Decision rows"): everything `GET /b` needs about one
   * visitor, so that a known visitor's banner is ONE keyed read. Derived data: every column is
   * recomputed from the sources (visitors, customers, products, coupons, rule_conversions,
   * cap_counters) by the one refresh statement in worker/decide/decision-rows.ts, which every writer
   * of those sources appends to its own batch; test/decide/decision-rows.property.test.ts proves
   * that after any sequence of writes the maintained rows equal freshly rebuilt ones. JSON columns
   * are text the decision parses once; no foreign keys, so a row can live apart from HOME's tables.
   */
  const decisionRows = sqliteTable(
    "decision_rows",
    {
      siteId: integer().notNull(),
      cookieId: text().notNull(),
      /** The linked CRM customer: writers that change a customer refresh all of its cookies' rows. */
      customerId: text(),
      /** JSON: the visitor row, in drizzle's field names. */
      visitor: text().notNull(),
      /** JSON: the linked customer row, or null. */
      customer: text(),
      /** JSON: the product a creative shows (cart's last item, else newest of the top category), or null. */
      product: text(),
      /**
       * The SKU to show (the cart's last item even before the catalogue has it, else the category's
       * newest) and the visitor's top interest category: what a catalogue change refreshes.
       */
      productSku: text(),
      topCategory: text(),
      /** JSON: [[id, pool_id, code, holder, expires_at, redeemed_at], …] of the visitor and its customer. */
      codes: text().notNull(),
      /** JSON: rule IDs converted on, over every cookie of the customer. */
      converted: text().notNull(),
      /** UTC day number that `caps` counts; caps of another day count nothing. */
      capsDay: integer().notNull(),
      /** JSON {ruleId: impressions} on capsDay, over every cookie of the customer. */
      caps: text().notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.siteId, t.cookieId] }),
      index("decision_rows_customer_idx").on(t.siteId, t.customerId),
    ],
  );

  /** A visitor (or linked customer) converted on a rule: a coupon of the rule was redeemed. */
  const ruleConversions = sqliteTable(
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

  /**
   * Erased subjects (worker/privacy/erasure.ts): a cookie ID or CRM customer ID erased at `erasedAt`.
   * Messages already queued when the erasure ran (event batches, impressions, clicks, webhook
   * deliveries) check this table in the same SQL statement that writes, so they never recreate what
   * was erased. Holds no personal data beyond the random ID itself.
   */
  const erasures = sqliteTable(
    "erasures",
    {
      siteId: integer().notNull(),
      kind: text({ enum: ["cookie", "customer"] }).notNull(),
      subject: text().notNull(),
      erasedAt: integer().notNull(),
    },
    (t) => [uniqueIndex("erasures_subject_idx").on(t.siteId, t.kind, t.subject)],
  );

  const audienceMembers = sqliteTable(
    "audience_members",
    {
      audienceId: refs.audienceId(),
      visitorId: integer().notNull(),
      cookieId: text().notNull(),
    },
    (t) => [uniqueIndex("audience_members_idx").on(t.audienceId, t.visitorId)],
  );

  /**
   * CRM customers in an audience that no visitor is linked to (audiences are of people, README.md,
   * "Cookie sync, audiences and webhooks"): a customer with cookies is a member through them.
   */
  const audienceCustomerMembers = sqliteTable(
    "audience_customer_members",
    {
      audienceId: refs.audienceId(),
      /** customers.id: the refresh walks customers in ID ranges, as it walks visitors. */
      customerRowId: integer().notNull(),
      customerId: text().notNull(),
    },
    (t) => [uniqueIndex("audience_customer_members_idx").on(t.audienceId, t.customerRowId)],
  );

  /**
   * What a network holds of an audience in one ID space (`tw`, a partner key, `email_sha256`,
   * `uid2_email`) as of the last refresh: the members whose consent allows export, as IDs of that
   * space. Full exports stream this; the refresh diffs against it to write audience_changes.
   */
  const audienceSpaceMembers = sqliteTable(
    "audience_space_members",
    {
      audienceId: refs.audienceId(),
      idSpace: text().notNull(),
      value: text().notNull(),
    },
    (t) => [uniqueIndex("audience_space_members_idx").on(t.audienceId, t.idSpace, t.value)],
  );

  /**
   * Membership changes per audience and ID space, in order (`seq`): what `since=CURSOR` exports.
   * Holds only IDs of the space (cookie IDs, partner IDs, e-mail hashes) — never a clear address —
   * so that a removal can still be told to the network after the member's rows were erased.
   */
  const audienceChanges = sqliteTable(
    "audience_changes",
    {
      seq: integer().primaryKey({ autoIncrement: true }),
      audienceId: refs.audienceId(),
      idSpace: text().notNull(),
      op: text({ enum: ["add", "remove"] }).notNull(),
      value: text().notNull(),
      ts: integer().notNull(),
    },
    (t) => [
      index("audience_changes_space_idx").on(t.audienceId, t.idSpace, t.seq),
      index("audience_changes_value_idx").on(t.value),
    ],
  );

  /**
   * Superseded by webhook_memberships (migration 0002 moved its rows there): it could hold cookies
   * only, not CRM customers without one. Kept because migrations never drop a table; nothing reads it.
   */
  const webhookMembers = sqliteTable(
    "webhook_members",
    {
      webhookId: refs.webhookId(),
      cookieId: text().notNull(),
      enteredAt: integer().notNull(),
    },
    (t) => [uniqueIndex("webhook_members_idx").on(t.webhookId, t.cookieId)],
  );

  /**
   * The people currently inside a webhook's segment: entering and leaving it is what triggers a
   * delivery. `member` is one person, in the coupons' holder notation: `c:CUSTOMER_ID` for a CRM
   * customer (all their cookies, or none) and `v:COOKIE_ID` for a visitor not linked to one.
   */
  const webhookMemberships = sqliteTable(
    "webhook_memberships",
    {
      webhookId: refs.webhookId(),
      member: text().notNull(),
      enteredAt: integer().notNull(),
    },
    (t) => [uniqueIndex("webhook_memberships_idx").on(t.webhookId, t.member)],
  );
  return {
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
  };
}
