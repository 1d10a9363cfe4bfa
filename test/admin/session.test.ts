import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { attemptKey, FREE_ATTEMPTS } from "../../worker/auth/login-attempts";
import { login, SESSION_TTL_SECONDS } from "../../worker/auth/session";
import { createDb } from "../../worker/db/client";
import { adminUsers, loginAttempts } from "../../worker/db/schema";
import { createAdminUser, PASSWORD, postLogin, sessionCookie } from "../fixtures/admin";
import { call, createTestSite, errorOf } from "../fixtures/api";

describe("admin login and session", () => {
  it("sends a logged-out visitor of /admin and its pages to the login form", async () => {
    for (const path of ["/admin", "/admin/segments", "/admin/reports/rules/1"]) {
      const res = await call(path, { redirect: "manual" });
      expect(res.status, path).toBe(302);
      expect(res.headers.get("Location")).toBe("/admin/login");
    }
    const login = await call("/admin/login");
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('name="password"');
  });

  it("logs in with e-mail and password into an HttpOnly, Secure, SameSite=Strict session cookie that expires", async () => {
    const { siteKey } = await createTestSite({ name: "Session shop" });
    const user = await createAdminUser(siteKey, "marketer");
    const res = await postLogin(user.email.toUpperCase(), PASSWORD);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/admin");
    const cookie = res.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^__Host-tw_admin=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).toContain(`Max-Age=${SESSION_TTL_SECONDS}`);
    const page = await call("/admin", { headers: { Cookie: cookie.split(";")[0] } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Session shop");
    expect(html).toContain(user.email);
  });

  it("the session authenticates the management API as the user's site and role", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "viewer");
    const cookie = await sessionCookie(user.email);
    const res = await call("/api/v1/site", { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { key: string }).key).toBe(siteKey);
  });

  it("refuses a wrong password with 401 and sets no cookie", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "admin");
    const res = await postLogin(user.email, "wrong-password");
    expect(res.status).toBe(401);
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await res.text()).toContain("Wrong e-mail or password");
    expect((await postLogin("nobody@example.test", PASSWORD)).status).toBe(401);
  });

  it("a tampered or foreign session token is no session", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "admin");
    const cookie = await sessionCookie(user.email);
    const tampered = `${cookie.slice(0, -3)}${cookie.endsWith("A") ? "B" : "A"}AA`;
    const page = await call("/admin", { headers: { Cookie: tampered }, redirect: "manual" });
    expect(page.status).toBe(302);
    const api = await call("/api/v1/site", { headers: { Cookie: tampered } });
    expect(api.status).toBe(401);
  });

  it("a deleted user's session stops working at once", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "marketer");
    const cookie = await sessionCookie(user.email);
    await createDb(env.DB).delete(adminUsers).where(eq(adminUsers.id, user.id));
    expect((await call("/api/v1/site", { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it("logout clears the cookie", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "viewer");
    const cookie = await sessionCookie(user.email);
    const res = await call("/admin/logout", {
      method: "POST",
      headers: { Cookie: cookie, Origin: "https://tagwerk.test", "Content-Type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/admin/login");
    expect(res.headers.get("Set-Cookie")).toMatch(/__Host-tw_admin=;.*Max-Age=0/);
  });

  it("admin pages carry a CSP without inline scripts and may not be framed", async () => {
    const { siteKey } = await createTestSite();
    const cookie = await sessionCookie((await createAdminUser(siteKey, "admin")).email);
    for (const path of [
      "/admin",
      "/admin/segments",
      "/admin/creatives",
      "/admin/rules",
      "/admin/settings",
      "/admin/login",
    ]) {
      // The login page is shown to someone without a session (with one it redirects to /admin).
      const res = await call(path, { headers: path === "/admin/login" ? {} : { Cookie: cookie } });
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      const html = await res.text();
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g), path).toBeNull();
      expect(html).not.toMatch(/\sstyle="/);
    }
  });
});

describe("login slow-down", () => {
  it(`locks the (e-mail, IP) pair after ${FREE_ATTEMPTS} failures, refuses even the right password while locked, and doubles the lock`, async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "admin");
    for (let i = 1; i < FREE_ATTEMPTS; i++) expect((await postLogin(user.email, `wrong-${i}`)).status).toBe(401);
    const locked = await postLogin(user.email, "wrong-last");
    expect(locked.status).toBe(429);
    expect(locked.headers.get("Retry-After")).toBe("30");
    const right = await postLogin(user.email, PASSWORD);
    expect(right.status).toBe(429);
    expect(right.headers.get("Set-Cookie")).toBeNull();

    const db = createDb(env.DB);
    const ip = "unknown"; // postLogin sends no CF-Connecting-IP
    const key = await attemptKey(env.SESSION_SECRET, user.email, ip);
    const [row] = await db.select().from(loginAttempts).where(eq(loginAttempts.key, key));
    const after = row.lockedUntil + 1;
    // A further failure after the lock ran out locks for twice as long.
    expect(await login(db, env, user.email, "wrong-again", ip, after)).toEqual({
      status: "locked",
      retryAfterMs: 60_000,
    });
    // Once that lock has passed, the right password works and resets the counter.
    const result = await login(db, env, user.email, PASSWORD, ip, after + 60_001);
    expect(result.status).toBe("ok");
    expect(await db.select().from(loginAttempts).where(eq(loginAttempts.key, key))).toEqual([]);
  });

  it("an API error for a missing session names the problem", async () => {
    const res = await call("/api/v1/site", { headers: { Cookie: "__Host-tw_admin=not-a-token" } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toContain("log in");
  });
});
