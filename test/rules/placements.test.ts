import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { utcDayNumber } from "../../worker/lib/time";
import { MAX_SEEN_PLACEMENTS, writeBannerMessages } from "../../worker/pipeline/impressions";
import { call } from "../fixtures/api";
import { bannerSite, fetchWorker } from "../fixtures/banner";

type Placement = {
  placement: string;
  width: number | null;
  height: number | null;
  fallback: { creative_id: number; name: string } | null;
  rules: { id: number; name: string; priority: number; enabled: boolean }[];
  seen: { first: string; last: string } | null;
};

async function threePlacements() {
  const s = await bannerSite();
  const small = await s.creative("html", "<p>small</p>");
  await env.DB.prepare("update creatives set width = 160, height = 600 where id = ?").bind(small).run();
  const big = await s.creative("html", "<p>big</p>");
  const a = await s.rule({ name: "A", placement: "home-hero", creative_id: big, priority: 5 });
  const b = await s.rule({ name: "B", placement: "home-hero", creative_id: big, priority: 5 });
  const c = await s.rule({ name: "C", placement: "home-hero", creative_id: big, priority: 50 });
  // A placement with a fallback and no rule still serves banners: it is listed too.
  await s.fallback("category-top", small);
  return { s, a, b, c, small };
}

describe("placements as objects", () => {
  it("lists every placement from rules and fallbacks, with size, fallback and rules in the order /b tries them", async () => {
    const { s, a, b, c } = await threePlacements();
    const res = await call("/api/v1/placements", { key: s.apiKey });
    expect(res.status).toBe(200);
    const { placements } = (await res.json()) as { placements: Placement[] };
    expect(placements.map((p) => p.placement)).toEqual(["category-top", "home-hero"]);
    const [category, hero] = placements;
    expect(category).toMatchObject({ width: 160, height: 600, fallback: { name: "html creative" }, rules: [] });
    expect(hero.width).toBe(300);
    expect(hero.fallback).toBeNull();
    expect(hero.rules.map((r) => r.id)).toEqual([a, b, c]);
  });

  it("lists a placement /b was asked for with nothing set up, counting no impression for its empty creative", async () => {
    const { s } = await threePlacements();
    for (let i = 0; i < 3; i++) {
      const res = await fetchWorker(`/b/product-side?site=${s.siteKey}&format=json`);
      expect(res.status).toBe(200);
    }
    await fetchWorker(`/b/category-top?site=${s.siteKey}&format=json`);
    const { placements } = (await (await call("/api/v1/placements", { key: s.apiKey })).json()) as {
      placements: Placement[];
    };
    const today = new Date().toISOString().slice(0, 10);
    expect(placements.map((p) => p.placement)).toEqual(["category-top", "home-hero", "product-side"]);
    expect(placements[2]).toMatchObject({ rules: [], fallback: null, seen: { first: today, last: today } });
    // A placement with a fallback served it: seen too; one never asked for is not.
    expect(placements[0].seen).toEqual({ first: today, last: today });
    expect(placements[1].seen).toBeNull();
    const counted = await env.DB.prepare("select count(*) as n from report_counters where placement = 'product-side'")
      .bind()
      .first("n");
    expect(counted).toBe(0);
  });

  it("notes each placement once per batch, moves its last day forward only, and keeps at most the cap of names", async () => {
    const { s } = await threePlacements();
    const message = (placement: string, ts: number, i: number) => ({
      kind: "impression" as const,
      siteId: s.siteId,
      uid: `seen-${placement}-${i}-${crypto.randomUUID()}`,
      placement,
      ruleId: null,
      creativeId: null,
      cookieId: null,
      couponId: null,
      holdout: false,
      capped: false,
      ts,
    });
    const now = Date.now();
    const day = utcDayNumber(now);
    await writeBannerMessages(env, [message("side", now, 1), message("side", now - 3 * 86_400_000, 2)]);
    await writeBannerMessages(env, [message("side", now - 86_400_000, 3)]);
    const row = () =>
      env.DB.prepare("select first_day, last_day from placements_seen where site_id = ? and placement = 'side'")
        .bind(s.siteId)
        .first();
    expect(await row()).toEqual({ first_day: day - 3, last_day: day });
    // Made-up names stop at the cap; a known one still moves on.
    const names = Array.from({ length: MAX_SEEN_PLACEMENTS + 20 }, (_, i) => message(`x${i}`, now, i));
    await writeBannerMessages(env, names);
    const count = await env.DB.prepare("select count(*) as n from placements_seen where site_id = ?")
      .bind(s.siteId)
      .first("n");
    expect(count).toBe(MAX_SEEN_PLACEMENTS);
  });

  it("reorders a placement's rules in one call, with priorities 10, 20, 30", async () => {
    const { s, a, b, c } = await threePlacements();
    const res = await call("/api/v1/placements/home-hero/order", {
      method: "PUT",
      key: s.apiKey,
      json: { rule_ids: [c, a, b] },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Placement;
    expect(body.rules.map((r) => [r.id, r.priority])).toEqual([
      [c, 10],
      [a, 20],
      [b, 30],
    ]);
  });

  it("refuses an order that does not name every rule exactly once, and changes nothing", async () => {
    const { s, a, b, c } = await threePlacements();
    for (const rule_ids of [
      [a, b],
      [a, b, c, c],
      [a, b, 999_999],
    ]) {
      const res = await call("/api/v1/placements/home-hero/order", {
        method: "PUT",
        key: s.apiKey,
        json: { rule_ids },
      });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("exactly once");
    }
    const rows = await env.DB.prepare(
      "select id, priority from rules where placement = 'home-hero' and id in (?, ?, ?) order by id",
    )
      .bind(a, b, c)
      .all<{ priority: number }>();
    expect(rows.results.map((r) => r.priority)).toEqual([5, 5, 50]);
    const none = await call("/api/v1/placements/nowhere/order", {
      method: "PUT",
      key: s.apiKey,
      json: { rule_ids: [a] },
    });
    expect(none.status).toBe(404);
  });
});
