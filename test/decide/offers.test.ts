/**
 * Next best offer (README.md, "Next best offer"): the placement setting, Thompson sampling per
 * visitor context learned from the counters /b and /c write, holdouts that stay honest under
 * `best`, and a learned state that stays consistent when rules are paused or deleted.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mulberry32 as seeded } from "../../bench/lookalike-population";
import { holdoutBucket } from "../../worker/decide/choose";
import {
  arbitrate,
  betaSample,
  clearLearnedOffers,
  LEARN_REFRESH_MS,
  learnedOffers,
  offersFor,
} from "../../worker/decide/offers";
import type { CompiledRule } from "../../worker/decide/rule-set";
import { utcDayNumber } from "../../worker/lib/time";
import { call, errorOf } from "../fixtures/api";
import { bannerJson, bannerSite, fetchWorker, insertCustomer, insertVisitor, randomCookie } from "../fixtures/banner";

const ruleStub = (id: number) => ({ id }) as CompiledRule;
const stats = (impressions: number, clicks: number) => ({ impressions, clicks, redemptions: 0, revenue: 0 });

async function placement(apiKey: string, name: string, patch?: unknown) {
  const res = await call(
    `/api/v1/placements/${name}`,
    patch ? { method: "PATCH", key: apiKey, json: patch } : { key: apiKey },
  );
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & { learned: LearnedRow[] } };
}
type LearnedRow = { rule_id: number; context: string; impressions: number; clicks: number; mean: number };

/** A site with a `best` placement "slot", its fallback, and one rule per name (holdout as given). */
async function bestSite(names: string[], holdout: number | null = null) {
  const site = await bannerSite();
  await site.fallback("slot", await site.creative("html", "<p>house</p>"));
  const ids: number[] = [];
  for (const name of names) {
    const creative = await site.creative("html", `<a href="{{click_url}}">${name}</a>`);
    ids.push(await site.rule({ name, creative_id: creative, holdout }));
  }
  expect((await placement(site.apiKey, "slot", { arbitration: "best", objective: "clicks" })).status).toBe(200);
  return { ...site, ids };
}

/** A visitor linked to a customer of `cluster`. */
async function clusterVisitor(siteId: number, cluster: string) {
  const customer = `${cluster}-${crypto.randomUUID()}`;
  await insertCustomer(siteId, customer, { clusters: [cluster] });
  const cookie = randomCookie();
  await insertVisitor(siteId, cookie, { customerId: customer });
  return { cookie, customer };
}

const clickPath = (clickUrl: string) => new URL(clickUrl).pathname;

describe("sampling", () => {
  it("draws Beta samples with the distribution's mean and variance", () => {
    const random = seeded(7);
    for (const [a, b] of [
      [3, 7],
      [1, 1],
      [1, 300],
      [2, 1],
      [200, 20],
    ]) {
      const n = 50_000;
      let sum = 0;
      let squares = 0;
      let outside = 0;
      for (let i = 0; i < n; i++) {
        const x = betaSample(a, b, random);
        if (!(x >= 0 && x <= 1)) outside++;
        sum += x;
        squares += x * x;
      }
      expect(outside).toBe(0);
      const mean = a / (a + b);
      const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(sum / n / mean - 1)).toBeLessThan(0.02);
      expect(Math.abs((squares / n - (sum / n) ** 2) / variance - 1)).toBeLessThan(0.06);
    }
  });

  it("explores a rule with no data against one with a thousand impressions, and exploits a clear winner", () => {
    const random = seeded(11);
    const rules = [ruleStub(1), ruleStub(2)];
    let newWins = 0;
    let winnerWins = 0;
    for (let i = 0; i < 2000; i++) {
      const fresh = offersFor({ at: 0, of: "", placements: new Map() }, "slot", "x", "clicks", random);
      fresh.stats = new Map([[1, stats(1000, 20)]]);
      if (arbitrate(rules, fresh).winner?.id === 2) newWins++;
      const learned = {
        ...fresh,
        stats: new Map([
          [1, stats(1000, 20)],
          [2, stats(1000, 60)],
        ]),
      };
      if (arbitrate(rules, learned).winner?.id === 2) winnerWins++;
    }
    // Beta(1, 1) against Beta(21, 981): the unseen rule wins almost always until it has been seen.
    expect(newWins).toBeGreaterThan(1800);
    // 6 % against 2 % over a thousand impressions each: the better offer takes nearly every draw.
    expect(winnerWins).toBeGreaterThan(1980);
  });
});

describe("PATCH and GET /api/v1/placements/:placement", () => {
  it("sets arbitration and objective, shows them in the list and the placement, and refuses what it cannot store", async () => {
    const site = await bannerSite();
    await site.rule({ name: "a", creative_id: await site.creative("html", "<p>a</p>") });
    const before = await placement(site.apiKey, "slot");
    expect(before.json).toMatchObject({ arbitration: "priority", objective: "clicks", learned: [] });

    const set = await placement(site.apiKey, "slot", { arbitration: "best", objective: "revenue" });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ arbitration: "best", objective: "revenue" });
    const only = await placement(site.apiKey, "slot", { objective: "redemptions" });
    expect(only.json).toMatchObject({ arbitration: "best", objective: "redemptions" });
    const list = (await (await call("/api/v1/placements", { key: site.apiKey })).json()) as {
      placements: { placement: string; arbitration: string }[];
    };
    expect(list.placements.find((p) => p.placement === "slot")?.arbitration).toBe("best");

    for (const body of [{}, { arbitration: "random" }, { objective: "likes" }, { arbitration: "best", extra: 1 }]) {
      const res = await call("/api/v1/placements/slot", { method: "PATCH", key: site.apiKey, json: body });
      expect(res.status).toBe(400);
    }
    const unknown = await call("/api/v1/placements/nowhere", {
      method: "PATCH",
      key: site.apiKey,
      json: { arbitration: "best" },
    });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("not_found");
    // Nothing half-written: the refused bodies left the setting as it was.
    expect((await placement(site.apiKey, "slot")).json).toMatchObject({
      arbitration: "best",
      objective: "redemptions",
    });
  });
});

describe("learning from /b and /c", () => {
  it("learns per cluster from clicks and then shows each cluster the offer it clicks", async () => {
    const site = await bestSite(["chronograph", "free-shipping"]);
    const [chrono, shipping] = site.ids;
    // Watch buyers click only the chronograph banner, ring lovers only free shipping.
    const wants: Record<string, number> = { watches: chrono, rings: shipping };
    const people = await Promise.all(
      Array.from({ length: 16 }, (_, i) => clusterVisitor(site.siteId, i % 2 ? "rings" : "watches")),
    );
    for (let round = 0; round < 5; round++) {
      for (const [i, person] of people.entries()) {
        const banner = await bannerJson(site.siteKey, "slot", person.cookie);
        expect(site.ids).toContain(banner.rule);
        if (banner.rule === wants[i % 2 ? "rings" : "watches"]) {
          expect((await fetchWorker(clickPath(banner.click_url!), { redirect: "manual" })).status).toBe(302);
        }
      }
      // What the isolate would read again within 30 s.
      clearLearnedOffers();
    }
    const detail = await placement(site.apiKey, "slot");
    const row = (rule: number, context: string) =>
      detail.json.learned.find((r) => r.rule_id === rule && r.context === context);
    expect(row(chrono, "watches")?.clicks).toBeGreaterThan(0);
    expect(row(shipping, "rings")?.clicks).toBeGreaterThan(0);
    expect(row(shipping, "watches")?.clicks ?? 0).toBe(0);
    expect(row(chrono, "watches")!.mean).toBeGreaterThan(row(shipping, "watches")?.mean ?? 0.5);

    // The rule report: each rule's share of the placement's impressions per day and context.
    const shares = await Promise.all(
      site.ids.map(async (id) => {
        const res = await call(`/api/v1/reports/rules/${id}`, { key: site.apiKey });
        return ((await res.json()) as { contexts: { day: string; context: string; rule_id: number; share: number }[] })
          .contexts;
      }),
    );
    for (const rows of shares) for (const row of rows) expect(["watches", "rings"]).toContain(row.context);
    for (const context of ["watches", "rings"]) {
      const total = shares
        .flat()
        .filter((r) => r.context === context)
        .reduce((n, r) => n + r.share, 0);
      expect(total).toBeCloseTo(1, 9);
    }

    let right = 0;
    for (const [i, person] of people.entries()) {
      const banner = await bannerJson(site.siteKey, "slot", person.cookie);
      if (banner.rule === wants[i % 2 ? "rings" : "watches"]) right++;
    }
    expect(right).toBeGreaterThanOrEqual(13);
  });

  it("seals the visitor's context in the click token: the ad network never reads the cluster", async () => {
    const site = await bestSite(["a"]);
    const person = await clusterVisitor(site.siteId, "dormant-vip");
    const banner = await bannerJson(site.siteKey, "slot", person.cookie);
    const token = new URL(banner.click_url!).pathname.split("/").pop()!;
    const payload = atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"));
    expect(payload).toContain('"cx":"~');
    expect(payload).not.toContain("dormant-vip");
    // /c opens it and credits the click to the context.
    await fetchWorker(clickPath(banner.click_url!), { redirect: "manual" });
    const row = await env.DB.prepare("select clicks from offer_counters where site_id = ?1 and context = 'dormant-vip'")
      .bind(site.siteId)
      .first<{ clicks: number }>();
    expect(row?.clicks).toBe(1);
  });

  it("learns nothing on a `priority` placement: no context in its click token, no per-context counters", async () => {
    const site = await bestSite(["a"]);
    expect((await placement(site.apiKey, "slot", { arbitration: "priority" })).status).toBe(200);
    const person = await clusterVisitor(site.siteId, "dormant-vip");
    const banner = await bannerJson(site.siteKey, "slot", person.cookie);
    expect(banner.rule).toBe(site.ids[0]);
    const token = new URL(banner.click_url!).pathname.split("/").pop()!;
    expect(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).not.toContain('"cx"');
    await fetchWorker(clickPath(banner.click_url!), { redirect: "manual" });
    const rows = await env.DB.prepare("select count(*) as n from offer_counters where site_id = ?1")
      .bind(site.siteId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("reads what a click taught once the isolate's state is 30 seconds old, not before", async () => {
    const site = await bestSite(["a", "b"]);
    const person = await clusterVisitor(site.siteId, "vip");
    const now = Date.now();
    const first = await learnedOffers(env.DB as never, site.siteId, ["slot"], now);
    const banner = await bannerJson(site.siteKey, "slot", person.cookie);
    await fetchWorker(clickPath(banner.click_url!), { redirect: "manual" });
    const clicksIn = (state: typeof first) =>
      state.placements.get("slot")?.byContext.get("vip")?.get(banner.rule!)?.clicks ?? 0;
    expect(clicksIn(first)).toBe(0);
    expect(clicksIn(await learnedOffers(env.DB as never, site.siteId, ["slot"], now + 1000))).toBe(0);
    const later = await learnedOffers(env.DB as never, site.siteId, ["slot"], now + LEARN_REFRESH_MS);
    expect(clicksIn(later)).toBe(1);
  });

  it("counts a redemption for the rule that handed out the code, in its claimer's context", async () => {
    const site = await bannerSite();
    const pool = await site.pool();
    await site.codes(pool, ["GIFT-1"]);
    const ruleId = await site.rule({
      name: "gift",
      creative_id: await site.creative("html", "<p>{{coupon}}</p>"),
      pool_id: pool,
    });
    await placement(site.apiKey, "slot", { arbitration: "best", objective: "revenue" });
    const person = await clusterVisitor(site.siteId, "dormant");
    expect((await bannerJson(site.siteKey, "slot", person.cookie)).coupon?.code).toBe("GIFT-1");
    const redeem = () =>
      call("/api/v1/coupons/redeem", {
        method: "POST",
        key: site.apiKey,
        json: { code: "GIFT-1", order: "o-1", revenue: 80 },
      });
    expect((await redeem()).status).toBe(200);
    expect((await redeem()).status).toBe(409);
    const rows = await env.DB.prepare(
      "select context, impressions, redemptions, revenue from offer_counters where site_id = ?1 and rule_id = ?2",
    )
      .bind(site.siteId, ruleId)
      .all();
    expect(rows.results).toEqual([{ context: "dormant", impressions: 1, redemptions: 1, revenue: 80 }]);
    const detail = await placement(site.apiKey, "slot");
    // Beta(2, 1) of a redemption per impression, times 80 per redemption.
    expect(detail.json.learned[0]?.mean).toBeCloseTo((2 / 3) * 80, 5);
  });
});

describe("holdouts under best", () => {
  it("keeps each rule's holdout and exposed groups the same mix of contexts", async () => {
    const site = await bestSite(["for-x", "for-y"], 0.5);
    const [forX, forY] = site.ids;
    // A learned state where each rule is the clear best for one cluster.
    const day = utcDayNumber(Date.now());
    await env.DB.batch(
      [
        [forX, "x", 1000, 400],
        [forX, "y", 1000, 1],
        [forY, "x", 1000, 1],
        [forY, "y", 1000, 400],
      ].map(([rule, context, impressions, clicks]) =>
        env.DB.prepare(
          "insert into offer_counters (site_id, placement, rule_id, context, day, impressions, clicks) values (?, 'slot', ?, ?, ?, ?, ?)",
        ).bind(site.siteId, rule, context, day, impressions, clicks),
      ),
    );
    const clusterOf = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const cluster = i % 2 ? "y" : "x";
      const person = await clusterVisitor(site.siteId, cluster);
      clusterOf.set(person.cookie, cluster);
      const banner = await bannerJson(site.siteKey, "slot", person.cookie);
      const best = cluster === "x" ? forX : forY;
      // Held out of the rule that won, or shown it: never the other rule's holdout.
      expect(banner.rule).toBe(holdoutBucket(`c:${person.customer}`, best) < 0.5 ? null : best);
    }
    const { results } = await env.DB.prepare("select rule_id, cookie_id, holdout from exposures where site_id = ?1")
      .bind(site.siteId)
      .all<{ rule_id: number; cookie_id: string; holdout: number }>();
    for (const [rule, cluster] of [
      [forX, "x"],
      [forY, "y"],
    ] as const) {
      const mine = results.filter((r) => r.rule_id === rule);
      // Both groups are drawn, and both hold only the contexts where the rule wins.
      expect(mine.some((r) => r.holdout === 1)).toBe(true);
      expect(mine.some((r) => r.holdout === 0)).toBe(true);
      for (const r of mine) expect(clusterOf.get(r.cookie_id)).toBe(cluster);
    }
  });
});

describe("paused and deleted rules", () => {
  it("leaves the learned state consistent: never shows them, keeps the others' counts, agrees with the report counters", async () => {
    const site = await bestSite(["a", "b", "c"]);
    const [a, b, c] = site.ids;
    const people = await Promise.all(Array.from({ length: 6 }, () => clusterVisitor(site.siteId, "k")));
    const show = async (rounds: number) => {
      const seen = new Set<number>();
      for (let round = 0; round < rounds; round++) {
        for (const person of people) {
          const banner = await bannerJson(site.siteKey, "slot", person.cookie);
          seen.add(banner.rule!);
          if (banner.rule === a) await fetchWorker(clickPath(banner.click_url!), { redirect: "manual" });
        }
        clearLearnedOffers();
      }
      return seen;
    };
    await show(3);
    const learnedOf = async () => (await placement(site.apiKey, "slot")).json.learned;
    const before = await learnedOf();
    expect(before.length).toBeGreaterThan(0);
    for (const row of before) expect([a, b, c]).toContain(row.rule_id);

    expect(
      (await call(`/api/v1/rules/${b}`, { method: "PATCH", key: site.apiKey, json: { enabled: false } })).status,
    ).toBe(200);
    expect((await call(`/api/v1/rules/${c}`, { method: "DELETE", key: site.apiKey })).status).toBe(204);
    const countsOfB = before.find((r) => r.rule_id === b);
    const seen = await show(3);
    expect(seen.has(b)).toBe(false);
    expect(seen.has(c)).toBe(false);

    const after = await learnedOf();
    // The deleted rule is gone from the placement's state; the paused one keeps what it learned.
    expect(after.some((r) => r.rule_id === c)).toBe(false);
    expect(after.find((r) => r.rule_id === b)).toEqual(countsOfB);
    // Every rule's learned counts are exactly its report counters (shown impressions and their clicks).
    const { results } = await env.DB.prepare(
      `select rule_id, sum(impressions) as impressions, sum(clicks) as clicks from report_counters
       where site_id = ?1 and holdout = 0 and rule_id > 0 group by rule_id`,
    )
      .bind(site.siteId)
      .all<{ rule_id: number; impressions: number; clicks: number }>();
    const offers = await env.DB.prepare(
      "select rule_id, sum(impressions) as impressions, sum(clicks) as clicks from offer_counters where site_id = ?1 group by rule_id",
    )
      .bind(site.siteId)
      .all<{ rule_id: number; impressions: number; clicks: number }>();
    expect(offers.results.sort((x, y) => x.rule_id - y.rule_id)).toEqual(results.sort((x, y) => x.rule_id - y.rule_id));
    expect(results.find((r) => r.rule_id === a)?.clicks).toBeGreaterThan(0);
  });
});

describe("explain under best", () => {
  it("lists each eligible rule's posterior mean and sample, and the highest sample decided", async () => {
    const site = await bestSite(["a", "b"]);
    const person = await clusterVisitor(site.siteId, "z");
    const res = await call("/api/v1/placements/slot/explain", {
      method: "POST",
      key: site.apiKey,
      json: { cookie_id: person.cookie },
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      arbitration: { mode: string; context: string };
      chosen: number;
      rules: { id: number; reason: string; offer?: { mean: number; sample: number } }[];
    };
    expect(json.arbitration).toMatchObject({ mode: "best", context: "z" });
    const samples = json.rules.map((r) => ({ id: r.id, sample: r.offer!.sample, mean: r.offer!.mean }));
    expect(samples.every((s) => s.mean === 0.5)).toBe(true);
    const top = samples.reduce((x, y) => (y.sample > x.sample ? y : x));
    expect(json.chosen).toBe(top.id);
    expect(json.rules.find((r) => r.id === top.id)?.reason).toContain("this rule is shown");
  });
});
