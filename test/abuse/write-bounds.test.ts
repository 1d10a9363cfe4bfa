/**
 * The flood bound on unauthenticated writes (worker/abuse/write-bounds.ts, wrangler.toml
 * `[[ratelimits]]` run by miniflare): 1,000 requests from one address add at most the bound of
 * rows, and write_counters counts every request, kept or refused, so the refusals are visible.
 * Each test uses its own address: the limiters' buckets outlive a test.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NO_SITE } from "../../worker/abuse/write-bounds";
import { mintClickToken } from "../../worker/clicks/tokens";
import { countRows, event, SHOP } from "../collect/post-events";
import { call, createTestSite, siteIdOf } from "../fixtures/api";
import { directEnv, fetchWorker } from "../fixtures/banner";

const FLOOD = 1_000;
// wrangler.toml: rejected_events rows 10 per IP and site per minute; /sync links and /c clicks 60.
const REJECTION_BOUND = 10;
const WRITE_BOUND = 60;

/**
 * The real miniflare limiters with this file's keys prefixed: their buckets are shared by every
 * test file of the run, and a flood here must not use up the bound (site 0's above all) that
 * another file's single bad request relies on. The bound logic under test is unchanged.
 */
function ownBuckets(limiter: RateLimit): RateLimit {
  return { limit: ({ key }) => limiter.limit({ key: `write-bounds.test|${key}` }) };
}
const floodEnv = {
  ...directEnv,
  REJECTION_IP_LIMITER: ownBuckets(env.REJECTION_IP_LIMITER),
  REJECTION_LOG_LIMITER: ownBuckets(env.REJECTION_LOG_LIMITER),
  WRITE_IP_LIMITER: ownBuckets(env.WRITE_IP_LIMITER),
  WRITE_SITE_LIMITER: ownBuckets(env.WRITE_SITE_LIMITER),
  EVENTS_RATE_LIMITER: ownBuckets(env.EVENTS_RATE_LIMITER),
} as Env;

const send = (path: string, ip: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetchWorker(path, { ...init, headers: { "CF-Connecting-IP": ip, ...init.headers } }, floodEnv);

// 1,000 requests through workerd and local D1 take several seconds on a shared machine.
const FLOOD_TIMEOUT_MS = 120_000;
const CONCURRENCY = 10;

/**
 * Sends `request` FLOOD times, CONCURRENCY at a time, and returns the statuses and how many
 * one-minute windows of the limiters the flood spanned (miniflare's windows are fixed, aligned
 * to the clock): the bound holds per window.
 */
async function flood(request: (i: number) => Promise<Response>) {
  const startWindow = Math.floor(Date.now() / 60_000);
  const statuses: number[] = [];
  for (let i = 0; i < FLOOD; i += CONCURRENCY) {
    const group = Array.from({ length: Math.min(CONCURRENCY, FLOOD - i) }, (_, j) => request(i + j));
    for (const res of await Promise.all(group)) {
      statuses.push(res.status);
      await res.body?.cancel();
    }
  }
  return { statuses, windows: Math.floor(Date.now() / 60_000) - startWindow + 1 };
}

const countOf = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

/** kept and refused summed over every day and reason of a site (a flood may cross midnight). */
async function counted(siteId: number, reasons: string[]) {
  const row = await env.DB.prepare(
    `select coalesce(sum(kept), 0) as kept, coalesce(sum(refused), 0) as refused from write_counters
     where site_id = ? and reason in (${reasons.map(() => "?").join(",")})`,
  )
    .bind(siteId, ...reasons)
    .first<{ kept: number; refused: number }>();
  return { kept: row?.kept ?? 0, refused: row?.refused ?? 0 };
}

/**
 * The rows a flood left are at least one (the bound is not zero) and at most the bound per
 * window, and write_counters' kept count is exactly those rows. Returns the site's counts.
 */
async function expectBounded(rows: number, bound: number, windows: number, siteId: number, reasons: string[]) {
  expect(rows).toBeGreaterThanOrEqual(1);
  expect(rows).toBeLessThanOrEqual(bound * windows);
  const counts = await counted(siteId, reasons);
  expect(counts.kept).toBe(rows);
  return counts;
}

describe("flood bound on /e rejections", () => {
  it("keeps at most 10 rejected_events rows for 1,000 bodies that are not JSON, and counts every one", {
    timeout: FLOOD_TIMEOUT_MS,
  }, async () => {
    const ip = "203.0.113.11";
    const before = await counted(NO_SITE, ["invalid_json", "rate_limited"]);
    const { statuses, windows } = await flood(() =>
      send("/e", ip, {
        method: "POST",
        headers: { "Content-Type": "text/plain", Origin: SHOP },
        body: '{"site": "shop", "events": [',
      }),
    );
    // The sender is told each time: 400 while within /e's rate limit, then 429.
    expect(countOf(statuses, 400) + countOf(statuses, 429)).toBe(FLOOD);
    const rows = await countRows("rejected_events", "site_id is null");
    expect(rows).toBeGreaterThanOrEqual(1);
    expect(rows).toBeLessThanOrEqual(REJECTION_BOUND * windows);
    const after = await counted(NO_SITE, ["invalid_json", "rate_limited"]);
    // Every request is counted exactly once: as a kept row or as a refusal beyond the bound.
    expect(after.kept - before.kept + (after.refused - before.refused)).toBe(FLOOD);
    expect(after.kept - before.kept).toBe(rows);
    expect(after.refused - before.refused).toBeGreaterThanOrEqual(FLOOD - REJECTION_BOUND * windows);
  });

  it("keeps at most 10 rows a minute for 1,000 batches of 50 invalid events, and counts every row refused", {
    timeout: FLOOD_TIMEOUT_MS,
  }, async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    const ip = "203.0.113.12";
    const body = JSON.stringify({ site: siteKey, events: Array.from({ length: 50 }, () => event("no-such-type")) });
    const { statuses, windows } = await flood(() =>
      send("/e", ip, { method: "POST", headers: { "Content-Type": "text/plain", Origin: SHOP }, body }),
    );
    const answered = countOf(statuses, 202);
    expect(answered + countOf(statuses, 429)).toBe(FLOOD);
    // A batch is 50 rows, not one: the bound holds in rows.
    const rows = await countRows("rejected_events", "site_id = ?", siteId);
    const reasons = ["invalid_event", "rate_limited"];
    const { kept, refused } = await expectBounded(rows, REJECTION_BOUND, windows, siteId, reasons);
    // Every rejected event of an answered batch, and every rate-limited batch, is counted once.
    expect(kept + refused).toBe(answered * 50 + countOf(statuses, 429));
  });
});

describe("flood bound on /sync", () => {
  it("adds at most 60 id_links a minute for 1,000 syncs from one address, and counts the refused ones", {
    timeout: FLOOD_TIMEOUT_MS,
  }, async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const partner = await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "Net" } });
    expect(partner.status).toBe(201);
    const ip = "203.0.113.13";
    // No cookie: every admitted call makes a new visitor and a new link, the worst case.
    const { statuses, windows } = await flood((i) => send(`/sync?site=${siteKey}&p=net&puid=flood-${i}`, ip));
    // The pixel answers every call; beyond the bound it links nothing.
    expect(countOf(statuses, 200)).toBe(FLOOD);
    const links = await countRows("id_links", "site_id = ?", siteId);
    const { kept, refused } = await expectBounded(links, WRITE_BOUND, windows, siteId, ["sync"]);
    expect(kept + refused).toBe(FLOOD);
    // Another address is not held back by this one's flood.
    expect((await send(`/sync?site=${siteKey}&p=net&puid=other`, "198.51.100.13")).status).toBe(200);
    expect(await countRows("id_links", "site_id = ? and partner_user_id = 'other'", siteId)).toBe(1);
  });
});

describe("flood bound on /c", () => {
  it("redirects all of 1,000 clicks from one address but records at most 60 a minute, counting the rest", {
    timeout: FLOOD_TIMEOUT_MS,
  }, async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const ip = "203.0.113.14";
    const tokens = await Promise.all(
      Array.from({ length: FLOOD }, (_, i) =>
        mintClickToken(env.SIGNING_SECRET, {
          site: siteKey,
          siteId,
          impression: `imp-${i}`,
          ruleId: null,
          landingUrl: `${SHOP}/landing`,
          coupon: null,
          couponParam: "coupon",
        }),
      ),
    );
    const { statuses, windows } = await flood((i) => send(`/c/${tokens[i]}`, ip));
    expect(countOf(statuses, 302)).toBe(FLOOD);
    const clicks = await countRows("clicks", "site_id = ?", siteId);
    const { kept, refused } = await expectBounded(clicks, WRITE_BOUND, windows, siteId, ["click"]);
    expect(kept + refused).toBe(FLOOD);
  });
});
