import { describe, expect, it } from "vitest";
import { newCookieId } from "../../../worker/lib/visitor-cookie";
import { createAdminUser, sessionCookie } from "../../fixtures/admin";
import { basicAuth, call } from "../../fixtures/api";
import { bannerSite, directEnv, fetchWorker } from "../../fixtures/banner";

describe("the admin's Install page", () => {
  it("gives the tag with the site's consent mode, a slot per placement, signing snippets and the Segment endpoint", async () => {
    const s = await bannerSite();
    await s.rule({ name: "Everyone", placement: "hero", creative_id: await s.creative("html", "<p>x</p>") });
    const user = await createAdminUser(s.siteKey, "marketer");
    const page = await call("/admin/install", { headers: { Cookie: await sessionCookie(user.email) } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('href="/admin/install" aria-current="page"');
    expect(html).toContain(`https://tagwerk.test/t.js&quot; data-site=&quot;${s.siteKey}&quot;`);
    expect(html).toContain(
      `https://tagwerk.test/tc.js&quot; data-site=&quot;${s.siteKey}&quot; data-consent=&quot;cmp&quot;`,
    );
    expect(html).toContain("data-tw-slot=&quot;hero&quot;");
    expect(html).toContain("createHmac(&quot;sha256&quot;");
    expect(html).toContain("hash_hmac(&#39;sha256&#39;");
    expect(html).toContain("hashlib.sha256");
    expect(html).toContain('<code id="segment-endpoint">https://tagwerk.test/v1/batch</code>');
    expect(html).toMatch(/id="ingest-key-advice">[\s\S]*ingest-only key[\s\S]*answers 403/);
  });

  it("with BASE_PATH, gives the tag under the shop's own prefix and the server endpoints on the Worker's host", async () => {
    const s = await bannerSite();
    const user = await createAdminUser(s.siteKey, "viewer");
    const res = await fetchWorker("/admin/install", { headers: { Cookie: await sessionCookie(user.email) } }, {
      ...directEnv,
      BASE_PATH: "/_tw",
    } as unknown as Env);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`src=&quot;/_tw/t.js&quot; data-site=&quot;${s.siteKey}&quot;`);
    expect(html).toContain(`src=&quot;/_tw/tc.js&quot; data-site=&quot;${s.siteKey}&quot;`);
    expect(html).toContain('<code id="segment-endpoint">https://tagwerk.test/v1/batch</code>');
  });

  it("shows the last events received and the last refused ones with their reason", async () => {
    const s = await bannerSite();
    const cookie = newCookieId();
    const res = await call("/v1/batch", {
      method: "POST",
      headers: { Authorization: basicAuth(s.apiKey), "Content-Type": "application/json" },
      body: JSON.stringify({
        batch: [
          { type: "track", event: "Newsletter Signed Up", anonymousId: cookie, messageId: "a" },
          { type: "screen", anonymousId: cookie, messageId: "b" },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (await call("/admin/install", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    const received = html.slice(html.indexOf('id="recent-events"'), html.indexOf("Last refused"));
    expect(received).toContain("event: Newsletter Signed Up");
    expect(received).toContain(cookie);
    const refused = html.slice(html.indexOf('id="rejected-events"'));
    expect(refused).toContain("segment");
    expect(refused).toContain("type: screen is not supported (track, identify, page)");
  });

  it("says so when nothing has arrived yet", async () => {
    const s = await bannerSite();
    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (await call("/admin/install", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    expect(html).toContain("Nothing received in the last 24 hours.");
    expect(html).toContain("Nothing refused.");
  });
});
