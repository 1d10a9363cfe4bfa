import { describe, expect, it } from "vitest";
import { call, createTestSite } from "../fixtures/api";

describe("the full import report", () => {
  it("lists only the first 1,000 refused rows in JSON and every one as NDJSON when asked", async () => {
    const { apiKey } = await createTestSite();
    const rows = Array.from({ length: 1_200 }, (_, i) => `C-${i},many`);
    const csv = `customer_id,orders\n${rows.join("\n")}\nC-ok,1\n`;
    const json = await call("/api/v1/import/customers", {
      method: "POST",
      key: apiKey,
      body: csv,
      headers: { "Content-Type": "text/csv" },
    });
    const summary = (await json.json()) as { accepted: number; rejected: unknown[]; rejected_count: number };
    expect(summary).toMatchObject({ accepted: 1, rejected_count: 1_200 });
    expect(summary.rejected).toHaveLength(1_000);

    const ndjson = await call("/api/v1/import/customers", {
      method: "POST",
      key: apiKey,
      body: csv,
      headers: { "Content-Type": "text/csv", Accept: "application/x-ndjson" },
    });
    expect(ndjson.headers.get("Content-Type")).toBe("application/x-ndjson");
    const lines = (await ndjson.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1_201);
    expect(lines[1_199]).toEqual({
      line: 1_201,
      reason: expect.stringContaining("orders"),
      problems: [expect.stringContaining("orders")],
    });
    expect(lines[1_200]).toMatchObject({ accepted: 1, rejected_count: 1_200, ignored_columns: [] });
    expect(lines[1_200]).not.toHaveProperty("rejected");
  });
});
