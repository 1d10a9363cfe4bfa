/**
 * Same-origin serving (worker/lib/base-path.ts): with BASE_PATH every public route answers under
 * the prefix, and what the Worker hands out (click URLs, redirects, links of its pages, signed
 * export URLs) points below it again.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TAG_SCRIPT } from "../../worker/collect/tag-bundle.generated";
import { basePathOf } from "../../worker/lib/base-path";
import { BASE } from "../fixtures/api";
import { bannerSite, directEnv, fetchWorker } from "../fixtures/banner";

const prefixedEnv = { ...directEnv, BASE_PATH: "/_tw" } as unknown as Env;
const under = (path: string, init: RequestInit = {}) => fetchWorker(`/_tw${path}`, init, prefixedEnv);

describe("BASE_PATH", () => {
  it("names the prefixed address as the OpenAPI document's server when fetched under the prefix", async () => {
    const prefixed = (await (await under("/api/v1/openapi.json")).json()) as { servers: { url: string }[] };
    expect(prefixed.servers).toEqual([{ url: `${new URL(BASE).origin}/_tw`, description: "This deployment" }]);
    // Fetched without it (the Worker's own host), the server is the origin itself.
    const plain = (await (await fetchWorker("/api/v1/openapi.json", {}, prefixedEnv)).json()) as {
      servers: { url: string }[];
    };
    expect(plain.servers[0].url).toBe(new URL(BASE).origin);
  });

  it("serves the tag, the CMP-aware tag and the health check under the prefix, and without it", async () => {
    const tag = await under("/t.js");
    expect(tag.status).toBe(200);
    expect(await tag.text()).toBe(TAG_SCRIPT);
    expect((await under("/tc.js")).status).toBe(200);
    expect((await under("/healthz")).status).toBe(200);
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

  it("keeps the admin and the API reference inside the prefix: redirects, links and forms", async () => {
    const admin = await under("/admin", { redirect: "manual" });
    expect(admin.status).toBe(302);
    expect(admin.headers.get("Location")).toBe("/_tw/admin/login");
    const login = await (await under("/admin/login")).text();
    expect(login).toContain('data-base="/_tw"');
    expect(login).toMatch(/action="\/_tw\/admin\/login"/);
    expect(login).not.toMatch(/(href|src|action)="\/(?!_tw\/|\/)/);
    const docs = await (await under("/docs")).text();
    expect(docs).toContain('href="/_tw/api/v1/openapi.json"');
  });

  it("answers the management API under the prefix", async () => {
    const { apiKey, siteKey } = await bannerSite();
    const res = await under("/api/v1/site", { headers: { Authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { key: string }).key).toBe(siteKey);
    const missing = await under("/api/v1/nothing-here");
    expect(missing.status).toBe(404);
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
