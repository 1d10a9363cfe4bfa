/**
 * Holdouts are drawn per person (README.md, "Banners (creatives, rules, `/b`, `/c`)"): the control-group hash takes the linked
 * CRM customer when there is one, else the cookie, so the two devices of one customer always land
 * on the same side of a rule's holdout.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { holdoutBucket } from "../../worker/decide/choose";
import { siteIdOf } from "../fixtures/api";
import { bannerJson, bannerSite, insertVisitor, randomCookie } from "../fixtures/banner";

describe("holdout per person", () => {
  it("puts both devices of each of 20 two-device customers on the same side at holdout 0.5", async () => {
    const site = await bannerSite();
    const siteId = await siteIdOf(site.siteKey);
    const fallback = await site.creative("html", "<p>house</p>");
    await site.fallback("slot", fallback);
    const ruleId = await site.rule({ creative_id: await site.creative("html", "<p>offer</p>"), holdout: 0.5 });

    const sides: { held: boolean; customer: string }[] = [];
    let split = 0;
    for (let n = 0; n < 20; n++) {
      const customer = `C-${n}`;
      await env.DB.prepare("insert into customers (site_id, customer_id) values (?, ?)").bind(siteId, customer).run();
      const devices = [randomCookie(), randomCookie()];
      for (const cookie of devices) await insertVisitor(siteId, cookie, { customerId: customer });
      const held = await Promise.all(
        devices.map(async (cookie) => (await bannerJson(site.siteKey, "slot", cookie)).rule === null),
      );
      expect(held[0]).toBe(held[1]);
      sides.push({ held: held[0], customer });
      // How many of these customers a per-cookie draw would have split across the two groups.
      if (holdoutBucket(devices[0], ruleId) < 0.5 !== holdoutBucket(devices[1], ruleId) < 0.5) split++;
    }
    // The person's side is the customer's hash, and both sides are used.
    for (const { held, customer } of sides) expect(held).toBe(holdoutBucket(`c:${customer}`, ruleId) < 0.5);
    expect(sides.some((s) => s.held)).toBe(true);
    expect(sides.some((s) => !s.held)).toBe(true);
    // A per-cookie draw splits about half of them: the test would have caught the old behaviour.
    expect(split).toBeGreaterThan(0);
  });

  it("keeps an unlinked cookie on the side its own ID hashes to", async () => {
    const site = await bannerSite();
    await site.fallback("slot", await site.creative("html", "<p>house</p>"));
    const ruleId = await site.rule({ creative_id: await site.creative("html", "<p>offer</p>"), holdout: 0.5 });
    for (let n = 0; n < 8; n++) {
      const cookie = randomCookie();
      const json = await bannerJson(site.siteKey, "slot", cookie);
      expect(json.rule === null).toBe(holdoutBucket(cookie, ruleId) < 0.5);
    }
  });
});
