/**
 * Issue 13 item 7: an admin session ends when it should — logout, a password change, a role
 * change and the user's deletion each revoke every open session of that user at once.
 */
import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie, siteWithSessions } from "../fixtures/admin";
import { BASE, call } from "../fixtures/api";

/** The session as both the API (401) and the admin UI (302 to the login form) see it. */
async function sessionWorks(cookie: string): Promise<boolean> {
  const api = await call("/api/v1/site", { headers: { Cookie: cookie } });
  const page = await call("/admin", { headers: { Cookie: cookie }, redirect: "manual" });
  if (api.status === 200) {
    expect(page.status).toBe(200);
    return true;
  }
  expect(api.status).toBe(401);
  expect(page.status).toBe(302);
  expect(page.headers.get("Location")).toBe("/admin/login");
  return false;
}

function patchUser(adminCookie: string, id: number, json: unknown) {
  return call(`/api/v1/users/${id}`, { method: "PATCH", headers: { Cookie: adminCookie, Origin: BASE }, json });
}

describe("admin session revocation", () => {
  it("logout ends the session: the old cookie answers 401 and the UI sends it to the login form", async () => {
    const s = await siteWithSessions();
    const copied = await sessionCookie(s.users.viewer.email); // the same user on another device
    expect(await sessionWorks(s.cookies.viewer)).toBe(true);
    const res = await postForm("/admin/logout", s.cookies.viewer, {});
    expect(res.status).toBe(302);
    expect(await sessionWorks(s.cookies.viewer)).toBe(false);
    expect(await sessionWorks(copied)).toBe(false);
    // Logging in again gives a working session; the other users' sessions were untouched.
    expect(await sessionWorks(await sessionCookie(s.users.viewer.email))).toBe(true);
    expect(await sessionWorks(s.cookies.marketer)).toBe(true);
  });

  it("a password change ends the user's open sessions; the new password opens a new one", async () => {
    const s = await siteWithSessions();
    const res = await patchUser(s.cookies.admin, s.users.marketer.id, { password: "a-brand-new-password" });
    expect(res.status).toBe(200);
    expect(await sessionWorks(s.cookies.marketer)).toBe(false);
    expect(await sessionWorks(await sessionCookie(s.users.marketer.email, "a-brand-new-password"))).toBe(true);
    expect(await sessionWorks(s.cookies.admin)).toBe(true);
  });

  it("changing one's own password ends one's own sessions too", async () => {
    const s = await siteWithSessions();
    const other = await createAdminUser(s.siteKey, "admin");
    const cookie = await sessionCookie(other.email);
    expect((await patchUser(cookie, other.id, { password: "my-own-new-password" })).status).toBe(200);
    expect(await sessionWorks(cookie)).toBe(false);
  });

  it("a role change ends the user's sessions: no session keeps the old role", async () => {
    const s = await siteWithSessions();
    expect((await patchUser(s.cookies.admin, s.users.marketer.id, { role: "viewer" })).status).toBe(200);
    expect(await sessionWorks(s.cookies.marketer)).toBe(false);
    const fresh = await sessionCookie(s.users.marketer.email);
    const write = await call("/api/v1/segments", {
      method: "POST",
      headers: { Cookie: fresh, Origin: BASE },
      json: { name: "x", expression: "visits > 1" },
    });
    expect(write.status).toBe(403);
  });

  it("deleting a user through the API ends their sessions", async () => {
    const s = await siteWithSessions();
    const res = await call(`/api/v1/users/${s.users.viewer.id}`, {
      method: "DELETE",
      headers: { Cookie: s.cookies.admin, Origin: BASE },
    });
    expect(res.status).toBe(204);
    expect(await sessionWorks(s.cookies.viewer)).toBe(false);
  });

  it("a PATCH that changes nothing revokes nothing", async () => {
    const s = await siteWithSessions();
    expect((await patchUser(s.cookies.admin, s.users.viewer.id, {})).status).toBe(200);
    expect(await sessionWorks(s.cookies.viewer)).toBe(true);
  });
});
