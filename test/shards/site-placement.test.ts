import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardBindings } from "../../worker/shards/routing";
import { call, OPERATOR_TOKEN } from "../fixtures/api";

const create = (json: Record<string, unknown>) =>
  call("/api/v1/sites", { method: "POST", key: OPERATOR_TOKEN, json: { name: "Shop", ...json } });

const shardsOf = (key: string) =>
  env.DB.prepare("select shards from sites where key = ?").bind(key).first<string | null>("shards");

describe("a new site's shard set", () => {
  it("is the least-full shard unless the operator names a set", async () => {
    // Shard 2 is the emptiest: the others get rows of some other site's people.
    const [first, second, , fourth] = shardBindings(env);
    for (const d1 of [first, second, fourth] as D1Database[]) {
      await d1.batch(
        Array.from({ length: 100 }, (_, i) =>
          d1
            .prepare(
              "insert into events (site_id, cookie_id, type, ts, received_at, url) values (999, ?, 'page', 0, 0, ?)",
            )
            .bind(`c${i}`, "x".repeat(2_000)),
        ),
      );
    }
    const placed = await create({ key: "placed-shop" });
    expect(placed.status).toBe(201);
    expect(((await placed.json()) as { shards: number[] }).shards).toEqual([2]);
    expect(JSON.parse((await shardsOf("placed-shop")) as string)).toEqual([2]);

    const spread = await create({ key: "big-shop", shards: [1, 3] });
    expect(spread.status).toBe(201);
    expect(JSON.parse((await shardsOf("big-shop")) as string)).toEqual([1, 3]);
  });

  it("refuses a shard the deployment does not bind, or one named twice, and creates nothing", async () => {
    const unknown = await create({ key: "no-such-shard", shards: [0, 7] });
    expect(unknown.status).toBe(422);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_shard");
    const twice = await create({ key: "twice", shards: [1, 1] });
    expect(twice.status).toBe(400);
    const empty = await create({ key: "empty-set", shards: [] });
    expect(empty.status).toBe(400);
    for (const key of ["no-such-shard", "twice", "empty-set"]) {
      expect(await env.DB.prepare("select count(*) as n from sites where key = ?").bind(key).first("n")).toBe(0);
    }
  });
});
