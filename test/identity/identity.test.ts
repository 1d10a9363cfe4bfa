import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signCustomerId } from "../../worker/identity/verified-identify";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { forgetCachedSite } from "../../worker/sites/site-cache";
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

  it("stops accepting the old secret's signatures once a new secret is made (no grace period unless asked)", async () => {
    const s = await siteWithCustomerCode();
    const oldSig = await signCustomerId(s.secret, "C-1");
    // As the public contract says: a new secret and the old one stops working.
    const rotated = await call("/api/v1/site/identity-secret", { method: "POST", key: s.apiKey });
    const { identity_secret, previous_valid_until } = (await rotated.json()) as {
      identity_secret: string;
      previous_valid_until: string | null;
    };
    expect(identity_secret).not.toBe(s.secret);
    expect(previous_valid_until).toBeNull();
    const res = await postEvents(
      { site: s.siteKey, events: [event("identify", { customer: "C-1", sig: oldSig })] },
      { cookie: newCookieId() },
    );
    expect(res.status).toBe(202);
  });

  it("keeps the old secret verifying for a requested 24-hour grace period after a rotation, and not after it", async () => {
    const s = await siteWithCustomerCode();
    const oldSig = await signCustomerId(s.secret, "C-1");
    const before = Date.now();
    const rotated = await call("/api/v1/site/identity-secret", {
      method: "POST",
      key: s.apiKey,
      json: { grace_hours: 24 },
    });
    expect(rotated.status).toBe(201);
    const { identity_secret, previous_valid_until } = (await rotated.json()) as {
      identity_secret: string;
      previous_valid_until: string;
    };
    expect(Date.parse(previous_valid_until) - before).toBeGreaterThanOrEqual(24 * 3_600_000);
    const identify = (sig: string) =>
      postEvents({ site: s.siteKey, events: [event("identify", { customer: "C-1", sig })] }, { cookie: newCookieId() });
    // A page rendered just before the rotation, and one after it.
    expect((await identify(oldSig)).status).toBe(204);
    expect((await identify(await signCustomerId(identity_secret, "C-1"))).status).toBe(204);
    // The grace period over (moved into the past here), the old signature links nothing.
    await env.DB.prepare("update sites set previous_identity_secret_until = ? where key = ?")
      .bind(Date.now() - 1, s.siteKey)
      .run();
    forgetCachedSite(s.siteKey);
    const late = await identify(oldSig);
    expect(await late.json()).toEqual({ accepted: 0, rejected: [{ index: 0, reason: "unverified identify" }] });
  });
});

describe("the timestamped identify", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("links with a signature of customer + '.' + ts, given as a number or a string", async () => {
    const s = await siteWithCustomerCode();
    for (const ts of [now(), String(now() - 3_600)]) {
      const cookie = newCookieId();
      const sig = await signCustomerId(s.secret, "C-1", Number(ts));
      const res = await postEvents(
        { site: s.siteKey, events: [event("identify", { customer: "C-1", ts, sig })] },
        { cookie },
      );
      expect(res.status).toBe(204);
      expect((await visitorOf(cookie))?.customer_id).toBe("C-1");
    }
  });

  it("refuses a signature copied out of a page more than 24 hours old, a ts from the future, and a ts changed afterwards", async () => {
    const s = await siteWithCustomerCode();
    const old = now() - 24 * 3_600 - 60;
    const future = now() + 3_600;
    const fresh = now();
    const cookie = newCookieId();
    const res = await postEvents(
      {
        site: s.siteKey,
        events: [
          event("identify", { customer: "C-1", ts: old, sig: await signCustomerId(s.secret, "C-1", old) }),
          event("identify", { customer: "C-1", ts: future, sig: await signCustomerId(s.secret, "C-1", future) }),
          // The signature of an old page, presented with a fresh ts.
          event("identify", { customer: "C-1", ts: fresh, sig: await signCustomerId(s.secret, "C-1", old) }),
          // A timestamped signature presented as the plain form.
          event("identify", { customer: "C-1", sig: await signCustomerId(s.secret, "C-1", fresh) }),
        ],
      },
      { cookie },
    );
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [0, 1, 2, 3].map((index) => ({ index, reason: "unverified identify" })),
    });
    expect((await visitorOf(cookie))?.customer_id ?? null).toBeNull();
  });
});

describe("POST /api/v1/site/identity-secret", () => {
  it("needs the API key", async () => {
    const res = await call("/api/v1/site/identity-secret", { method: "POST" });
    expect(res.status).toBe(401);
  });
});
