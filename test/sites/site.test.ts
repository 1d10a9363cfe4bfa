import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf, OPERATOR_TOKEN } from "../fixtures/api";

describe("site creation by the operator", () => {
  it("creates a site with the operator token and returns its first API key, stored only hashed", async () => {
    const res = await call("/api/v1/sites", {
      method: "POST",
      key: OPERATOR_TOKEN,
      json: { key: "bijou", name: "Bijou", allowed_origins: ["https://bijou.example"], consent_mode: "required" },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      key: "bijou",
      name: "Bijou",
      allowed_origins: ["https://bijou.example"],
      consent_mode: "required",
      cookie_domain: null,
      coupon_param: "coupon",
    });
    expect(body.api_key).toMatch(/^tw_[A-Za-z0-9_-]{40,}$/);
    const stored = await env.DB.prepare("select hash, prefix from api_keys").all<{ hash: string; prefix: string }>();
    const keys = stored.results.map((r) => r.hash);
    expect(keys).not.toContain(body.api_key);
    expect(JSON.stringify(stored.results)).not.toContain(body.api_key as string);
  });

  it("refuses site creation without the operator token, and with a site's API key", async () => {
    const noToken = await call("/api/v1/sites", { method: "POST", json: { key: "nope", name: "Nope" } });
    expect(noToken.status).toBe(401);
    expect((await errorOf(noToken)).code).toBe("unauthorized");
    const { apiKey } = await createTestSite();
    const withSiteKey = await call("/api/v1/sites", { method: "POST", key: apiKey, json: { key: "nope", name: "N" } });
    expect(withSiteKey.status).toBe(401);
  });

  it("answers 409 when the site key is taken", async () => {
    const { siteKey } = await createTestSite();
    const res = await call("/api/v1/sites", { method: "POST", key: OPERATOR_TOKEN, json: { key: siteKey, name: "x" } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("site_exists");
  });

  it("answers 400 naming the field when the input is invalid", async () => {
    const res = await call("/api/v1/sites", {
      method: "POST",
      key: OPERATOR_TOKEN,
      json: { key: "Bad Key!", name: "x" },
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("key");
  });
});

describe("the calling key's own site", () => {
  it("answers 401 with the error shape when the key is missing or wrong", async () => {
    const missing = await call("/api/v1/site");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("WWW-Authenticate")).toContain("Bearer");
    expect(await errorOf(missing)).toEqual({ code: "unauthorized", message: expect.stringContaining("API key") });
    const wrong = await call("/api/v1/site", { key: "tw_not-a-real-key" });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("unauthorized");
  });

  it("a site's key reads only its own site", async () => {
    const a = await createTestSite({ name: "Shop A" });
    const b = await createTestSite({ name: "Shop B" });
    const readA = (await (await call("/api/v1/site", { key: a.apiKey })).json()) as { key: string; name: string };
    const readB = (await (await call("/api/v1/site", { key: b.apiKey })).json()) as { key: string; name: string };
    expect(readA).toMatchObject({ key: a.siteKey, name: "Shop A" });
    expect(readB).toMatchObject({ key: b.siteKey, name: "Shop B" });
  });

  it("PATCH changes only the calling site and validates every field", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const res = await call("/api/v1/site", {
      method: "PATCH",
      key: a.apiKey,
      json: { holdout: 0.2, cookie_domain: "shop.example", retention_days: 30 },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ holdout: 0.2, cookie_domain: "shop.example", retention_days: 30 });
    const other = (await (await call("/api/v1/site", { key: b.apiKey })).json()) as { holdout: number };
    expect(other.holdout).toBe(0.05);

    const bad = await call("/api/v1/site", { method: "PATCH", key: a.apiKey, json: { holdout: 2 } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^holdout: /);
    const badOrigin = await call("/api/v1/site", {
      method: "PATCH",
      key: a.apiKey,
      json: { allowed_origins: ["https://shop.example/path"] },
    });
    expect(badOrigin.status).toBe(400);
    expect((await errorOf(badOrigin)).message).toContain("allowed_origins.0");
    const unknownField = await call("/api/v1/site", { method: "PATCH", key: a.apiKey, json: { key: "steal" } });
    expect(unknownField.status).toBe(400);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/site", {
      method: "PATCH",
      key: apiKey,
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("bad_request");
  });
});

describe("API key rotation", () => {
  it("issues a new key without revoking the old one unless asked", async () => {
    const { apiKey } = await createTestSite();
    const kept = await call("/api/v1/site/keys", { method: "POST", key: apiKey, json: {} });
    expect(((await kept.json()) as { revoked: number }).revoked).toBe(0);
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(200);
  });

  it("issues a new key and revokes the others when asked", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/site/keys", { method: "POST", key: apiKey, json: { revoke_others: true } });
    expect(res.status).toBe(201);
    const rotated = (await res.json()) as { api_key: string; revoked: number };
    expect(rotated.revoked).toBe(1);
    expect(rotated.api_key).not.toBe(apiKey);
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(401);
    expect((await call("/api/v1/site", { key: rotated.api_key })).status).toBe(200);
    const list = (await (await call("/api/v1/site/keys", { key: rotated.api_key })).json()) as {
      keys: { revoked_at: number | null }[];
    };
    expect(list.keys).toHaveLength(2);
    expect(list.keys.filter((k) => k.revoked_at === null)).toHaveLength(1);
  });

  it("keeps the old key by default (a bare POST revokes nothing), and refuses to revoke the last active key", async () => {
    const { apiKey } = await createTestSite();
    const res = await call("/api/v1/site/keys", { method: "POST", key: apiKey });
    expect(((await res.clone().json()) as { revoked: number }).revoked).toBe(0);
    const second = (await res.json()) as { api_key: string };
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(200);
    const list = (await (await call("/api/v1/site/keys", { key: apiKey })).json()) as { keys: { id: number }[] };
    const [first, newer] = list.keys;
    expect((await call(`/api/v1/site/keys/${first.id}`, { method: "DELETE", key: second.api_key })).status).toBe(204);
    const last = await call(`/api/v1/site/keys/${newer.id}`, { method: "DELETE", key: second.api_key });
    expect(last.status).toBe(409);
  });
});
