/**
 * Trusted server-side events: the one entry point for every event the shop's own systems send
 * with the API key — `POST /api/v1/events` (routes.ts) and the Segment-compatible `/v1/*`
 * ingestion, which maps Segment/RudderStack messages onto the same shape and calls
 * `ingestServerEvents`.
 *
 *   ingestServerEvents(db, archive, site, events, now) → { accepted, rejected: [{ index, reason }] }
 *
 * Each event is `{type, ts, cookie_id?, customer?, url?, ref?, name?, props}` — the types and
 * props of the tag (`POST /e`), plus who it is about: `cookie_id` (a tw_id) and/or `customer` (a
 * CRM customer ID), at least one. Unlike the browser (docs/architecture.md, "Trust boundaries"), these come
 * from the shop and are believed:
 * - an event naming both `cookie_id` and `customer`, or an `identify` with `cookie_id`, links the
 *   cookie to the customer — no signature needed;
 * - a `purchase` adds one order and its value to the customer's orders, lifetime revenue and
 *   first/last order time (the customer named, else the one the cookie is linked to; a customer
 *   row is created on its first order), and redeems its `coupon` unless that code is held by
 *   another CRM customer (then the event is rejected: `coupon held by another customer`);
 * - behaviour (page, view, cart, event, consent) goes to the cookie's profile; with `customer`
 *   only, to the customer's most recently seen visitor (rejected when there is none).
 * Events about an erased cookie or customer are rejected (`erased`): erasure is final.
 * The person's consent binds this path too (README, "Server-side events"; worker/privacy/consent.ts):
 * the shop's server is trusted for facts, not to override a no. An event about a cookie (named, or
 * the customer's most recently seen one) is rejected — `consent denied`, or on a
 * `consent_mode: required` site `consent required` — unless `mayPersonalise` allows the cookie's
 * stored consent; a `consent` event that withdraws it is always taken, one that grants it only
 * comes from the browser (`POST /e`). A customer-only purchase with no cookie is a CRM fact and
 * is kept.
 *
 * Cost: one D1 round trip to read erasures and visitors, one per purchase with a coupon (the
 * idempotent redemption), and one batch (one transaction) for all writes.
 */

import type { SQL } from "drizzle-orm";
import { archiveThenApply } from "../archive/archive";
import {
  addCustomerOrders,
  afterBatch,
  type BatchTrust,
  type BatchWrites,
  eventBatchStatements,
  type RejectedRow,
  rejectedStatement,
  writeBatch,
} from "../collect/apply-events";
import { describeIssues, EventSchema, type TagEvent } from "../collect/event-schema";
import { scrubPayload } from "../collect/scrub";
import { redeemCoupon } from "../coupons";
import { type BoundStatement, runBatch } from "../db/raw";
import type { Site } from "../env";
import { hasControlCharacters, NO_CONTROL_CHARACTERS } from "../lib/identifiers";
import { COOKIE_ID_PATTERN } from "../lib/visitor-cookie";
import { type Consent, mayPersonalise } from "../privacy/consent";
import { personalDataRefusal } from "../privacy/personal-data";
import { type PeopleDb, peopleFor, peopleOfSite, type ShardEnv } from "../shards/routing";

export type IngestResult = { accepted: number; rejected: { index: number; reason: string }[] };

/** At most this many events per call (the Segment-compatible batch splits larger ones). */
export const MAX_SERVER_EVENTS = 500;

type Valid = { index: number; event: TagEvent; cookieId: string | null; customer: string | null };

/** Splits the subject fields off and validates the rest exactly as `/e` does. */
function validate(raw: unknown, index: number): Valid | { index: number; reason: string } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { index, reason: "event: not an object" };
  const { cookie_id, customer, ...rest } = raw as Record<string, unknown>;
  if (cookie_id !== undefined && (typeof cookie_id !== "string" || !COOKIE_ID_PATTERN.test(cookie_id))) {
    return { index, reason: "cookie_id: not a tw_id (32 lower-case hex characters)" };
  }
  if (customer !== undefined && (typeof customer !== "string" || customer.trim() === "" || customer.length > 200)) {
    return { index, reason: "customer: a CRM customer ID of 1-200 characters" };
  }
  if (typeof customer === "string" && hasControlCharacters(customer)) {
    return { index, reason: `customer: ${NO_CONTROL_CHARACTERS}` };
  }
  const parsed = EventSchema.safeParse(rest);
  if (!parsed.success) return { index, reason: describeIssues(parsed.error) };
  const event = parsed.data;
  const personal = personalDataRefusal(event);
  if (personal) return { index, reason: personal };
  let named = typeof customer === "string" ? customer.trim() : null;
  if (event.type === "identify") {
    if (named !== null && named !== event.props.customer) {
      return { index, reason: "customer: differs from the identify's props.customer" };
    }
    named = event.props.customer;
    if (cookie_id === undefined) return { index, reason: "identify: needs cookie_id (the cookie to link)" };
  }
  if (cookie_id === undefined && named === null) return { index, reason: "needs cookie_id or customer" };
  // The signature is the browser's proof; a trusted event needs none and stores none.
  const stored: TagEvent = event.type === "identify" ? { ...event, props: { customer: event.props.customer } } : event;
  return { index, event: stored, cookieId: (cookie_id as string | undefined) ?? null, customer: named };
}

/** Erased subjects among the batch's, each named customer's most recently seen visitor, stored consents. */
/**
 * Who the batch's subjects are: erased ones (HOME keeps every erasure: privacy/erasure.ts), the
 * latest cookie of each named customer and every subject cookie's consent — the visitors read from
 * each database of the site's set and merged (docs/architecture.md, "Shards").
 */
async function readSubjects(env: ShardEnv, site: Pick<Site, "id" | "shards">, valid: Valid[]) {
  const cookies = [...new Set(valid.flatMap((v) => (v.cookieId ? [v.cookieId] : [])))];
  const customers = [...new Set(valid.flatMap((v) => (v.customer ? [v.customer] : [])))];
  const [erased, ...answers] = await Promise.all([
    env.DB.prepare(
      `select kind, subject from erasures where site_id = ?1 and (
         (kind = 'cookie' and subject in (select value from json_each(?2)))
         or (kind = 'customer' and subject in (select value from json_each(?3))))`,
    )
      .bind(site.id, JSON.stringify(cookies), JSON.stringify(customers))
      .all<{ kind: string; subject: string }>(),
    ...peopleOfSite(env, site).map((people) =>
      people.d1
        .prepare(
          `select cookie_id, customer_id, consent, last_seen_at from visitors where site_id = ?1 and (
             cookie_id in (select value from json_each(?2)) or customer_id in (select value from json_each(?3)))`,
        )
        .bind(site.id, JSON.stringify(cookies), JSON.stringify(customers))
        .all<{ cookie_id: string; customer_id: string | null; consent: Consent; last_seen_at: number }>(),
    ),
  ]);
  const gone = new Set(erased.results.map((r) => `${r.kind}:${r.subject}`));
  const visitors = answers.flatMap((a) => a.results).sort((a, b) => a.last_seen_at - b.last_seen_at);
  const named = new Set(customers);
  const visitorOf = new Map(
    visitors
      .filter((v) => v.customer_id !== null && named.has(v.customer_id))
      .map((v) => [v.customer_id as string, v.cookie_id]),
  );
  const consentOf = new Map(visitors.map((v) => [v.cookie_id, v.consent]));
  return { gone, visitorOf, consentOf };
}

/** Why an event about `cookieId` is refused for consent, or null; a withdrawal is always taken. */
function consentRefusal(consentMode: Site["consentMode"], consent: Consent, event: TagEvent): string | null {
  if (event.type === "consent" && !event.props.granted) return null;
  if (mayPersonalise(consentMode, consent)) return null;
  return consent === "denied" ? "consent denied" : "consent required";
}

export async function ingestServerEvents(
  env: ShardEnv,
  archive: R2Bucket,
  site: Pick<Site, "id" | "key" | "consentMode" | "shards">,
  events: unknown[],
  now = Date.now(),
): Promise<IngestResult> {
  const rejected: { index: number; reason: string }[] = [];
  const valid: Valid[] = [];
  events.forEach((raw, index) => {
    const checked = validate(raw, index);
    if ("reason" in checked) rejected.push(checked);
    else valid.push(checked);
  });

  const { gone, visitorOf, consentOf } =
    valid.length > 0
      ? await readSubjects(env, site, valid)
      : { gone: new Set(), visitorOf: new Map(), consentOf: new Map<string, Consent>() };
  // Per cookie: its events and the customer they name; customer-only purchases with no visitor.
  const groups = new Map<string, { events: TagEvent[]; trust: BatchTrust }>();
  const orphanOrders = new Map<string, { orders: number; revenue: number; coupons: string[] }>();
  for (const item of valid) {
    const { index, event, customer } = item;
    if ((item.cookieId && gone.has(`cookie:${item.cookieId}`)) || (customer && gone.has(`customer:${customer}`))) {
      rejected.push({ index, reason: "erased" });
      continue;
    }
    const cookieId = item.cookieId ?? (customer ? (visitorOf.get(customer) ?? null) : null);
    if (cookieId !== null) {
      const refusal = consentRefusal(site.consentMode, consentOf.get(cookieId) ?? null, event);
      if (refusal) {
        rejected.push({ index, reason: refusal });
        continue;
      }
      // A withdrawal binds the rest of the batch as it binds later ones.
      if (event.type === "consent") consentOf.set(cookieId, "denied");
    }
    if (event.type === "purchase" && event.props.coupon) {
      const result = await redeemCoupon(env, site, event.props.coupon.trim(), event.props.order, now, {
        revenue: event.props.value,
        cookieId,
        customer,
      });
      if (result.status === "holder_mismatch") {
        rejected.push({ index, reason: "coupon held by another customer" });
        continue;
      }
    }
    if (cookieId === null) {
      if (event.type !== "purchase" || customer === null) {
        rejected.push({ index, reason: "no visitor known for this customer: send cookie_id" });
        continue;
      }
      const orders = orphanOrders.get(customer) ?? { orders: 0, revenue: 0, coupons: [] };
      orders.orders += 1;
      orders.revenue += event.props.value;
      if (event.props.coupon) orders.coupons.push(event.props.coupon.trim());
      orphanOrders.set(customer, orders);
      continue;
    }
    const group = groups.get(cookieId) ?? { events: [], trust: { trusted: true, customerId: null } };
    group.events.push(event);
    if (customer) group.trust.customerId = customer;
    groups.set(cookieId, group);
  }

  // Each cookie's writes go to its database (docs/architecture.md, "Shards"), one batch per database.
  const batches = new Map<D1Database, { people: PeopleDb; writes: BatchWrites }>();
  for (const [cookieId, group] of groups) {
    const people = peopleFor(env, site, cookieId);
    const batch = batches.get(people.d1) ?? { people, writes: { people: [], home: [] } };
    batches.set(people.d1, batch);
    const writes = eventBatchStatements(site.id, cookieId, group.events, now, [], group.trust);
    batch.writes.people.push(...writes.people);
    batch.writes.home.push(...writes.home);
  }
  const home: (SQL | BoundStatement)[] = [];
  rejected.sort((a, b) => a.index - b.index);
  if (rejected.length > 0) {
    // Scrubbed like /e's rejections: no personal data kept, erasure can find the customer's rows.
    const rows: RejectedRow[] = await Promise.all(
      rejected.map(async (r) => ({
        reason: `event ${r.index}: ${r.reason}`,
        // Refused for consent: the reason is kept, the event's content is not (as on /e).
        ...(r.reason.startsWith("consent")
          ? { payload: null, customerRef: null }
          : await scrubPayload(events[r.index], site.id)),
        siteKey: site.key,
      })),
    );
    home.push(rejectedStatement(site.id, "server", rows, now));
  }
  // Raw events to the R2 archive first, then the D1 batch (worker/archive/archive.ts).
  const archived = [...groups].map(([cookieId, group]) => ({ cookieId, receivedAt: now, events: group.events }));
  if (batches.size > 0 || home.length > 0 || orphanOrders.size > 0) {
    await archiveThenApply(archive, site.id, archived, now, async () => {
      const all = [...batches.values()];
      // HOME's rejections ride with HOME's people when the site's people are still in HOME.
      const homePeople = all.find((b) => b.people.shard === null);
      if (homePeople) homePeople.writes.home.push(...home.splice(0));
      await Promise.all([
        ...all.map((b) => writeBatch(env, b.people, b.writes)),
        home.length > 0 ? runBatch(env.DB, home) : undefined,
      ]);
      // Links and orders reach beyond the cookie's database (apply-events.ts, afterBatch).
      for (const [cookieId, group] of groups) await afterBatch(env, site, cookieId, group.events, now, group.trust);
      for (const [customer, o] of orphanOrders) {
        await addCustomerOrders(env, site, customer, null, o.orders, o.revenue, o.coupons, now);
      }
    });
  }
  return { accepted: events.length - rejected.length, rejected };
}
