import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { timingSafeEqualText } from "../../worker/auth/crypto";
import { call, createTestSite } from "../fixtures/api";
import { type BannerJson, bannerSite, directEnv, insertVisitor, randomCookie } from "../fixtures/banner";

async function banner(path: string, cookie: string) {
  const res = await call(path, { cookie, env: directEnv, settle: true });
  expect(res.status).toBe(200);
  return (await res.json()) as BannerJson;
}

describe("frequency caps under concurrency", () => {
  it("a burst of 10 simultaneous requests overshoots a cap of 3 by at most the burst, and the cap holds for every request after it", async () => {
    const site = await bannerSite();
    const capped = await site.creative("html", "<p>CAPPED</p>");
    const fallback = await site.creative("html", "<p>FALLBACK</p>");
    const rule = await site.rule({ creative_id: capped, cap_per_day: 3 });
    await site.fallback("slot", fallback);
    // Caps count in the visitor's decision row: a browser tagwerk keeps a profile of.
    const cookie = randomCookie();
    await insertVisitor(site.siteId, cookie);
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => banner(`/b/slot?site=${site.siteKey}&format=json`, cookie)),
    );
    const shownInBurst = burst.filter((b) => b.rule === rule).length;
    expect(shownInBurst).toBeGreaterThanOrEqual(3);
    expect(shownInBurst).toBeLessThanOrEqual(10);
    // Every impression of the burst is counted, so from now on the cap holds exactly.
    expect(
      await env.DB.prepare(
        "select sum(count) as n from person_caps where site_id = ? and holder = 'v:' || ? and rule_id = ?",
      )
        .bind(site.siteId, cookie, rule)
        .first("n"),
    ).toBe(shownInBurst);
    for (let i = 0; i < 3; i++) {
      const after = await banner(`/b/slot?site=${site.siteKey}&format=json`, cookie);
      expect(after.rule).toBeNull();
      expect(String(after.creative.body)).toContain("FALLBACK");
    }
  });
});

describe("API keys", () => {
  it("are compared through fixed-length digests: equal, different, prefix and empty inputs", async () => {
    const key = "tw_live_0123456789abcdefghijklmnopqrstuv";
    expect(await timingSafeEqualText(key, key)).toBe(true);
    expect(await timingSafeEqualText(key, `${key.slice(0, -1)}w`)).toBe(false);
    expect(await timingSafeEqualText(key, key.slice(0, 10))).toBe(false);
    expect(await timingSafeEqualText(key, "")).toBe(false);
    expect(await timingSafeEqualText("", "")).toBe(true);
  });

  it("a key differing only in its last character is refused with 401", async () => {
    const { apiKey } = await createTestSite();
    const last = apiKey.at(-1) === "a" ? "b" : "a";
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(200);
    expect((await call("/api/v1/site", { key: `${apiKey.slice(0, -1)}${last}` })).status).toBe(401);
  });
});
