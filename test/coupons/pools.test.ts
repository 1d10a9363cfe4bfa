import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../worker/coupons/claim";
import { call, errorOf } from "../fixtures/api";
import { rulesVersion } from "../fixtures/rows";
import { createSiteWithId } from "./helpers";

type PoolJson = {
  id: number;
  name: string;
  kind: string;
  prefix: string;
  valid_days: number;
  discount: string;
  counts: { total: number; free: number | null; assigned: number; expired: number; redeemed: number };
};

async function createPool(apiKey: string, json: Record<string, unknown>) {
  const res = await call("/api/v1/pools", { method: "POST", key: apiKey, json });
  expect(res.status).toBe(201);
  return (await res.json()) as PoolJson;
}

function upload(apiKey: string, poolId: number, body: string, type = "text/plain") {
  return call(`/api/v1/pools/${poolId}/codes`, {
    method: "POST",
    key: apiKey,
    body,
    headers: { "Content-Type": type },
  });
}

describe("coupon pools", () => {
  it("creates a pool with defaults, answers it in snake_case and bumps the rules version", async () => {
    const { apiKey, siteKey } = await createSiteWithId();
    const before = await rulesVersion(siteKey);
    const pool = await createPool(apiKey, { name: "Spring", kind: "generated", prefix: "SPRING-", discount: "10 %" });
    expect(pool).toMatchObject({
      name: "Spring",
      kind: "generated",
      prefix: "SPRING-",
      valid_days: 30,
      discount: "10 %",
      counts: { total: 0, free: null, assigned: 0, expired: 0, redeemed: 0, archived: 0 },
    });
    expect(await rulesVersion(siteKey)).toBe(before + 1);
  });

  it("refuses invalid pools naming the field", async () => {
    const { apiKey } = await createSiteWithId();
    const badKind = await call("/api/v1/pools", { method: "POST", key: apiKey, json: { name: "x", kind: "magic" } });
    expect(badKind.status).toBe(400);
    expect((await errorOf(badKind)).message).toContain("kind");
    const badPrefix = await call("/api/v1/pools", {
      method: "POST",
      key: apiKey,
      json: { name: "x", kind: "generated", prefix: "spring 1" },
    });
    expect(badPrefix.status).toBe(400);
    expect((await errorOf(badPrefix)).message).toContain("prefix");
  });

  it("lists and gets pools with codes left, assigned and redeemed", async () => {
    const { apiKey, siteId } = await createSiteWithId();
    const pool = await createPool(apiKey, { name: "Cart", kind: "list", valid_days: 7 });
    expect((await upload(apiKey, pool.id, "A1\nA2\nA3\nA4\n")).status).toBe(200);
    const now = Date.now();
    const claimPool = { id: pool.id, kind: "list" as const, prefix: "", validDays: 7 };
    const base = { siteId, pool: claimPool, customerId: null, ruleId: null, now };
    const first = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...base, holder: "v:1", cookieId: "1" });
    await claimCoupon(env.DB, env, { shards: null, visits: 0, ...base, holder: "v:2", cookieId: "2" });
    await call("/api/v1/coupons/redeem", { method: "POST", key: apiKey, json: { code: first!.code, order: "O" } });

    const one = (await (await call(`/api/v1/pools/${pool.id}`, { key: apiKey })).json()) as PoolJson;
    expect(one.counts).toEqual({ total: 4, free: 2, assigned: 1, expired: 0, redeemed: 1, archived: 0 });
    const list = (await (await call("/api/v1/pools", { key: apiKey })).json()) as { pools: PoolJson[] };
    expect(list.pools.map((p) => [p.id, p.counts.free])).toEqual([[pool.id, 2]]);
  });

  it("patches a pool but never its kind", async () => {
    const { apiKey, siteKey } = await createSiteWithId();
    const pool = await createPool(apiKey, { name: "P", kind: "list" });
    const before = await rulesVersion(siteKey);
    const res = await call(`/api/v1/pools/${pool.id}`, {
      method: "PATCH",
      key: apiKey,
      json: { valid_days: 14, discount: "5 EUR" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "P", valid_days: 14, discount: "5 EUR" });
    expect(await rulesVersion(siteKey)).toBe(before + 1);
    const kind = await call(`/api/v1/pools/${pool.id}`, { method: "PATCH", key: apiKey, json: { kind: "generated" } });
    expect(kind.status).toBe(409);
    expect((await errorOf(kind)).code).toBe("kind_immutable");
  });

  it("deletes a pool (204) unless a rule uses it (409); another site's pool is a 404", async () => {
    const { apiKey, siteId } = await createSiteWithId();
    const other = await createSiteWithId();
    const used = await createPool(apiKey, { name: "Used", kind: "generated" });
    const unused = await createPool(apiKey, { name: "Unused", kind: "list" });
    const creative = await env.DB.prepare(
      "insert into creatives (site_id, name, format, template, width, height, landing_url) values (?, 'c', 'html', 'x', 1, 1, 'https://shop.example/') returning id",
    )
      .bind(siteId)
      .first<{ id: number }>();
    await env.DB.prepare(
      "insert into rules (site_id, name, placement, creative_id, pool_id) values (?, 'R', 'top', ?, ?)",
    )
      .bind(siteId, creative!.id, used.id)
      .run();

    const conflict = await call(`/api/v1/pools/${used.id}`, { method: "DELETE", key: apiKey });
    expect(conflict.status).toBe(409);
    expect((await errorOf(conflict)).code).toBe("pool_in_use");
    expect((await call(`/api/v1/pools/${unused.id}`, { method: "DELETE", key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/pools/${unused.id}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/pools/${unused.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    expect((await call(`/api/v1/pools/${unused.id}`, { key: apiKey })).status).toBe(404);
  });

  it("needs an API key", async () => {
    expect((await call("/api/v1/pools")).status).toBe(401);
  });
});

describe("uploading codes", () => {
  it("accepts one code per line and reports invalid codes and duplicates with their line numbers", async () => {
    const { apiKey } = await createSiteWithId();
    const pool = await createPool(apiKey, { name: "L", kind: "list" });
    const other = await createPool(apiKey, { name: "Other", kind: "list" });
    expect((await upload(apiKey, other.id, "TAKEN-1\n")).status).toBe(200);

    const text = ["OK-1", "OK-2", "", "bad code", "OK-1", "x".repeat(65), "TAKEN-1", "OK-3"].join("\r\n");
    const res = await upload(apiKey, pool.id, text);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 3,
      rejected: [
        { line: 4, reason: expect.stringContaining("invalid characters") },
        { line: 5, reason: "duplicate of line 1 in this upload" },
        { line: 6, reason: "longer than 64 characters" },
        { line: 7, reason: "code exists already in this site" },
      ],
    });
    const again = (await (await upload(apiKey, pool.id, "OK-2\nOK-4")).json()) as { accepted: number };
    expect(again).toEqual({ accepted: 1, rejected: [{ line: 1, reason: "code exists already in this site" }] });
  });

  it("reads CSV with a code column among others, and a single column without header", async () => {
    const { apiKey } = await createSiteWithId();
    const pool = await createPool(apiKey, { name: "CSV", kind: "list" });
    const csv = 'campaign,code\nspring,"C-1"\nspring,C-2\nspring,C-1\n';
    expect(await (await upload(apiKey, pool.id, csv, "text/csv")).json()).toEqual({
      accepted: 2,
      rejected: [{ line: 4, reason: "duplicate of line 2 in this upload" }],
    });
    expect(await (await upload(apiKey, pool.id, "S-1\nS-2\n", "text/csv; charset=utf-8")).json()).toEqual({
      accepted: 2,
      rejected: [],
    });
    const noColumn = await upload(apiKey, pool.id, "a,b\n1,2\n", "text/csv");
    expect(noColumn.status).toBe(400);
    expect((await errorOf(noColumn)).message).toContain('"code" column');
  });

  it("inserts thousands of codes in one upload despite D1's bound-parameter limit", async () => {
    const { apiKey } = await createSiteWithId();
    const pool = await createPool(apiKey, { name: "Big", kind: "list" });
    const codes = Array.from({ length: 2500 }, (_, i) => `BIG-${i}`);
    const res = await upload(apiKey, pool.id, codes.join("\n"));
    expect(await res.json()).toEqual({ accepted: 2500, rejected: [] });
    const one = (await (await call(`/api/v1/pools/${pool.id}`, { key: apiKey })).json()) as PoolJson;
    expect(one.counts.free).toBe(2500);
  });

  it("refuses uploads to a generated pool and other content types", async () => {
    const { apiKey } = await createSiteWithId();
    const generated = await createPool(apiKey, { name: "G", kind: "generated" });
    const list = await createPool(apiKey, { name: "L", kind: "list" });
    const wrongPool = await upload(apiKey, generated.id, "A\n");
    expect(wrongPool.status).toBe(400);
    expect((await errorOf(wrongPool)).code).toBe("not_a_list_pool");
    expect((await upload(apiKey, list.id, '{"code":"A"}', "application/json")).status).toBe(415);
  });
});

describe("API document", () => {
  it("describes the pool, upload, redeem and rollback routes", async () => {
    const res = await call("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/pools",
        "/api/v1/pools/{pool}",
        "/api/v1/pools/{pool}/codes",
        "/api/v1/coupons/redeem",
        "/api/v1/coupons/rollback",
      ]),
    );
    expect(Object.keys(doc.paths["/api/v1/pools/{pool}"]).sort()).toEqual(["delete", "get", "patch"]);
  });
});
