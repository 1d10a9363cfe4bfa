/**
 * Property tests of the management API and the imports with hostile bodies: a clear 4xx or a
 * success, never a 5xx; a created resource reads back exactly as sent; an import keeps every valid
 * row of a file that also carries hostile ones, and writes nothing of the bad ones.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countRows } from "../collect/post-events";
import { call, createTestSite, expectClear, importCsv, siteIdOf } from "../fixtures/api";
import { csvCell, hostileObject, nestedObject, shortHostileString } from "./arbitraries";

const RUNS = 25;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const wellFormed = (value: string) => value.replace(LONE_SURROGATE, "\uFFFD");

const BODIES: [string, string, string[]][] = [
  ["POST", "/api/v1/segments", ["name", "expression"]],
  ["POST", "/api/v1/segments/preview", ["expression"]],
  ["POST", "/api/v1/creatives", ["name", "format", "template", "width", "height", "landing_url"]],
  ["POST", "/api/v1/pools", ["name", "kind", "prefix", "valid_days", "discount"]],
  ["POST", "/api/v1/rules", ["name", "placement", "segment_id", "creative_id", "pool_id", "priority", "cap_per_day"]],
  ["POST", "/api/v1/partners", ["key", "name", "sync_url"]],
  ["POST", "/api/v1/audiences", ["name", "kind", "segment_id", "params"]],
  ["PATCH", "/api/v1/site", ["name", "allowed_origins", "cookie_domain", "consent_mode", "holdout", "retention_days"]],
  ["POST", "/api/v1/users", ["email", "password", "role"]],
  ["POST", "/api/v1/visitor-tokens", ["cookie_id"]],
  ["POST", "/api/v1/coupons/redeem", ["code", "order"]],
];

/** The table a create writes to: its row count must equal the number of 201 answers. */
const TABLE_OF: Record<string, string> = {
  "/api/v1/segments": "segments",
  "/api/v1/creatives": "creatives",
  "/api/v1/pools": "coupon_pools",
  "/api/v1/rules": "rules",
  "/api/v1/partners": "partners",
  "/api/v1/audiences": "audiences",
  "/api/v1/users": "admin_users",
};

describe("management API bodies", () => {
  for (const [method, path, keys] of BODIES) {
    it(`${method} ${path} answers a clear 4xx or success to hostile bodies, never a 5xx`, async () => {
      const { apiKey, siteKey } = await createTestSite();
      let created = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            hostileObject(keys).map((o) => JSON.stringify(o)),
            shortHostileString,
            fc.constant(nestedObject(5_000)),
            fc.constant(JSON.stringify({ name: "n".repeat(3_000_000) })),
          ),
          async (body) => {
            const res = await call(path, {
              method,
              key: apiKey,
              body,
              headers: { "Content-Type": "application/json" },
            });
            await expectClear(res);
            if (method === "POST" && res.status === 201) created++;
          },
        ),
        { numRuns: RUNS },
      );
      // Nothing partially written: a refused create leaves no row behind.
      const table = TABLE_OF[path];
      if (table) expect(await countRows(table, "site_id = ?", await siteIdOf(siteKey))).toBe(created);
    });
  }

  it("stores hostile segment names verbatim and reads them back exactly", async () => {
    const { apiKey } = await createTestSite();
    let readBack = 0;
    await fc.assert(
      fc.asyncProperty(
        shortHostileString.filter((s) => s.trim().length > 0 && s === wellFormed(s)),
        async (name) => {
          const res = await call("/api/v1/segments", {
            method: "POST",
            key: apiKey,
            json: { name, expression: "visits > 1" },
          });
          await expectClear(res);
          if (res.status !== 201) return;
          const { id } = (await res.json()) as { id: number };
          const back = (await (await call(`/api/v1/segments/${id}`, { key: apiKey })).json()) as { name: string };
          // Names are trimmed; otherwise every well-formed string comes back unchanged. (A lone
          // surrogate is not valid UTF-8: D1 stores replacement characters for it.)
          expect(back.name).toBe(name.trim());
          readBack++;
        },
      ),
      { numRuns: RUNS },
    );
    // The property says something only if some names were accepted and read back.
    expect(readBack).toBeGreaterThan(0);
  });
});

describe("imports with hostile CSV", () => {
  it("keeps every valid row and writes nothing of the bad ones, never a 5xx", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    let batch = 0;
    let imported = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ good: fc.constant(true), gender: shortHostileString, cluster: shortHostileString }),
            fc.record({ good: fc.constant(false), gender: shortHostileString, cluster: shortHostileString }),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        async (rows) => {
          batch++;
          const lines = ["customer_id,orders,gender,clusters"];
          rows.forEach((row, i) => {
            // A bad row: an order count that is not a number.
            const orders = row.good ? String(i) : "not-a-number";
            lines.push(
              [
                csvCell(`F${batch}-${i}`),
                orders,
                csvCell(row.gender.slice(0, 50)),
                csvCell(row.cluster.slice(0, 50)),
              ].join(","),
            );
          });
          const res = await importCsv(apiKey, lines.join("\n"));
          await expectClear(res);
          if (res.status !== 200) return;
          const result = (await res.json()) as { accepted: number; rejected: { line: number }[] };
          const good = rows.filter((r) => r.good).length;
          expect(result.accepted).toBe(good);
          expect(await countRows("customers", "site_id = ? and customer_id like ?", siteId, `F${batch}-%`)).toBe(good);
          for (const [i, row] of rows.entries()) {
            const stored = await env.DB.prepare("select 1 from customers where site_id = ? and customer_id = ?")
              .bind(siteId, `F${batch}-${i}`)
              .first();
            expect(stored !== null).toBe(row.good);
          }
          imported++;
        },
      ),
      { numRuns: RUNS },
    );
    // The row checks above ran for real files, not only for refused ones.
    expect(imported).toBeGreaterThan(0);
  });

  it("answers a clear 4xx to CSV and NDJSON garbage, never a 5xx", async () => {
    const { apiKey } = await createTestSite();
    await fc.assert(
      fc.asyncProperty(
        shortHostileString,
        fc.constantFrom("text/csv", "application/x-ndjson", "application/json", "text/plain", "x/y"),
        fc.constantFrom("/api/v1/import/customers", "/api/v1/import/links"),
        async (body, type, path) => {
          const res = await call(path, { method: "POST", key: apiKey, body, headers: { "Content-Type": type } });
          await expectClear(res);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
