import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  groupByShard,
  leastFullShard,
  peopleFor,
  peopleOfSite,
  shardBindings,
  shardOf,
} from "../../worker/shards/routing";

const randomCookie = () =>
  [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("shard routing", () => {
  it("finds the four PEOPLE shards wrangler.toml declares for the tests, migrated from migrations/people", async () => {
    const shards = shardBindings(env);
    expect(shards).toHaveLength(4);
    for (const d1 of shards) {
      const tables = await d1.prepare("select name from sqlite_master where type = 'table'").all<{ name: string }>();
      const names = tables.results.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining([
          "visitors",
          "customers",
          "decision_rows",
          "events",
          "person_caps",
          "person_codes",
          "products",
        ]),
      );
      // HOME's configuration is not there: a shard holds people only.
      expect(names).not.toContain("sites");
      expect(names).not.toContain("coupons");
    }
  });

  it("puts a key on the same shard every time, and the same key on the same shard in every isolate", () => {
    // Fixed vectors: a change of the hash would move every stored row, so it must fail here first.
    expect(shardOf([0, 1, 2, 3], "0123456789abcdef0123456789abcdef")).toBe(
      shardOf([0, 1, 2, 3], "0123456789abcdef0123456789abcdef"),
    );
    expect([0, 1, 2, 3].map((k) => shardOf([0, 1, 2, 3], `cookie-${k}`))).toEqual([2, 1, 0, 3]);
    expect(shardOf([3], "anything")).toBe(3);
    expect(shardOf([1, 3], "customer-42")).toBeOneOf([1, 3]);
    expect(() => shardOf([], "x")).toThrow(/empty shard set/);
  });

  it("spreads random cookie IDs evenly over a set", () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const k = shardOf([0, 1, 2, 3], randomCookie());
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const n of counts.values()) expect(n / 20_000).toBeGreaterThan(0.23);
  });

  it("sends a site without a set to HOME, and a site with one to the shard of the key", () => {
    expect(peopleFor(env, { shards: null }, "abc").d1).toBe(env.DB);
    expect(peopleFor(env, { shards: null }, "abc").shard).toBeNull();
    const people = peopleFor(env, { shards: [1, 2] }, "abc");
    expect(people.shard).toBe(shardOf([1, 2], "abc"));
    expect(people.d1).toBe(shardBindings(env)[people.shard as number]);
    expect(peopleOfSite(env, { shards: [2, 0] }).map((p) => p.shard)).toEqual([2, 0]);
    expect(peopleOfSite(env, { shards: null }).map((p) => p.d1)).toEqual([env.DB]);
    expect(() => peopleFor(env, { shards: [7] }, "abc")).toThrow(/7 is not bound/);
  });

  it("groups keys into one batch per shard", () => {
    const cookies = Array.from({ length: 200 }, randomCookie);
    const groups = groupByShard(env, { shards: [0, 1, 2, 3] }, cookies, (c) => c);
    expect(groups.length).toBe(4);
    expect(groups.flatMap((g) => g.items).sort()).toEqual([...cookies].sort());
    for (const group of groups) for (const c of group.items) expect(shardOf([0, 1, 2, 3], c)).toBe(group.people.shard);
    expect(groupByShard(env, { shards: null }, cookies, (c) => c)).toHaveLength(1);
    expect(groupByShard(env, { shards: null }, [], (c: string) => c)).toEqual([]);
  });

  it("places a new site on the shard that holds the fewest bytes", async () => {
    const [first, second, third, fourth] = shardBindings(env);
    const filler = "x".repeat(2_000);
    const rows = (d1: D1Database, n: number) =>
      d1.batch(
        Array.from({ length: n }, (_, i) =>
          d1
            .prepare(
              "insert into events (site_id, cookie_id, type, ts, received_at, url) values (1, ?, 'page', 0, 0, ?)",
            )
            .bind(`c${i}`, filler),
        ),
      );
    // Every shard but the third gets pages of data; the third stays as migrated.
    for (const d1 of [first, second, fourth]) await rows(d1 as D1Database, 200);
    expect(third).toBeDefined();
    expect(await leastFullShard(env)).toBe(2);
  });
});
