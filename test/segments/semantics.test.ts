/** The documented meaning of the language (worker/segments/evaluate.ts), checked on both back ends. */
import { describe, expect, it } from "vitest";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { compileSegment, SegmentError, segmentWhere } from "../../worker/segments";
import { countSegment } from "../../worker/segments/query";
import { db, home, insertProfiles, insertSite, loadProfiles, profileKey, selectProfiles } from "./profiles-fixture";

const NOW = Date.UTC(2025, 5, 15, 13, 30);
const today = "2025-06-15";

async function fixture() {
  const siteId = await insertSite();
  await insertProfiles(
    siteId,
    [
      {
        customerId: "C-linked",
        gender: "f",
        lastOrderAt: NOW - 10.5 * DAY,
        clusters: ["rings", "gifts"],
        attributes: { tier: "gold", age: 41, vip: true },
      },
      { customerId: "C-crm-only", gender: null, orders: 2, clusters: [], attributes: { tier: "Gold", age: "41" } },
    ],
    [
      {
        cookieId: "a".repeat(32),
        customerId: "C-linked",
        firstSeenAt: NOW - 30 * DAY,
        lastSeenAt: NOW - DAY,
        visits: 3,
        interests: { rings: 4 },
        interestDays: { rings: { [today]: 1, "2025-06-09": 2, "2025-06-08": 5, "2025-06-16": 9 } },
        visitDays: { [today]: 1, "2025-06-14": 2, "2025-05-01": 7 },
      },
      { cookieId: "b".repeat(32), customerId: "C-identified-only", firstSeenAt: NOW, lastSeenAt: NOW, visits: 1 },
      { cookieId: "c".repeat(32), firstSeenAt: NOW, lastSeenAt: NOW, cartItems: 2, cartUpdatedAt: NOW - 90 * 60_000 },
    ],
  );
  const profiles = await loadProfiles(siteId);
  return {
    siteId,
    async select(expression: string) {
      const predicate = compileSegment(expression);
      const byEvaluator = [...profiles].filter(([, p]) => predicate(p, NOW)).map(([, p]) => p.cookieId ?? p.customerId);
      const bySql = (await selectProfiles(db, siteId, expression, NOW)).map(
        (r) => [...profiles].find(([key]) => key === profileKey(r))![1],
      );
      expect(bySql.map((p) => p.cookieId ?? p.customerId).sort()).toEqual([...byEvaluator].sort());
      return byEvaluator.map((id) => (id?.length === 32 ? id[0] : id)).sort();
    },
  };
}

describe("segment semantics on the edge and in SQL", () => {
  it("makes every comparison with a missing value false, while not negates it", async () => {
    const { select } = await fixture();
    expect(await select('gender = "f"')).toEqual(["a"]);
    expect(await select('gender != "f"')).toEqual([]);
    expect(await select('not gender = "f"')).toEqual(["C-crm-only", "b", "c"]);
    expect(await select("orders >= 0")).toEqual(["C-crm-only"]);
  });

  it("counts a linked, identified or CRM-only profile as a customer", async () => {
    const { select, siteId } = await fixture();
    expect(await select("customer")).toEqual(["C-crm-only", "a", "b"]);
    expect(await select("not customer and cart_items > 0 and cart_age_hours = 1")).toEqual(["c"]);
    expect(await select("cart_age_hours > 1")).toEqual([]);
    expect(await countSegment(home, siteId, "customer", NOW)).toEqual({ visitors: 2, customers: 2 });
  });

  it("sums per-day maps over the last DAYS UTC days including today, and treats no visitor as missing", async () => {
    const { select } = await fixture();
    expect(await select('interest("rings", 1) = 1')).toEqual(["a"]);
    expect(await select('interest("rings", 7) = 3')).toEqual(["a"]);
    expect(await select('interest("rings", 8) = 8')).toEqual(["a"]);
    expect(await select('interest("rings") = 4')).toEqual(["a"]);
    expect(await select('interest("rings") = 0')).toEqual(["b", "c"]);
    expect(await select("visits(2) = 3 or visits(2) = 0")).toEqual(["a", "b", "c"]);
    expect(await select("visits(60) = 10")).toEqual(["a"]);
  });

  it("counts days_since_* as whole UTC days relative to the injected now, so 0 means today", async () => {
    const { select } = await fixture();
    // The order was 10.5 × 24 h ago, at 01:30 UTC ten calendar days back.
    expect(await select("days_since_last_order = 10")).toEqual(["a"]);
    expect(await select("days_since_last_order > 10")).toEqual([]);
    expect(await select("days_since_first_visit >= 30 and days_since_last_visit = 1")).toEqual(["a"]);
    // b was last seen at `now`: today. c's row has no visit (as after a link import): no visit days.
    expect(await select("days_since_last_visit = 0")).toEqual(["b"]);
    expect(await select("days_since_first_visit >= 0")).toEqual(["a", "b"]);
  });

  it("counts an order one minute before midnight as yesterday and one after as today", async () => {
    const siteId = await insertSite();
    const midnight = Date.UTC(2025, 5, 15);
    await insertProfiles(
      siteId,
      [
        { customerId: "late", lastOrderAt: midnight - 60_000 },
        { customerId: "early", lastOrderAt: midnight + 60_000 },
      ],
      [],
    );
    const profiles = await loadProfiles(siteId);
    for (const [expression, expected] of [
      ["days_since_last_order = 0", ["early"]],
      ["days_since_last_order = 1", ["late"]],
    ] as const) {
      const predicate = compileSegment(expression);
      const byEvaluator = [...profiles].filter(([, p]) => predicate(p, NOW)).map(([, p]) => p.customerId);
      const bySql = (await selectProfiles(db, siteId, expression, NOW)).map((r) => r.customerId);
      expect(byEvaluator).toEqual(expected);
      expect(bySql).toEqual(expected);
    }
  });

  it("compares strings case-sensitively, clusters by membership and attributes only within their type", async () => {
    const { select } = await fixture();
    expect(await select('attr.tier = "gold"')).toEqual(["a"]);
    expect(await select('attr.tier contains "old"')).toEqual(["C-crm-only", "a"]);
    expect(await select("attr.age = 41")).toEqual(["a"]);
    expect(await select('attr.age = "41"')).toEqual(["C-crm-only"]);
    expect(await select("attr.vip = true")).toEqual(["a"]);
    expect(await select("attr.vip != true")).toEqual([]);
    expect(await select('cluster contains ("rings", "gifts")')).toEqual(["a"]);
    expect(await select('cluster != "rings"')).toEqual(["C-crm-only"]);
    expect(await select('cluster in ("self", "gifts")')).toEqual(["a"]);
  });

  it("refuses, for SQL, an expression with more values than D1 binds", () => {
    const many = `orders in (${Array.from({ length: 95 }, (_, i) => i).join(", ")})`;
    expect(() => compileSegment(many)).not.toThrow();
    expect(() => segmentWhere(many, NOW)).toThrow(SegmentError);
  });
});
