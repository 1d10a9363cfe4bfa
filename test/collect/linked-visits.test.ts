/**
 * A CRM links import (`POST /api/v1/import/links`) is not a visit: the visitor row it creates has
 * no visit, and that visitor's first real event counts one (worker/collect/apply-events.ts).
 */
import { describe, expect, it } from "vitest";
import { utcDayKey } from "../../worker/lib/time";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { call, createTestSite, importCsv } from "../fixtures/api";
import { event, postEvents, SHOP, visitorOf } from "./post-events";

describe("visits after a CRM links import", () => {
  it("counts the linked visitor's first event as its first visit, and segments see it only then", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const linked = newCookieId();
    const importedAt = Date.now();
    // A link names a customer the CRM import knows (an unknown one is refused).
    await importCsv(apiKey, "customer_id\nC-7\n");
    const imported = await importCsv(apiKey, `cookie_id,customer_id\n${linked},C-7\n`, "/api/v1/import/links");
    expect(await imported.json()).toMatchObject({ accepted: 1, rejected: [] });
    const count = async (expression: string) => {
      const res = await call("/api/v1/segments/preview", { method: "POST", key: apiKey, json: { expression } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { visitors: number }).visitors;
    };
    expect(await visitorOf(linked)).toMatchObject({ customer_id: "C-7", visits: 0, pageviews: 0 });
    expect(await count("visits >= 1")).toBe(0);
    expect(await count("days_since_last_visit >= 0")).toBe(0);
    expect(await count("customer and visits = 0")).toBe(1);

    expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: linked })).status).toBe(204);
    const visitor = await visitorOf(linked);
    expect(visitor).toMatchObject({ customer_id: "C-7", visits: 1, pageviews: 1 });
    expect(JSON.parse(visitor!.visit_days as string)).toEqual({ [utcDayKey(Date.now())]: 1 });
    expect(visitor!.first_seen_at as number).toBeGreaterThanOrEqual(importedAt);
    expect(await count("visits >= 1 and visits(1) = 1 and days_since_first_visit = 0")).toBe(1);

    // The next batch of the same visit is no new visit.
    expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: linked })).status).toBe(204);
    expect(await visitorOf(linked)).toMatchObject({ visits: 1, pageviews: 2 });
  });

  it("leaves the visits of a visitor tagwerk had already seen as they were when a link names it", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const seen = newCookieId();
    await postEvents({ site: siteKey, events: [event("page")] }, { cookie: seen });
    await importCsv(apiKey, "customer_id\nC-8\n");
    await importCsv(apiKey, `cookie_id,customer_id\n${seen},C-8\n`, "/api/v1/import/links");
    await postEvents({ site: siteKey, events: [event("page")] }, { cookie: seen });
    expect(await visitorOf(seen)).toMatchObject({ customer_id: "C-8", visits: 1, pageviews: 2 });
  });
});
