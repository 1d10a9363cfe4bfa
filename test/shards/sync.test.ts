/**
 * Cookie sync on a site with a shard set (docs/architecture.md, "Shards"): an id_links row lives on
 * the shard of its partner user ID, resolvePartner() finds it there, and what starts from cookies
 * (exports, partner deletion) asks every shard of the set and no other.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardBindings, shardOf } from "../../worker/shards/routing";
import { partnerIdsOfCookies, resolvePartner } from "../../worker/sync/cookie-sync";
import { call } from "../fixtures/api";
import { countsByDatabase, randomCookie, shardedSite } from "./helpers";

async function shardedSiteWithPartner(set: number[]) {
  const site = await shardedSite(set);
  const res = await call("/api/v1/partners", { method: "POST", key: site.apiKey, json: { key: "net", name: "Net" } });
  expect(res.status).toBe(201);
  return { ...site, partnerId: ((await res.json()) as { id: number }).id };
}

async function sync(siteKey: string, puid: string, cookie: string) {
  const res = await call(`/sync?site=${siteKey}&p=net&puid=${encodeURIComponent(puid)}`, {
    headers: { Cookie: `tw_id=${cookie}` },
  });
  expect(res.status).toBe(200);
}

describe("cookie sync on a shard set", () => {
  for (const set of [
    [0, 1, 2, 3],
    [1, 3],
  ]) {
    it(`puts each link on the shard of its partner ID in ${JSON.stringify(set)}, and resolves it there`, async () => {
      const site = await shardedSiteWithPartner(set);
      const site1 = { id: site.siteId, shards: set };
      const cookies = Array.from({ length: 16 }, randomCookie);
      for (const [i, cookie] of cookies.entries()) await sync(site.siteKey, `U-${i}`, cookie);
      const expected = [0, 0, 0, 0];
      for (let i = 0; i < cookies.length; i++) expected[shardOf(set, `net:U-${i}`)]++;
      const counts = await countsByDatabase("id_links", site.siteId);
      expect(counts).toEqual({ home: 0, shards: expected });
      for (const [i, cookie] of cookies.entries()) {
        expect(await resolvePartner(env, site1, "net", `U-${i}`)).toBe(cookie);
      }
      expect(await resolvePartner(env, site1, "net", "U-unknown")).toBeNull();
      expect(await resolvePartner(env, site1, "other", "U-0")).toBeNull();
    });
  }

  it("answers each cookie's latest partner ID over every shard, for exports in the partner's space", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSiteWithPartner(set);
    const [a, b, c] = [randomCookie(), randomCookie(), randomCookie()];
    // a synced twice under partner IDs on (most likely) different shards: the latest one is its ID.
    await sync(site.siteKey, "first", a);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await sync(site.siteKey, "second", a);
    await sync(site.siteKey, "bee", b);
    const ids = await partnerIdsOfCookies(env, { id: site.siteId, shards: set }, "net", [a, b, c]);
    expect(Object.fromEntries(ids)).toEqual({ [a]: "second", [b]: "bee" });
  });

  it("does not link a visitor whose row on its shard refused consent", async () => {
    const set = [0, 1, 2, 3];
    const site = await shardedSiteWithPartner(set);
    const cookie = randomCookie();
    await shardBindings(env)
      [shardOf(set, cookie)].prepare(
        `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, consent) values (?, ?, 0, 0, 'denied')`,
      )
      .bind(site.siteId, cookie)
      .run();
    await sync(site.siteKey, "U-denied", cookie);
    expect(await resolvePartner(env, { id: site.siteId, shards: set }, "net", "U-denied")).toBeNull();
  });

  it("deleting the partner deletes its links on every shard of the set", async () => {
    const set = [1, 3];
    const site = await shardedSiteWithPartner(set);
    for (let i = 0; i < 8; i++) await sync(site.siteKey, `U-${i}`, randomCookie());
    expect((await countsByDatabase("id_links", site.siteId)).shards.reduce((x, y) => x + y)).toBe(8);
    const res = await call(`/api/v1/partners/${site.partnerId}`, { method: "DELETE", key: site.apiKey });
    expect(res.status).toBe(204);
    expect(await countsByDatabase("id_links", site.siteId)).toEqual({ home: 0, shards: [0, 0, 0, 0] });
  });
});
