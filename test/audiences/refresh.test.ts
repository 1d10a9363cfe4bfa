import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { refreshAudience } from "../../worker/audiences/refresh";
import { getAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { call, createTestSite, errorOf, siteIdOf } from "../fixtures/api";
import { HOME_PEOPLE } from "../shards/people-fixture";
import { addCustomer, addVisitor, cookie, membersOf, T0 } from "./helpers";

const db = createDb(env.DB);

async function newAudience(apiKey: string, json: Record<string, unknown>) {
  const res = await call("/api/v1/audiences", { method: "POST", key: apiKey, json });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: number; params: Record<string, unknown> };
}

async function refreshAt(siteId: number, audienceId: number, now: number, range?: number) {
  return refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, audienceId), now, { range });
}

describe("audience API", () => {
  it("validates parameters per kind and fills defaults", async () => {
    const { apiKey } = await createTestSite();
    expect((await newAudience(apiKey, { name: "New", kind: "new_customers" })).params).toEqual({ days: 28 });
    expect((await newAudience(apiKey, { name: "LA", kind: "lookalike", params: { top: 100 } })).params).toEqual({
      top: 100,
    });
    const bad = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "x", kind: "dormant", params: { days: -3 } },
    });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain("params.days");
    const noSegment = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "x", kind: "segment" },
    });
    expect((await errorOf(noSegment)).message).toContain("segment_id");
    const noCluster = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "x", kind: "cluster" },
    });
    expect(noCluster.status).toBe(400);
  });

  it("hides another site's audience behind 404 and refreshes one through the API", async () => {
    const { apiKey } = await createTestSite();
    const other = await createTestSite();
    const audience = await newAudience(apiKey, { name: "Carts", kind: "cart_abandoners", params: { hours: 1 } });
    expect((await call(`/api/v1/audiences/${audience.id}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/v1/audiences/${audience.id}/refresh`, { method: "POST", key: other.apiKey })).status).toBe(
      404,
    );
    const res = await call(`/api/v1/audiences/${audience.id}/refresh`, { method: "POST", key: apiKey });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { refreshed_at: number | null }).refreshed_at).toBeGreaterThan(0);
  });
});

describe("audience refresh", () => {
  it("moves the rolling new-customer window with the clock: in on day 28, out on day 29", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await addCustomer(siteId, "C-new", { first_order_at: T0 });
    await addCustomer(siteId, "C-old", { first_order_at: T0 - 60 * DAY });
    await addVisitor(siteId, cookie(1), { customer_id: "C-new" });
    await addVisitor(siteId, cookie(2), { customer_id: "C-old" });
    await addVisitor(siteId, cookie(3));
    const audience = await newAudience(apiKey, { name: "Suppress", kind: "new_customers", params: { days: 28 } });

    expect(await refreshAt(siteId, audience.id, T0 + 28 * DAY)).toEqual({ size: 1 });
    expect(await membersOf(audience.id)).toEqual([cookie(1)]);
    expect(await refreshAt(siteId, audience.id, T0 + 29 * DAY)).toEqual({ size: 0 });
    expect(await membersOf(audience.id)).toEqual([]);

    const detail = (await (await call(`/api/v1/audiences/${audience.id}`, { key: apiKey })).json()) as {
      size: number;
      sizes: { day: string; size: number }[];
    };
    expect(detail.size).toBe(0);
    expect(detail.sizes).toEqual([
      { day: "2026-01-29", size: 1 },
      { day: "2026-01-30", size: 0 },
    ]);
  });

  it("gives the same list when run twice, and across several ID ranges", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    for (let i = 1; i <= 30; i++) {
      await addVisitor(siteId, cookie(100 + i), {
        cart_items: i % 3 === 0 ? 0 : 2,
        cart_updated_at: T0 - i * 3_600_000,
        last_purchase_at: i % 5 === 0 ? T0 : null,
      });
    }
    const audience = await newAudience(apiKey, { name: "Carts", kind: "cart_abandoners", params: { hours: 4 } });
    const first = await refreshAt(siteId, audience.id, T0, 7);
    const firstMembers = await membersOf(audience.id);
    const second = await refreshAt(siteId, audience.id, T0, 7);
    expect(second).toEqual(first);
    expect(await membersOf(audience.id)).toEqual(firstMembers);
    // Carts at least 4 hours old, not emptied, no purchase since: i >= 4, i % 3 != 0, i % 5 != 0.
    const expected = [];
    for (let i = 4; i <= 30; i++) if (i % 3 !== 0 && i % 5 !== 0) expected.push(cookie(100 + i));
    expect(firstMembers).toEqual(expected.sort());
  });

  it("selects dormant customers, cluster members and the top look-alikes", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await addCustomer(siteId, "D1", {
      first_order_at: T0 - 400 * DAY,
      last_order_at: T0 - 200 * DAY,
      clusters: ["rings"],
    });
    await addCustomer(siteId, "D2", { first_order_at: T0 - 30 * DAY, clusters: ["watches", "rings"] });
    await addVisitor(siteId, cookie(1), { customer_id: "D1" });
    await addVisitor(siteId, cookie(2), { customer_id: "D2" });
    for (let i = 0; i < 5; i++) await addVisitor(siteId, cookie(10 + i), { lookalike_score: i / 10 });
    await addVisitor(siteId, cookie(20), { lookalike_score: 0.99, last_purchase_at: T0 });

    const dormant = await newAudience(apiKey, { name: "Dormant", kind: "dormant", params: { days: 180 } });
    await refreshAt(siteId, dormant.id, T0);
    expect(await membersOf(dormant.id)).toEqual([cookie(1)]);

    const watches = await newAudience(apiKey, { name: "W", kind: "cluster", params: { cluster: "watches" } });
    await refreshAt(siteId, watches.id, T0);
    expect(await membersOf(watches.id)).toEqual([cookie(2)]);

    const top = await newAudience(apiKey, { name: "Top", kind: "lookalike", params: { top: 2 } });
    await refreshAt(siteId, top.id, T0);
    expect(await membersOf(top.id)).toEqual([cookie(13), cookie(14)]);
    const above = await newAudience(apiKey, { name: "Above", kind: "lookalike", params: { threshold: 0.2 } });
    await refreshAt(siteId, above.id, T0);
    expect(await membersOf(above.id)).toEqual([cookie(12), cookie(13), cookie(14)]);
  });

  it("selects a segment's visitors through the compiled segment expression", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await addCustomer(siteId, "S1", { first_order_at: T0 - 10 * DAY, clusters: ["rings"] });
    await addCustomer(siteId, "S2", { first_order_at: T0 - 10 * DAY, clusters: ["watches"] });
    await addVisitor(siteId, cookie(1), { customer_id: "S1" });
    await addVisitor(siteId, cookie(2), { customer_id: "S2" });
    await addVisitor(siteId, cookie(3), { cart_items: 2, cart_updated_at: T0 - 5 * 3_600_000 });
    const segment = await call("/api/v1/segments", {
      method: "POST",
      key: apiKey,
      json: { name: "Rings or carts", expression: 'cluster = "rings" or (cart_items > 0 and not customer)' },
    });
    expect(segment.status).toBe(201);
    const { id: segmentId } = (await segment.json()) as { id: number };
    const audience = await newAudience(apiKey, { name: "Seg", kind: "segment", segment_id: segmentId });
    expect(await refreshAt(siteId, audience.id, T0)).toEqual({ size: 2 });
    expect(await membersOf(audience.id)).toEqual([cookie(1), cookie(3)]);
  });
});
