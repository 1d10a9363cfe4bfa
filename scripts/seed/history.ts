/**
 * Thirty days of demo history, so that a newcomer's dashboard, reports and uplift show real
 * figures on first start. Nothing is inserted by hand: each day replays what the product does,
 * through its own functions, at that day's time —
 *   banners: decide() on the demo placement for a sample of the day's visitors (the real rules,
 *     holdout, caps and coupon claims), impressions and clicks written by writeBannerMessages()
 *     as the queue consumer writes them;
 *   purchases: the tag's purchase event through applyEventBatch() (the /e write path);
 *   redemptions: redeemCoupon() with the order value, as the shop backend's API call does;
 *   audiences: refreshAudience() at that day's time, which records the day's size.
 * Seeded randomness keeps it the same on every machine. Idempotent: a site that already has
 * impressions from before yesterday gets no second history.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import { refreshAudience } from "../../worker/audiences/refresh";
import { createAudience } from "../../worker/audiences/store";
import { applyEventBatch } from "../../worker/collect/apply-events";
import { redeemCoupon } from "../../worker/coupons/redeem";
import { createDb } from "../../worker/db/client";
import { audiences, reportCounters, sites, visitors } from "../../worker/db/schema";
import { decide } from "../../worker/decide/decision-path";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { writeBannerMessages } from "../../worker/pipeline/impressions";
import type { BannerMessage } from "../../worker/pipeline/messages";
import { createRandom } from "./random";

export const HISTORY_DAYS = 30;

/** Click and purchase odds: exposed visitors convert more than the holdout, as a working banner makes them. */
const ODDS = { click: 0.06, redeemWithCode: 0.06, purchaseExposed: 0.012, purchaseHoldout: 0.008 };

const DEMO_AUDIENCES = [
  { name: "Dormant customers", kind: "dormant", params: { days: 180 } },
  { name: "New customers (28 days): suppression", kind: "new_customers", params: { days: 28 } },
  { name: "Earrings lovers", kind: "cluster", params: { cluster: "earrings" } },
] as const;

export async function seedHistory(
  d1: D1Database,
  {
    siteKey = "demo",
    placement = "home-hero",
    now = Date.now(),
  }: { siteKey?: string; placement?: string; now?: number } = {},
) {
  const db = createDb(d1);
  const [site] = await db.select().from(sites).where(eq(sites.key, siteKey));
  if (!site) throw new Error(`seed the site "${siteKey}" first`);
  const today = Math.floor(now / DAY) * DAY;
  // Banners served live since (today's) are not history: only impressions before yesterday count.
  const [old] = await db
    .select({ n: sql<number>`coalesce(sum(${reportCounters.impressions}), 0)` })
    .from(reportCounters)
    .where(and(eq(reportCounters.siteId, site.id), lt(reportCounters.day, Math.floor(today / DAY) - 1)));
  if (old.n > 0) return { skipped: true, impressions: 0 };

  const cookies = (
    await db.select({ cookieId: visitors.cookieId }).from(visitors).where(eq(visitors.siteId, site.id))
  ).map((v) => v.cookieId);
  // decide() needs only these bindings: HOME (the demo site's people are there: sites.shards null),
  // the click-token secret (tokens are not kept) and the D1 budget.
  const env = { DB: d1, SIGNING_SECRET: "demo-history", DECISION_BUDGET_MS: "60000" } as unknown as Env;
  const random = createRandom(2026);
  let total = 0;
  let order = 0;
  // The last 30 days up to now, today's morning included: the dashboard's default period.
  for (let back = HISTORY_DAYS - 1; back >= 0; back--) {
    const dayStart = today - back * DAY;
    // A slowly growing shop with a weekly rhythm: more on weekends.
    const weekday = new Date(dayStart).getUTCDay();
    const count = 14 + Math.round((HISTORY_DAYS - back) * 0.4) + (weekday === 0 || weekday === 6 ? 5 : 0);
    const latest = Math.min(dayStart + 23 * 3600_000, now - 60_000);
    const messages: BannerMessage[] = [];
    for (let i = 0; i < count; i++) {
      const cookie = random.pick(cookies);
      const ts = Math.min(latest, dayStart + random.int(7 * 3600, 23 * 3600) * 1000);
      const out = await decide(env, db, {
        siteKey,
        placement,
        format: "json",
        cookie,
        token: undefined,
        partner: null,
        clickMacro: undefined,
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        country: "DE",
        origin: "http://localhost:8787",
        now: ts,
      });
      if (out.kind !== "banner" || !out.impression) continue;
      const impression = out.impression;
      messages.push(impression);
      if (impression.holdout) {
        if (random.chance(ODDS.purchaseHoldout)) await purchase(env, site, cookie, ts + 3_600_000, ++order);
        continue;
      }
      if (impression.ruleId !== null && random.chance(ODDS.click)) {
        messages.push({
          kind: "click",
          siteId: site.id,
          impressionUid: impression.uid,
          ruleId: impression.ruleId,
          placement: impression.placement,
          creativeId: impression.creativeId,
          holdout: impression.holdout,
          cookieId: cookie,
          ts: ts + 20_000,
        });
      }
      const code = impression.couponId === null ? null : JSON.parse(out.rendered.body).coupon?.code;
      if (code && random.chance(ODDS.redeemWithCode)) {
        order += 1;
        const at = ts + random.int(1, 48) * 3_600_000;
        if (at < now)
          await redeemCoupon(env, site, code, `DEMO-${order}`, at, {
            revenue: random.int(60, 900),
          });
      } else if (impression.ruleId !== null && random.chance(ODDS.purchaseExposed)) {
        await purchase(env, site, cookie, ts + 3_600_000, ++order);
      }
    }
    await writeBannerMessages(env, messages);
    total += messages.length;
  }
  await seedAudienceHistory(db, site.id, today, now);
  return { skipped: false, impressions: total };
}

/** A purchase as the tag reports it (behaviour of that cookie: its last purchase time). */
async function purchase(
  env: Env,
  site: { id: number; shards: number[] | null },
  cookieId: string,
  at: number,
  order: number,
) {
  await applyEventBatch(
    env,
    site,
    cookieId,
    [{ type: "purchase", ts: at, props: { order: `DEMO-P-${order}`, value: 120, currency: "EUR" } }],
    at,
  );
}

/** The demo audiences, refreshed once a day of the history, as the cron would have. */
async function seedAudienceHistory(db: ReturnType<typeof createDb>, siteId: number, today: number, now: number) {
  for (const a of DEMO_AUDIENCES) {
    const [existing] = await db
      .select()
      .from(audiences)
      .where(and(eq(audiences.siteId, siteId), eq(audiences.name, a.name)));
    const audience =
      existing ??
      (await createAudience(
        db,
        siteId,
        { name: a.name, kind: a.kind, segment_id: null, params: a.params },
        today - HISTORY_DAYS * DAY,
      ));
    for (let back = HISTORY_DAYS - 1; back >= 0; back--) {
      await refreshAudience(db, audience, Math.min(now, today - back * DAY + 6 * 3_600_000));
    }
  }
}
