import { describe, expect, it } from "vitest";
import { signCustomerId } from "../../worker/identity/verified-identify";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { countRows, event, postEvents, SHOP, visitorOf } from "../collect/post-events";
import { call } from "../fixtures/api";
import { archivedEvents } from "../fixtures/archive";
import { bannerJson, bannerSite, insertCustomer } from "../fixtures/banner";

/** A site with a customer-only rule that shows a personal code, and its identity secret. */
async function siteWithCustomerCode() {
  const s = await bannerSite({ allowed_origins: [SHOP] });
  const res = await call("/api/v1/site/identity-secret", { method: "POST", key: s.apiKey });
  expect(res.status).toBe(201);
  const { identity_secret } = (await res.json()) as { identity_secret: string };
  await insertCustomer(s.siteId, "C-1", { clusters: ["rings"], orders: 3 });
  const creative = await s.creative("html", "<p>code {{coupon}}</p>");
  const pool = await s.pool();
  await s.codes(pool, ["VIP-1"]);
  await s.rule({ creative_id: creative, segment_id: await s.segment("customer"), pool_id: pool });
  return { ...s, secret: identity_secret };
}

describe("identify from the browser", () => {
  it("links nothing without the shop's signature and reports it as 'unverified identify'", async () => {
    const s = await siteWithCustomerCode();
    const cookie = newCookieId();
    const res = await postEvents(
      { site: s.siteKey, events: [event("page"), event("identify", { customer: "C-1" })] },
      { cookie },
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, rejected: [{ index: 1, reason: "unverified identify" }] });
    expect((await visitorOf(cookie))?.customer_id).toBeNull();
    const banner = await bannerJson(s.siteKey, "slot", cookie);
    expect(banner.coupon).toBeNull();
    expect(await countRows("coupons", "site_id = ? and holder is not null", s.siteId)).toBe(0);
  });

  it("links nothing with a signature made under another secret, or for another customer", async () => {
    const s = await siteWithCustomerCode();
    const cookie = newCookieId();
    const res = await postEvents(
      {
        site: s.siteKey,
        events: [
          event("identify", { customer: "C-1", sig: await signCustomerId("some-other-secret", "C-1") }),
          event("identify", { customer: "C-1", sig: await signCustomerId(s.secret, "C-2") }),
        ],
      },
      { cookie },
    );
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, reason: "unverified identify" },
        { index: 1, reason: "unverified identify" },
      ],
    });
    expect(await visitorOf(cookie)).toBeNull();
  });

  it("links a correctly signed identify, and /b then shows the customer's own code", async () => {
    const s = await siteWithCustomerCode();
    const cookie = newCookieId();
    const sig = await signCustomerId(s.secret, "C-1");
    const res = await postEvents(
      { site: s.siteKey, events: [event("identify", { customer: "C-1", sig })] },
      { cookie },
    );
    expect(res.status).toBe(204);
    expect((await visitorOf(cookie))?.customer_id).toBe("C-1");
    // The signature is the browser's proof, not data: it is not stored with the event.
    const [stored] = await archivedEvents(s.siteId, cookie);
    expect(stored.props).toEqual({ customer: "C-1" });
    const banner = await bannerJson(s.siteKey, "slot", cookie);
    expect(banner.coupon?.code).toBe("VIP-1");
  });

  it("stops accepting the old secret's signatures once a new secret is made", async () => {
    const s = await siteWithCustomerCode();
    const oldSig = await signCustomerId(s.secret, "C-1");
    const rotated = await call("/api/v1/site/identity-secret", { method: "POST", key: s.apiKey });
    const { identity_secret } = (await rotated.json()) as { identity_secret: string };
    expect(identity_secret).not.toBe(s.secret);
    const res = await postEvents(
      { site: s.siteKey, events: [event("identify", { customer: "C-1", sig: oldSig })] },
      { cookie: newCookieId() },
    );
    expect(res.status).toBe(202);
  });
});

describe("POST /api/v1/site/identity-secret", () => {
  it("needs the API key", async () => {
    const res = await call("/api/v1/site/identity-secret", { method: "POST" });
    expect(res.status).toBe(401);
  });
});
