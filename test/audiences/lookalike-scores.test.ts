/**
 * Look-alike scores learn from real signals (worker/audiences/lookalike-scores.ts): visitors who
 * landed with `utm_medium=display` and then bought, all sent through `POST /e`, are the positives;
 * a look-alike audience refreshed through the API retrains and scores the visitors who did not buy.
 */
import { describe, expect, it } from "vitest";
import type { LookalikeModelJson } from "../../worker/audiences/lookalike-model";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { event, postEvents, SHOP, visitorOf } from "../collect/post-events";
import { createAdminUser, sessionCookie } from "../fixtures/admin";
import { call, createTestSite } from "../fixtures/api";
import { csvIds } from "./helpers";

async function visit(siteKey: string, landing: string, events: unknown[]) {
  const cookie = newCookieId();
  const res = await postEvents(
    { site: siteKey, events: [event("page", undefined, { url: `${SHOP}${landing}` }), ...events] },
    { cookie },
  );
  expect(res.status).toBe(204);
  return cookie;
}

const view = (sku: string, category: string) => event("view", { sku, category, price: 120 });

describe("look-alike scores from the event path", () => {
  it("trains on display-acquired buyers and scores a similar visitor above a dissimilar one", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    // Buyers and browsers alternate, so that arrival order (recency) tells the model nothing.
    let similar = "";
    let dissimilar = "";
    for (let i = 0; i < 12; i++) {
      await visit(siteKey, `/watches?utm_source=net&utm_medium=display&n=${i}`, [
        view(`W-${i}`, "watches"),
        view(`W-${i + 1}`, "watches"),
        event("purchase", { order: `O-${i}`, value: 240 }),
      ]);
      await visit(siteKey, `/sale?n=${i}`, [view(`S-${i}`, "sale")]);
      if (i === 6) {
        similar = await visit(siteKey, "/watches", [view("W-1", "watches"), view("W-2", "watches")]);
        dissimilar = await visit(siteKey, "/sale", [view("S-1", "sale")]);
      }
    }
    // Bought without arriving from display: not a positive (acquisition "other").
    const organicBuyer = await visit(siteKey, "/", [event("purchase", { order: "O-x", value: 10 })]);
    expect(await visitorOf(organicBuyer)).toMatchObject({ acquisition: "other" });

    const created = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Look-alikes", kind: "lookalike", params: { top: 1 } },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const refreshed = await call(`/api/v1/audiences/${id}/refresh`, { method: "POST", key: apiKey });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { size: number }).size).toBe(1);

    const scoreOf = async (cookie: string) => (await visitorOf(cookie))?.lookalike_score as number | null;
    expect(await scoreOf(similar)).toBeGreaterThan(0.5);
    expect(await scoreOf(dissimilar)).toBeLessThan(0.5);
    expect(await scoreOf(organicBuyer)).toBeNull();
    const exported = await call(`/api/v1/audiences/${id}/export?format=csv`, { key: apiKey });
    expect(csvIds(await exported.text())).toEqual([similar]);
    // Judged on held-out people: AUC and top-decile lift as numbers.
    const shown = (await (await call(`/api/v1/audiences/${id}`, { key: apiKey })).json()) as {
      model: LookalikeModelJson;
    };
    expect(shown.model).toMatchObject({ status: "trained", positives: 12, reason: null });
    expect(shown.model.auc).toBeGreaterThan(0.5);
    expect(shown.model.top_decile_lift).toBeGreaterThan(1);
  });

  it("leaves scores alone while fewer than ten display-acquired visitors bought", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    for (let i = 0; i < 5; i++) {
      await visit(siteKey, "/?utm_medium=display", [event("purchase", { order: `O-${i}`, value: 50 })]);
    }
    // Bought, but not won through display: these never make the model train.
    for (let i = 0; i < 10; i++) {
      await visit(siteKey, "/?utm_medium=email", [event("purchase", { order: `E-${i}`, value: 50 })]);
    }
    const browsing = await visit(siteKey, "/", [view("W-1", "watches")]);
    const created = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Look-alikes", kind: "lookalike" },
    });
    const { id } = (await created.json()) as { id: number };
    const refreshed = await call(`/api/v1/audiences/${id}/refresh`, { method: "POST", key: apiKey });
    expect(((await refreshed.json()) as { size: number }).size).toBe(0);
    expect((await visitorOf(browsing))?.lookalike_score).toBeNull();
    // The refusal is shown with its reason, in the API and on the admin's audience page.
    const shown = (await (await call(`/api/v1/audiences/${id}`, { key: apiKey })).json()) as {
      model: LookalikeModelJson;
    };
    expect(shown.model).toMatchObject({ status: "refused", positives: 5, auc: null });
    expect(shown.model.reason).toContain("too few positives: 5");
    const { email } = await createAdminUser(siteKey, "viewer");
    const page = await (await call("/admin/audiences", { headers: { Cookie: await sessionCookie(email) } })).text();
    expect(page).toContain("Look-alike training refused");
    expect(page).toContain("at least 10 are needed");
  });

  it("scores identical non-buyers the same whatever their cart holds: a purchase empties the cart, so cart state is no feature", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const add = (sku: string) => event("cart", { action: "add", sku, category: "watches", price: 120, qty: 1 });
    for (let i = 0; i < 14; i++) {
      // Buyers put a watch in the cart and bought it: their cart is empty afterwards.
      await visit(siteKey, `/watches?utm_medium=display&n=${i}`, [
        view("W-1", "watches"),
        view("W-2", "watches"),
        add("W-1"),
        event("purchase", { order: `O-${i}`, value: 120 }),
      ]);
      await visit(siteKey, `/sale?n=${i}`, [view(`S-${i}`, "sale")]);
    }
    // 30 watch-heavy non-buyers, alike in everything but an item still in the cart of some of them.
    const lookalikes: { cookie: string; cart: boolean }[] = [];
    for (let i = 0; i < 30; i++) {
      const cart = i % 3 === 0;
      const events = [view("W-1", "watches"), view("W-2", "watches"), ...(cart ? [add("W-1")] : [])];
      lookalikes.push({ cookie: await visit(siteKey, "/watches", events), cart });
    }
    const created = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Look-alikes", kind: "lookalike", params: { threshold: 0.5 } },
    });
    const { id } = (await created.json()) as { id: number };
    expect((await call(`/api/v1/audiences/${id}/refresh`, { method: "POST", key: apiKey })).status).toBe(200);

    const scores = await Promise.all(
      lookalikes.map(async (l) => (await visitorOf(l.cookie))?.lookalike_score as number),
    );
    const withCart = scores.filter((_, i) => lookalikes[i].cart);
    const without = scores.filter((_, i) => !lookalikes[i].cart);
    // The same score (up to the milliseconds between their visits, which recency reads).
    for (const score of scores) expect(score).toBeCloseTo(scores[0], 3);
    expect(Math.max(...withCart) - Math.min(...without)).toBeLessThan(0.01);
    // And they do resemble the buyers: watch lovers, not bargain hunters.
    expect(scores[0]).toBeGreaterThan(0.5);

    // Quality on held-out people is measured after the training and shown with the audience.
    const shown = (await (await call(`/api/v1/audiences/${id}`, { key: apiKey })).json()) as {
      model: LookalikeModelJson;
    };
    expect(shown.model).toMatchObject({ status: "trained", positives: 14 });
    expect(shown.model.held_out).toBeGreaterThan(0);
    expect(shown.model.held_out).toBeLessThan(shown.model.positives + shown.model.negatives);
    expect(typeof shown.model.auc === "number" || shown.model.reason !== null).toBe(true);
  });
});
