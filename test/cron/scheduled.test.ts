import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generatePopulation, POPULATION_NOW } from "../../bench/lookalike-population";
import worker from "../../worker/index";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { addCustomer, addVisitor, cookie, membersOf } from "../audiences/helpers";
import { call, createTestSite, siteIdOf } from "../fixtures/api";

describe("cron trigger", () => {
  it("scores look-alikes, then refreshes every audience of every site with a dated size", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const people = generatePopulation(400, 11);
    const statements = people.map((p, i) =>
      env.DB.prepare(
        `insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, visits, pageviews, interests,
           cart_items, cart_value, last_purchase_at, acquisition)
         values (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).bind(
        siteId,
        cookie(1000 + i),
        p.input.lastSeenAt,
        p.input.visits,
        p.input.pageviews,
        JSON.stringify(p.input.interests),
        p.cart.items,
        p.cart.value,
        p.converted ? POPULATION_NOW : null,
        p.fromDisplay ? "display" : "direct",
      ),
    );
    await env.DB.batch(statements);
    await addCustomer(siteId, "N1", { first_order_at: POPULATION_NOW - 3 * DAY });
    await addVisitor(siteId, cookie(1), { customer_id: "N1" });

    const lookalikes = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Look-alikes", kind: "lookalike", params: { top: 40 } },
    });
    const { id: lookalikeId } = (await lookalikes.json()) as { id: number };
    const suppress = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "New customers", kind: "new_customers" },
    });
    const { id: suppressId } = (await suppress.json()) as { id: number };

    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: POPULATION_NOW, cron: "*/15 * * * *" }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);

    const scores = await env.DB.prepare(
      "select cookie_id, lookalike_score as s, last_purchase_at as p from visitors where site_id = ?",
    )
      .bind(siteId)
      .all<{ cookie_id: string; s: number | null; p: number | null }>();
    const buyers = scores.results.filter((r) => r.p !== null);
    // Non-buyers of the population (the linked new customer N1 is a buyer by its CRM record).
    const others = scores.results.filter((r) => r.p === null && r.cookie_id !== cookie(1));
    expect(buyers.length).toBeGreaterThan(20);
    expect(buyers.every((r) => r.s === null)).toBe(true);
    expect(others.every((r) => r.s !== null && r.s >= 0 && r.s <= 1)).toBe(true);

    const members = await membersOf(lookalikeId);
    expect(members).toHaveLength(40);
    // Members resemble converters: their hidden propensity beats the non-buyers' average.
    const propensityOf = new Map(people.map((p, i) => [cookie(1000 + i), p.propensity]));
    const mean = (ids: string[]) => ids.reduce((sum, id) => sum + (propensityOf.get(id) ?? 0), 0) / ids.length;
    const nonBuyers = others.map((r) => r.cookie_id).filter((id) => propensityOf.has(id));
    expect(mean(members)).toBeGreaterThan(mean(nonBuyers) * 1.2);

    expect(await membersOf(suppressId)).toEqual([cookie(1)]);
    const detail = (await (await call(`/api/v1/audiences/${suppressId}`, { key: apiKey })).json()) as {
      refreshed_at: number;
      sizes: { day: string; size: number }[];
    };
    expect(detail.refreshed_at).toBe(POPULATION_NOW);
    expect(detail.sizes).toEqual([{ day: "2026-06-01", size: 1 }]);
  });
});
