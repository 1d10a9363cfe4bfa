import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf } from "../fixtures/api";

async function makeCreative(apiKey: string) {
  const res = await call("/api/v1/creatives", {
    method: "POST",
    key: apiKey,
    json: { name: "c", format: "html", template: "<p>hi</p>", width: 1, height: 1, landing_url: "https://s.example/" },
  });
  return ((await res.json()) as { id: number }).id;
}

describe("rules API", () => {
  it("creates a rule with ISO times and defaults, updates it, lists it by placement, deletes it", async () => {
    const { apiKey } = await createTestSite();
    const creativeId = await makeCreative(apiKey);
    const res = await call("/api/v1/rules", {
      method: "POST",
      key: apiKey,
      json: { name: "Hero", placement: "home-hero", creative_id: creativeId, starts_at: "2026-12-01T00:00:00Z" },
    });
    expect(res.status).toBe(201);
    const rule = (await res.json()) as Record<string, unknown> & { id: number };
    expect(rule).toMatchObject({
      placement: "home-hero",
      segment_id: null,
      pool_id: null,
      priority: 100,
      starts_at: "2026-12-01T00:00:00.000Z",
      ends_at: null,
      cap_per_day: null,
      holdout: null,
      stop_after_conversion: false,
      enabled: true,
    });
    const stored = await env.DB.prepare("select starts_at from rules where id = ?")
      .bind(rule.id)
      .first<number>("starts_at");
    expect(stored).toBe(Date.parse("2026-12-01T00:00:00Z"));

    const patched = await call(`/api/v1/rules/${rule.id}`, {
      method: "PATCH",
      key: apiKey,
      json: { enabled: false, cap_per_day: 3 },
    });
    expect(await patched.json()).toMatchObject({ enabled: false, cap_per_day: 3, name: "Hero" });

    const other = await call("/api/v1/rules?placement=sidebar", { key: apiKey });
    expect(((await other.json()) as { rules: unknown[] }).rules).toEqual([]);
    const mine = await call("/api/v1/rules?placement=home-hero", { key: apiKey });
    expect(((await mine.json()) as { rules: { id: number }[] }).rules.map((r) => r.id)).toEqual([rule.id]);

    expect((await call(`/api/v1/rules/${rule.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    expect((await call(`/api/v1/rules/${rule.id}`, { key: apiKey })).status).toBe(404);
  });

  it("answers 400 naming the field when a referenced creative, segment or pool is not in the site", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const foreignCreative = await makeCreative(b.apiKey);
    const own = await makeCreative(a.apiKey);
    const wrongCreative = await call("/api/v1/rules", {
      method: "POST",
      key: a.apiKey,
      json: { name: "x", placement: "p", creative_id: foreignCreative },
    });
    expect(wrongCreative.status).toBe(400);
    expect((await errorOf(wrongCreative)).message).toMatch(/^creative_id/);
    for (const field of ["segment_id", "pool_id"]) {
      const res = await call("/api/v1/rules", {
        method: "POST",
        key: a.apiKey,
        json: { name: "x", placement: "p", creative_id: own, [field]: 999999 },
      });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toMatch(new RegExp(`^${field}`));
    }
  });

  it("refuses an end before the start and a holdout above 1", async () => {
    const { apiKey } = await createTestSite();
    const creativeId = await makeCreative(apiKey);
    const base = { name: "x", placement: "p", creative_id: creativeId };
    const schedule = await call("/api/v1/rules", {
      method: "POST",
      key: apiKey,
      json: { ...base, starts_at: "2026-12-02T00:00:00Z", ends_at: "2026-12-01T00:00:00Z" },
    });
    expect(schedule.status).toBe(400);
    expect((await errorOf(schedule)).message).toContain("ends_at");
    const holdout = await call("/api/v1/rules", { method: "POST", key: apiKey, json: { ...base, holdout: 1.5 } });
    expect(holdout.status).toBe(400);
    expect((await errorOf(holdout)).message).toContain("holdout");
  });

  it("sets and reads a placement's fallback, and refuses a creative of another site", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const creativeId = await makeCreative(a.apiKey);
    expect((await call("/api/v1/placements/home-hero/fallback", { key: a.apiKey })).status).toBe(404);
    const put = await call("/api/v1/placements/home-hero/fallback", {
      method: "PUT",
      key: a.apiKey,
      json: { creative_id: creativeId },
    });
    expect(put.status).toBe(200);
    const got = await call("/api/v1/placements/home-hero/fallback", { key: a.apiKey });
    expect(await got.json()).toMatchObject({ placement: "home-hero", creative_id: creativeId });
    const foreign = await call("/api/v1/placements/home-hero/fallback", {
      method: "PUT",
      key: b.apiKey,
      json: { creative_id: creativeId },
    });
    expect(foreign.status).toBe(400);
    expect((await errorOf(foreign)).message).toMatch(/^creative_id/);
    const inUse = await call(`/api/v1/creatives/${creativeId}`, { method: "DELETE", key: a.apiKey });
    expect(inUse.status).toBe(409);
  });
});
