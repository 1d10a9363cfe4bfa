import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf } from "../fixtures/api";
import { inHome } from "../fixtures/people";

async function siteWithPartner(syncUrl: string | null, settings: Record<string, unknown> = {}) {
  const { siteKey, apiKey } = await createTestSite(settings);
  await inHome(siteKey);
  const res = await call("/api/v1/partners", {
    method: "POST",
    key: apiKey,
    json: { key: "net", name: "Network", sync_url: syncUrl },
  });
  expect(res.status).toBe(201);
  return { siteKey, apiKey };
}

async function linksOf(puid: string) {
  const rows = await env.DB.prepare("select cookie_id from id_links where partner_user_id = ?").bind(puid).all<{
    cookie_id: string;
  }>();
  return rows.results.map((r) => r.cookie_id);
}

const SYNC_URL = "https://sync.net.example/match?tw={tw_id}";

describe("partners API", () => {
  it("creates, lists, updates and deletes partners of the calling site only", async () => {
    const { apiKey } = await siteWithPartner(SYNC_URL);
    const other = await createTestSite();
    const list = (await (await call("/api/v1/partners", { key: apiKey })).json()) as {
      partners: { id: number; key: string; sync_url: string }[];
    };
    expect(list.partners).toHaveLength(1);
    expect(list.partners[0]).toMatchObject({ key: "net", sync_url: SYNC_URL });
    const id = list.partners[0].id;
    expect((await call(`/api/v1/partners/${id}`, { key: other.apiKey })).status).toBe(404);
    const patched = await call(`/api/v1/partners/${id}`, { method: "PATCH", key: apiKey, json: { sync_url: null } });
    expect(((await patched.json()) as { sync_url: string | null }).sync_url).toBeNull();
    expect((await call(`/api/v1/partners/${id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    expect((await call(`/api/v1/partners/${id}`, { key: apiKey })).status).toBe(404);
  });

  it("refuses a sync URL that is not http(s), a duplicate key and the reserved key tw", async () => {
    const { apiKey } = await siteWithPartner(null);
    const bad = await call("/api/v1/partners", {
      method: "POST",
      key: apiKey,
      json: { key: "x", name: "X", sync_url: "javascript:alert(1)" },
    });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain("sync_url");
    const dup = await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "again" } });
    expect(dup.status).toBe(409);
    const tw = await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "tw", name: "tw" } });
    expect(tw.status).toBe(400);
  });
});

describe("GET /sync", () => {
  it("without a registered sync URL records the link, sets a third-party tw_id cookie and answers a GIF", async () => {
    const { siteKey } = await siteWithPartner(null);
    const res = await call(`/sync?site=${siteKey}&p=net&puid=U-1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(new Uint8Array(await res.arrayBuffer()).slice(0, 6)).toEqual(new TextEncoder().encode("GIF89a"));
    const cookie = res.headers.get("set-cookie") ?? "";
    const id = cookie.match(/tw_id=([0-9a-f]{32});/)?.[1];
    expect(id).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=None/);
    expect(await linksOf("U-1")).toEqual([id]);
  });

  it("with a registered sync URL redirects there with the visitor's tw_id filled in", async () => {
    const { siteKey } = await siteWithPartner(SYNC_URL);
    const cookieId = "a".repeat(32);
    const res = await call(`/sync?site=${siteKey}&p=net&puid=U-2`, {
      redirect: "manual",
      headers: { Cookie: `tw_id=${cookieId}` },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://sync.net.example/match?tw=${cookieId}`);
    expect(res.headers.get("set-cookie")).toBeNull();
    const explicit = await call(`/sync?site=${siteKey}&p=net&puid=U-2&redirect=${encodeURIComponent(SYNC_URL)}`, {
      redirect: "manual",
      headers: { Cookie: `tw_id=${cookieId}` },
    });
    expect(explicit.status).toBe(302);
    expect(explicit.headers.get("location")).toBe(`https://sync.net.example/match?tw=${cookieId}`);
    expect(await linksOf("U-2")).toEqual([cookieId]);
  });

  it("refuses an open redirect: any other redirect target answers the GIF and never a Location", async () => {
    const { siteKey } = await siteWithPartner(SYNC_URL);
    for (const target of [
      "https://evil.example/",
      "https://sync.net.example.evil.example/match?tw={tw_id}",
      "//evil.example",
      `${SYNC_URL}&x=1`,
    ]) {
      const res = await call(`/sync?site=${siteKey}&p=net&puid=U-3&redirect=${encodeURIComponent(target)}`, {
        redirect: "manual",
        headers: { Cookie: `tw_id=${"b".repeat(32)}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toBe("image/gif");
    }
  });

  it("keeps one cookie per partner user ID: the latest sync wins", async () => {
    const { siteKey } = await siteWithPartner(null);
    await call(`/sync?site=${siteKey}&p=net&puid=U-4`, {
      redirect: "manual",
      headers: { Cookie: `tw_id=${"c".repeat(32)}` },
    });
    await call(`/sync?site=${siteKey}&p=net&puid=U-4`, {
      redirect: "manual",
      headers: { Cookie: `tw_id=${"d".repeat(32)}` },
    });
    expect(await linksOf("U-4")).toEqual(["d".repeat(32)]);
  });

  it("does not link a visitor who refused consent, nor an unknown visitor on a consent-required site", async () => {
    const { siteKey } = await siteWithPartner(SYNC_URL);
    const { results } = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).all<{ id: number }>();
    const cookieId = "e".repeat(32);
    await env.DB.prepare(
      "insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, consent) values (?, ?, 0, 0, 'denied')",
    )
      .bind(results[0].id, cookieId)
      .run();
    const denied = await call(`/sync?site=${siteKey}&p=net&puid=U-5`, {
      redirect: "manual",
      headers: { Cookie: `tw_id=${cookieId}` },
    });
    expect(denied.status).toBe(200);
    expect(denied.headers.get("location")).toBeNull();
    expect(await linksOf("U-5")).toEqual([]);

    const strict = await siteWithPartner(null, { consent_mode: "required" });
    const unknown = await call(`/sync?site=${strict.siteKey}&p=net&puid=U-6`);
    expect(unknown.headers.get("set-cookie")).toBeNull();
    expect(await linksOf("U-6")).toEqual([]);
  });

  it("answers 404 in the error shape for an unknown site or partner, 400 without puid", async () => {
    const { siteKey } = await siteWithPartner(null);
    const noSite = await call("/sync?site=nope-nope&p=net&puid=U");
    expect(noSite.status).toBe(404);
    expect((await errorOf(noSite)).code).toBe("unknown_site");
    const noPartner = await call(`/sync?site=${siteKey}&p=other&puid=U`);
    expect((await errorOf(noPartner)).code).toBe("unknown_partner");
    expect((await call(`/sync?site=${siteKey}&p=net`)).status).toBe(400);
  });
});
