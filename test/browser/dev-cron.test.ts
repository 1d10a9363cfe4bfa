/**
 * `npm run dev` runs the scheduled handler on its schedule (scripts/dev-cron.ts): `wrangler dev
 * --test-scheduled` exposes `/__scheduled`, called whenever wrangler.toml's crons match. Checked
 * against the same `wrangler dev` the browser tests use, and the matcher against known minutes.
 */
import { describe, expect, inject, it } from "vitest";
import { cronMatcher, readCrons } from "../../scripts/dev-cron";
import { ROOT } from "../../scripts/local-worker";
import { browserAvailable } from "./browser";

describe("the cron schedule in local development", () => {
  it("fires wrangler.toml's every-15-minutes cron at :00, :15, :30, :45 UTC only", () => {
    const crons = readCrons(ROOT);
    expect(crons).toEqual(["*/15 * * * *"]);
    const matches = cronMatcher(crons[0]);
    const at = (h: number, m: number) => new Date(Date.UTC(2026, 11, 1, h, m));
    expect([0, 15, 30, 45].every((m) => matches(at(9, m)))).toBe(true);
    expect([1, 14, 16, 59].some((m) => matches(at(9, m)))).toBe(false);
    expect(cronMatcher("30 2 * * 1")(new Date(Date.UTC(2026, 10, 30, 2, 30)))).toBe(true); // a Monday
    expect(cronMatcher("30 2 * * 1")(new Date(Date.UTC(2026, 11, 1, 2, 30)))).toBe(false);
    expect(() => cronMatcher("0 0 * JAN *")).toThrow(/unsupported field/);
  });
});

describe.skipIf(!browserAvailable())("the scheduled handler under wrangler dev", () => {
  it("refreshes the demo's audiences when /__scheduled is called, as the dev cron calls it", async () => {
    const edge = inject("edgeUrl");
    const headers = { Authorization: "Bearer demo-api-key", "Content-Type": "application/json" };
    const created = await fetch(`${edge}/api/v1/audiences`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "Carts (cron check)", kind: "cart_abandoners", params: { hours: 1 } }),
    });
    expect(created.status).toBe(201);
    const { id, refreshed_at } = (await created.json()) as { id: number; refreshed_at: number | null };
    expect(refreshed_at).toBeNull();
    const fired = await fetch(`${edge}/__scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
    expect(fired.status).toBe(200);
    // The handler's work runs in waitUntil: poll until the audience says it was refreshed.
    let refreshed: number | null = null;
    for (let i = 0; i < 60 && refreshed === null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`${edge}/api/v1/audiences/${id}`, { headers });
      refreshed = ((await res.json()) as { refreshed_at: number | null }).refreshed_at;
    }
    expect(refreshed).toBeGreaterThan(0);
  });
});
