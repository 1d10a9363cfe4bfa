/**
 * The rules page's Enable/Disable and Move up/down buttons send one-field PATCHes: they change
 * that field and nothing else (issue 13 item 9 — one "Move down" used to clear the segment and
 * show a customer banner to everyone).
 */
import { describe, expect, it } from "vitest";
import { postForm, siteWithSessions } from "../fixtures/admin";
import { call } from "../fixtures/api";

type Rule = Record<string, unknown> & { id: number; priority: number; enabled: boolean };

async function setUp() {
  const s = await siteWithSessions();
  const post = async (path: string, json: unknown) =>
    (await (await call(path, { method: "POST", key: s.apiKey, json })).json()) as { id: number };
  const segment = await post("/api/v1/segments", { name: "Customers", expression: "customer" });
  const creative = await post("/api/v1/creatives", {
    name: "Chronograph",
    format: "html",
    template: "<p>{{coupon}}</p>",
    width: 300,
    height: 250,
    landing_url: "https://shop.example/watch",
  });
  const pool = await post("/api/v1/pools", { name: "Watch codes", kind: "generated" });
  const rule = (name: string, priority: number) =>
    post("/api/v1/rules", {
      name,
      placement: "home-hero",
      segment_id: segment.id,
      creative_id: creative.id,
      pool_id: pool.id,
      priority,
      starts_at: "2026-01-01T00:00:00.000Z",
      cap_per_day: 3,
      holdout: 0.1,
      stop_after_conversion: true,
    });
  const first = await rule("First", 10);
  const second = await rule("Second", 20);
  const read = async (id: number) => (await (await call(`/api/v1/rules/${id}`, { key: s.apiKey })).json()) as Rule;
  return { s, first, second, read };
}

const without = (rule: Rule, ...fields: string[]) =>
  Object.fromEntries(Object.entries(rule).filter(([k]) => !["updated_at", ...fields].includes(k)));

describe("rule buttons in the admin", () => {
  it("Disable and Enable change only enabled", async () => {
    const { s, first, read } = await setUp();
    const before = await read(first.id);
    expect((await postForm(`/admin/rules/${first.id}/toggle`, s.cookies.marketer, {})).status).toBe(303);
    const disabled = await read(first.id);
    expect(disabled.enabled).toBe(false);
    expect(without(disabled, "enabled")).toEqual(without(before, "enabled"));
    await postForm(`/admin/rules/${first.id}/toggle`, s.cookies.marketer, {});
    expect(without(await read(first.id))).toEqual(without(before));
  });

  it("Move down swaps the priorities and keeps segment, pool, schedule, cap and holdout of both rules", async () => {
    const { s, first, second, read } = await setUp();
    const [a, b] = [await read(first.id), await read(second.id)];
    const res = await postForm(`/admin/rules/${first.id}/move`, s.cookies.marketer, { direction: "down" });
    expect(res.status).toBe(303);
    const [a2, b2] = [await read(first.id), await read(second.id)];
    expect([a2.priority, b2.priority]).toEqual([20, 10]);
    expect(without(a2, "priority")).toEqual(without(a, "priority"));
    expect(without(b2, "priority")).toEqual(without(b, "priority"));
  });
});
