import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf } from "../fixtures/api";
import { rulesVersion } from "../fixtures/rows";

const html = {
  name: "Earrings",
  format: "html",
  template: '<a href="{{click_url}}">{{#coupon}}Code {{coupon}}{{/coupon}}</a>',
  width: 300,
  height: 250,
  landing_url: "https://shop.example/earrings",
};

describe("creatives API", () => {
  it("creates, reads, updates, lists and deletes a creative, bumping the rules version each time", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const v0 = await rulesVersion(siteKey);
    const created = await call("/api/v1/creatives", { method: "POST", key: apiKey, json: html });
    expect(created.status).toBe(201);
    const creative = (await created.json()) as { id: number; template: string; landing_url: string };
    expect(creative).toMatchObject({ template: html.template, landing_url: html.landing_url });
    expect(await rulesVersion(siteKey)).toBe(v0 + 1);

    const patched = await call(`/api/v1/creatives/${creative.id}`, {
      method: "PATCH",
      key: apiKey,
      json: { width: 320 },
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { width: number }).width).toBe(320);
    expect(await rulesVersion(siteKey)).toBe(v0 + 2);

    const list = (await (await call("/api/v1/creatives", { key: apiKey })).json()) as { creatives: { id: number }[] };
    expect(list.creatives.map((c) => c.id)).toEqual([creative.id]);

    expect((await call(`/api/v1/creatives/${creative.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    expect((await call(`/api/v1/creatives/${creative.id}`, { key: apiKey })).status).toBe(404);
  });

  it("keeps a json creative's template as an object of fields", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/creatives", {
      method: "POST",
      key: apiKey,
      json: { ...html, format: "json", template: { headline: "{{product_name}}", code: "{{coupon}}", rank: 1 } },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { template: unknown }).template).toEqual({
      headline: "{{product_name}}",
      code: "{{coupon}}",
      rank: 1,
    });
  });

  it("refuses a template with an unknown variable, naming it", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/creatives", {
      method: "POST",
      key: apiKey,
      json: { ...html, template: "<p>Hello {{email}}</p>" },
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_template");
    expect(error.message).toContain("email");
  });

  it("refuses a landing URL that is not http(s)", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/creatives", {
      method: "POST",
      key: apiKey,
      json: { ...html, landing_url: "javascript:alert(1)" },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("landing_url");
  });

  it("answers 404 for another site's creative", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const res = await call("/api/v1/creatives", { method: "POST", key: a.apiKey, json: html });
    const { id } = (await res.json()) as { id: number };
    expect((await call(`/api/v1/creatives/${id}`, { key: b.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/creatives/${id}`, { method: "DELETE", key: b.apiKey })).status).toBe(404);
  });
});
