import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postForm, siteWithSessions } from "../../fixtures/admin";
import { call } from "../../fixtures/api";

const activeKeys = async (siteId: number) =>
  (
    await env.DB.prepare("select count(*) as n from api_keys where site_id = ? and revoked_at is null")
      .bind(siteId)
      .first<{ n: number }>()
  )?.n;

/** The flash cookie a 303 sets, as the browser would send it back. */
function flashCookie(res: Response): string {
  const match = (res.headers.get("Set-Cookie") ?? "").match(/tw_flash=([^;]+)/);
  if (!match) throw new Error("no flash cookie");
  return `tw_flash=${match[1]}`;
}

describe("issuing API keys in the admin", () => {
  it("issues a key without revoking the others, redirects, and shows the key once", async () => {
    const s = await siteWithSessions();
    const page = await (await call("/admin/settings", { headers: { Cookie: s.cookies.admin } })).text();
    expect(page).toMatch(/<input id="f-revoke_others" type="checkbox" name="revoke_others" value="1"\/>/);

    const res = await postForm("/admin/settings/keys", s.cookies.admin, {});
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/admin/settings");
    expect(await activeKeys(s.users.admin.siteId)).toBe(2);
    expect((await call("/api/v1/site", { key: s.apiKey })).status).toBe(200);

    const cookie = `${s.cookies.admin}; ${flashCookie(res)}`;
    const shown = await call("/admin/settings", { headers: { Cookie: cookie } });
    const html = await shown.text();
    expect(html).toContain("every other key keeps working");
    const key = html.match(/<code class="secret" id="flash-secret">([^<]+)<\/code>/)?.[1] ?? "";
    expect((await call("/api/v1/site", { key })).status).toBe(200);
    expect(html).toContain('data-copy="flash-secret"');
    // Read once: the page deletes the cookie as it shows it.
    expect(shown.headers.get("Set-Cookie")).toMatch(/tw_flash=; Max-Age=0/);
  });

  it("asks before revoking the others, naming the keys that stop working; revokes only when confirmed", async () => {
    const s = await siteWithSessions();
    const asked = await postForm("/admin/settings/keys", s.cookies.admin, { revoke_others: "1" });
    expect(asked.status).toBe(200);
    const page = await asked.text();
    expect(page).toContain("Revoke all other keys?");
    expect(page).toContain(`<code>${s.apiKey.slice(0, 10)}…</code>`);
    expect(page).toContain("server-side purchase");
    expect(await activeKeys(s.users.admin.siteId)).toBe(1);
    expect((await call("/api/v1/site", { key: s.apiKey })).status).toBe(200);

    const done = await postForm("/admin/settings/keys", s.cookies.admin, { revoke_others: "1", confirmed: "1" });
    expect(done.status).toBe(303);
    expect((await call("/api/v1/site", { key: s.apiKey })).status).toBe(401);
    expect(await activeKeys(s.users.admin.siteId)).toBe(1);
  });

  it("a forged or stale flash cookie shows nothing", async () => {
    const s = await siteWithSessions();
    const html = await (
      await call("/admin/settings", { headers: { Cookie: `${s.cookies.admin}; tw_flash=AAAA.BBBB` } })
    ).text();
    expect(html).not.toContain('id="flash"');
  });
});
