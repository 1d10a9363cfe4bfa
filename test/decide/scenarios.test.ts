import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_PLACEMENT, seedCampaigns } from "../../scripts/seed/campaigns";
import { seedDemo } from "../../scripts/seed/demo";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { bannerJson, exposedCookie, exposedCustomerId, insertCustomer, insertVisitor } from "../fixtures/banner";

const SHOP = "https://shop.example";
let siteId: number;
let rules: Awaited<ReturnType<typeof seedCampaigns>>["rules"];
let ruleIds: number[];

beforeAll(async () => {
  await seedDemo(env.DB, { shopOrigins: [SHOP] });
  const seeded = await seedCampaigns(env.DB, { shopUrl: SHOP });
  // Seeding twice changes nothing: the campaigns seed is idempotent.
  const again = await seedCampaigns(env.DB, { shopUrl: SHOP });
  expect(again.rules).toEqual(seeded.rules);
  siteId = seeded.siteId;
  rules = seeded.rules;
  ruleIds = Object.values(rules);
}, 60_000);

/**
 * A visitor linked to a fresh CRM customer, outside every rule's holdout (the demo site holds out
 * 10 %); holdouts are drawn per customer, so the customer ID is `base` or `base-N`, whichever is exposed.
 */
async function customerVisitor(
  base: string,
  customer: Parameters<typeof insertCustomer>[2],
  visitor: Omit<Parameters<typeof insertVisitor>[2], "customerId"> = {},
) {
  const cookie = exposedCookie(ruleIds, 0.1);
  const customerId = exposedCustomerId(base, ruleIds, 0.1);
  await insertCustomer(siteId, customerId, customer);
  await insertVisitor(siteId, cookie, { ...visitor, customerId });
  return cookie;
}

const loyal = (now = Date.now()) => ({ orders: 4, firstOrderAt: now - 400 * DAY, lastOrderAt: now - 30 * DAY });

describe("the demo jewellery shop's banners", () => {
  it("shows the earrings banner to cluster earrings and the chronograph banner to cluster watches", async () => {
    const earrings = await customerVisitor("S-EAR", { clusters: ["earrings"], ...loyal() });
    const watches = await customerVisitor("S-WAT", { clusters: ["watches"], ...loyal() });
    const a = await bannerJson("demo", DEMO_PLACEMENT, earrings);
    const b = await bannerJson("demo", DEMO_PLACEMENT, watches);
    expect(a.rule).toBe(rules.earrings);
    expect(a.creative.body).toContain("Earrings, gift-wrapped");
    expect(a.creative.body).toContain("loves earrings");
    expect(b.rule).toBe(rules.watches);
    expect(b.creative.body).toContain("The chronograph");
    expect(a.coupon).toBeNull();
  });

  it("gives a cart abandoner (cart older than an hour) the cart reminder with a personal code", async () => {
    const now = Date.now();
    const cookie = exposedCookie(ruleIds, 0.1);
    await insertVisitor(siteId, cookie, { cart: [{ sku: "E-201", qty: 1 }], cartUpdatedAt: now - 2 * 3_600_000 });
    const fresh = exposedCookie(ruleIds, 0.1);
    await insertVisitor(siteId, fresh, { cart: [{ sku: "E-201", qty: 1 }], cartUpdatedAt: now - 10 * 60_000 });

    const reminder = await bannerJson("demo", DEMO_PLACEMENT, cookie);
    expect(reminder.rule).toBe(rules.cart);
    expect(reminder.coupon?.code).toMatch(/^CART/);
    expect(reminder.creative.body).toContain(reminder.coupon!.code);
    expect(reminder.creative.body).toContain("Hoop earrings, gold is still in your cart");
    expect(reminder.creative.body).toContain("10 % off");
    // A cart of ten minutes is not abandoned yet: the next matching rule (acquisition) is shown.
    expect((await bannerJson("demo", DEMO_PLACEMENT, fresh)).rule).toBe(rules.acquisition);
  });

  it("gives a dormant customer a one-time code that the second visit shows again", async () => {
    const now = Date.now();
    const cookie = await customerVisitor("S-DORM", {
      clusters: ["rings"],
      orders: 2,
      firstOrderAt: now - 500 * DAY,
      lastOrderAt: now - 200 * DAY,
    });
    const first = await bannerJson("demo", DEMO_PLACEMENT, cookie);
    expect(first.rule).toBe(rules.dormant);
    expect(first.coupon?.code).toMatch(/^BACK/);
    expect(first.creative.body).toContain(`<b>${first.coupon!.code}</b>`);
    const second = await bannerJson("demo", DEMO_PLACEMENT, cookie);
    expect(second.coupon).toEqual(first.coupon);
    const held = await env.DB.prepare(
      "select count(*) as n from coupons where holder = 'c:' || (select customer_id from visitors where cookie_id = ?)",
    )
      .bind(cookie)
      .first<number>("n");
    expect(held).toBe(1);
  });

  it("excludes a customer whose first order is less than four weeks old from the acquisition rule", async () => {
    const now = Date.now();
    const newCustomer = await customerVisitor("S-NEW", {
      clusters: ["rings"],
      orders: 1,
      firstOrderAt: now - 10 * DAY,
      lastOrderAt: now - 10 * DAY,
    });
    const older = await customerVisitor("S-OLD", { clusters: ["rings"], ...loyal(now) });
    const shown = await bannerJson("demo", DEMO_PLACEMENT, newCustomer);
    expect(shown.rule).toBeNull();
    expect(shown.creative.body).toContain("Rings, earrings, necklaces and watches"); // the house fallback
    expect((await bannerJson("demo", DEMO_PLACEMENT, older)).rule).toBe(rules.acquisition);
  });

  it("shows the next rule to a visitor over the frequency cap (3 earrings banners a day)", async () => {
    const cookie = await customerVisitor("S-CAP", { clusters: ["earrings"], ...loyal() });
    const seen: (number | null)[] = [];
    for (let i = 0; i < 4; i++) seen.push((await bannerJson("demo", DEMO_PLACEMENT, cookie)).rule);
    expect(seen).toEqual([rules.earrings, rules.earrings, rules.earrings, rules.acquisition]);
    // A customer's cookie counts toward the customer's cap (every device of the person).
    const counter = await env.DB.prepare("select count from person_caps where holder = ? and rule_id = ?")
      .bind("c:S-CAP", rules.earrings)
      .first<number>("count");
    expect(counter).toBe(3);
  });
});
