/**
 * The person's consent binds server-side ingestion (worker/server-events/ingest.ts, README
 * "Server-side events"): the shop's server may not build the profile, the events or the CRM link of
 * a cookie whose stored consent is `denied`, nor on a `consent_mode: required` site of one that
 * never granted it. Such events are rejected with the reason and without their content.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { countRows, visitorOf } from "../collect/post-events";
import { basicAuth, call, createTestSite, siteIdOf } from "../fixtures/api";
import { customerRow } from "../fixtures/rows";

const TS = 1_767_225_600_000;

function post(apiKey: string, events: unknown[]) {
  return call("/api/v1/events", { method: "POST", key: apiKey, json: { events } });
}

/** A site with a visitor of the given stored consent, made through the API and set in D1. */
async function siteWithVisitor(mode: "implied" | "required", consent: "granted" | "denied" | null) {
  const { siteKey, apiKey } = await createTestSite({ consent_mode: mode });
  const siteId = await siteIdOf(siteKey);
  const cookie = newCookieId();
  await env.DB.prepare(
    "insert into visitors (site_id, cookie_id, consent, first_seen_at, last_seen_at) values (?, ?, ?, 1, 1)",
  )
    .bind(siteId, cookie, consent)
    .run();
  return { siteId, apiKey, cookie };
}

async function rejectedReasons(siteId: number) {
  const { results } = await env.DB.prepare(
    "select source, reason, payload from rejected_events where site_id = ? order by id",
  )
    .bind(siteId)
    .all<{ source: string; reason: string; payload: string | null }>();
  return results;
}

const behaviour = (cookie: string) => [
  { type: "page", ts: TS, cookie_id: cookie, url: "https://shop.example/" },
  { type: "identify", ts: TS, cookie_id: cookie, props: { customer: "C-1" } },
  { type: "purchase", ts: TS, cookie_id: cookie, customer: "C-1", props: { order: "O-1", value: 30 } },
  { type: "consent", ts: TS, cookie_id: cookie, props: { granted: true } },
];

describe("server-side events and the person's consent", () => {
  it("refuses every event about a cookie whose stored consent is denied: no profile, no link, no order", async () => {
    const { siteId, apiKey, cookie } = await siteWithVisitor("implied", "denied");
    const res = await post(apiKey, behaviour(cookie));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [0, 1, 2, 3].map((index) => ({ index, reason: "consent denied" })),
    });
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 0, customer_id: null, consent: "denied" });
    expect(await customerRow(siteId, "C-1")).toBeNull();
    const rows = await rejectedReasons(siteId);
    expect(rows.map((r) => [r.source, r.reason, r.payload])).toEqual(
      [0, 1, 2, 3].map((i) => ["server", `event ${i}: consent denied`, null]),
    );
  });

  it("on a consent-required site, refuses a cookie that never granted and takes one that did", async () => {
    const never = await siteWithVisitor("required", null);
    const unknown = newCookieId();
    const res = await post(never.apiKey, [
      { type: "page", ts: TS, cookie_id: never.cookie },
      { type: "page", ts: TS, cookie_id: unknown },
    ]);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { rejected: unknown[] }).rejected).toEqual([
      { index: 0, reason: "consent required" },
      { index: 1, reason: "consent required" },
    ]);
    expect(await visitorOf(never.cookie)).toMatchObject({ pageviews: 0 });
    expect(await visitorOf(unknown)).toBeNull();

    const granted = await siteWithVisitor("required", "granted");
    expect((await post(granted.apiKey, behaviour(granted.cookie).slice(0, 3))).status).toBe(204);
    expect(await visitorOf(granted.cookie)).toMatchObject({ pageviews: 1, customer_id: "C-1" });
  });

  it("takes a withdrawal from the shop's server, and refuses what follows it in the batch", async () => {
    const { apiKey, cookie } = await siteWithVisitor("implied", "granted");
    const res = await post(apiKey, [
      { type: "consent", ts: TS, cookie_id: cookie, props: { granted: false } },
      { type: "page", ts: TS, cookie_id: cookie },
    ]);
    expect(((await res.json()) as { rejected: unknown[] }).rejected).toEqual([{ index: 1, reason: "consent denied" }]);
    expect(await visitorOf(cookie)).toMatchObject({ consent: "denied", pageviews: 0 });
  });

  it("refuses a customer-only event whose customer's latest cookie refused consent", async () => {
    const { siteId, apiKey, cookie } = await siteWithVisitor("implied", "denied");
    await env.DB.prepare("update visitors set customer_id = 'C-7' where cookie_id = ?").bind(cookie).run();
    const res = await post(apiKey, [{ type: "view", ts: TS, customer: "C-7", props: { sku: "R-1" } }]);
    expect(((await res.json()) as { rejected: unknown[] }).rejected).toEqual([{ index: 0, reason: "consent denied" }]);
    expect(await countRows("visitors", "site_id = ? and interests != '{}'", siteId)).toBe(0);
  });

  it("refuses Segment /v1/track and /v1/identify messages about a cookie that refused consent", async () => {
    const { siteId, apiKey, cookie } = await siteWithVisitor("implied", "denied");
    for (const [path, body] of [
      ["/v1/track", { type: "track", event: "Product Viewed", anonymousId: cookie, properties: { sku: "R-1" } }],
      ["/v1/identify", { type: "identify", anonymousId: cookie, userId: "C-9" }],
    ] as const) {
      const res = await call(path, {
        method: "POST",
        headers: { Authorization: basicAuth(apiKey), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
    }
    expect(await visitorOf(cookie)).toMatchObject({ customer_id: null, consent: "denied" });
    expect((await rejectedReasons(siteId)).map((r) => r.reason)).toEqual([
      "event 0: consent denied",
      "event 0: consent denied",
    ]);
  });
});
