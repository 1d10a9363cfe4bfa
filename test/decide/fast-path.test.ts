/**
 * The banner's fast path ahead of Hono (worker/decide/fast-path.ts) answers exactly as the app's
 * `/b` route does: the same status, headers and body shape for banners, fallbacks, personal codes,
 * opted-out browsers and unknown sites — and it leaves to the app every request it does not serve
 * itself (other methods, parameters the route refuses or sees twice), so those keep the app's
 * validation errors.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bannerFastPath } from "../../worker/decide/fast-path";
import { app } from "../../worker/index";
import { BASE } from "../fixtures/api";
import { bannerSite, directEnv, insertVisitor, randomCookie } from "../fixtures/banner";

/** Headers whose values differ per request by design (IDs, nonces, the random impression). */
const PER_REQUEST = new Set(["x-request-id", "content-security-policy", "set-cookie", "content-length"]);

async function both(path: string, headers: Record<string, string> = {}) {
  const answer = async (fast: boolean) => {
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}${path}`, { headers });
    const served = fast ? bannerFastPath(request, directEnv, ctx) : null;
    if (fast) expect(served, `the fast path serves ${path}`).not.toBeNull();
    const res = await (served ?? app.fetch(request, directEnv, ctx));
    await waitOnExecutionContext(ctx);
    return res;
  };
  return { fast: await answer(true), slow: await answer(false) };
}

function comparableHeaders(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => !PER_REQUEST.has(name)));
}

/** The body without what is random per answer (impression IDs, click tokens, nonces). */
function shape(body: string): string {
  return body
    .replace(/[0-9a-f]{32}/g, "<id>")
    .replace(/\/c\/[A-Za-z0-9_.~-]+/g, "/c/<token>")
    .replace(/nonce(=|-)"?[A-Za-z0-9+/=_-]+"?/g, "nonce<n>");
}

describe("GET /b through the fast path", () => {
  it("answers a rule's banner, a personal code, a fallback and an opted-out browser as the app does", async () => {
    const site = await bannerSite();
    const creative = await site.creative("html", '<a href="{{click_url}}">{{coupon}} {{discount}}</a>');
    const fallback = await site.creative("html", "<p>fallback</p>");
    await site.fallback("slot", fallback);
    const pool = await site.pool("15 %");
    await site.codes(pool, ["FAST-1", "FAST-2", "FAST-3"]);
    await site.rule({ creative_id: creative, pool_id: pool, segment_id: await site.segment("visits >= 1") });
    const regular = randomCookie();
    await insertVisitor(site.siteId, regular);

    const cases: [string, Record<string, string>][] = [
      [`/b/slot?site=${site.siteKey}&format=html`, { cookie: `tw_id=${regular}` }],
      [`/b/slot?site=${site.siteKey}&format=json`, { cookie: `tw_id=${regular}` }],
      [`/b/slot?site=${site.siteKey}&format=svg`, {}],
      [`/b/slot?site=${site.siteKey}`, { cookie: `tw_id=${randomCookie()}` }],
      [`/b/slot?site=${site.siteKey}&format=json`, { cookie: `tw_id=${regular}; tw_optout=1` }],
      [`/b/other?site=${site.siteKey}&format=json&cb=123`, {}],
    ];
    for (const [path, headers] of cases) {
      const { fast, slow } = await both(path, headers);
      expect(fast.status, path).toBe(slow.status);
      expect(comparableHeaders(fast), path).toEqual(comparableHeaders(slow));
      expect(fast.headers.get("x-request-id"), path).toMatch(/^[0-9a-f-]{36}$/);
      expect(shape(await fast.text()), path).toBe(shape(await slow.text()));
    }
    // The known visitor was given the same code by both (one code per visitor and pool).
    const json = async (res: Response) => (await res.json()) as { coupon: { code: string } | null };
    const { fast, slow } = await both(`/b/slot?site=${site.siteKey}&format=json`, { cookie: `tw_id=${regular}` });
    const [a, b] = [await json(fast), await json(slow)];
    expect(a.coupon?.code).toMatch(/^FAST-\d$/);
    expect(a.coupon?.code).toBe(b.coupon?.code);
  });

  it("answers an unknown site with the app's 404 error, its request ID and security headers", async () => {
    const { fast, slow } = await both("/b/slot?site=nobody-here&format=json", { "x-request-id": "req-fast-1" });
    expect(fast.status).toBe(404);
    expect(comparableHeaders(fast)).toEqual(comparableHeaders(slow));
    expect(fast.headers.get("x-request-id")).toBe("req-fast-1");
    expect(fast.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await fast.json()).toEqual(await slow.json());
  });

  it("leaves to the app what it does not serve, which answers with its validation error", async () => {
    const site = await bannerSite();
    const declined = [
      new Request(`${BASE}/b/slot?site=${site.siteKey}`, { method: "POST" }),
      new Request(`${BASE}/b/slot?site=${site.siteKey}&site=other`),
      new Request(`${BASE}/b/slot?site=${site.siteKey}&format=gif`),
      new Request(`${BASE}/b/slot?format=html`),
      new Request(`${BASE}/b/sl%6Ft?site=${site.siteKey}`),
      new Request(`${BASE}/b/slot/extra?site=${site.siteKey}`),
      new Request(`${BASE}/e`),
    ];
    for (const request of declined) {
      expect(bannerFastPath(request, directEnv, createExecutionContext()), request.url).toBeNull();
    }
    const ctx = createExecutionContext();
    const refused = await app.fetch(new Request(`${BASE}/b/slot?site=${site.siteKey}&format=gif`), directEnv, ctx);
    expect(refused.status).toBe(400);
  });
});
