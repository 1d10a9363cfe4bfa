/**
 * The steady-state decision is one statement, and every part of it reads through an index: a banner costs the same with ten
 * conversions or ten million, and with a catalogue of ten products or a hundred thousand.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { loadDecisionState } from "../../worker/decide/load";
import { bannerSite, insertVisitor, randomCookie } from "../fixtures/banner";

type Recorded = { sql: string; params: unknown[] };

/** The real D1 binding, recording each statement executed (alone or in a batch) with its bound values. */
function recordingDb(recorded: Recorded[]) {
  class Statement {
    constructor(
      readonly real: D1PreparedStatement,
      readonly sql: string,
    ) {}
    params: unknown[] = [];
    bind(...params: unknown[]) {
      const bound = new Statement(this.real.bind(...params), this.sql);
      bound.params = params;
      return bound;
    }
    first() {
      recorded.push({ sql: this.sql, params: this.params });
      return this.real.first();
    }
    all() {
      recorded.push({ sql: this.sql, params: this.params });
      return this.real.all();
    }
  }
  return {
    prepare: (sql: string) => new Statement(env.DB.prepare(sql), sql),
    batch: (statements: Statement[]) => {
      for (const s of statements) recorded.push({ sql: s.sql, params: s.params });
      return env.DB.batch(statements.map((s) => s.real));
    },
  } as unknown as D1Database;
}

describe("the decision read's query plan", () => {
  it("is one statement that searches an index in every part and sorts nothing", async () => {
    const site = await bannerSite();
    const cookie = randomCookie();
    await insertVisitor(site.siteId, cookie, { customerId: "C-1" });
    const recorded: Recorded[] = [];
    await loadDecisionState(
      createDb(recordingDb(recorded)),
      site.siteKey,
      { cookieId: cookie, partner: null },
      Date.now(),
    );
    expect(recorded.length).toBe(1);
    const plans: string[] = [];
    for (const { sql, params } of recorded) {
      const plan = await env.DB.prepare(`explain query plan ${sql}`)
        .bind(...params)
        .all<{ id: number; parent: number; detail: string }>();
      const steps = plan.results;
      const described = `${sql}\n${steps.map((r) => r.detail).join("\n")}`;
      plans.push(described);
      // json_each over one visitor's interests scans (and sorts) that small JSON value, not a table.
      const overJson = (parent: number) => steps.some((r) => r.parent === parent && r.detail.includes("VIRTUAL TABLE"));
      const tableScans = steps.filter((r) => /^SCAN /.test(r.detail) && !r.detail.includes("VIRTUAL TABLE"));
      expect(tableScans, described).toEqual([]);
      const sorts = steps.filter((r) => r.detail.includes("TEMP B-TREE") && !overJson(r.parent));
      expect(sorts, described).toEqual([]);
    }
    // The visitor's coupon assignments: one (pool, holder) lookup per pool, however big the pools.
    expect(plans.join("\n")).toContain("coupons_pool_holder_idx");
  });
});
