/**
 * worker/db/raw.ts and worker/db/client.ts: the one way to raw D1 and the one batch runner, and a
 * drizzle client built by drizzle() itself.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { runBatch, toD1 } from "../../worker/db/raw";
import { sites } from "../../worker/db/schema";

const keyOf = (label: string) => `raw-${label}-${crypto.randomUUID().slice(0, 8)}`;

describe("raw D1", () => {
  it("reaches the binding behind a drizzle client, and takes a binding as it is", () => {
    expect(toD1(createDb(env.DB))).toBe(env.DB);
    expect(toD1(env.DB)).toBe(env.DB);
  });

  it("runs `sql` fragments and hand-bound statements in one batch, in order, with their results", async () => {
    const key = keyOf("mixed");
    const results = await runBatch(createDb(env.DB), [
      sql`insert into sites (key, name) values (${key}, ${"first"})`,
      { text: "update sites set name = ?1 where key = ?2", params: ["second", key] },
      sql`select name from ${sites} where ${sites.key} = ${key}`,
    ]);
    expect(results).toHaveLength(3);
    expect(results[2].results).toEqual([{ name: "second" }]);
  });

  it("is one transaction: a failing statement undoes the ones before it", async () => {
    const key = keyOf("atomic");
    await expect(
      runBatch(env.DB, [
        sql`insert into sites (key, name) values (${key}, ${"kept?"})`,
        { text: "insert into no_such_table values (?1)", params: [1] },
      ]),
    ).rejects.toThrow();
    const db = createDb(env.DB);
    expect(await db.select().from(sites).where(eq(sites.key, key))).toEqual([]);
  });
});

describe("the drizzle client", () => {
  it("maps camelCase fields to snake_case columns, as the migrations name them", async () => {
    const db = createDb(env.DB);
    const key = keyOf("casing");
    await db.insert(sites).values({ key, name: "Casing", couponParam: "code" });
    const row = await toD1(db).prepare("select coupon_param from sites where key = ?1").bind(key).first();
    expect(row).toEqual({ coupon_param: "code" });
    const [site] = await db.select().from(sites).where(eq(sites.key, key));
    expect(site.couponParam).toBe("code");
  });

  it("has no relational `db.query` API: the per-request client is built without the schema", () => {
    // db/client.ts: the schema would cost ≈150 µs per client; nothing uses `db.query`.
    expect((createDb(env.DB) as unknown as { query?: unknown }).query).toEqual({});
  });
});
