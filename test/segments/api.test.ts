import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf, importCsv } from "../fixtures/api";
import { rulesVersion } from "../fixtures/rows";

type Segment = { id: number; name: string; expression: string; created_at: number; updated_at: number };

describe("segments API", () => {
  it("creates, lists, reads, updates and deletes segments, bumping the rules version on every change", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const v0 = await rulesVersion(siteKey);
    const created = await call("/api/v1/segments", {
      method: "POST",
      key: apiKey,
      json: { name: "Dormant women", expression: 'gender = "f" and days_since_last_order >= 180' },
    });
    expect(created.status).toBe(201);
    const segment = (await created.json()) as Segment;
    expect(segment).toMatchObject({
      name: "Dormant women",
      expression: 'gender = "f" and days_since_last_order >= 180',
    });
    expect(await rulesVersion(siteKey)).toBe(v0 + 1);

    const list = (await (await call("/api/v1/segments", { key: apiKey })).json()) as { segments: Segment[] };
    expect(list.segments.map((s) => s.id)).toEqual([segment.id]);
    const one = await call(`/api/v1/segments/${segment.id}`, { key: apiKey });
    expect(((await one.json()) as Segment).name).toBe("Dormant women");

    const patched = await call(`/api/v1/segments/${segment.id}`, {
      method: "PATCH",
      key: apiKey,
      json: { expression: "orders = 0" },
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as Segment).expression).toBe("orders = 0");
    expect(await rulesVersion(siteKey)).toBe(v0 + 2);

    const deleted = await call(`/api/v1/segments/${segment.id}`, { method: "DELETE", key: apiKey });
    expect(deleted.status).toBe(204);
    expect((await call(`/api/v1/segments/${segment.id}`, { key: apiKey })).status).toBe(404);
    expect(await rulesVersion(siteKey)).toBe(v0 + 3);
  });

  it("refuses an invalid expression at save time with the parser's message", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/segments", {
      method: "POST",
      key: apiKey,
      json: { name: "x", expression: "orders > )" },
    });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_expression",
      message: 'at 10: expected a value (number, string, list, true, false) but found ")"',
    });
    const { segments } = (await (await call("/api/v1/segments", { key: apiKey })).json()) as { segments: Segment[] };
    expect(segments).toEqual([]);
  });

  it("answers 404 for another site's segment", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const res = await call("/api/v1/segments", {
      method: "POST",
      key: a.apiKey,
      json: { name: "a", expression: "customer" },
    });
    const { id } = (await res.json()) as Segment;
    expect((await call(`/api/v1/segments/${id}`, { key: b.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/segments/${id}`, { method: "DELETE", key: b.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/segments/${id}`, { method: "PATCH", key: b.apiKey, json: { name: "b" } })).status).toBe(
      404,
    );
  });

  it("refuses with 409 to delete a segment a rule, audience or webhook uses", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const res = await call("/api/v1/segments", {
      method: "POST",
      key: apiKey,
      json: { name: "s", expression: "customer" },
    });
    const { id } = (await res.json()) as Segment;
    const site = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
    await env.DB.prepare("insert into audiences (site_id, name, kind, segment_id) values (?, 'a', 'segment', ?)")
      .bind(site!.id, id)
      .run();
    const refused = await call(`/api/v1/segments/${id}`, { method: "DELETE", key: apiKey });
    expect(refused.status).toBe(409);
    expect(await errorOf(refused)).toEqual({ code: "segment_in_use", message: `Segment ${id} is used by 1 audience` });
    expect((await call(`/api/v1/segments/${id}`, { key: apiKey })).status).toBe(200);
  });

  it("previews counts and a sample without personal data, and refuses request-context fields", async () => {
    const { apiKey } = await createTestSite();
    await importCsv(
      apiKey,
      "customer_id,email,orders,clusters\nP-1,p1@example.com,2,rings\nP-2,p2@example.com,0,\nP-3,p3@example.com,5,rings;gifts\n",
    );
    await call("/api/v1/import/links", {
      method: "POST",
      key: apiKey,
      headers: { "Content-Type": "text/csv" },
      body: `cookie_id,customer_id\n${"1".repeat(32)},P-1\n${"2".repeat(32)},P-1\n`,
    });
    const res = await call("/api/v1/segments/preview", {
      method: "POST",
      key: apiKey,
      json: { expression: 'cluster = "rings"' },
    });
    expect(res.status).toBe(200);
    const preview = (await res.json()) as { visitors: number; customers: number; sample: Record<string, unknown>[] };
    expect(preview.visitors).toBe(2);
    expect(preview.customers).toBe(2);
    expect(preview.sample).toHaveLength(3);
    expect(preview.sample.map((s) => s.customer_id).sort()).toEqual(["P-1", "P-1", "P-3"]);
    expect(preview.sample.find((s) => s.customer_id === "P-3")).toEqual({
      cookie_id: null,
      customer_id: "P-3",
      visits: null,
      pageviews: null,
      cart_items: null,
      orders: 5,
      clusters: ["rings", "gifts"],
    });
    expect(JSON.stringify(preview)).not.toMatch(/email|[0-9a-f]{64}/);

    const edge = await call("/api/v1/segments/preview", {
      method: "POST",
      key: apiKey,
      json: { expression: 'device = "mobile"' },
    });
    expect(edge.status).toBe(400);
    expect((await errorOf(edge)).message).toContain("device is request context");
  });
});

describe("API reference", () => {
  it("documents the segment and import routes with their CSV and NDJSON bodies", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/segments",
        "/api/v1/segments/{id}",
        "/api/v1/segments/preview",
        "/api/v1/import/links",
      ]),
    );
    expect(Object.keys(doc.paths["/api/v1/import/customers"].post.requestBody!.content)).toEqual([
      "text/csv",
      "application/x-ndjson",
    ]);
  });
});
