import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { redeemCoupon } from "../../worker/coupons";
import { claimCoupon } from "../../worker/coupons/claim";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { call, errorOf } from "../fixtures/api";
import { createSiteWithId, insertCodes, insertPool } from "./helpers";

/** A site with one list pool and one code claimed now by a visitor (and optionally a customer). */
async function claimedCode(options: { customerId?: string; validDays?: number; ruleId?: number | null } = {}) {
  const site = await createSiteWithId();
  const pool = await insertPool(site.siteId, { kind: "list", validDays: options.validDays ?? 30 });
  const code = `R-${crypto.randomUUID().slice(0, 8)}`;
  await insertCodes(site.siteId, pool.id, [code]);
  const cookieId = `cookie-${crypto.randomUUID()}`;
  const customerId = options.customerId ?? null;
  const claim = await claimCoupon(env.DB, env, {
    shards: null,
    visits: 0,
    siteId: site.siteId,
    pool,
    holder: customerId ? `c:${customerId}` : `v:${cookieId}`,
    cookieId,
    customerId,
    ruleId: options.ruleId === undefined ? 11 : options.ruleId,
    now: Date.now(),
  });
  if (claim?.code !== code) throw new Error("claim failed");
  return { ...site, pool, code, cookieId };
}

function redeem(apiKey: string, json: unknown, headers: Record<string, string> = {}) {
  return call("/api/v1/coupons/redeem", { method: "POST", key: apiKey, json, headers });
}

describe("redeeming a coupon", () => {
  it("redeems a handed-out code once and answers its order and time", async () => {
    const { apiKey, code, pool } = await claimedCode();
    const res = await redeem(apiKey, { code, order: "O-1", revenue: 80 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code, order: "O-1", pool_id: pool.id, rule_id: 11 });
    expect(body.redeemed_at).toBeGreaterThan(Date.now() - 60_000);
  });

  it("20 simultaneous redeems of one code give exactly one 200 and 19 × 409", async () => {
    const { apiKey, code, siteId } = await claimedCode({ customerId: "C-20" });
    await env.DB.prepare("insert into customers (site_id, customer_id, coupons_redeemed) values (?, 'C-20', 2)")
      .bind(siteId)
      .run();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => redeem(apiKey, { code, order: `O-${i % 2}` })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const conflicts = await Promise.all(responses.filter((r) => r.status === 409).map(errorOf));
    expect(new Set(conflicts.map((e) => e.code))).toEqual(new Set(["already_redeemed"]));
    // The customer's counter moved once, not once per attempt.
    const customer = await env.DB.prepare(
      "select coupons_redeemed as n from customers where customer_id = 'C-20'",
    ).first();
    expect(customer).toEqual({ n: 3 });
  });

  it("a second redeem by the same order without an Idempotency-Key answers 409", async () => {
    const { apiKey, code } = await claimedCode();
    expect((await redeem(apiKey, { code, order: "O-1" })).status).toBe(200);
    const again = await redeem(apiKey, { code, order: "O-1" });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).message).toContain("by this order");
  });

  it("records the rule conversion with the order and revenue for the visitor who claimed the code", async () => {
    const { apiKey, code, cookieId } = await claimedCode({ ruleId: 42 });
    await redeem(apiKey, { code, order: "O-9", revenue: 129.5 });
    const rows = await env.DB.prepare(
      "select rule_id, cookie_id, order_id, revenue from rule_conversions where rule_id = 42",
    ).all();
    expect(rows.results).toEqual([{ rule_id: 42, cookie_id: cookieId, order_id: "O-9", revenue: 129.5 }]);
  });

  it("finds a code expired once valid_days have passed since it was assigned", async () => {
    const { siteId, code } = await claimedCode({ validDays: 1 });
    expect((await redeemCoupon(env, { id: siteId, shards: null }, code, "O-1", Date.now() + 2 * DAY)).status).toBe(
      "expired",
    );
    expect((await redeemCoupon(env, { id: siteId, shards: null }, code, "O-1", Date.now() + DAY / 2)).status).toBe(
      "redeemed",
    );
  });

  it("answers 410 expired_code through the API", async () => {
    const { apiKey, code } = await claimedCode();
    await env.DB.prepare("update coupons set expires_at = ? where code = ?")
      .bind(Date.now() - 1, code)
      .run();
    const res = await redeem(apiKey, { code, order: "O-1" });
    expect(res.status).toBe(410);
    expect((await errorOf(res)).code).toBe("expired_code");
  });

  it("tells a mistyped generated code from an unknown one, and finds a code typed in lower case", async () => {
    const { apiKey, siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "generated", prefix: "SPRING-" });
    const claim = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder: "v:m",
      cookieId: "m",
      customerId: null,
      ruleId: 1,
      now: Date.now(),
    });
    const code = claim!.code;
    const last = code.at(-2) === "3" ? "4" : "3";
    const typo = `${code.slice(0, -2)}${last}${code.at(-1)}`;
    const mistyped = await redeem(apiKey, { code: typo, order: "O-1" });
    expect(mistyped.status).toBe(404);
    const error = await errorOf(mistyped);
    expect(error.code).toBe("mistyped_code");
    expect(error.message).toContain("looks mistyped");

    const unknown = await redeem(apiKey, { code: "NO-SUCH-CODE", order: "O-1" });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("unknown_code");

    // Codes are compared regardless of case: the code read off a phone in lower case is the code.
    const lower = await redeem(apiKey, { code: code.toLowerCase(), order: "O-1" });
    expect(lower.status).toBe(200);
    expect(((await lower.json()) as { code: string }).code).toBe(code);
    // …and the same code: typed as stored it is now redeemed already.
    const again = await redeem(apiKey, { code, order: "O-2" });
    expect(again.status).toBe(409);
  });

  it("refuses a list code that was never handed out, and codes of another site", async () => {
    const { apiKey, siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(siteId, pool.id, ["FREE-1"]);
    const res = await redeem(apiKey, { code: "FREE-1", order: "O-1" });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("unassigned_code");

    const other = await claimedCode();
    const foreign = await redeem(apiKey, { code: other.code, order: "O-1" });
    expect(foreign.status).toBe(404);
    expect((await errorOf(foreign)).code).toBe("unknown_code");
  });
});

describe("Idempotency-Key", () => {
  it("replays the first answer, status and body, even after the coupon's state changed", async () => {
    const { apiKey, code } = await claimedCode();
    const headers = { "Idempotency-Key": "order-O-7-attempt" };
    const first = await redeem(apiKey, { code, order: "O-7" }, headers);
    const firstBody = await first.text();
    expect(first.status).toBe(200);

    const rollback = await call("/api/v1/coupons/rollback", {
      method: "POST",
      key: apiKey,
      json: { code, order: "O-7" },
    });
    expect(rollback.status).toBe(200);
    expect((await redeem(apiKey, { code, order: "O-8" })).status).toBe(200);

    const replay = await redeem(apiKey, { code, order: "O-7" }, headers);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(firstBody);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("replays an error answer too", async () => {
    const { apiKey } = await createSiteWithId();
    const headers = { "Idempotency-Key": "k-404" };
    const first = await redeem(apiKey, { code: "NOPE", order: "O-1" }, headers);
    const again = await redeem(apiKey, { code: "NOPE", order: "O-1" }, headers);
    expect(first.status).toBe(404);
    expect(again.status).toBe(404);
    expect(await again.text()).toBe(await first.text());
  });

  it("keys are scoped by site: the same key in another site acts afresh", async () => {
    const a = await claimedCode();
    const b = await claimedCode();
    const headers = { "Idempotency-Key": "shared-key" };
    expect((await redeem(a.apiKey, { code: a.code, order: "O-1" }, headers)).status).toBe(200);
    const res = await redeem(b.apiKey, { code: b.code, order: "O-1" }, headers);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { code: string }).code).toBe(b.code);
  });

  it("the same key with another body answers 422 idempotency_mismatch and leaves the second code unredeemed", async () => {
    const first = await claimedCode();
    const pool = first.pool;
    const second = `R-${crypto.randomUUID().slice(0, 8)}`;
    await insertCodes(first.siteId, pool.id, [second]);
    await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId: first.siteId,
      pool,
      holder: `v:other-${crypto.randomUUID()}`,
      cookieId: `other-${crypto.randomUUID()}`,
      customerId: null,
      ruleId: 11,
      now: Date.now(),
    });
    const headers = { "Idempotency-Key": "reused-key" };
    expect((await redeem(first.apiKey, { code: first.code, order: "O-1" }, headers)).status).toBe(200);
    const reused = await redeem(first.apiKey, { code: second, order: "O-2" }, headers);
    expect(reused.status).toBe(422);
    expect((await errorOf(reused)).code).toBe("idempotency_mismatch");
    expect(reused.headers.get("Idempotent-Replayed")).toBeNull();
    const row = await env.DB.prepare("select redeemed_at, order_id from coupons where code = ?").bind(second).first();
    expect(row).toEqual({ redeemed_at: null, order_id: null });
    // The same body under the same key still replays the first answer, and a rollback under it is its own scope.
    expect((await redeem(first.apiKey, { code: first.code, order: "O-1" }, headers)).status).toBe(200);
    const sameBodyOtherRevenue = await redeem(first.apiKey, { code: first.code, order: "O-1", revenue: 5 }, headers);
    expect(sameBodyOtherRevenue.status).toBe(422);
  });

  it("20 simultaneous retries with one key redeem once and all others answer 200 replayed or 409 in progress", async () => {
    const { apiKey, code } = await claimedCode();
    const headers = { "Idempotency-Key": "burst" };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => redeem(apiKey, { code, order: "O-1" }, headers)),
    );
    const codes = await Promise.all(
      responses.filter((r) => r.status !== 200).map(async (r) => `${r.status} ${(await errorOf(r)).code}`),
    );
    expect(new Set(codes).size).toBeLessThanOrEqual(1);
    if (codes.length > 0) expect(codes[0]).toBe("409 idempotency_in_progress");
    const redeemed = await env.DB.prepare(
      "select count(*) as n from coupons where code = ? and redeemed_at is not null",
    )
      .bind(code)
      .first();
    expect(redeemed).toEqual({ n: 1 });
  });
});

describe("rollback", () => {
  it("undoes a redemption for its order: the conversion and the customer's count go back, the code works again", async () => {
    const { apiKey, code, siteId } = await claimedCode({ customerId: "C-7", ruleId: 5 });
    await env.DB.prepare("insert into customers (site_id, customer_id) values (?, 'C-7')").bind(siteId).run();
    expect((await redeem(apiKey, { code, order: "O-1" })).status).toBe(200);
    const count = () => env.DB.prepare("select coupons_redeemed as n from customers where customer_id = 'C-7'").first();
    expect(await count()).toEqual({ n: 1 });

    const wrongOrder = await call("/api/v1/coupons/rollback", {
      method: "POST",
      key: apiKey,
      json: { code, order: "O-2" },
    });
    expect(wrongOrder.status).toBe(409);
    expect((await errorOf(wrongOrder)).code).toBe("other_order");

    const res = await call("/api/v1/coupons/rollback", { method: "POST", key: apiKey, json: { code, order: "O-1" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code, order: "O-1" });
    expect(await count()).toEqual({ n: 0 });
    const conversions = await env.DB.prepare("select count(*) as n from rule_conversions where rule_id = 5").first();
    expect(conversions).toEqual({ n: 0 });

    const twice = await call("/api/v1/coupons/rollback", { method: "POST", key: apiKey, json: { code, order: "O-1" } });
    expect(twice.status).toBe(409);
    expect((await errorOf(twice)).code).toBe("not_redeemed");
    expect((await redeem(apiKey, { code, order: "O-3" })).status).toBe(200);
  });

  it("answers 404 for an unknown code", async () => {
    const { apiKey } = await createSiteWithId();
    const res = await call("/api/v1/coupons/rollback", {
      method: "POST",
      key: apiKey,
      json: { code: "X", order: "O" },
    });
    expect(res.status).toBe(404);
  });
});

describe("redeemCoupon for the purchase-event path", () => {
  it("marks the purchasing cookie converted too, and a later API redeem by the same order is a 409", async () => {
    const { apiKey, code, siteId, cookieId } = await claimedCode({ ruleId: 77 });
    const result = await redeemCoupon(env, { id: siteId, shards: null }, code, "O-5", Date.now(), {
      revenue: 10,
      cookieId: "laptop",
    });
    expect(result.status).toBe("redeemed");
    const rows = await env.DB.prepare(
      "select cookie_id from rule_conversions where rule_id = 77 order by cookie_id",
    ).all();
    expect(rows.results.map((r) => r.cookie_id).sort()).toEqual([cookieId, "laptop"].sort());
    expect((await redeem(apiKey, { code, order: "O-5" })).status).toBe(409);
  });
});

describe("counting for the customer", () => {
  it("counts a code claimed anonymously for the customer the cookie was linked to later", async () => {
    const { apiKey, code, siteId, cookieId } = await claimedCode();
    await env.DB.batch([
      env.DB.prepare("insert into customers (site_id, customer_id) values (?, 'C-later')").bind(siteId),
      env.DB.prepare(
        "insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at) values (?, ?, 'C-later', 0, 0)",
      ).bind(siteId, cookieId),
    ]);
    expect((await redeem(apiKey, { code, order: "O-1" })).status).toBe(200);
    const row = await env.DB.prepare(
      "select coupons_redeemed as n from customers where customer_id = 'C-later'",
    ).first();
    expect(row).toEqual({ n: 1 });
  });
});

describe("a reservation left by a call that died", () => {
  it("is taken over by a retry after a minute", async () => {
    const { apiKey, code, siteId } = await claimedCode();
    await env.DB.prepare(
      "insert into idempotency_keys (site_id, key, status, body, created_at) values (?, ?, 0, '', ?)",
    )
      .bind(siteId, "redeem:crashed", Date.now() - 120_000)
      .run();
    const res = await redeem(apiKey, { code, order: "O-1" }, { "Idempotency-Key": "crashed" });
    expect(res.status).toBe(200);
  });

  it("is still in progress within the minute", async () => {
    const { apiKey, code, siteId } = await claimedCode();
    await env.DB.prepare(
      "insert into idempotency_keys (site_id, key, status, body, created_at) values (?, ?, 0, '', ?)",
    )
      .bind(siteId, "redeem:running", Date.now())
      .run();
    const res = await redeem(apiKey, { code, order: "O-1" }, { "Idempotency-Key": "running" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("idempotency_in_progress");
  });
});
