import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie, siteWithSessions } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite } from "../../fixtures/banner";

async function marketer() {
  const s = await bannerSite();
  const user = await createAdminUser(s.siteKey, "marketer");
  return { s, cookie: await sessionCookie(user.email) };
}

/** Follows a 303 as a browser would: a GET of its Location with the cookies it set. */
async function follow(res: Response, cookie: string) {
  expect(res.status).toBe(303);
  const flash = (res.headers.get("Set-Cookie") ?? "").match(/tw_flash=([^;]+)/)?.[1];
  expect(flash).toBeTruthy();
  const page = await call(res.headers.get("Location") ?? "", { headers: { Cookie: `${cookie}; tw_flash=${flash}` } });
  // Shown once: the page deletes the cookie, so a reload shows the plain page and posts nothing.
  expect(page.headers.get("Set-Cookie")).toMatch(/tw_flash=; Max-Age=0/);
  return page.text();
}

describe("form posts that carry a result redirect, and the result is shown once", () => {
  it("a new webhook's signing secret", async () => {
    const { s, cookie } = await marketer();
    const segment = await s.segment("visits > 1");
    const res = await postForm("/admin/webhooks", cookie, {
      url: "https://hooks.example/in",
      segment_id: String(segment),
    });
    expect(res.headers.get("Location")).toBe("/admin/partners");
    const html = await follow(res, cookie);
    expect(html).toMatch(/<code class="secret" id="flash-secret">whsec_[^<]+<\/code>/);
  });

  it("an audience's signed export URL", async () => {
    const { s, cookie } = await marketer();
    const created = await call("/api/v1/audiences", {
      method: "POST",
      key: s.apiKey,
      json: { name: "Suppress", kind: "new_customers", params: { days: 28 } },
    });
    const { id } = (await created.json()) as { id: number };
    const res = await postForm(`/admin/audiences/${id}/export-url`, cookie, { id_space: "tw" });
    const html = await follow(res, cookie);
    expect(html).toContain("Signed export URL (valid 24 hours):");
    expect(html).toMatch(/id="flash-secret">https?:\/\/[^<]+\/api\/v1\/audiences\/\d+\/export/);
  });

  it("a code upload lists every refused line, not the first five", async () => {
    const { s, cookie } = await marketer();
    const pool = await s.pool();
    const lines = ["GOOD-1", ...Array.from({ length: 7 }, (_, i) => `bad code ${i}`)];
    const res = await postForm(`/admin/pools/${pool}/codes`, cookie, { codes: lines.join("\n") });
    const html = await follow(res, cookie);
    expect(html).toContain("1 codes uploaded, 7 lines refused:");
    for (let line = 2; line <= 8; line++) expect(html).toContain(`<li>line ${line}:`);
  });

  it("a refused partner keeps what was typed", async () => {
    const { cookie } = await marketer();
    const res = await postForm("/admin/partners", cookie, {
      key: "Ad Net!",
      name: "The ad network",
      sync_url: "https://adnet.example/sync?u={tw_id}",
    });
    expect(res.status).toBe(400);
    const form = (await res.text()).split('id="partner-form"')[1] ?? "";
    expect(form).toContain('role="alert"');
    expect(form).toContain('value="Ad Net!"');
    expect(form).toContain('value="The ad network"');
    expect(form).toContain('value="https://adnet.example/sync?u={tw_id}"');
  });
});

describe("webhooks from the admin", () => {
  it("edits the URL, disables and enables, and shows the signing secret again to admins only", async () => {
    const s = await siteWithSessions();
    const segment = (
      (await (
        await call("/api/v1/segments", {
          method: "POST",
          key: s.apiKey,
          json: { name: "All", expression: "visits >= 0" },
        })
      ).json()) as { id: number }
    ).id;
    const created = await call("/api/v1/webhooks", {
      method: "POST",
      key: s.apiKey,
      json: { url: "https://hooks.example/a", segment_id: segment },
    });
    const { id, secret } = (await created.json()) as { id: number; secret: string };
    const read = async () => (await (await call(`/api/v1/webhooks/${id}`, { key: s.apiKey })).json()) as Webhook;

    expect(
      (await postForm(`/admin/webhooks/${id}`, s.cookies.marketer, { url: "https://hooks.example/b" })).status,
    ).toBe(303);
    expect((await read()).url).toBe("https://hooks.example/b");
    await postForm(`/admin/webhooks/${id}/toggle`, s.cookies.marketer, { enabled: "0" });
    expect((await read()).enabled).toBe(false);
    await postForm(`/admin/webhooks/${id}/toggle`, s.cookies.marketer, { enabled: "1" });
    expect((await read()).enabled).toBe(true);

    const shown = await follow(await postForm(`/admin/webhooks/${id}/secret`, s.cookies.admin, {}), s.cookies.admin);
    expect(shown).toContain(`id="flash-secret">${secret}</code>`);
    const page = await (await call("/admin/partners", { headers: { Cookie: s.cookies.marketer } })).text();
    expect(page).not.toContain(`/admin/webhooks/${id}/secret`);
    expect((await postForm(`/admin/webhooks/${id}/secret`, s.cookies.marketer, {})).status).toBe(400);
  });
});

type Webhook = { url: string; enabled: boolean };
