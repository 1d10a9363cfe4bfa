/**
 * Reports read counters and first exposures now (docs/architecture.md, "Counters"); they must show
 * the numbers the impression rows gave before. The rows' definitions are written out here in
 * plain TypeScript over a random history (impressions of two rules, holdout and exposed, repeat
 * visitors, clicks — some twice —, redemptions and purchases), the history goes through the real
 * writer (writeBannerMessages, redemption, the tag's purchase), and the rule and placement
 * reports — totals, uplift and its interval, every day of the series — and the dashboard's one
 * call (its rules, the site's totals and days) must equal them.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY as DAY, utcDayKey } from "../../worker/lib/time";
import { writeBannerMessages } from "../../worker/pipeline/impressions";
import type { ClickMessage, ImpressionMessage } from "../../worker/pipeline/messages";
import { computeUplift } from "../../worker/reports/uplift";
import { call } from "../fixtures/api";
import { bannerSite } from "../fixtures/banner";

const T0 = Date.UTC(2026, 4, 10);
const COOKIES = ["k1", "k2", "k3", "k4", "k5", "k6"];

const history = fc.record({
  impressions: fc.array(
    fc.record({
      cookie: fc.constantFrom(...COOKIES),
      rule: fc.constantFrom(0, 1),
      holdout: fc.boolean(),
      at: fc.integer({ min: 0, max: 6 * DAY }),
      clicks: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 1, maxLength: 30 },
  ),
  // A conversion of the rule (a redeemed code) or a purchase seen by the tag, per cookie. One per
  // rule and cookie, as the unique (rule_id, cookie_id) index of rule_conversions keeps.
  conversions: fc.uniqueArray(
    fc.record({
      cookie: fc.constantFrom(...COOKIES),
      rule: fc.constantFrom(0, 1),
      at: fc.integer({ min: 0, max: 7 * DAY }),
    }),
    { maxLength: 4, selector: (c) => `${c.cookie}:${c.rule}` },
  ),
  purchases: fc.array(fc.record({ cookie: fc.constantFrom(...COOKIES), at: fc.integer({ min: 0, max: 7 * DAY }) }), {
    maxLength: 4,
  }),
});

type History = typeof history extends fc.Arbitrary<infer T> ? T : never;

/** What the impression rows said, by the old report's definitions (earnings.ts before counters). */
function expected(h: History, ruleIds: number[], scope: { rule: number } | "placement", from: number, to: number) {
  const inScope = (rule: number) => scope === "placement" || ruleIds[rule] === ruleIds[scope.rule];
  const imps = h.impressions.map((i) => ({ ...i, ts: T0 + i.at })).filter((i) => inScope(i.rule));
  const inPeriod = (ts: number) => ts >= from && ts < to;
  // A holdout impression showed the fallback: its click belongs to no rule.
  const clicks = imps.flatMap((i) =>
    i.clicks > 0 && (scope === "placement" || !i.holdout)
      ? [{ ts: i.ts + 1000, day: Math.floor((i.ts + 1000) / DAY) }]
      : [],
  );
  const firsts = new Map<string, { cookie: string; holdout: boolean; ts: number }>();
  for (const i of imps) {
    const key = `${i.cookie}:${i.holdout}`;
    const seen = firsts.get(key);
    if (!seen || i.ts < seen.ts) firsts.set(key, { cookie: i.cookie, holdout: i.holdout, ts: i.ts });
  }
  const lastPurchase = new Map<string, number>();
  for (const p of h.purchases) lastPurchase.set(p.cookie, Math.max(lastPurchase.get(p.cookie) ?? 0, T0 + p.at));
  const converted = (f: { cookie: string; ts: number }) =>
    h.conversions.some((c) => c.cookie === f.cookie && inScope(c.rule) && T0 + c.at >= f.ts) ||
    (lastPurchase.get(f.cookie) ?? -1) >= f.ts;
  const group = (holdout: boolean) => {
    const members = [...firsts.values()].filter((f) => f.holdout === holdout && inPeriod(f.ts));
    return { visitors: members.length, conversions: members.filter(converted).length };
  };
  const exposed = group(false);
  const holdout = group(true);
  const daily = [];
  for (let day = Math.floor(from / DAY); day * DAY < to; day++) {
    daily.push({
      day: utcDayKey(day * DAY),
      impressions: imps.filter((i) => !i.holdout && Math.floor(i.ts / DAY) === day).length,
      holdout_impressions: imps.filter((i) => i.holdout && Math.floor(i.ts / DAY) === day).length,
      clicks: clicks.filter((c) => c.day === day).length,
    });
  }
  return {
    impressions: imps.filter((i) => !i.holdout && inPeriod(i.ts)).length,
    holdout_impressions: imps.filter((i) => i.holdout && inPeriod(i.ts)).length,
    clicks: clicks.filter((c) => inPeriod(c.ts)).length,
    exposed,
    holdout,
    ...computeUplift(exposed, holdout),
    daily,
  };
}

describe("reports from counters", () => {
  it("equal what the impression rows gave: totals, groups, uplift and every day, per rule and per placement", async () => {
    await fc.assert(
      fc.asyncProperty(history, async (h) => {
        const site = await bannerSite();
        const creative = await site.creative("html", "<p>x</p>");
        const ruleIds = [await site.rule({ creative_id: creative }), await site.rule({ creative_id: creative })];
        const messages: (ImpressionMessage | ClickMessage)[] = [];
        h.impressions.forEach((i, n) => {
          const uid = `u${site.siteId}-${n}`;
          const ts = T0 + i.at;
          messages.push({
            kind: "impression",
            siteId: site.siteId,
            uid,
            placement: "slot",
            ruleId: ruleIds[i.rule],
            creativeId: creative,
            cookieId: i.cookie,
            couponId: null,
            holdout: i.holdout,
            ts,
          });
          // A second click on the same banner counts once, as the unique clicks row did.
          for (let k = 0; k < i.clicks; k++) {
            messages.push({
              kind: "click",
              siteId: site.siteId,
              impressionUid: uid,
              ruleId: i.holdout ? null : ruleIds[i.rule],
              placement: "slot",
              creativeId: creative,
              holdout: i.holdout,
              cookieId: i.cookie,
              ts: ts + 1000,
            });
          }
        });
        await writeBannerMessages(env, messages);
        const sources = [
          ...h.conversions.map((c, n) =>
            env.DB.prepare(
              "insert into rule_conversions (site_id, rule_id, cookie_id, order_id, revenue, ts) values (?, ?, ?, ?, 10, ?) on conflict do nothing",
            ).bind(site.siteId, ruleIds[c.rule], c.cookie, `O-${n}`, T0 + c.at),
          ),
          ...h.purchases.map((p) =>
            env.DB.prepare(
              `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, last_purchase_at) values (?1, ?2, ?3, ?3, ?3)
               on conflict do update set last_purchase_at = max(coalesce(last_purchase_at, 0), excluded.last_purchase_at)`,
            ).bind(site.siteId, p.cookie, T0 + p.at),
          ),
        ];
        if (sources.length > 0) await env.DB.batch(sources);
        const from = T0 - DAY;
        const to = T0 + 9 * DAY;
        const query = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
        for (const scope of [{ rule: 0 }, { rule: 1 }, "placement"] as const) {
          const path =
            scope === "placement"
              ? `/api/v1/reports/placements/slot?${query}`
              : `/api/v1/reports/rules/${ruleIds[scope.rule]}?${query}`;
          const report = (await (await call(path, { key: site.apiKey })).json()) as Record<string, unknown> & {
            daily: Record<string, unknown>[];
          };
          const want = expected(h, ruleIds, scope, from, to);
          const { daily, ...totals } = want;
          expect(report).toMatchObject(totals);
          expect(
            report.daily.map((d) => ({
              day: d.day,
              impressions: d.impressions,
              holdout_impressions: d.holdout_impressions,
              clicks: d.clicks,
            })),
          ).toEqual(daily);
        }
        // The dashboard's one call gives each rule and the site the same figures.
        const dashboard = (await (await call(`/api/v1/dashboard?${query}`, { key: site.apiKey })).json()) as {
          rules: (Record<string, unknown> & { id: number })[];
          totals: Record<string, unknown>;
          daily: Record<string, unknown>[];
        };
        for (const rule of [0, 1]) {
          const { daily: _daily, ...totals } = expected(h, ruleIds, { rule }, from, to);
          expect(dashboard.rules.find((r) => r.id === ruleIds[rule])).toMatchObject(totals);
        }
        const { daily: siteDays, ...siteTotals } = expected(h, ruleIds, "placement", from, to);
        expect(dashboard.totals).toMatchObject(siteTotals);
        expect(dashboard.daily.map((d) => ({ day: d.day, impressions: d.impressions, clicks: d.clicks }))).toEqual(
          siteDays.map((d) => ({ day: d.day, impressions: d.impressions, clicks: d.clicks })),
        );
      }),
      { numRuns: 15 },
    );
  }, 240_000);
});
