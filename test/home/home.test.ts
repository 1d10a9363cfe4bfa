import { describe, expect, it } from "vitest";
import { call } from "../fixtures/api";

describe("the Worker's front door", () => {
  it("/ says what tagwerk is and links the admin, the docs and the health check", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("<h1>tagwerk</h1>");
    for (const href of ["/admin", "/docs", "/healthz", "/api/v1/openapi.json"])
      expect(html).toContain(`href="${href}"`);
    const json = await call("/", { headers: { Accept: "application/json" } });
    expect(await json.json()).toMatchObject({ name: "tagwerk", links: { Admin: "/admin" } });
  });

  it("/admin/ leads to the admin like /admin does", async () => {
    const res = await call("/admin/", { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("Location")).toBe("/admin");
  });
});
