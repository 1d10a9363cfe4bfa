/**
 * Partner user IDs and customer IDs leave in files read line by line (audience exports, delta and
 * `ttd` files): a CR or LF inside one made a reader see injected rows. Every path that takes such
 * an ID refuses control characters (worker/lib/identifiers.ts).
 */
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { countRows, visitorOf } from "../collect/post-events";
import { basicAuth, call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";

const INJECTED = "P-1\r\nP-EVIL";

describe("identifiers with control characters", () => {
  it("/sync refuses a partner user ID with CR/LF and links nothing", async () => {
    const { siteKey, apiKey } = await createTestSite();
    await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "Net" } });
    for (const puid of [INJECTED, "P-1\nX", "P\u0000", "P\u2028X"]) {
      const res = await call(`/sync?site=${siteKey}&p=net&puid=${encodeURIComponent(puid)}`);
      expect([puid, res.status]).toEqual([puid, 400]);
    }
    expect(await countRows("id_links", "partner_user_id like 'P%'")).toBe(0);
  });

  it("imports of customers and links refuse such a customer ID row by row", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const customers = await importCsv(apiKey, `customer_id,lifetime_revenue\n"C-1\r\nC-EVIL",10\nC-2,20`);
    expect(((await customers.json()) as { accepted: number }).accepted).toBe(1);
    const cookie = newCookieId();
    const links = await importCsv(apiKey, `cookie_id,customer_id\n${cookie},"C-2\nX"`, "/api/v1/import/links");
    expect(((await links.json()) as { accepted: number }).accepted).toBe(0);
    expect(await countRows("customers", "site_id = ? and customer_id like 'C-1%'", siteId)).toBe(0);
    expect(await visitorOf(cookie)).toBeNull();
  });

  it("server events, Segment identify and the coupon redeem API refuse it", async () => {
    const { apiKey } = await createTestSite();
    const cookie = newCookieId();
    const events = await call("/api/v1/events", {
      method: "POST",
      key: apiKey,
      json: {
        events: [
          { type: "page", ts: 1, cookie_id: cookie, customer: INJECTED },
          { type: "identify", ts: 1, cookie_id: cookie, props: { customer: INJECTED } },
        ],
      },
    });
    expect(((await events.json()) as { accepted: number }).accepted).toBe(0);
    await call("/v1/identify", {
      method: "POST",
      headers: { Authorization: basicAuth(apiKey), "Content-Type": "application/json" },
      body: JSON.stringify({ type: "identify", anonymousId: cookie, userId: INJECTED }),
    });
    expect(await visitorOf(cookie)).toBeNull();
    const redeem = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: apiKey,
      json: { code: "ANY", order: "O-1", customer: INJECTED },
    });
    expect(redeem.status).toBe(400);
  });
});
