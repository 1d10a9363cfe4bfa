import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashPassword } from "../../worker/auth/password";
import { signSession } from "../../worker/auth/session";
import { countRows, event, SHOP, signedIdentify } from "../collect/post-events";
import { BASE, call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { fetchWorker, randomCookie } from "../fixtures/banner";
import { csvCell } from "./arbitraries";

const INJECTIONS = [
  "'); DROP TABLE visitors;--",
  '" OR 1=1 --',
  "x' OR '1'='1",
  "1; DELETE FROM customers; --",
  "'; UPDATE sites SET name = 'pwned'; --",
  "\\'; DROP TABLE events; --",
];

async function tableNames(): Promise<string[]> {
  const rows = await env.DB.prepare("select name from sqlite_master where type = 'table' order by name").all<{
    name: string;
  }>();
  return rows.results.map((r) => r.name);
}

describe("SQL injection through every text field", () => {
  it("leaves every table in place, stores each string verbatim and changes only the rows the calls explain", async () => {
    const tablesBefore = await tableNames();
    const bystander = await createTestSite({ name: "Bystander" });
    const bystanderId = await siteIdOf(bystander.siteKey);
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    const post = async (path: string, json: unknown, method = "POST") => {
      const res = await call(path, { method, key: apiKey, json });
      expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
      return (await res.json()) as { id: number };
    };

    for (const [i, evil] of INJECTIONS.entries()) {
      await post("/api/v1/site", { name: evil }, "PATCH");
      const segment = await post("/api/v1/segments", {
        name: evil,
        expression: `cluster = ${JSON.stringify(evil)} or attr.note = ${JSON.stringify(evil)}`,
      });
      const creative = await post("/api/v1/creatives", {
        name: evil,
        format: "html",
        template: `<p>${evil}</p>`,
        width: 300,
        height: 250,
        landing_url: `https://shop.example/?q=${encodeURIComponent(evil)}`,
      });
      const pool = await post("/api/v1/pools", { name: evil, kind: "list", discount: evil });
      await post("/api/v1/rules", {
        name: evil,
        placement: `slot-${i}`,
        segment_id: segment.id,
        creative_id: creative.id,
        pool_id: pool.id,
      });
      await post("/api/v1/partners", { key: `p${i}`, name: evil });
      await post("/api/v1/audiences", { name: evil, kind: "cluster", params: { cluster: evil } });
      const codes = await call(`/api/v1/pools/${pool.id}/codes`, {
        method: "POST",
        key: apiKey,
        headers: { "Content-Type": "text/plain" },
        body: `CODE${i}A\nCODE${i}B`,
      });
      expect(codes.status).toBeLessThan(300);
      const redeem = await call("/api/v1/coupons/redeem", {
        method: "POST",
        key: apiKey,
        headers: { "Idempotency-Key": evil },
        json: { code: evil, order: evil },
      });
      expect(redeem.status).toBe(404);
      const preview = await call("/api/v1/segments/preview", {
        method: "POST",
        key: apiKey,
        json: { expression: `gender = ${JSON.stringify(evil)}` },
      });
      expect(preview.status).toBe(200);
      const imported = await importCsv(
        apiKey,
        `customer_id,gender,clusters,attr.note\n${csvCell(`C${i}${evil}`)},${csvCell(evil)},${csvCell(evil)},${csvCell(evil)}`,
      );
      expect(imported.status).toBe(200);
      expect(((await imported.json()) as { accepted: number }).accepted).toBe(1);
      const cookie = randomCookie();
      const collected = await fetchWorker("/e", {
        method: "POST",
        headers: { "Content-Type": "text/plain", Origin: SHOP, Cookie: `tw_id=${cookie}` },
        body: JSON.stringify({
          site: siteKey,
          events: [
            event("view", { sku: evil, category: evil, price: 1 }),
            await signedIdentify(apiKey, `C${i}${evil}`),
            event("event", { note: evil }, { name: evil.slice(0, 60) }),
          ],
        }),
      });
      expect(collected.status).toBe(204);
      const query = new URLSearchParams({ site: siteKey, p: `p${i}`, puid: evil });
      expect((await fetchWorker(`/sync?${query}`)).status).toBe(200);
      const banner = await fetchWorker(
        `/b/${encodeURIComponent(evil)}?site=${siteKey}&p=p${i}&puid=${encodeURIComponent(evil)}`,
      );
      expect(banner.status).toBeLessThan(500);
    }

    expect(await tableNames()).toEqual(tablesBefore);
    const n = INJECTIONS.length;
    expect(await countRows("segments", "site_id = ?", siteId)).toBe(n);
    expect(await countRows("creatives", "site_id = ?", siteId)).toBe(n);
    expect(await countRows("rules", "site_id = ?", siteId)).toBe(n);
    expect(await countRows("coupons", "site_id = ?", siteId)).toBe(2 * n);
    expect(await countRows("partners", "site_id = ?", siteId)).toBe(n);
    expect(await countRows("customers", "site_id = ?", siteId)).toBe(n);
    expect(await countRows("visitors", "site_id = ? and customer_id is not null", siteId)).toBe(n);
    expect(await countArchived(siteId)).toBe(3 * n);
    expect(await countRows("id_links", "site_id = ?", siteId)).toBe(n);
    // Stored verbatim: each string is found exactly as sent.
    for (const [i, evil] of INJECTIONS.entries()) {
      expect(await countRows("segments", "site_id = ? and name = ?", siteId, evil)).toBe(1);
      expect(
        await countRows("customers", "site_id = ? and customer_id = ? and gender = ?", siteId, `C${i}${evil}`, evil),
      ).toBe(1);
      expect(await countRows("id_links", "site_id = ? and partner_user_id = ?", siteId, evil)).toBe(1);
    }
    const site = await env.DB.prepare("select name from sites where id = ?").bind(siteId).first<{ name: string }>();
    expect(site?.name).toBe(INJECTIONS[n - 1]);
    // Nothing outside the calling site changed.
    const other = await env.DB.prepare("select name from sites where id = ?")
      .bind(bystanderId)
      .first<{ name: string }>();
    expect(other?.name).toBe("Bystander");
    expect(await countRows("sites", "name = 'pwned'")).toBe(0);
  });
});

describe("markup in stored values", () => {
  it("renders a segment named like an XSS payload as text in the admin UI", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const payload = "<img src=x onerror=alert(1)>";
    const res = await call("/api/v1/segments", {
      method: "POST",
      key: apiKey,
      json: { name: payload, expression: "visits > 0" },
    });
    expect(res.status).toBe(201);
    const html = await adminPage(siteId, siteKey, "/admin/segments");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain(payload);
  });

  it("renders markup in every named resource and the site name as text on each admin page", async () => {
    const payload = '<script>alert("tw")</script>';
    const { siteKey, apiKey } = await createTestSite({ name: payload });
    const siteId = await siteIdOf(siteKey);
    // Each resource must exist for its page to show whether its name is escaped.
    const post = async (path: string, json: unknown) => {
      const res = await call(path, { method: "POST", key: apiKey, json });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
      return res;
    };
    const segment = (await (await post("/api/v1/segments", { name: payload, expression: "visits > 0" })).json()) as {
      id: number;
    };
    const creative = (await (
      await post("/api/v1/creatives", {
        name: payload,
        format: "html",
        template: "x",
        width: 1,
        height: 1,
        landing_url: "https://shop.example/",
      })
    ).json()) as { id: number };
    await post("/api/v1/pools", { name: payload, kind: "list", discount: payload });
    await post("/api/v1/rules", { name: payload, placement: "slot", segment_id: segment.id, creative_id: creative.id });
    await post("/api/v1/partners", { key: "net", name: payload });
    await post("/api/v1/audiences", { name: payload, kind: "segment", segment_id: segment.id });
    for (const page of [
      "/admin/segments",
      "/admin/creatives",
      "/admin/pools",
      "/admin/rules",
      "/admin/partners",
      "/admin/audiences",
      "/admin/settings",
    ]) {
      const html = await adminPage(siteId, siteKey, page);
      expect(html, page).toContain("&lt;script&gt;alert(");
      expect(html, page).not.toContain(payload);
    }
  });
});

async function adminPage(siteId: number, siteKey: string, path: string): Promise<string> {
  const user = await env.DB.prepare(
    "insert into admin_users (site_id, email, password_hash, role) values (?, ?, 'x', 'admin') returning id",
  )
    .bind(siteId, `xss-${crypto.randomUUID()}-${siteKey}@example.com`)
    .first<{ id: number }>();
  const session = await signSession(env, { userId: user!.id, siteId, role: "admin" });
  const page = await call(path, { headers: { Cookie: `__Host-tw_admin=${session}` } });
  expect(page.status, path).toBe(200);
  return page.text();
}

describe("open redirects", () => {
  it("admin login ignores any next/redirect parameter and only ever lands on /admin", async () => {
    const res = await call("/admin/login?next=https://evil.example/&redirect=//evil.example", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: BASE },
      body: "email=nobody%40example.com&password=wrong-password&next=https%3A%2F%2Fevil.example",
    });
    expect([401, 403, 429]).toContain(res.status);
    expect(res.headers.get("Location")).toBeNull();

    const { siteKey } = await createTestSite();
    const email = `login-${siteKey}@example.com`;
    await env.DB.prepare("insert into admin_users (site_id, email, password_hash, role) values (?, ?, ?, 'viewer')")
      .bind(await siteIdOf(siteKey), email, await hashPassword("correct-horse-battery"))
      .run();
    const ok = await call("/admin/login?next=https://evil.example/", {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: BASE },
      body: `email=${encodeURIComponent(email)}&password=correct-horse-battery&next=https%3A%2F%2Fevil.example`,
    });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("Location")).toBe("/admin");
  });

  it("refuses a creative whose landing URL is not http(s)", async () => {
    const { apiKey } = await createTestSite();
    for (const landing of ["javascript:alert(1)", "data:text/html,x", "//evil.example", "vbscript:x"]) {
      const res = await call("/api/v1/creatives", {
        method: "POST",
        key: apiKey,
        json: { name: "x", format: "html", template: "x", width: 1, height: 1, landing_url: landing },
      });
      expect(res.status, landing).toBe(400);
    }
  });
});
