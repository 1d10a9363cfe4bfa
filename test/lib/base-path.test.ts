/**
 * Same-origin serving (worker/lib/base-path.ts): with BASE_PATH the public routes answer under
 * the prefix, and what the Worker hands out there (click URLs) points below it again; the admin,
 * the docs and the management API answer only on the Worker's own host.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TAG_SCRIPT } from "../../worker/collect/tag-bundle.generated";
import { basePathOf } from "../../worker/lib/base-path";
import { createAdminUser, sessionCookie } from "../fixtures/admin";
import { BASE } from "../fixtures/api";
import { bannerSite, directEnv, fetchWorker } from "../fixtures/banner";

const prefixedEnv = { ...directEnv, BASE_PATH: "/_tw" } as unknown as Env;
const under = (path: string, init: RequestInit = {}) => fetchWorker(`/_tw${path}`, init, prefixedEnv);

describe("BASE_PATH", () => {
  it("serves the tag and the CMP-aware tag under the prefix, and without it", async () => {
    const tag = await under("/t.js");
    expect(tag.status).toBe(200);
    expect(await tag.text()).toBe(TAG_SCRIPT);
    expect((await under("/tc.js")).status).toBe(200);
    expect((await fetchWorker("/t.js", {}, prefixedEnv)).status).toBe(200);
  });

  it("accepts tag events at the prefix and sets tw_id for the whole host", async () => {
    const { siteKey } = await bannerSite();
    const res = await under("/e", {
      method: "POST",
      headers: { "Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0" },
      body: JSON.stringify({ site: siteKey, events: [{ type: "page", ts: Date.now(), url: "https://shop.example/" }] }),
    });
    expect(res.status).toBe(204);
    const cookie = res.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^tw_id=[0-9a-f]{32};/);
    expect(cookie).toContain("Path=/;");
  });

  it("mints click URLs below the prefix, and the click through it redirects to the landing page", async () => {
    const shop = await bannerSite();
    const creative = await shop.creative("html", '<a href="{{click_url}}">Shop now</a>');
    await shop.rule({ segment_id: null, creative_id: creative });
    const res = await under(`/b/slot?site=${shop.siteKey}&format=json`);
    expect(res.status).toBe(200);
    const banner = (await res.json()) as { click_url: string; creative: { body: string } };
    expect(banner.click_url.startsWith(`${BASE}/_tw/c/`)).toBe(true);
    expect(banner.creative.body).toContain(`href="${BASE}/_tw/c/`);
    const click = await fetchWorker(banner.click_url, { redirect: "manual" }, prefixedEnv);
    expect(click.status).toBe(302);
    expect(click.headers.get("Location")).toMatch(/^https:\/\/shop\.example\/landing/);
  });

  it("refuses the admin, the docs, the health check and the management API under the prefix, with the error shape", async () => {
    const { apiKey } = await bannerSite();
    const refused: Array<[string, RequestInit]> = [
      ["/admin", {}],
      ["/admin/login", {}],
      ["/admin/assets/admin.css", {}],
      ["/docs", {}],
      ["/api/v1/openapi.json", {}],
      ["/healthz", {}],
      ["/", {}],
      ["/api/v1/site", { headers: { Authorization: `Bearer ${apiKey}` } }],
      ["/api/v1/events", { method: "POST", headers: { Authorization: `Bearer ${apiKey}` }, body: "{}" }],
      ["/admin/login", { method: "POST", body: new URLSearchParams({ email: "a@b.c", password: "x" }) }],
      ["/b/../admin", {}],
      ["/b/%2e%2e/admin", {}],
    ];
    for (const [path, init] of refused) {
      const res = await under(path, { redirect: "manual", ...init });
      expect([path, res.status]).toEqual([path, 404]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("an admin session cookie sent to the shop's origin authenticates nothing there", async () => {
    const shop = await bannerSite();
    const user = await createAdminUser(shop.siteKey, "admin");
    const cookie = await sessionCookie(user.email);
    const keys = await under("/api/v1/site/keys", { method: "POST", headers: { Cookie: cookie, Origin: BASE } });
    expect(keys.status).toBe(404);
    const page = await under("/admin/settings", { headers: { Cookie: cookie } });
    expect(page.status).toBe(404);
    // The same cookie on the Worker's own host still works.
    expect((await fetchWorker("/api/v1/site", { headers: { Cookie: cookie } }, prefixedEnv)).status).toBe(200);
  });

  it("answers a path without the prefix as before, with links without it", async () => {
    for (const testEnv of [prefixedEnv, directEnv]) {
      const admin = await fetchWorker("/admin", { redirect: "manual" }, testEnv);
      expect(admin.headers.get("Location")).toBe("/admin/login");
      expect(await (await fetchWorker("/admin/login", {}, testEnv)).text()).not.toContain("/_tw");
    }
    const shop = await bannerSite();
    await shop.rule({ segment_id: null, creative_id: await shop.creative("html", "<b>hi</b>") });
    const banner = await fetchWorker(`/b/slot?site=${shop.siteKey}&format=json`, {}, prefixedEnv);
    expect(((await banner.json()) as { click_url: string }).click_url.startsWith(`${BASE}/c/`)).toBe(true);
    expect(env.BASE_PATH).toBe("");
  });

  it("refuses a prefix that is not a plain path", () => {
    expect(basePathOf({ BASE_PATH: "/_tw/" })).toBe("/_tw");
    expect(basePathOf({ BASE_PATH: "/a/b" })).toBe("/a/b");
    for (const bad of ["_tw", "/_tw?x", "//evil.example", "/a b", "/../x/%2e"]) {
      expect(() => basePathOf({ BASE_PATH: bad })).toThrow(/BASE_PATH/);
    }
  });
});
