/**
 * Goals in segments: `event("NAME")`, `event("NAME", DAYS)` and `purchases(DAYS)`, with the data
 * sent through `POST /e` as the tag sends it, selected the same way at the edge (`/b` shows the
 * rule) and in SQL (segment preview, a segment audience refreshed through the API and exported).
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { visitors } from "../../worker/db/schema";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { buildProfile, compileSegment } from "../../worker/segments";
import { csvIds } from "../audiences/helpers";
import { event, postEvents, SHOP } from "../collect/post-events";
import { call } from "../fixtures/api";
import { bannerJson, bannerSite } from "../fixtures/banner";
import { selectProfiles } from "./profiles-fixture";

const db = createDb(env.DB);

async function send(siteKey: string, cookie: string, events: unknown[]) {
  const res = await postEvents({ site: siteKey, events: [event("page"), ...events] }, { cookie });
  expect(res.status).toBe(204);
}

const goal = (name: string) => event("event", { source: "footer" }, { name });

async function shop() {
  const site = await bannerSite({ allowed_origins: [SHOP] });
  const api = async (path: string, json?: unknown, method = json === undefined ? "GET" : "POST") => {
    const res = await call(path, { method, key: site.apiKey, json });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return res;
  };
  const signedUp = newCookieId();
  const twice = newCookieId();
  const otherGoal = newCookieId();
  const browsing = newCookieId();
  await send(site.siteKey, signedUp, [goal("newsletter_signup")]);
  await send(site.siteKey, twice, [
    goal("newsletter_signup"),
    goal("newsletter_signup"),
    event("purchase", { order: "O-1", value: 40 }),
  ]);
  await send(site.siteKey, otherGoal, [goal("video_play")]);
  await send(site.siteKey, browsing, []);
  return { ...site, api, signedUp, twice, otherGoal, browsing };
}

type Shop = Awaited<ReturnType<typeof shop>>;

/** The cookies a segment selects at the edge: those `/b` shows the segment's rule to. */
async function atEdge(s: Shop, expression: string, cookies: string[]) {
  const segment = (await (await s.api("/api/v1/segments", { name: expression, expression })).json()) as { id: number };
  const creative = await s.creative("html", "<b>goal</b>");
  const placement = `slot-${segment.id}`;
  const rule = await s.rule({ placement, creative_id: creative, segment_id: segment.id });
  const shown: string[] = [];
  for (const cookie of cookies) if ((await bannerJson(s.siteKey, placement, cookie)).rule === rule) shown.push(cookie);
  return { segment: segment.id, shown: shown.sort() };
}

/** The cookies the segment selects in SQL: a segment audience refreshed now and exported. */
async function inSql(s: Shop, segmentId: number) {
  const audience = (await (
    await s.api("/api/v1/audiences", { name: `a-${segmentId}`, kind: "segment", segment_id: segmentId })
  ).json()) as { id: number };
  await s.api(`/api/v1/audiences/${audience.id}/refresh`, {});
  return csvIds(await (await s.api(`/api/v1/audiences/${audience.id}/export?format=csv`)).text());
}

describe("goals in segments", () => {
  it('selects the same visitors for event("newsletter_signup", 7) >= 1 at the edge and in SQL', async () => {
    const s = await shop();
    const all = [s.signedUp, s.twice, s.otherGoal, s.browsing];
    const edge = await atEdge(s, 'event("newsletter_signup", 7) >= 1', all);
    expect(edge.shown).toEqual([s.signedUp, s.twice].sort());
    expect(await inSql(s, edge.segment)).toEqual(edge.shown);
    const preview = await s.api("/api/v1/segments/preview", { expression: 'event("newsletter_signup", 7) >= 1' });
    expect(((await preview.json()) as { visitors: number }).visitors).toBe(2);
  });

  it("counts every event of the name, and purchases per window, the same on both back ends", async () => {
    const s = await shop();
    const all = [s.signedUp, s.twice, s.otherGoal, s.browsing];
    for (const [expression, expected] of [
      ['event("newsletter_signup") = 2', [s.twice]],
      ['event("video_play") >= 1 or purchases(1) >= 1', [s.otherGoal, s.twice]],
      ['event("never_sent") = 0 and purchases(30) = 0', [s.signedUp, s.otherGoal, s.browsing]],
    ] as const) {
      const edge = await atEdge(s, expression, all);
      expect(edge.shown, expression).toEqual([...expected].sort());
      expect(await inSql(s, edge.segment), expression).toEqual(edge.shown);
    }
  });

  it("lets windows slide past the events while all-time counts stay, on both back ends", async () => {
    const s = await shop();
    const profiles = (await db.select().from(visitors).where(eq(visitors.siteId, s.siteId))).map((v) =>
      buildProfile(v, null),
    );
    expect(profiles).toHaveLength(4);
    const later = Date.now() + 8 * DAY;
    for (const [expression, expected] of [
      ['event("newsletter_signup", 7) >= 1', []],
      ['event("newsletter_signup", 9) >= 1', [s.signedUp, s.twice]],
      ['event("newsletter_signup") >= 1', [s.signedUp, s.twice]],
      ["purchases(7) >= 1", []],
      ["purchases(30) >= 1", [s.twice]],
    ] as const) {
      const predicate = compileSegment(expression);
      const byEdge = profiles.filter((p) => predicate(p, later)).map((p) => p.cookieId);
      const bySql = (await selectProfiles(db, s.siteId, expression, later)).map((r) => r.cookieId);
      expect(byEdge.sort(), expression).toEqual([...expected].sort());
      expect(bySql.sort(), expression).toEqual([...expected].sort());
    }
  });
});
