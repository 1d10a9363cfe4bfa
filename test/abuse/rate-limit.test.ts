import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countRows, event, SHOP } from "../collect/post-events";
import { call, createTestSite, errorOf } from "../fixtures/api";
import { type BannerJson, bannerSite, directEnv, randomCookie } from "../fixtures/banner";

// wrangler.toml: EVENTS_RATE_LIMITER 100 and BANNER_RATE_LIMITER 200 per 10 s. A burst may straddle
// two windows, so a 429 is guaranteed within twice the limit plus one.
const EVENTS_LIMIT = 100;
const BANNER_LIMIT = 200;

async function send(path: string, ip: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return call(path, { ...init, headers: { "CF-Connecting-IP": ip, ...init.headers }, env: directEnv, settle: true });
}

const postBatch = (siteKey: string, ip: string) =>
  send("/e", ip, {
    method: "POST",
    headers: { "Content-Type": "text/plain", Origin: SHOP, Cookie: `tw_id=${"e".repeat(32)}` },
    body: JSON.stringify({ site: siteKey, events: [event("page")] }),
  });

describe("per-IP rate limit on /e", () => {
  it("answers 429 with Retry-After once an IP exceeds the limit, while other IPs and sites go on", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const ip = `192.0.2.${Math.floor(Math.random() * 200) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < 2 * EVENTS_LIMIT + 1; i++) {
      const res = await postBatch(siteKey, ip);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("Retry-After")).toBe("10");
        expect(await errorOf(res)).toMatchObject({ code: "rate_limited" });
        break;
      }
    }
    const first429 = statuses.indexOf(429);
    expect(first429).toBeGreaterThanOrEqual(EVENTS_LIMIT);
    expect(statuses.slice(0, first429).every((s) => s === 204)).toBe(true);

    // The same IP on another site, and another IP on this site, are not limited.
    const other = await createTestSite({ allowed_origins: [SHOP] });
    expect((await postBatch(other.siteKey, ip)).status).toBe(204);
    expect((await postBatch(siteKey, "198.51.100.250")).status).toBe(204);

    // The refused batch is kept with its reason, never the IP.
    const kept = await env.DB.prepare(
      "select reason, payload from rejected_events where site_key = ? and reason = 'rate_limited'",
    )
      .bind(siteKey)
      .all<{ reason: string; payload: string }>();
    expect(kept.results.length).toBeGreaterThanOrEqual(1);
    expect(kept.results[0].payload).toContain('"page"');
    expect(JSON.stringify(kept.results)).not.toContain(ip);
  });

  it("keeps at most 10 rejected_events rows per site and minute however long the flood lasts", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const ip = "192.0.2.250";
    let limited = 0;
    for (let i = 0; i < 2 * EVENTS_LIMIT + 40 && limited < 30; i++) {
      if ((await postBatch(siteKey, ip)).status === 429) limited++;
    }
    expect(limited).toBe(30);
    const rows = await countRows("rejected_events", "site_key = ? and reason = 'rate_limited'", siteKey);
    expect(rows).toBeGreaterThanOrEqual(1);
    expect(rows).toBeLessThanOrEqual(10);
  });
});

describe("per-IP rate limit on /b", () => {
  it("serves the placement's fallback (200, never an error) to an IP over the limit", async () => {
    const site = await bannerSite();
    const personal = await site.creative("html", "<p>PERSONAL</p>");
    const fallback = await site.creative("html", "<p>FALLBACK</p>");
    await site.rule({ creative_id: personal });
    await site.fallback("slot", fallback);
    const ip = "192.0.2.199";
    const cookie = randomCookie();
    const bodies: string[] = [];
    for (let i = 0; i < 2 * BANNER_LIMIT + 1; i++) {
      const res = await send(`/b/slot?site=${site.siteKey}&format=json`, ip, {
        headers: { Cookie: `tw_id=${cookie}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as BannerJson;
      bodies.push(String(body.creative.body));
      if (body.rule === null) break;
    }
    const firstFallback = bodies.findIndex((b) => b.includes("FALLBACK"));
    expect(firstFallback).toBeGreaterThanOrEqual(BANNER_LIMIT);
    expect(bodies.slice(0, firstFallback).every((b) => b.includes("PERSONAL"))).toBe(true);
    // Another address still gets the personalised banner.
    const other = await send(`/b/slot?site=${site.siteKey}&format=json`, "198.51.100.9", {
      headers: { Cookie: `tw_id=${cookie}` },
    });
    expect(String(((await other.json()) as BannerJson).creative.body)).toContain("PERSONAL");
  });
});
