/**
 * The steady-state decision is one keyed read of the visitor's decision row; the refresh that the
 * writers append to their batches reads every source through an index: a banner and a write cost
 * the same with ten conversions or ten million, and with ten products or a hundred thousand.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { holderCodesStatement } from "../../worker/coupons/person-codes";
import { createDb } from "../../worker/db/client";
import { capsRefreshStatements, codesRefreshStatements, refreshStatements } from "../../worker/decide/decision-rows";
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

/** The statement's query plan; fails on a table scan or a sort that is not over a JSON value. */
async function planOf(sql: string, params: unknown[], allowSmallSorts = false): Promise<string> {
  const plan = await env.DB.prepare(`explain query plan ${sql}`)
    .bind(...params)
    .all<{ id: number; parent: number; detail: string }>();
  const steps = plan.results;
  const described = `${sql}\n${steps.map((r) => r.detail).join("\n")}`;
  // json_each over one visitor's interests scans (and sorts) that small JSON value, not a table.
  const overJson = (parent: number) => steps.some((r) => r.parent === parent && r.detail.includes("VIRTUAL TABLE"));
  // A scan of a subquery's few rows (one person's codes, conversions, caps) reads no table.
  const tableScans = steps.filter(
    (r) =>
      /^SCAN /.test(r.detail) &&
      !r.detail.includes("VIRTUAL TABLE") &&
      !r.detail.startsWith("SCAN (subquery-") &&
      r.detail !== "SCAN CONSTANT ROW",
  );
  expect(tableScans, described).toEqual([]);
  if (allowSmallSorts) return described;
  const sorts = steps.filter((r) => r.detail.includes("TEMP B-TREE") && !overJson(r.parent));
  expect(sorts, described).toEqual([]);
  return described;
}

describe("the decision read's query plan", () => {
  it("is one keyed read of the decision row, and the writers' refresh searches an index in every part", async () => {
    const site = await bannerSite();
    const cookie = randomCookie();
    await insertVisitor(site.siteId, cookie, { customerId: "C-1" });
    const recorded: Recorded[] = [];
    const db = createDb(recordingDb(recorded));
    // The first decision of the isolate reads the site row too; the steady state only the row.
    await loadDecisionState(db, env, site.siteKey, { cookieId: cookie, partner: null }, Date.now());
    recorded.length = 0;
    await loadDecisionState(db, env, site.siteKey, { cookieId: cookie, partner: null }, Date.now());
    expect(recorded.length).toBe(1);
    const read = await planOf(recorded[0].sql, recorded[0].params);
    expect(read).toMatch(
      /SEARCH decision_rows USING INDEX sqlite_autoindex_decision_rows_1 \(site_id=\? AND cookie_id=\?\)/,
    );

    // The writers' refresh: every source through an index; it sorts only one person's few rows.
    for (const statement of refreshStatements(site.siteId, { cookies: [cookie], customers: ["C-1"] }, Date.now())) {
      await planOf(statement.text, statement.params, true);
    }
    const [upsert] = refreshStatements(site.siteId, { cookies: [cookie] }, Date.now());
    const refreshPlan = await planOf(upsert.text, upsert.params, true);
    // Never the site's visitors: only the touched ones, by cookie and by customer.
    expect(refreshPlan).not.toMatch(/SEARCH v USING INDEX \w+ \(site_id=\?\)/);
    // Nor a range of an index (`customer_id>?` read every linked visitor of the site: 90 ms a claim
    // on the bench's 100,000 visitors).
    expect(refreshPlan).not.toMatch(/\w+[<>]=?\?\)/);
    // The person's code copies and cap counts: by (site, holder), however many codes the pools hold.
    expect(refreshPlan).toMatch(
      /SEARCH person_codes USING INDEX sqlite_autoindex_person_codes_1 \(site_id=\? AND holder=\?\)/,
    );
    expect(refreshPlan).toMatch(
      /SEARCH person_caps USING INDEX sqlite_autoindex_person_caps_1 \(site_id=\? AND holder=\? AND day=\?\)/,
    );

    // A claim's and an impression's one-column refreshes: the person's rows by key and index only.
    for (const [statement] of [
      codesRefreshStatements(site.siteId, { cookies: [cookie], customers: ["C-1"] }, Date.now()),
      capsRefreshStatements(site.siteId, { cookies: [cookie] }, Date.now()),
    ]) {
      const plan = await planOf(statement.text, statement.params, true);
      expect(plan).not.toMatch(/\w+[<>]=?\?\)/);
      expect(plan).toMatch(/SEARCH decision_rows USING (COVERING )?INDEX decision_rows_customer_idx/);
    }
  });
});

describe("the claim's code copies", () => {
  it("read the holders' codes through the (pool, holder) index, never the site's codes", async () => {
    const site = await bannerSite();
    const recorded: Recorded[] = [];
    await holderCodesStatement(recordingDb(recorded) as unknown as D1Database, site.siteId, ["v:abc", "c:C-1"]).all();
    expect(recorded).toHaveLength(1);
    const plan = await planOf(recorded[0].sql, recorded[0].params, true);
    expect(plan).toMatch(/SEARCH coupons USING INDEX coupons_pool_holder_idx \(pool_id=\? AND holder=\?\)/);
  });
});
