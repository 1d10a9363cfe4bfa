import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { holdoutBucket } from "../../worker/decide/choose";
import { refreshDecisionRows } from "../../worker/decide/decision-rows";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { call } from "../fixtures/api";
import { bannerJson, bannerSite, exposedCookie, insertCustomer, insertVisitor, randomCookie } from "../fixtures/banner";

type Explanation = {
  rules: { id: number; name: string; matched: boolean; reason: string }[];
  chosen: number | null;
  holdout: { rule: number; share: number } | null;
  outcome: string;
  coupon: { state: string; code: string | null; expires: string | null } | null;
  creative: { id: number; body: string } | null;
  visitor: { cookie_id: string | null; customer: string | null; known: boolean };
};

async function explain(apiKey: string, placement: string, body: unknown) {
  const res = await call(`/api/v1/placements/${placement}/explain`, { method: "POST", key: apiKey, json: body });
  return { status: res.status, json: (await res.json()) as Explanation };
}

const counts = async (siteId: number) =>
  env.DB.prepare(
    `select (select count(*) from impressions where site_id = ?1) as impressions,
            (select count(*) from coupons where site_id = ?1 and holder is not null) as assigned`,
  )
    .bind(siteId)
    .first<{ impressions: number; assigned: number }>();

describe("POST /api/v1/placements/:placement/explain", () => {
  it("lists every rule in order with why it did or did not match, and records and claims nothing", async () => {
    const s = await bannerSite();
    const creative = await s.creative(
      "html",
      "<p>{{#coupon}}code {{coupon}}{{/coupon}}{{^coupon}}no code{{/coupon}}</p>",
    );
    const fallback = await s.creative("html", "<p>house</p>");
    await s.fallback("slot", fallback);
    const pool = await s.pool();
    await s.codes(pool, ["FREE-1"]);
    const never = await s.segment("visits > 1000");
    const everyone = await s.segment("visits >= 0");
    const disabled = await s.rule({ name: "off", priority: 1, creative_id: creative, enabled: false });
    const future = await s.rule({
      name: "later",
      priority: 2,
      creative_id: creative,
      starts_at: new Date(Date.now() + 5 * DAY).toISOString(),
    });
    const nope = await s.rule({ name: "big fans", priority: 3, creative_id: creative, segment_id: never });
    const win = await s.rule({ name: "all", priority: 4, creative_id: creative, segment_id: everyone, pool_id: pool });
    const late = await s.rule({ name: "also all", priority: 5, creative_id: creative });
    const cookie = randomCookie();
    await insertVisitor(s.siteId, cookie);
    const before = await counts(s.siteId);

    const { status, json } = await explain(s.apiKey, "slot", { cookie_id: cookie });
    expect(status).toBe(200);
    expect(json.rules.map((r) => r.id)).toEqual([disabled, future, nope, win, late]);
    expect(json.rules.map((r) => r.matched)).toEqual([false, false, false, true, true]);
    expect(json.rules[0].reason).toBe("disabled");
    expect(json.rules[1].reason).toMatch(/outside schedule/);
    expect(json.rules[2].reason).toMatch(/segment false/);
    expect(json.rules[4].reason).toMatch(new RegExp(`but “[^”]+” \\(rule ${win}\\) comes first`));
    expect(json.chosen).toBe(win);
    expect(json.outcome).toBe("rule");
    expect(json.coupon).toMatchObject({ state: "would_claim", code: null });
    // The date a claim now would give is shown, not an empty "until".
    expect(json.coupon?.expires).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(json.creative?.body).toContain("code YOUR-CODE");
    expect(await counts(s.siteId)).toEqual(before);

    // What /b then really does agrees with the explanation.
    const served = await bannerJson(s.siteKey, "slot", cookie);
    expect(served.rule).toBe(win);
    expect(served.coupon?.code).toBe("FREE-1");
    const again = await explain(s.apiKey, "slot", { cookie_id: cookie });
    expect(again.json.coupon).toMatchObject({ state: "held", code: "FREE-1" });
  });

  it("lists every failing reason of a rule, not only the first", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>offer</p>");
    const never = await s.segment("visits > 1000");
    const both = await s.rule({
      name: "later, for big fans",
      creative_id: creative,
      segment_id: never,
      starts_at: new Date(Date.now() + 5 * DAY).toISOString(),
    });
    const cookie = randomCookie();
    await insertVisitor(s.siteId, cookie);
    const { json } = await explain(s.apiKey, "slot", { cookie_id: cookie });
    const rule = json.rules.find((r) => r.id === both) as { reason: string; reasons?: string[] };
    expect(rule.reasons).toEqual([
      "outside schedule: not started yet",
      "segment false: the visitor is not in the rule's segment",
    ]);
    expect(rule.reason).toBe(
      "outside schedule: not started yet; segment false: the visitor is not in the rule's segment",
    );
  });

  it("says capped, converted, pool dry and holdout where the decision would", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>{{#coupon}}{{coupon}}{{/coupon}}{{^coupon}}no code{{/coupon}}</p>");
    const fallback = await s.creative("html", "<p>house</p>");
    await s.fallback("slot", fallback);
    const dryPool = await s.pool();
    const capped = await s.rule({ name: "capped", priority: 1, creative_id: creative, cap_per_day: 1 });
    const converted = await s.rule({ name: "conv", priority: 2, creative_id: creative, stop_after_conversion: true });
    const dry = await s.rule({ name: "dry", priority: 3, creative_id: creative, pool_id: dryPool });
    const cookie = exposedCookie([capped, converted, dry], 0.5);
    await insertVisitor(s.siteId, cookie);
    const day = Math.floor(Date.now() / DAY);
    await env.DB.batch([
      env.DB.prepare(
        "insert into person_caps (site_id, holder, rule_id, day, count) values (?, 'v:' || ?, ?, ?, 1)",
      ).bind(s.siteId, cookie, capped, day),
      // Converted: a code of the rule this visitor holds was redeemed (its copy beside the row).
      env.DB.prepare(
        `insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)
         values (?, 'v:' || ?, 999999, 0, ?, 'REDEEMED', 0, ?)`,
      ).bind(s.siteId, cookie, converted, Date.now()),
    ]);
    // Rows written past the writers: the decision row is made as a writer would.
    await refreshDecisionRows(env.DB, s.siteId, { cookies: [cookie] }, Date.now());
    const { json } = await explain(s.apiKey, "slot", { cookie_id: cookie });
    expect(json.rules.map((r) => r.reason.split(":")[0])).toEqual(["capped", "converted", "matched"]);
    expect(json.chosen).toBe(dry);
    expect(json.coupon?.state).toBe("dry");
    expect(json.creative?.body).toContain("no code");

    // A rule holding everyone out: the explanation names the holdout and the fallback it shows.
    const h = await bannerSite();
    const hc = await h.creative("html", "<p>rule</p>");
    await h.fallback("slot", await h.creative("html", "<p>house</p>"));
    const rule = await h.rule({ name: "held out", creative_id: hc, holdout: 1 });
    const visitor = randomCookie();
    expect(holdoutBucket(visitor, rule)).toBeLessThan(1);
    const held = await explain(h.apiKey, "slot", { cookie_id: visitor });
    expect(held.json.outcome).toBe("holdout");
    expect(held.json.holdout).toEqual({ rule, share: 1 });
    expect(held.json.rules[0].reason).toMatch(/holdout/);
    expect(held.json.creative?.body).toContain("house");
  });

  it("explains a CRM customer by customer ID, with or without a cookie", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>for {{cluster}}</p>");
    const rings = await s.segment('cluster = "rings"');
    const rule = await s.rule({ name: "rings", creative_id: creative, segment_id: rings });
    await insertCustomer(s.siteId, "C-EX-1", { clusters: ["rings"] });
    const noCookie = await explain(s.apiKey, "slot", { customer: "C-EX-1" });
    expect(noCookie.status).toBe(200);
    expect(noCookie.json.chosen).toBe(rule);
    expect(noCookie.json.visitor).toMatchObject({ cookie_id: null, customer: "C-EX-1", known: true });
    expect(noCookie.json.creative?.body).toContain("for rings");

    const cookie = randomCookie();
    await insertVisitor(s.siteId, cookie, { customerId: "C-EX-1" });
    const linked = await explain(s.apiKey, "slot", { customer: "C-EX-1" });
    expect(linked.json.visitor.cookie_id).toBe(cookie);

    const unknown = await explain(s.apiKey, "slot", { customer: "C-NOBODY" });
    expect(unknown.status).toBe(404);
  });

  it("refuses a body that names no visitor or a malformed cookie ID, and a call without a key", async () => {
    const s = await bannerSite();
    expect((await explain(s.apiKey, "slot", {})).status).toBe(400);
    expect((await explain(s.apiKey, "slot", { cookie_id: "nope" })).status).toBe(400);
    const res = await call("/api/v1/placements/slot/explain", { method: "POST", json: { cookie_id: randomCookie() } });
    expect(res.status).toBe(401);
  });
});

describe("explain and consent", () => {
  it("says what /b does for a visitor who may not be personalised: no code to claim, reason no consent", async () => {
    for (const { settings, consent } of [
      { settings: { consent_mode: "required" }, consent: null },
      { settings: { consent_mode: "implied" }, consent: "denied" },
    ]) {
      const s = await bannerSite(settings);
      const creative = await s.creative(
        "html",
        "<p>{{#coupon}}code {{coupon}}{{/coupon}}{{^coupon}}no code{{/coupon}}</p>",
      );
      const pool = await s.pool();
      await s.codes(pool, ["FREE-1"]);
      const rule = await s.rule({ name: "everyone", creative_id: creative, pool_id: pool });
      const cookie = randomCookie();
      await insertVisitor(s.siteId, cookie, consent ? { consent: consent as "denied" } : {});

      const { json } = await explain(s.apiKey, "slot", { cookie_id: cookie });
      expect(json.chosen).toBe(rule);
      expect(json.coupon).toMatchObject({ state: "no_consent", code: null });
      expect(json.rules[0].reason).toMatch(/^no consent/);
      expect(json.visitor.cookie_id).toBeNull();
      expect(json.creative?.body).toContain("no code");
      // What /b does for that visitor: the same rule, no code, nothing claimed.
      const banner = await bannerJson(s.siteKey, "slot", cookie);
      expect([banner.rule, banner.coupon]).toEqual([rule, null]);
      expect((await counts(s.siteId))?.assigned).toBe(0);
    }
  });
});
