import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { signSession } from "../../worker/auth/session";
import { BASE, call, createTestSite, siteIdOf } from "../fixtures/api";
import { bannerJson } from "../fixtures/banner";
import {
  expectOnlyOnItsShards,
  MARKER,
  partnerLinkDb,
  snapshotOf,
  type Tenant,
  tenantWithEverything,
} from "./fixtures";

type Operation = { method: string; path: string };

/** Bodies that pass validation, so the request reaches the site-scoped lookup (B's IDs inside). */
function bodyFor(op: Operation, b: Tenant): { json?: unknown; body?: string; type?: string } {
  const { ids } = b;
  const key = `${op.method} ${op.path}`;
  switch (key) {
    case "POST /api/v1/rules":
      return {
        json: { name: "x", placement: "slot", segment_id: ids.segment, creative_id: ids.creative, pool_id: ids.pool },
      };
    case "PATCH /api/v1/rules/{id}":
      return { json: { name: "hijacked", creative_id: ids.creative } };
    case "POST /api/v1/audiences":
      return { json: { name: "x", kind: "segment", segment_id: ids.segment } };
    case "POST /api/v1/coupons/redeem":
    case "POST /api/v1/coupons/rollback":
      return { json: { code: ids.code, order: "O-HIJACK" } };
    case "POST /api/v1/pools/{pool}/codes":
      return { body: "HIJACK-1", type: "text/plain" };
    case "PUT /api/v1/placements/{placement}/fallback":
      return { json: { creative_id: ids.creative } };
    case "PUT /api/v1/placements/{placement}/order":
      return { json: { rule_ids: [ids.rule] } };
    case "PATCH /api/v1/placements/{placement}":
      return { json: { arbitration: "best" } };
    case "POST /api/v1/segments/preview":
      return { json: { expression: "visits >= 0" } };
    case "POST /api/v1/import/customers":
      return { body: "customer_id,orders\nB-CUST,99", type: "text/csv" };
    case "POST /api/v1/import/links":
      return { body: `cookie_id,customer_id\n${b.cookie},B-CUST`, type: "text/csv" };
    case "POST /api/v1/visitor-tokens":
      return { json: { cookie_id: b.cookie } };
    case "POST /api/v1/audiences/{id}/export-url":
      return { json: {} };
    case "POST /api/v1/users":
      return { json: { email: "new-a-user@example.com", password: "long-enough-pw", role: "viewer" } };
    case "PATCH /api/v1/webhooks/{id}":
      return { json: { url: "https://evil.example/hook" } };
    case "POST /api/v1/webhooks":
      return { json: { url: "https://evil.example/hook", segment_id: ids.segment } };
    case "POST /api/v1/webhooks/{id}/secret":
      return { json: { grace_hours: 0 } };
    case "PATCH /api/v1/users/{id}":
      return { json: { role: "viewer" } };
    case "POST /api/v1/placements/{placement}/explain":
      return { json: { cookie_id: b.cookie } };
    case "POST /api/v1/creatives/preview":
      return { json: { format: "html", template: "<p>x</p>", width: 1, height: 1 } };
    default:
      if (op.method === "POST" || op.method === "PATCH" || op.method === "PUT") return { json: { name: "hijacked" } };
      return {};
  }
}

/** The path with B's IDs in it, or null when the operation takes none. */
function pathWithIdsOf(op: Operation, b: Tenant): string | null {
  const { ids } = b;
  if (!op.path.includes("{")) return null;
  const family = op.path.split("/")[3];
  const byFamily: Record<string, string | number> = {
    audiences: ids.audience,
    coupons: ids.code,
    creatives: ids.creative,
    customers: ids.customer,
    partners: ids.partner,
    pools: ids.pool,
    products: ids.product,
    rules: ids.rule,
    segments: ids.segment,
    users: ids.user,
    visitors: b.cookie,
    site: ids.key,
    sites: ids.key,
    webhooks: ids.webhook,
  };
  return op.path.replace(/\{[a-z_]+\}/g, (param) => {
    if (param === "{placement}") return "slot";
    if (param === "{delivery}") return String(ids.delivery);
    if (op.path.startsWith("/api/v1/reports/rules")) return String(ids.rule);
    const value = byFamily[family];
    if (value === undefined) throw new Error(`no B resource for ${op.path}`);
    return encodeURIComponent(String(value));
  });
}

/** Operations that act on the caller's own site (placement reports, preview, imports...). */
const OWN_SITE_OK = new Set([
  "GET /api/v1/reports/placements/{placement}",
  "PUT /api/v1/placements/{placement}/fallback",
  // Explains A's own placement for the cookie ID A sent: A's rules, none of B's.
  "POST /api/v1/placements/{placement}/explain",
]);

/**
 * The walk runs for sites whose people are in HOME, and for sites on shard sets that overlap (B on
 * [1, 2], A on [2, 3]: shard 2 holds both) and that are disjoint (README.md, "Shards"): nothing of
 * one site is read from or written to a shard outside its set.
 */
const LAYOUTS: { name: string; a?: number[]; b?: number[] }[] = [
  { name: "in HOME" },
  { name: "on overlapping shard sets", b: [1, 2], a: [2, 3] },
  { name: "on disjoint shard sets", b: [0, 1], a: [2, 3] },
];

describe.each(LAYOUTS)("site A's credentials against site B, $name", (layout) => {
  let a: { siteKey: string; apiKey: string };
  let b: Tenant;
  let operations: Operation[];

  beforeAll(async () => {
    b = await tenantWithEverything(layout.b);
    a = await createTestSite(layout.a ? { shards: layout.a } : {});
    const doc = (await (await call("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
  }, 60_000);

  it("walks every management operation of the OpenAPI document with B's IDs: never B's data, never a change to B", async () => {
    const management = operations.filter((op) => op.path.startsWith("/api/v1/") && op.path !== "/api/v1/openapi.json");
    expect(management.length).toBeGreaterThan(40);
    const before = await snapshotOf(b.siteId);
    // Imports create A's own rows named like B's, and key rotation revokes A's key: both run last.
    const weight = (op: Operation) =>
      op.path === "/api/v1/site/keys" && op.method === "POST" ? 2 : op.path.startsWith("/api/v1/import/") ? 1 : 0;
    management.sort((x, y) => weight(x) - weight(y));

    // Imports create A's OWN rows named like B's (B-CUST, B's cookie string): A may see those later.
    let sentSoFar = "";
    for (const op of management) {
      const withIds = pathWithIdsOf(op, b);
      const path = (withIds ?? op.path).replace(/\{[a-z_]+\}/g, "x");
      const { json, body, type } = bodyFor(op, b);
      const res = await call(path, {
        method: op.method,
        key: a.apiKey,
        json,
        body,
        headers: type ? { "Content-Type": type } : undefined,
      });
      const text = await res.text();
      const key = `${op.method} ${op.path}`;
      expect(res.status, `${key} answered ${res.status}: ${text.slice(0, 200)}`).toBeLessThan(500);
      expect(text, `${key} leaked B's data`).not.toContain(MARKER);
      // What the caller sent may be echoed in an error message; what it did not send must not appear.
      sentSoFar += `${path} ${JSON.stringify(json ?? "")} ${body ?? ""}`;
      if (!sentSoFar.includes(b.cookie)) expect(text).not.toContain(b.cookie);
      expect(text).not.toContain("BCODE-0002");
      expect(text).not.toContain("BCODE-0003");
      if (withIds && !OWN_SITE_OK.has(key)) {
        // A resource of another site is 404, never 403 (no existence leak) and never 2xx.
        expect([404, 401, 403], `${key} answered ${res.status}: ${text.slice(0, 200)}`).toContain(res.status);
        // Operator calls (/api/v1/sites…: creation, shard moves) refuse any site's key before looking anything up.
        if (res.status !== 404) expect(key).toMatch(/^(\w+ \/api\/v1\/sites.*|.* \/api\/v1\/users.*)$/);
      }
    }
    expect(await snapshotOf(b.siteId)).toEqual(before);
    if (layout.a && layout.b) {
      // Everything A's key did (imports, events, banners, erasures) stayed on A's shards, and B's
      // people are only on B's.
      expect(await expectOnlyOnItsShards(b.siteId, layout.b)).toBeGreaterThan(0);
      await expectOnlyOnItsShards(await siteIdOf(a.siteKey), layout.a);
    }
  });

  it("an admin session of site A reads and changes nothing of B either", async () => {
    const a = await createTestSite();
    const user = await env.DB.prepare(
      "insert into admin_users (site_id, email, password_hash, role) values ((select id from sites where key = ?), ?, 'x', 'admin') returning id",
    )
      .bind(a.siteKey, `a-admin-${a.siteKey}@example.com`)
      .first<{ id: number }>();
    const aSiteId = (await env.DB.prepare("select id from sites where key = ?")
      .bind(a.siteKey)
      .first<{ id: number }>())!.id;
    const session = await signSession(env, { userId: user!.id, siteId: aSiteId, role: "admin" });
    const before = await snapshotOf(b.siteId);
    const headers = { Cookie: `__Host-tw_admin=${session}`, Origin: BASE };
    for (const [method, path] of [
      ["GET", `/api/v1/segments/${b.ids.segment}`],
      ["GET", `/api/v1/rules/${b.ids.rule}`],
      ["DELETE", `/api/v1/creatives/${b.ids.creative}`],
      ["GET", `/api/v1/pools/${b.ids.pool}`],
      ["DELETE", `/api/v1/customers/${b.ids.customer}`],
      ["DELETE", `/api/v1/visitors/${b.cookie}`],
      ["GET", `/api/v1/reports/rules/${b.ids.rule}`],
    ]) {
      const res = await call(path, { method, headers });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const list = await (await call("/api/v1/segments", { headers })).text();
    expect(list).not.toContain(MARKER);
    // A session signed for B's site with A's user ID is refused: the user row decides the site.
    const forged = await signSession(env, { userId: user!.id, siteId: b.siteId, role: "admin" });
    const forgedRes = await call(`/api/v1/segments/${b.ids.segment}`, {
      headers: { Cookie: `__Host-tw_admin=${forged}` },
    });
    expect(forgedRes.status).not.toBe(200);
    expect(await forgedRes.text()).not.toContain(MARKER);
    expect(await snapshotOf(b.siteId)).toEqual(before);
  });

  it("a visitor token minted with A's key does not identify anyone on B's banners", async () => {
    const minted = await call("/api/v1/visitor-tokens", {
      method: "POST",
      key: a.apiKey,
      json: { cookie_id: b.cookie },
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const res = await bannerJson(b.siteKey, "slot", undefined, `&t=${encodeURIComponent(token)}`);
    // No identity: no coupon of B's visitor is shown, and no code is claimed for it.
    expect(res.coupon).toBeNull();
    const own = await call("/api/v1/visitor-tokens", { method: "POST", key: b.apiKey, json: { cookie_id: b.cookie } });
    const ownToken = ((await own.json()) as { token: string }).token;
    const control = await bannerJson(b.siteKey, "slot", undefined, `&t=${encodeURIComponent(ownToken)}`);
    expect(control.coupon?.code).toBe("BCODE-0001");
  });

  it("a partner ID linked in B does not resolve through A, nor A's partner IDs in B", async () => {
    await call("/api/v1/partners", { method: "POST", key: a.apiKey, json: { key: "net", name: "A net" } });
    const viaA = await bannerJson(a.siteKey, "slot", undefined, "&p=net&puid=PUID-B");
    expect(viaA.coupon).toBeNull();
    // In B the partner ID resolves B's visitor: its rule, but never a personal code (README, "Partner IDs").
    const control = await bannerJson(b.siteKey, "slot", undefined, "&p=net&puid=PUID-B");
    expect(control.rule).not.toBeNull();
    expect(viaA.rule).toBeNull();
    // A sync on A with B's partner user ID links in A only.
    const links = await partnerLinkDb(b.siteId);
    const before = await links
      .prepare("select cookie_id from id_links where site_id = ? and partner_user_id = 'PUID-B'")
      .bind(b.siteId)
      .first<{ cookie_id: string }>();
    expect(before).not.toBeNull();
    await call(`/sync?site=${a.siteKey}&p=net&puid=PUID-B`);
    const after = await links
      .prepare("select cookie_id from id_links where site_id = ? and partner_user_id = 'PUID-B'")
      .bind(b.siteId)
      .first<{ cookie_id: string }>();
    expect(after).toEqual(before);
  });

  it("a signed export URL of A's audience does not open B's audience", async () => {
    const seg = await call("/api/v1/segments", {
      method: "POST",
      key: a.apiKey,
      json: { name: "a", expression: "visits >= 0" },
    });
    const segId = ((await seg.json()) as { id: number }).id;
    const aud = await call("/api/v1/audiences", {
      method: "POST",
      key: a.apiKey,
      json: { name: "a", kind: "segment", segment_id: segId },
    });
    const audId = ((await aud.json()) as { id: number }).id;
    const signed = await call(`/api/v1/audiences/${audId}/export-url`, { method: "POST", key: a.apiKey, json: {} });
    expect(signed.status).toBe(201);
    const url = new URL(((await signed.json()) as { url: string }).url);
    expect((await call(`${url.pathname}${url.search}`)).status).toBe(200);
    const forged = `${url.pathname.replace(`/${audId}/`, `/${b.ids.audience}/`)}${url.search}`;
    const res = await call(forged);
    expect([401, 403, 404]).toContain(res.status);
    expect(await res.text()).not.toContain(b.cookie);
  });

  it("a click token of A cannot be re-pointed at B: a changed payload fails the signature", async () => {
    const creative = await call("/api/v1/creatives", {
      method: "POST",
      key: a.apiKey,
      json: { name: "a", format: "html", template: "x", width: 1, height: 1, landing_url: "https://a-shop.example/" },
    });
    const creativeId = ((await creative.json()) as { id: number }).id;
    await call("/api/v1/placements/slot/fallback", { method: "PUT", key: a.apiKey, json: { creative_id: creativeId } });
    const res = await bannerJson(a.siteKey, "slot");
    const token = new URL(res.click_url!).pathname.split("/").pop()!;
    const [payload, mac] = token.split(".");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const repointed = { ...claims, site: b.siteKey, siteId: b.siteId, sid: b.siteId };
    const body = btoa(JSON.stringify(repointed)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const forged = await call(`/c/${body}.${mac}`);
    expect(forged.status).toBe(400);
    expect(forged.headers.get("Location")).toBeNull();
  });
});
