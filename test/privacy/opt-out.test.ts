import { describe, expect, it } from "vitest";
import { SECONDS_PER_DAY } from "../../worker/lib/time";
import { cookieIdOf, countRows, event, postEvents, SHOP } from "../collect/post-events";
import { call, createTestSite, settleBackgroundWork, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { type BannerJson, bannerSite, directEnv, randomCookie } from "../fixtures/banner";
import { inHome } from "../fixtures/people";

async function fetchDirect(path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
  return call(path, { ...init, headers, env: directEnv, settle: true });
}

async function eventsPosted(headers: Record<string, string>) {
  const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
  const siteId = await siteIdOf(siteKey);
  const res = await fetchDirect(
    "/e",
    { "Content-Type": "text/plain", Origin: SHOP, ...headers },
    {
      method: "POST",
      body: JSON.stringify({ site: siteKey, events: [event("page"), event("view", { sku: "S", category: "c" })] }),
    },
  );
  return { res, siteId };
}

/** Hono appends one Set-Cookie per cookie; the Headers typing here lacks getSetCookie(). */
function setCookies(res: Response): string[] {
  return (res.headers.get("Set-Cookie") ?? "").split(/,\s*(?=[a-z_]+=)/);
}

function proofOf(res: Response): string {
  return /tw_idp=([A-Za-z0-9_-]+)/.exec(res.headers.get("Set-Cookie") ?? "")?.[1] ?? "";
}

describe("GET /optout", () => {
  it("sets tw_optout=1 for 400 days, clears tw_id and its proof, and erases the profile of the browser that holds it", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    await inHome(siteKey);
    const siteId = await siteIdOf(siteKey);
    // The browser's own cookies, as /e minted them: tw_id and its proof tw_idp, alike in scope.
    const first = await postEvents({ site: siteKey, events: [event("page")] });
    const cookie = cookieIdOf(first) ?? "";
    const proof = proofOf(first);
    expect(proof).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(setCookies(first).find((c) => c.startsWith("tw_idp="))).toMatch(
      /HttpOnly.*Secure.*SameSite=Lax|SameSite=Lax.*HttpOnly/,
    );
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", siteId, cookie)).toBe(1);
    expect(await countArchived(siteId, cookie)).toBe(1);

    const res = await call(`/optout?site=${siteKey}`, { headers: { Cookie: `tw_id=${cookie}; tw_idp=${proof}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("has been erased");
    const cookies = setCookies(res);
    const optout = cookies.find((c: string) => c.startsWith("tw_optout=1"));
    expect(optout).toContain(`Max-Age=${400 * SECONDS_PER_DAY}`);
    expect(optout).toContain("Secure");
    expect(optout).toContain("HttpOnly");
    expect(cookies.some((c: string) => /^tw_id=;.*Max-Age=0/.test(c))).toBe(true);
    expect(cookies.some((c: string) => /^tw_idp=;.*Max-Age=0/.test(c))).toBe(true);
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", siteId, cookie)).toBe(0);
    // The archive's lines go in the erasure's background sweep (worker/archive/sweeps.ts).
    await settleBackgroundWork();
    expect(await countArchived(siteId, cookie)).toBe(0);
  });

  it("erases nobody for a forged Cookie: tw_id=… (no proof, or another cookie's proof), yet opts the caller's browser out", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    await inHome(siteKey);
    const siteId = await siteIdOf(siteKey);
    const victim = cookieIdOf(await postEvents({ site: siteKey, events: [event("page")] })) ?? "";
    const attacker = await postEvents({ site: siteKey, events: [event("page")] });
    for (const forged of [
      `tw_id=${victim}`,
      `tw_id=${victim}; tw_idp=${proofOf(attacker)}`,
      `tw_id=${victim}; tw_idp=x`,
    ]) {
      const res = await call(`/optout?site=${siteKey}`, { headers: { Cookie: forged } });
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain("has been erased");
      expect(setCookies(res).some((c) => c.startsWith("tw_optout=1"))).toBe(true);
    }
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", siteId, victim)).toBe(1);
    expect(await countArchived(siteId, victim)).toBeGreaterThan(0);
  });

  it("gives the tw_id that /sync mints its proof too", async () => {
    const { siteKey, apiKey } = await createTestSite();
    await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "Net" } });
    const res = await call(`/sync?site=${siteKey}&p=net&puid=P-1`);
    const cookie = cookieIdOf(res);
    expect(cookie).toMatch(/^[0-9a-f]{32}$/);
    const proof = proofOf(res);
    expect(setCookies(res).find((c) => c.startsWith("tw_idp="))).toContain("SameSite=None");
    const optout = await call(`/optout?site=${siteKey}`, { headers: { Cookie: `tw_id=${cookie}; tw_idp=${proof}` } });
    expect(await optout.text()).toContain("has been erased");
    expect(await countRows("id_links", "partner_user_id = 'P-1'")).toBe(0);
  });

  it("works as a POST from an HTML form, and answers 404 for an unknown site", async () => {
    const { siteKey } = await createTestSite();
    const res = await call("/optout", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `site=${siteKey}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Set-Cookie")).toContain("tw_optout=1");
    expect((await call("/optout?site=no-such-site")).status).toBe(404);
  });
});

describe("an opted-out browser", () => {
  it("has its /e batches refused as 'opted out': no cookie, no profile, no event, no rejected row", async () => {
    const { res, siteId } = await eventsPosted({ Cookie: "tw_optout=1" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, reason: "opted out" },
        { index: 1, reason: "opted out" },
      ],
    });
    expect(res.headers.get("Set-Cookie")).toBeNull();
    for (const table of ["visitors", "rejected_events"]) {
      expect(await countRows(table, "site_id = ?", siteId)).toBe(0);
    }
    expect(await countArchived(siteId)).toBe(0);
  });

  it("is shown only the non-personalised fallback on /b, and claims no coupon", async () => {
    const site = await bannerSite();
    const personal = await site.creative("html", "<p>PERSONAL {{coupon}}</p>");
    const fallback = await site.creative("html", "<p>FALLBACK</p>");
    const pool = await site.pool();
    await site.codes(pool, ["ONE", "TWO"]);
    await site.rule({ creative_id: personal, pool_id: pool });
    await site.fallback("slot", fallback);
    const cookie = randomCookie();
    const res = await fetchDirect(`/b/slot?site=${site.siteKey}&format=json`, {
      Cookie: `tw_id=${cookie}; tw_optout=1`,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BannerJson;
    expect(body.rule).toBeNull();
    expect(body.coupon).toBeNull();
    expect(body.creative.body).toContain("FALLBACK");
    expect(await countRows("coupons", "pool_id = ? and holder is not null", pool)).toBe(0);
    expect(await countRows("impressions", "site_id = ? and cookie_id is not null", site.siteId)).toBe(0);
  });

  it("is never linked by /sync and gets no cookie from it", async () => {
    const { siteKey, apiKey } = await createTestSite();
    await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "Net" } });
    const res = await call(`/sync?site=${siteKey}&p=net&puid=OPTED-1`, { headers: { Cookie: "tw_optout=1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/gif");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await countRows("id_links", "partner_user_id = 'OPTED-1'")).toBe(0);
  });
});

describe("Global Privacy Control and Do Not Track on the server", () => {
  it("refuses /e batches sent with Sec-GPC: 1, storing nothing", async () => {
    const { res, siteId } = await eventsPosted({ "Sec-GPC": "1" });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { rejected: { reason: string }[] }).rejected[0].reason).toBe(
      "global privacy control",
    );
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await countRows("visitors", "site_id = ?", siteId)).toBe(0);
    expect(await countArchived(siteId)).toBe(0);
  });

  it("refuses /e batches sent with DNT: 1, storing nothing", async () => {
    const { res, siteId } = await eventsPosted({ DNT: "1" });
    expect(((await res.json()) as { rejected: { reason: string }[] }).rejected[1].reason).toBe("do not track");
    expect(await countRows("visitors", "site_id = ?", siteId)).toBe(0);
  });

  it("stores the same batch without the signals (the control)", async () => {
    const { res, siteId } = await eventsPosted({});
    expect(res.status).toBe(204);
    expect(await countArchived(siteId)).toBe(2);
  });
});
