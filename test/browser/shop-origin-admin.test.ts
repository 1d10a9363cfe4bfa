/**
 * The admin never lives on the shop's origin (README, "Same-origin route"; SECURITY.md): under
 * BASE_PATH the shop's `/_tw` serves only the public routes, and the admin's cookie is a
 * `__Host-` cookie of the Worker's own host. The attack reproduced here, from an ordinary page of
 * the shop in Chromium: log in at the shop's `/_tw/admin`, then `fetch('/_tw/api/v1/site/keys',
 * {method: 'POST'})` — which once answered 201 with a new API key and revoked the live one.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { browserAvailable, createSite, launchChromium, newVisitor, queryD1, screenshot } from "./browser";

const PASSWORD = "shop-origin-admin-1";

describe.skipIf(!browserAvailable())("the admin is not served on the shop's origin, in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("a shop page can neither log in at /_tw/admin nor mint an API key through /_tw/api, even with the admin logged in on the edge", async () => {
    const shop = inject("sameOriginShopUrl");
    const edge = inject("edgeUrl");
    const siteKey = `takeover-${Date.now()}`;
    const apiKey = await createSite({ key: siteKey, name: "Takeover probe" });
    const email = `owner-${Date.now()}@example.test`;
    const created = await fetch(`${edge}/api/v1/users`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, role: "admin" }),
    });
    expect(created.status).toBe(201);
    const liveKeys = () =>
      queryD1<{ n: number }>(
        `select count(*) as n from api_keys k join sites s on s.id = k.site_id where s.key = '${siteKey}' and k.revoked_at is null`,
      )[0]?.n;
    expect(liveKeys()).toBe(1);

    const context = await newVisitor(browser);
    // The owner works in the admin on the edge's own host, in the same browser.
    const admin = await context.newPage();
    await admin.goto(`${edge}/admin/login`);
    await admin.getByLabel("E-mail").fill(email);
    await admin.getByLabel("Password").fill(PASSWORD);
    await admin.getByRole("button", { name: "Log in" }).click();
    await admin.waitForURL(`${edge}/admin`);

    const loginPage = await admin.goto(`${shop}/_tw/admin/login`);
    expect(loginPage?.status()).toBe(404);
    expect(JSON.parse((await loginPage?.text()) ?? "{}")).toMatchObject({ error: { code: "not_found" } });

    // A script on an ordinary shop page: same-origin requests, so CSRF checks would pass.
    const page = await context.newPage();
    await page.goto(`${shop}/`);
    const attack = (await page.evaluate(
      `(async () => {
        const login = await fetch("/_tw/admin/login", {
          method: "POST",
          body: new URLSearchParams({ email: ${JSON.stringify(email)}, password: ${JSON.stringify(PASSWORD)} }),
          redirect: "manual",
        });
        const keys = await fetch("/_tw/api/v1/site/keys", { method: "POST" });
        const docs = await fetch("/_tw/docs");
        const spec = await fetch("/_tw/api/v1/openapi.json");
        return { login: login.status, keys: keys.status, keysBody: await keys.text(), docs: docs.status, spec: spec.status };
      })()`,
    )) as { login: number; keys: number; keysBody: string; docs: number; spec: number };
    expect(attack.login).toBe(404);
    expect(attack.keys).toBe(404);
    expect(JSON.parse(attack.keysBody)).toMatchObject({ error: { code: "not_found" } });
    expect(attack.docs).toBe(404);
    expect(attack.spec).toBe(404);
    expect(liveKeys()).toBe(1);

    // The shop's origin holds no admin cookie; the edge's host holds a __Host- one.
    const shopCookies = await context.cookies(shop);
    expect(shopCookies.filter((c) => c.name.includes("tw_admin"))).toEqual([]);
    const edgeCookies = await context.cookies(edge);
    expect(edgeCookies.map((c) => c.name)).toContain("__Host-tw_admin");
    // The public routes still answer there.
    expect((await page.evaluate(`fetch("/_tw/t.js").then((r) => r.status)`)) as number).toBe(200);
    await screenshot(page, "shop-origin-admin-refused");
    await context.close();
  });
});
