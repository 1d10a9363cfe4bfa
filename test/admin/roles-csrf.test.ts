import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { segments } from "../../worker/db/schema";
import { postForm, siteWithSessions } from "../fixtures/admin";
import { call } from "../fixtures/api";

const SEGMENT = { name: "Dormant women", expression: 'gender = "f" and days_since_last_order >= 180' };
const segmentsOf = (siteId: number) => createDb(env.DB).select().from(segments).where(eq(segments.siteId, siteId));
const json = (cookie: string, method: string, body: unknown, origin = "https://tagwerk.test") => ({
  method,
  headers: { Cookie: cookie, Origin: origin },
  json: body,
});

describe("roles on the management API with an admin session", () => {
  it("a viewer reads but every write answers 403", async () => {
    const s = await siteWithSessions();
    const viewer = s.cookies.viewer;
    expect((await call("/api/v1/rules", { headers: { Cookie: viewer } })).status).toBe(200);
    expect((await call("/api/v1/segments", json(viewer, "POST", SEGMENT))).status).toBe(403);
    expect((await call("/api/v1/pools", json(viewer, "POST", { name: "P", kind: "generated" }))).status).toBe(403);
    expect((await call("/api/v1/site", json(viewer, "PATCH", { name: "Mine now" }))).status).toBe(403);
    expect((await call("/api/v1/users", { headers: { Cookie: viewer } })).status).toBe(403);
    expect((await call("/api/v1/visitor-tokens", json(viewer, "POST", { cookie_id: "a".repeat(32) }))).status).toBe(
      403,
    );
    expect(await segmentsOf(s.users.viewer.siteId)).toHaveLength(0);
  });

  it("a marketer manages campaigns but not users, keys or site settings", async () => {
    const s = await siteWithSessions();
    const marketer = s.cookies.marketer;
    expect((await call("/api/v1/segments", json(marketer, "POST", SEGMENT))).status).toBe(201);
    expect((await call("/api/v1/site/keys", json(marketer, "POST", {}))).status).toBe(403);
    expect((await call("/api/v1/site", json(marketer, "PATCH", { name: "x" }))).status).toBe(403);
    const user = { email: "new@example.test", password: "long-enough-pw", role: "viewer" };
    expect((await call("/api/v1/users", json(marketer, "POST", user))).status).toBe(403);
  });

  it("an admin lists, creates, re-roles and deletes users, but not their own account", async () => {
    const s = await siteWithSessions();
    const email = `added-${crypto.randomUUID().slice(0, 6)}@example.test`;
    const created = await call(
      "/api/v1/users",
      json(s.cookies.admin, "POST", { email, password: "long-enough-pw", role: "viewer" }),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const list = (await (await call("/api/v1/users", { headers: { Cookie: s.cookies.admin } })).json()) as {
      users: { email: string; role: string }[];
    };
    expect(list.users.find((u) => u.email === email)?.role).toBe("viewer");
    expect((await call(`/api/v1/users/${id}`, json(s.cookies.admin, "PATCH", { role: "marketer" }))).status).toBe(200);
    // Changing one's own role or deleting oneself is refused (the last admin could lock everyone out).
    expect(
      (await call(`/api/v1/users/${s.users.admin.id}`, json(s.cookies.admin, "PATCH", { role: "viewer" }))).status,
    ).toBe(409);
    expect((await call(`/api/v1/users/${s.users.admin.id}`, json(s.cookies.admin, "DELETE", undefined))).status).toBe(
      409,
    );
    expect((await call(`/api/v1/users/${id}`, json(s.cookies.admin, "DELETE", undefined))).status).toBe(204);
  });

  it("users of another site are not found", async () => {
    const a = await siteWithSessions();
    const b = await siteWithSessions();
    const res = await call(`/api/v1/users/${b.users.viewer.id}`, json(a.cookies.admin, "PATCH", { role: "admin" }));
    expect(res.status).toBe(404);
  });

  it("a viewer's admin pages offer no changes, and a viewer's form post changes nothing", async () => {
    const s = await siteWithSessions();
    const page = await (await call("/admin/segments", { headers: { Cookie: s.cookies.viewer } })).text();
    expect(page).not.toContain("Create segment");
    expect(page).toContain("you can look, but changes need the marketer role");
    expect(await (await call("/admin/rules", { headers: { Cookie: s.cookies.viewer } })).text()).not.toContain(
      "Create rule",
    );
    const res = await postForm("/admin/segments", s.cookies.viewer, SEGMENT);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("needs the marketer role");
    expect(await segmentsOf(s.users.viewer.siteId)).toHaveLength(0);
    // Admin-only pages are not in a viewer's navigation, and refuse when opened directly.
    expect(page).not.toContain('href="/admin/users"');
    expect((await call("/admin/users", { headers: { Cookie: s.cookies.viewer } })).status).toBe(403);
  });

  it("a marketer's form post creates the segment through the API", async () => {
    const s = await siteWithSessions();
    const res = await postForm("/admin/segments", s.cookies.marketer, SEGMENT);
    expect(res.status).toBe(303);
    expect(await segmentsOf(s.users.marketer.siteId)).toMatchObject([{ name: SEGMENT.name }]);
  });
});

describe("CSRF", () => {
  it("refuses a forged cross-site form post to the admin UI with 403", async () => {
    const s = await siteWithSessions();
    const res = await postForm("/admin/segments", s.cookies.admin, SEGMENT, "https://evil.example");
    expect(res.status).toBe(403);
    expect(await segmentsOf(s.users.admin.siteId)).toHaveLength(0);
    // No Origin and a cross-site fetch marker: refused as well.
    const noOrigin = await call("/admin/segments", {
      method: "POST",
      headers: {
        Cookie: s.cookies.admin,
        "Sec-Fetch-Site": "cross-site",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(SEGMENT).toString(),
    });
    expect(noOrigin.status).toBe(403);
  });

  it("refuses a cross-origin login post (login CSRF)", async () => {
    const s = await siteWithSessions();
    const res = await postForm(
      "/admin/login",
      "",
      { email: s.users.admin.email, password: "x" },
      "https://evil.example",
    );
    expect(res.status).toBe(403);
  });

  it("refuses cross-origin API writes that ride on the session cookie", async () => {
    const s = await siteWithSessions();
    const res = await call("/api/v1/segments", json(s.cookies.admin, "POST", SEGMENT, "https://evil.example"));
    expect(res.status).toBe(403);
    expect(await segmentsOf(s.users.admin.siteId)).toHaveLength(0);
  });
});
