import { describe, expect, it } from "vitest";
import { call } from "../fixtures/api";

describe("health, request IDs, headers, errors", () => {
  it("/healthz reports the database reachable", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, db: "ok" });
  });

  it("every response carries a request ID, errors included", async () => {
    const ok = await call("/healthz");
    const missing = await call("/no/such/route");
    expect(ok.headers.get("X-Request-Id")).toMatch(/\S{8,}/);
    expect(missing.headers.get("X-Request-Id")).toMatch(/\S{8,}/);
    expect(missing.headers.get("X-Request-Id")).not.toBe(ok.headers.get("X-Request-Id"));
  });

  it("an unknown route answers 404 in the error shape", async () => {
    const res = await call("/no/such/route");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No route for GET /no/such/route" } });
  });

  it("sends secure headers", async () => {
    const res = await call("/healthz");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Strict-Transport-Security")).toContain("max-age=");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
  });
});

describe("the API document", () => {
  it("/api/v1/openapi.json describes the routes and their schemas", async () => {
    const res = await call("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/site", "/api/v1/sites", "/healthz"]));
    expect(Object.keys(doc.paths["/api/v1/site"])).toEqual(expect.arrayContaining(["get", "patch"]));
  });

  it("/docs renders a readable reference of the same routes", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("tagwerk API");
    expect(html).toContain("/api/v1/site/keys");
    expect(html).toContain("Issue an API key (admin or ingest-only)");
  });
});
