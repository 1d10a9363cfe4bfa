/**
 * Profiles a CRM engineer can read (README.md, "Profiles"): `GET /api/v1/customers/:id` and
 * `GET /api/v1/visitors/:cid` — fields, linked cookies or customer, segments and audiences now,
 * codes with their states, consent, acquisition, look-alike score; hashes only; tenant-scoped;
 * in the OpenAPI document; 404 in the error shape, also after erasure.
 */
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/auth/crypto";
import { call, createTestSite, errorOf, importCsv } from "../fixtures/api";
import { bannerJson, bannerSite, insertVisitor, randomCookie } from "../fixtures/banner";

async function person() {
  const s = await bannerSite();
  const imported = await importCsv(
    s.apiKey,
    "customer_id,email,clusters,orders,ads_consent\nC-1,Anna@Example.com,rings,2,true\nC-2,bert@example.com,watches,1,\n",
  );
  expect(imported.status).toBe(200);
  const [a, b] = [randomCookie(), randomCookie()];
  await insertVisitor(s.siteId, a, { customerId: "C-1", cart: [{ sku: "R-1", qty: 1 }] });
  await insertVisitor(s.siteId, b, { customerId: "C-1" });
  const rings = await s.segment('cluster = "rings"');
  const carts = await s.segment("cart_items > 0");
  await s.segment('cluster = "watches"');
  const pool = await s.pool();
  await s.codes(pool, ["CODE-1", "CODE-2"]);
  await s.rule({ creative_id: await s.creative("json", { headline: "{{coupon}}" }), pool_id: pool });
  const shown = await bannerJson(s.siteKey, "slot", a);
  expect(shown.coupon?.code).toBeDefined();
  const audience = (await (
    await call("/api/v1/audiences", {
      method: "POST",
      key: s.apiKey,
      json: { name: "Ring lovers", kind: "cluster", params: { cluster: "rings" } },
    })
  ).json()) as { id: number };
  expect((await call(`/api/v1/audiences/${audience.id}/refresh`, { method: "POST", key: s.apiKey })).status).toBe(200);
  return { ...s, a, b, rings, carts, audience: audience.id, code: shown.coupon?.code as string };
}

describe("profiles", () => {
  it("shows a customer with its cookies, segments, audiences, codes, consent, and the e-mail only as hashes", async () => {
    const p = await person();
    const res = await call("/api/v1/customers/C-1", { key: p.apiKey });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/@|anna/i);
    const body = JSON.parse(text);
    expect(body.customer).toMatchObject({
      customer_id: "C-1",
      email_sha256: await sha256Hex("anna@example.com"),
      clusters: ["rings"],
      orders: 2,
      ads_consent: true,
    });
    expect(body.cookies.map((c: { cookie_id: string }) => c.cookie_id).sort()).toEqual([p.a, p.b].sort());
    // One device's cart puts the person into the cart segment; the watches segment is not theirs.
    expect(body.segments.map((s: { id: number }) => s.id).sort()).toEqual([p.rings, p.carts].sort());
    expect(body.audiences).toEqual([{ id: p.audience, name: "Ring lovers", kind: "cluster" }]);
    expect(body.codes).toEqual([expect.objectContaining({ code: p.code, state: "assigned", redeemed_at: null })]);
    expect(body.consent).toMatchObject({ ads_consent: true, email_export_allowed: true });
    expect(body).toHaveProperty("acquisition");
    expect(body).toHaveProperty("lookalike_score");
  });

  it("shows a CRM customer who never had a cookie, its consent unsaid and so not exported by default", async () => {
    const p = await person();
    const body = (await (await call("/api/v1/customers/C-2", { key: p.apiKey })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      cookies: [],
      codes: [],
      consent: { ads_consent: null, email_export_allowed: false, cookies: [] },
    });
    expect((body.segments as { name: string }[]).map((s) => s.name)).toEqual(['cluster = "watches"']);
  });

  it("shows a visitor with its linked customer and the same person's codes", async () => {
    const p = await person();
    const res = await call(`/api/v1/visitors/${p.b}`, { key: p.apiKey });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.visitor).toMatchObject({ cookie_id: p.b, customer_id: "C-1", cart: { items: 0 } });
    expect(body.customer).toMatchObject({ customer_id: "C-1" });
    // The code was claimed on device a for the customer: the person holds it on b too.
    expect(body.codes).toEqual([expect.objectContaining({ code: p.code, state: "assigned" })]);
    expect((body.segments as { id: number }[]).map((s) => s.id)).toEqual([p.rings]);
    expect(body.audiences).toEqual([{ id: p.audience, name: "Ring lovers", kind: "cluster" }]);
  });

  it("answers 404 in the error shape for unknown people, another tenant's people and erased ones; 400 for a bad cookie ID", async () => {
    const p = await person();
    const other = await createTestSite();
    for (const path of ["/api/v1/customers/C-1", `/api/v1/visitors/${p.a}`]) {
      const res = await call(path, { key: other.apiKey });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
    }
    expect((await call("/api/v1/customers/C-404", { key: p.apiKey })).status).toBe(404);
    expect((await call("/api/v1/visitors/not-a-cookie", { key: p.apiKey })).status).toBe(400);
    expect((await call("/api/v1/customers/C-1", {})).status).toBe(401);

    expect((await call(`/api/v1/visitors/${p.b}`, { method: "DELETE", key: p.apiKey })).status).toBe(204);
    expect((await call(`/api/v1/visitors/${p.b}`, { key: p.apiKey })).status).toBe(404);
    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: p.apiKey })).status).toBe(204);
    for (const path of ["/api/v1/customers/C-1", `/api/v1/visitors/${p.a}`]) {
      const res = await call(path, { key: p.apiKey });
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: "not_found" });
    }
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(doc.paths["/api/v1/customers/{id}"].get.operationId).toBe("getCustomerProfile");
    expect(doc.paths["/api/v1/visitors/{cid}"].get.operationId).toBe("getVisitorProfile");
  });
});
