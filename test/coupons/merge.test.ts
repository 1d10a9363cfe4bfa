/**
 * One customer is one person (worker/coupons/merge.ts, worker/decide/load.ts): two devices of one
 * customer share one code, stop-after-conversion and the frequency cap, through /b, the links
 * import and the redeem API.
 */
import { describe, expect, it } from "vitest";
import { call, importCsv } from "../fixtures/api";
import { bannerJson, bannerSite, randomCookie } from "../fixtures/banner";

async function site() {
  const s = await bannerSite();
  const creative = await s.creative("json", { headline: "Hi {{coupon}}" });
  const pool = await s.pool();
  await s.codes(
    pool,
    Array.from({ length: 5 }, (_, i) => `CODE-${i}`),
  );
  await importCsv(s.apiKey, "customer_id\nC-1");
  return { ...s, creative, pool };
}

async function link(apiKey: string, cookies: string[]) {
  const res = await importCsv(
    apiKey,
    `cookie_id,customer_id\n${cookies.map((c) => `${c},C-1`).join("\n")}`,
    "/api/v1/import/links",
  );
  expect(((await res.json()) as { accepted: number }).accepted).toBe(cookies.length);
}

describe("one customer is one person", () => {
  it("two devices that claimed codes while anonymous keep the older code once linked; the other is archived and refused", async () => {
    const s = await site();
    await s.rule({ creative_id: s.creative, pool_id: s.pool });
    const [a, b] = [randomCookie(), randomCookie()];
    const first = await bannerJson(s.siteKey, "slot", a);
    const second = await bannerJson(s.siteKey, "slot", b);
    expect(first.coupon?.code).not.toBe(second.coupon?.code);
    await link(s.apiKey, [a, b]);
    expect((await bannerJson(s.siteKey, "slot", a)).coupon?.code).toBe(first.coupon?.code);
    expect((await bannerJson(s.siteKey, "slot", b)).coupon?.code).toBe(first.coupon?.code);
    const refused = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: s.apiKey,
      json: { code: second.coupon?.code, order: "O-2" },
    });
    expect(refused.status).toBe(410);
  });

  it("a conversion on one device stops the rule on the other, and the cap counts both devices", async () => {
    const s = await site();
    const stopping = await s.rule({
      creative_id: s.creative,
      pool_id: s.pool,
      stop_after_conversion: true,
      priority: 1,
    });
    const [a, b] = [randomCookie(), randomCookie()];
    await link(s.apiKey, [a, b]);
    const shown = await bannerJson(s.siteKey, "slot", a);
    expect(shown.rule).toBe(stopping);
    const redeemed = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: s.apiKey,
      json: { code: shown.coupon?.code, order: "O-1" },
    });
    expect(redeemed.status).toBe(200);
    expect((await bannerJson(s.siteKey, "slot", b)).rule).toBeNull();

    const capped = await bannerSite();
    const creative = await capped.creative("json", { headline: "Hi" });
    const rule = await capped.rule({ creative_id: creative, cap_per_day: 1 });
    await importCsv(capped.apiKey, "customer_id\nC-1");
    const [c, d] = [randomCookie(), randomCookie()];
    await link(capped.apiKey, [c, d]);
    expect((await bannerJson(capped.siteKey, "slot", c)).rule).toBe(rule);
    expect((await bannerJson(capped.siteKey, "slot", d)).rule).toBeNull();
  });

  it("the oldest live code moves to the customer, even over the customer's own; the other reads archived everywhere", async () => {
    const s = await site();
    await s.rule({ creative_id: s.creative, pool_id: s.pool });
    const [a, b] = [randomCookie(), randomCookie()];
    // Device a claims a code while anonymous; device b, already the customer's, claims one later.
    const older = (await bannerJson(s.siteKey, "slot", a)).coupon?.code as string;
    await link(s.apiKey, [b]);
    const customers = (await bannerJson(s.siteKey, "slot", b)).coupon?.code as string;
    expect(customers).not.toBe(older);
    await link(s.apiKey, [a]);
    // README.md ("Coupons"): the oldest live code moves to the customer.
    expect((await bannerJson(s.siteKey, "slot", a)).coupon?.code).toBe(older);
    expect((await bannerJson(s.siteKey, "slot", b)).coupon?.code).toBe(older);

    const lookup = async (code: string) =>
      (await (await call(`/api/v1/coupons/${code}`, { key: s.apiKey })).json()) as Record<string, unknown>;
    expect(await lookup(older)).toMatchObject({ state: "assigned", holder_kind: "customer", archived_at: null });
    const archived = await lookup(customers);
    expect(archived).toMatchObject({ state: "archived", customer: "C-1" });
    expect(typeof archived.archived_at).toBe("string");

    const pool = (await (await call(`/api/v1/pools/${s.pool}`, { key: s.apiKey })).json()) as {
      counts: Record<string, number | null>;
    };
    expect(pool.counts).toMatchObject({ assigned: 1, archived: 1, expired: 0 });

    const refused = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: s.apiKey,
      json: { code: customers, order: "O-9" },
    });
    expect(refused.status).toBe(410);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("archived_code");
    expect(error.message).toContain("archived");
    expect(error.message).not.toContain("expired");
    const redeemed = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: s.apiKey,
      json: { code: older, order: "O-9" },
    });
    expect(redeemed.status).toBe(200);
  });
});
