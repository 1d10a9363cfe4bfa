/**
 * The decision path reads through the D1 Sessions API (read replicas) and carries a bookmark in the
 * `tw_bm` cookie after a coupon claim, so the visitor's next decision sees the claim.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BOOKMARK_COOKIE } from "../../worker/decide/read-replica";
import { type BannerJson, bannerSite, directEnv, fetchWorker, randomCookie } from "../fixtures/banner";

/** The real D1 binding, recording which session constraints or bookmarks the Worker asked for. */
function recordingEnv() {
  const sessions: string[] = [];
  const db = {
    prepare: (q: string) => env.DB.prepare(q),
    batch: (s: D1PreparedStatement[]) => env.DB.batch(s),
    exec: (q: string) => env.DB.exec(q),
    withSession: (constraint: string) => {
      sessions.push(constraint);
      return env.DB.withSession(constraint);
    },
  };
  return { sessions, env: { ...directEnv, DB: db } as unknown as Env };
}

function bookmarkOf(res: Response): { value: string; attributes: string } | null {
  // Set-Cookie headers arrive joined by ", "; the bookmark is the one starting with its name.
  const header = res.headers.get("set-cookie") ?? "";
  const at = header.indexOf(`${BOOKMARK_COOKIE}=`);
  if (at < 0) return null;
  const cookie = header.slice(at).split(/, (?=[a-z_]+=)/i)[0];
  const [pair, ...attributes] = cookie.split(";");
  return { value: decodeURIComponent(pair.slice(BOOKMARK_COOKIE.length + 1)), attributes: attributes.join(";") };
}

async function claimSite() {
  const site = await bannerSite();
  const creative = await site.creative("html", '<a href="{{click_url}}">{{coupon}}</a>');
  const pool = await site.pool();
  await site.codes(pool, ["BM-001", "BM-002", "BM-003"]);
  await site.rule({ creative_id: creative, pool_id: pool });
  return { ...site, pool };
}

describe("decisions through the D1 Sessions API", () => {
  it("opens an unconstrained session (any replica) for a visitor without a bookmark", async () => {
    const site = await claimSite();
    const recording = recordingEnv();
    const res = await fetchWorker(
      `/b/slot?site=${site.siteKey}&format=json`,
      { cookie: randomCookie() },
      recording.env,
    );
    expect(res.status).toBe(200);
    expect(recording.sessions).toEqual(["first-unconstrained"]);
  });

  it("hands out a bookmark after a first coupon claim, scoped to /b and short-lived", async () => {
    const site = await claimSite();
    const res = await fetchWorker(`/b/slot?site=${site.siteKey}&format=json`, { cookie: randomCookie() });
    const body = (await res.json()) as BannerJson;
    expect(body.coupon?.code).toMatch(/^BM-00\d$/);
    const bookmark = bookmarkOf(res);
    expect(bookmark?.value).toMatch(/^[0-9a-f-]+$/i);
    expect(bookmark?.attributes).toMatch(/Path=\/b/);
    expect(bookmark?.attributes).toMatch(/HttpOnly/);
    expect(bookmark?.attributes).toMatch(/SameSite=None/);
    expect(bookmark?.attributes).toMatch(/Max-Age=300/);
  });

  it("starts the next decision from the bookmark and shows the code claimed before, without a second claim", async () => {
    const site = await claimSite();
    const visitor = randomCookie();
    const first = await fetchWorker(`/b/slot?site=${site.siteKey}&format=json`, { cookie: visitor });
    const code = ((await first.json()) as BannerJson).coupon?.code;
    const bookmark = bookmarkOf(first)?.value ?? "";

    const recording = recordingEnv();
    const second = await fetchWorker(
      `/b/slot?site=${site.siteKey}&format=json`,
      { headers: { Cookie: `tw_id=${visitor}; ${BOOKMARK_COOKIE}=${bookmark}` } },
      recording.env,
    );
    expect(recording.sessions).toEqual([bookmark]);
    expect(((await second.json()) as BannerJson).coupon?.code).toBe(code);
    // The steady state writes nothing, so there is no new bookmark to carry.
    expect(bookmarkOf(second)).toBeNull();
    const held = await env.DB.prepare("select count(*) as n from coupons where pool_id = ? and holder is not null")
      .bind(site.pool)
      .first<number>("n");
    expect(held).toBe(1);
  });

  it("ignores a malformed bookmark and still serves the visitor's banner", async () => {
    const site = await claimSite();
    const recording = recordingEnv();
    const res = await fetchWorker(
      `/b/slot?site=${site.siteKey}&format=json`,
      { headers: { Cookie: `tw_id=${randomCookie()}; ${BOOKMARK_COOKIE}=not%20a%20bookmark` } },
      recording.env,
    );
    expect(res.status).toBe(200);
    expect(recording.sessions).toEqual(["first-unconstrained"]);
    expect(((await res.json()) as BannerJson).coupon?.code).toMatch(/^BM-00\d$/);
  });
});
