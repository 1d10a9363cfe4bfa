import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../worker/coupons/claim";
import { call, errorOf } from "../fixtures/api";
import { createSiteWithId, insertCodes, insertPool } from "./helpers";

async function lookup(apiKey: string, code: string) {
  return call(`/api/v1/coupons/${encodeURIComponent(code)}`, { key: apiKey });
}

describe("GET /api/v1/coupons/:code", () => {
  it("shows pool, holder kind, times and order of a customer's code, and never the cookie ID", async () => {
    const site = await createSiteWithId();
    const pool = await insertPool(site.siteId, { kind: "list", name: "Welcome back" });
    await insertCodes(site.siteId, pool.id, ["LOOK-1"]);
    const cookieId = "0123456789abcdef0123456789abcdef";
    const now = Date.now();
    await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId: site.siteId,
      pool,
      holder: "c:C-77",
      cookieId,
      customerId: "C-77",
      ruleId: 5,
      now,
    });
    const fresh = await lookup(site.apiKey, "LOOK-1");
    expect(fresh.status).toBe(200);
    const text = await fresh.text();
    expect(text).not.toContain(cookieId);
    expect(JSON.parse(text)).toMatchObject({
      code: "LOOK-1",
      pool: { id: pool.id, name: "Welcome back", kind: "list" },
      state: "assigned",
      holder_kind: "customer",
      customer: "C-77",
      rule_id: 5,
      assigned_at: new Date(now).toISOString(),
      redeemed_at: null,
      order: null,
      notes: [],
    });

    // Typed in lower case, it is the same code; a code that exists in two cases is taken as typed.
    const lower = (await (await lookup(site.apiKey, "look-1")).json()) as Record<string, unknown>;
    expect(lower).toMatchObject({ code: "LOOK-1", state: "assigned" });
    await insertCodes(site.siteId, pool.id, ["Mixed-2", "MIXED-2"]);
    expect(((await (await lookup(site.apiKey, "Mixed-2")).json()) as { code: string }).code).toBe("Mixed-2");
    expect(((await (await lookup(site.apiKey, "MIXED-2")).json()) as { code: string }).code).toBe("MIXED-2");
    expect(((await (await lookup(site.apiKey, "mixed-2")).json()) as { code: string }).code).toBe("MIXED-2");

    const redeemed = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: site.apiKey,
      json: { code: "LOOK-1", order: "O-9", reason: "customer phoned: the shop's checkout refused the code" },
    });
    expect(redeemed.status).toBe(200);
    const after = (await (await lookup(site.apiKey, "LOOK-1")).json()) as Record<string, unknown>;
    expect(after).toMatchObject({ state: "redeemed", order: "O-9" });
    expect(after.notes).toEqual([
      expect.objectContaining({
        action: "redeem",
        order: "O-9",
        by: "api key",
        reason: expect.stringContaining("phoned"),
      }),
    ]);

    const rolled = await call("/api/v1/coupons/rollback", {
      method: "POST",
      key: site.apiKey,
      json: { code: "LOOK-1", order: "O-9", reason: "order cancelled by phone" },
    });
    expect(rolled.status).toBe(200);
    const back = (await (await lookup(site.apiKey, "LOOK-1")).json()) as { state: string; notes: { action: string }[] };
    expect(back.state).toBe("assigned");
    expect(back.notes.map((n) => n.action)).toEqual(["redeem", "rollback"]);
  });

  it("says visitor for a cookie's code, free for a code never handed out, and 404 for another site's code", async () => {
    const site = await createSiteWithId();
    const pool = await insertPool(site.siteId, { kind: "list" });
    await insertCodes(site.siteId, pool.id, ["V-1", "F-1"]);
    await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId: site.siteId,
      pool,
      holder: "v:fedcba9876543210fedcba9876543210",
      cookieId: "fedcba9876543210fedcba9876543210",
      customerId: null,
      ruleId: null,
      now: Date.now(),
    });
    const visitor = (await (await lookup(site.apiKey, "V-1")).json()) as Record<string, unknown>;
    expect(visitor).toMatchObject({ holder_kind: "visitor", customer: null, state: "assigned" });
    const free = (await (await lookup(site.apiKey, "F-1")).json()) as Record<string, unknown>;
    expect(free).toMatchObject({ holder_kind: null, state: "free", assigned_at: null });

    const other = await createSiteWithId();
    const res = await lookup(other.apiKey, "V-1");
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("unknown_code");
  });

  it("refuses a reason too short to mean anything, and changes nothing", async () => {
    const site = await createSiteWithId();
    const pool = await insertPool(site.siteId, { kind: "list" });
    await insertCodes(site.siteId, pool.id, ["R-1"]);
    const res = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: site.apiKey,
      json: { code: "R-1", order: "O-1", reason: "x" },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("reason");
  });
});
