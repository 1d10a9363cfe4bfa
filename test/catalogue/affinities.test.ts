/**
 * Products that match the person (README.md, "Next best offer"): item-to-item affinities from the
 * site's own co-views and cart adds, recomputed by the cron, shown by `{{product_*}}` when the cart
 * is empty — the cart's last item first, the best available match next, the newest product of the
 * top category last, never out of stock.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { affinityRunDue, recomputeProductAffinities } from "../../worker/catalogue/affinities";
import { rebuiltDecisionRow } from "../../worker/decide/decision-rows";
import { MS_PER_DAY } from "../../worker/lib/time";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { event, postEvents, SHOP } from "../collect/post-events";
import { call } from "../fixtures/api";
import { bannerJson, bannerSite } from "../fixtures/banner";
import { peopleDbFor } from "../fixtures/people";

async function shop() {
  const s = await bannerSite({ allowed_origins: [SHOP] });
  await s.rule({ creative_id: await s.creative("json", { sku: "{{product_sku}}" }) });
  return s;
}

async function catalogue(apiKey: string, csv: string) {
  const res = await call("/api/v1/products", {
    method: "POST",
    key: apiKey,
    headers: { "Content-Type": "text/csv" },
    body: `sku,name,category,price,available\n${csv}`,
  });
  expect(res.status).toBe(200);
}

/** A visitor who viewed `skus` (category "rings") through `POST /e`, and carted `carted`. */
async function viewer(siteKey: string, skus: string[], carted: string[] = []) {
  const cookie = newCookieId();
  const events = [
    ...skus.map((sku) => event("view", { sku, category: "rings" })),
    ...carted.map((sku) => event("cart", { action: "add", sku, qty: 1, price: 10 })),
  ];
  expect((await postEvents({ site: siteKey, events }, { cookie })).status).toBe(204);
  return cookie;
}

const shown = async (siteKey: string, cookie: string) =>
  ((await bannerJson(siteKey, "slot", cookie)).creative.body as { sku: string }).sku;

describe("product affinities", () => {
  it("show the best available match for what the visitor viewed, then the newest of the top category", async () => {
    const s = await shop();
    await catalogue(
      s.apiKey,
      "A,Ring A,rings,10,true\nB,Ring B,rings,10,true\nC,Ring C,rings,10,true\nZ,Ring Z,rings,10,true",
    );
    // Four people viewed A and B, two viewed A and C: B is A's best match, C the next.
    for (let i = 0; i < 4; i++) await viewer(s.siteKey, ["A", "B"]);
    for (let i = 0; i < 2; i++) await viewer(s.siteKey, ["A", "C"]);
    const justA = await viewer(s.siteKey, ["A"]);
    const carting = await viewer(s.siteKey, ["A"], ["Z"]);
    // Before the cron: no affinities, the newest product of the top category (the last imported).
    const newest = await shown(s.siteKey, justA);
    expect(["A", "B", "C", "Z"]).toContain(newest);

    const now = Date.now();
    // The site's own set (a new site is on a shard), as the cron passes it.
    const set = await env.DB.prepare("select shards from sites where id = ?")
      .bind(s.siteId)
      .first<{ shards: string | null }>();
    const shards = set?.shards ? (JSON.parse(set.shards) as number[]) : null;
    expect(await recomputeProductAffinities(env, { id: s.siteId, shards }, now)).toBeGreaterThan(0);
    expect(await shown(s.siteKey, justA)).toBe("B");
    // The cart's last item comes first, match or not.
    expect(await shown(s.siteKey, carting)).toBe("Z");

    // Out of stock: never shown; the next match takes its place, and the refreshed row is the rebuilt one.
    await catalogue(s.apiKey, "B,Ring B,rings,10,false");
    expect(await shown(s.siteKey, justA)).toBe("C");
    await catalogue(s.apiKey, "C,Ring C,rings,10,false");
    expect(["A", "Z"]).toContain(await shown(s.siteKey, justA));
    const stored = await env.DB.prepare(
      "select product_sku as sku from decision_rows where site_id = ?1 and cookie_id = ?2",
    )
      .bind(s.siteId, justA)
      .first<{ sku: string }>();
    expect(stored?.sku).toBe((await rebuiltDecisionRow(env.DB, s.siteId, justA, Date.now()))?.productSku);
    expect(stored?.sku).not.toBe("B");
  });

  it("are recomputed by the first cron run of each UTC day", () => {
    const midnight = Math.floor(Date.now() / MS_PER_DAY) * MS_PER_DAY;
    expect(affinityRunDue(midnight + 5 * 60_000)).toBe(true);
    expect(affinityRunDue(midnight + 15 * 60_000)).toBe(false);
    expect(affinityRunDue(midnight + 12 * 3_600_000)).toBe(false);
  });

  it("keep the visitor's recent products newest last, each once, at most twelve", async () => {
    const s = await shop();
    const skus = Array.from({ length: 14 }, (_, i) => `S${i}`);
    const cookie = await viewer(s.siteKey, skus);
    await postEvents({ site: s.siteKey, events: [event("view", { sku: "S5", category: "rings" })] }, { cookie });
    const row = await (await peopleDbFor(s.siteId, cookie))
      .prepare("select recent_skus from visitors where site_id = ?1 and cookie_id = ?2")
      .bind(s.siteId, cookie)
      .first<{ recent_skus: string }>();
    expect(JSON.parse(row!.recent_skus)).toEqual([...skus.slice(2).filter((sku) => sku !== "S5"), "S5"]);
  });
});
