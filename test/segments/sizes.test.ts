import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../worker/cron/scheduled";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { createAdminUser, sessionCookie } from "../fixtures/admin";
import { call } from "../fixtures/api";
import { bannerSite, insertVisitor, randomCookie } from "../fixtures/banner";

describe("segment sizes over time", () => {
  it("the cron records each segment's size per day, and the API and Segments page show the trend", async () => {
    const s = await bannerSite();
    const segment = await s.segment("visits >= 1");
    const now = Date.now();
    await insertVisitor(s.siteId, randomCookie());
    await runScheduled(env, now - 2 * DAY);
    await insertVisitor(s.siteId, randomCookie());
    await insertVisitor(s.siteId, randomCookie());
    await runScheduled(env, now - DAY);
    await runScheduled(env, now - DAY + 60_000); // a second run the same day replaces that day's figure
    await insertVisitor(s.siteId, randomCookie());
    await runScheduled(env, now);

    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const res = await call("/api/v1/segments/sizes", { key: s.apiKey });
    expect(res.status).toBe(200);
    const { sizes } = (await res.json()) as { sizes: Record<string, { day: string; visitors: number }[]> };
    expect(sizes[segment].map((d) => [d.day, d.visitors])).toEqual([
      [day(now - 2 * DAY), 1],
      [day(now - DAY), 3],
      [day(now), 4],
    ]);

    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (await call("/admin/segments", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    expect(html).toContain("Visitors, last 30 days");
    expect(html).toContain(`+3 since ${day(now - 2 * DAY)}`);
    expect(html).toContain(`${day(now)} 4`);
  });

  it("a segment never counted says so instead of drawing an empty line", async () => {
    const s = await bannerSite();
    await s.segment("visits >= 1");
    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (await call("/admin/segments", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    expect(html).toContain("not counted yet");
  });
});
