import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AssignmentRow, assignmentsByPool, couponHolder } from "../../worker/coupons";
import { claimCoupon } from "../../worker/coupons/claim";
import { hasValidCheck, SUFFIX_LENGTH } from "../../worker/coupons/code-format";
import { createDb } from "../../worker/db/client";
import { loadDecisionState } from "../../worker/decide/load";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { insertVisitor } from "../fixtures/banner";
import { createSiteWithId, insertCodes, insertPool } from "./helpers";

const NOW = Date.UTC(2026, 2, 1);

function visitor(n: number) {
  return `cookie-${n}-${crypto.randomUUID()}`;
}

describe("claiming list-pool codes", () => {
  it("100 simultaneous first claims on a 50-code pool hand out exactly 50 distinct codes and 50 nulls", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    const codes = Array.from({ length: 50 }, (_, i) => `LIST-${i}`);
    await insertCodes(siteId, pool.id, codes);

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const cookieId = visitor(i);
        return claimCoupon(env.DB, env, {
          shards: null,
          visits: 0,
          siteId,
          pool,
          holder: couponHolder({ cookieId }),
          cookieId,
          customerId: null,
          ruleId: 7,
          now: NOW,
        });
      }),
    );
    const given = results.filter((r) => r !== null);
    expect(given).toHaveLength(50);
    expect(results.filter((r) => r === null)).toHaveLength(50);
    expect(new Set(given.map((r) => r.code)).size).toBe(50);
    expect(given.every((r) => r.fresh && codes.includes(r.code))).toBe(true);

    const holders = await env.DB.prepare(
      "select count(distinct holder) as holders, count(*) as n from coupons where pool_id = ? and holder is not null",
    )
      .bind(pool.id)
      .first<{ holders: number; n: number }>();
    expect(holders).toEqual({ holders: 50, n: 50 });
  });

  it("the same holder claiming twice gets the same code, the second time not fresh", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list", validDays: 14 });
    await insertCodes(siteId, pool.id, ["A-1", "A-2", "A-3"]);
    const cookieId = visitor(1);
    const input = { siteId, pool, holder: couponHolder({ cookieId }), cookieId, customerId: null, ruleId: 1 };
    const first = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW });
    const second = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW + DAY });
    expect(first).toEqual({ code: "A-1", expiresAt: NOW + 14 * DAY, couponId: expect.any(Number), fresh: true });
    expect(second).toEqual({ ...first, fresh: false });
  });

  it("the same holder claiming concurrently still ends up with one code", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(
      siteId,
      pool.id,
      Array.from({ length: 10 }, (_, i) => `C-${i}`),
    );
    const cookieId = visitor(1);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        claimCoupon(env.DB, env, {
          shards: null,
          visits: 0,
          siteId,
          pool,
          holder: couponHolder({ cookieId }),
          cookieId,
          customerId: null,
          ruleId: 1,
          now: NOW,
        }),
      ),
    );
    expect(new Set(results.map((r) => r?.code)).size).toBe(1);
    expect(results.filter((r) => r?.fresh)).toHaveLength(1);
  });

  it("a customer on two devices gets the same code", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(siteId, pool.id, ["D-1", "D-2"]);
    const holder = couponHolder({ customerId: "C-42", cookieId: "phone" });
    const phone = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder,
      cookieId: "phone",
      customerId: "C-42",
      ruleId: 1,
      now: NOW,
    });
    const laptop = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder: couponHolder({ customerId: "C-42", cookieId: "laptop" }),
      cookieId: "laptop",
      customerId: "C-42",
      ruleId: 1,
      now: NOW + 1000,
    });
    expect(holder).toBe("c:C-42");
    expect(laptop?.code).toBe(phone?.code);
    expect(laptop?.fresh).toBe(false);
  });

  it("a code claimed anonymously moves to the customer once the visitor is linked", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(siteId, pool.id, ["E-1", "E-2"]);
    const anonymous = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder: "v:tab",
      cookieId: "tab",
      customerId: null,
      ruleId: 1,
      now: NOW,
    });
    const linked = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder: "c:C-9",
      cookieId: "tab",
      customerId: "C-9",
      ruleId: 1,
      now: NOW,
    });
    expect(linked).toEqual({ ...anonymous, fresh: false });
    const otherDevice = await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      siteId,
      pool,
      holder: "c:C-9",
      cookieId: "phone",
      customerId: "C-9",
      ruleId: 1,
      now: NOW + 1,
    });
    expect(otherDevice).toMatchObject({ code: "E-1", fresh: false });
  });

  it("after expiry the holder gets a new code and the old row is kept, archived", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list", validDays: 1 });
    await insertCodes(siteId, pool.id, ["F-1", "F-2"]);
    const input = { siteId, pool, holder: "v:x", cookieId: "x", customerId: null, ruleId: 1 };
    const first = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW });
    const held = await env.DB.prepare(
      "select id, pool_id, code, holder, expires_at, redeemed_at from coupons where pool_id = ? and holder = 'v:x'",
    )
      .bind(pool.id)
      .all<AssignmentRow>();
    expect(assignmentsByPool(held.results, ["v:x"], NOW + DAY - 1).get(pool.id)?.code).toBe("F-1");
    expect(assignmentsByPool(held.results, ["v:x"], NOW + DAY).size).toBe(0);
    const second = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW + DAY });
    expect(first?.code).toBe("F-1");
    expect(second).toMatchObject({ code: "F-2", fresh: true, expiresAt: NOW + 2 * DAY });
    const old = await env.DB.prepare("select holder from coupons where code = 'F-1'").first<{ holder: string }>();
    expect(old?.holder).toBe(`x:${first?.couponId}:v:x`);
  });

  it("a holder whose code was redeemed gets no second code from the pool", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(siteId, pool.id, ["G-1", "G-2"]);
    const input = { siteId, pool, holder: "v:y", cookieId: "y", customerId: null, ruleId: 1 };
    await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW });
    await env.DB.prepare("update coupons set redeemed_at = ?, order_id = 'o' where code = 'G-1'").bind(NOW).run();
    expect(await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW + 1 })).toBeNull();
  });
});

describe("claiming generated codes", () => {
  it("makes a fresh code with the pool's prefix and a valid check symbol, and keeps it for the holder", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "generated", prefix: "SPRING-" });
    const input = { siteId, pool, holder: "v:g", cookieId: "g", customerId: null, ruleId: 3 };
    const first = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW });
    const again = await claimCoupon(env.DB, env, { shards: null, visits: 0, ...input, now: NOW + 5 });
    expect(first?.code).toMatch(new RegExp(`^SPRING-[34679ACDEFGHJKMNPRTUWXY]{${SUFFIX_LENGTH}}$`));
    expect(hasValidCheck(first!.code.slice("SPRING-".length))).toBe(true);
    expect(first?.fresh).toBe(true);
    expect(again).toEqual({ ...first, fresh: false });
  });

  it("100 simultaneous claims by different visitors give 100 distinct codes", async () => {
    const { siteId } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "generated", prefix: "G" });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        claimCoupon(env.DB, env, {
          shards: null,
          visits: 0,
          siteId,
          pool,
          holder: `v:${i}`,
          cookieId: String(i),
          customerId: null,
          ruleId: 1,
          now: NOW,
        }),
      ),
    );
    expect(new Set(results.map((r) => r?.code)).size).toBe(100);
  });
});

describe("reading assignments in the decision path's batch", () => {
  it("returns one live assignment per pool, preferring the customer holder", async () => {
    const { siteId, siteKey } = await createSiteWithId();
    const other = await createSiteWithId();
    const a = await insertPool(siteId, { kind: "list" });
    const b = await insertPool(siteId, { kind: "generated", prefix: "B" });
    const c = await insertPool(siteId, { kind: "list", validDays: 1 });
    const foreign = await insertPool(other.siteId, { kind: "generated" });
    await insertCodes(siteId, a.id, ["H-1", "H-2"]);
    await insertCodes(siteId, c.id, ["K-1"]);
    const base = { siteId, customerId: null, ruleId: 1, now: NOW };
    await claimCoupon(env.DB, env, { shards: null, visits: 0, ...base, pool: a, holder: "v:z", cookieId: "z" });
    await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      ...base,
      pool: a,
      holder: "c:Q",
      cookieId: "other",
      customerId: "Q",
    });
    await claimCoupon(env.DB, env, { shards: null, visits: 0, ...base, pool: b, holder: "v:z", cookieId: "z" });
    await claimCoupon(env.DB, env, { shards: null, visits: 0, ...base, pool: c, holder: "v:z", cookieId: "z" });
    await claimCoupon(env.DB, env, {
      shards: null,
      visits: 0,
      ...base,
      siteId: other.siteId,
      pool: foreign,
      holder: "v:z",
      cookieId: "z",
    });
    // The visitor "z" is now linked to customer Q: the decision reads both holders' codes.
    await insertVisitor(siteId, "z", { customerId: "Q", now: NOW });

    const state = await loadDecisionState(createDb(env.DB), env, siteKey, { cookieId: "z", partner: null }, NOW + DAY);
    expect(state.assignments).toHaveLength(4);
    const map = assignmentsByPool(state.assignments, ["c:Q", "v:z"], NOW + DAY);
    expect([...map.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(map.get(a.id)).toMatchObject({ code: "H-2", holder: "c:Q", redeemedAt: null });
    expect(map.get(b.id)?.holder).toBe("v:z");
  });
});

describe("query plans", () => {
  it("finds a list pool's next free code by index search, without sorting", async () => {
    const plan = await env.DB.prepare(
      "explain query plan select id from coupons where pool_id = ? and holder is null order by id limit 1",
    )
      .bind(1)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toMatch(/SEARCH coupons USING (COVERING )?INDEX coupons_pool_(holder|free)_idx/);
    expect(details).not.toContain("TEMP B-TREE");
  });
});
