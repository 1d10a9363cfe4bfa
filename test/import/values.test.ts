import { describe, expect, it } from "vitest";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { peopleFirst } from "../fixtures/people";

type Answer = { accepted: number; rejected: { line: number; reason: string }[] };

async function csv(apiKey: string, text: string) {
  const res = await importCsv(apiKey, text);
  return { status: res.status, body: (await res.json()) as Answer };
}

async function ndjson(apiKey: string, lines: unknown[]) {
  const res = await call("/api/v1/import/customers", {
    method: "POST",
    key: apiKey,
    headers: { "Content-Type": "application/x-ndjson" },
    body: lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function customer(siteKey: string, id: string) {
  const siteId = await siteIdOf(siteKey);
  return peopleFirst<{ lifetime_revenue: number | null; orders: number | null; attributes: string }>(
    siteId,
    "select c.lifetime_revenue, c.orders, c.attributes from customers c where c.site_id = ? and c.customer_id = ?",
    siteId,
    id,
  );
}

const DIGITS_400 = `9${"0".repeat(399)}`;

describe("numbers that a column cannot hold", () => {
  it("rejects lifetime_revenue 1e999 and a 400-digit figure with their reasons, and writes nothing of those lines", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const { status, body } = await csv(
      apiKey,
      `customer_id,lifetime_revenue,orders\nOK-1,120.5,2\nBIG-1,1e999,1\nBIG-2,${DIGITS_400},1\nBIG-3,5,${DIGITS_400}\nOK-2,-0,0`,
    );
    expect(status).toBe(200);
    expect(body.accepted).toBe(2);
    expect(body.rejected).toMatchObject([
      { line: 3, reason: expect.stringMatching(/^lifetime_revenue: number out of range/) },
      { line: 4, reason: expect.stringMatching(/^lifetime_revenue: number out of range/) },
      { line: 5, reason: expect.stringMatching(/^orders: /) },
    ]);
    for (const id of ["BIG-1", "BIG-2", "BIG-3"]) expect(await customer(siteKey, id)).toBeNull();
    expect(await customer(siteKey, "OK-1")).toMatchObject({ lifetime_revenue: 120.5, orders: 2 });
  });

  it("keeps a digit string a number cannot hold exactly as text, exactly as given", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const card = "4111111111111111111";
    const { body } = await csv(apiKey, `customer_id,attr.card,attr.huge,attr.n\nA-1,${card},${DIGITS_400},42`);
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([]);
    expect(JSON.parse((await customer(siteKey, "A-1"))!.attributes)).toEqual({ card, huge: DIGITS_400, n: 42 });
  });

  it("rejects NDJSON numbers that are not finite or were already rounded by JSON, naming the field", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const { body } = await ndjson(apiKey, [
      '{"customer_id":"N-1","lifetime_revenue":1e999}',
      '{"customer_id":"N-2","attr.id":12345678901234567890}',
      { customer_id: "N-3", lifetime_revenue: 10, "attr.id": 123 },
    ]);
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([
      { line: 1, reason: expect.stringMatching(/^lifetime_revenue: number out of range/) },
      { line: 2, reason: expect.stringMatching(/^attr\.id: integer too large/) },
    ]);
    expect(await customer(siteKey, "N-1")).toBeNull();
    expect(await customer(siteKey, "N-2")).toBeNull();
  });
});

describe("reserved names", () => {
  it("refuses an attr.__proto__ / attr.constructor column with a reason instead of dropping it", async () => {
    const { apiKey } = await createTestSite();
    for (const name of ["__proto__", "constructor", "prototype"]) {
      const { body } = await csv(apiKey, `customer_id,attr.${name}\nP-1,x`);
      expect(body.accepted).toBe(0);
      expect(body.rejected).toMatchObject([{ line: 1, reason: expect.stringContaining(`"${name}" is reserved`) }]);
    }
  });

  it("rejects an NDJSON line with a __proto__ key, with its reason", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const { body } = await ndjson(apiKey, [
      '{"customer_id":"Q-1","__proto__":{"orders":5}}',
      '{"customer_id":"Q-2","attr.constructor":"x"}',
      '{"customer_id":"Q-3"}',
    ]);
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.line)).toEqual([1, 2]);
    expect(body.rejected[0].reason).toContain("__proto__");
    expect(body.rejected[1].reason).toContain("constructor");
    expect(await customer(siteKey, "Q-1")).toBeNull();
  });
});
