import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/auth/crypto";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { peopleAll, peopleDbFor } from "../fixtures/people";

type ImportAnswer = {
  accepted: number;
  rejected: { line: number; reason: string }[];
  rejected_count: number;
  ignored_columns: string[];
};

/** The fixture's import, with its answer read. */
async function importAnswer(apiKey: string, csv: string, path?: string) {
  const res = await importCsv(apiKey, csv, path);
  return { status: res.status, body: (await res.json()) as ImportAnswer };
}

async function customersOf(siteKey: string) {
  const rows = await peopleAll<Record<string, unknown>>(
    await siteIdOf(siteKey),
    `select customer_id, email_sha256, gender, lifetime_revenue, orders, first_order_at, last_order_at,
       coupons_redeemed, clusters, attributes from customers where site_id = ? order by customer_id`,
    await siteIdOf(siteKey),
  );
  return rows.sort((a, b) => String(a.customer_id).localeCompare(String(b.customer_id)));
}

const GOOD = `customer_id,email,gender,lifetime_revenue,orders,first_order_at,last_order_at,coupons_redeemed,clusters,attr.tier,attr.zip
C-1, Anna@Example.COM ,f,120.50,3,2023-01-15,2024-11-02T10:30:00Z,0,rings;earrings,gold,01234
C-2,bob@example.com,m,80,1,2024-06-01,2024-06-01,1,watches,,12
`;

describe("customer import", () => {
  it("upserts rows, hashes e-mails and never stores them in clear, splits clusters and types attributes", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const { status, body } = await importAnswer(apiKey, GOOD);
    expect(status).toBe(200);
    expect(body).toEqual({ accepted: 2, rejected: [], rejected_count: 0, ignored_columns: [], mapped_columns: {} });
    const rows = await customersOf(siteKey);
    expect(rows[0]).toMatchObject({
      customer_id: "C-1",
      email_sha256: await sha256Hex("anna@example.com"),
      gender: "f",
      lifetime_revenue: 120.5,
      orders: 3,
      first_order_at: Date.UTC(2023, 0, 15),
      last_order_at: Date.UTC(2024, 10, 2, 10, 30),
      coupons_redeemed: 0,
    });
    expect(JSON.parse(rows[0].clusters as string)).toEqual(["rings", "earrings"]);
    expect(JSON.parse(rows[0].attributes as string)).toEqual({ tier: "gold", zip: "01234" });
    expect(JSON.parse(rows[1].attributes as string)).toEqual({ zip: 12 });
    const siteId = await siteIdOf(siteKey);
    const everything = JSON.stringify([
      await env.DB.prepare("select * from customers").all(),
      await peopleAll(siteId, "select * from customers"),
    ]);
    expect(everything.toLowerCase()).not.toContain("example.com");
  });

  it("importing the same file twice leaves the same data", async () => {
    const { apiKey, siteKey } = await createTestSite();
    await importAnswer(apiKey, GOOD);
    const first = await customersOf(siteKey);
    const again = await importAnswer(apiKey, GOOD);
    expect(again.body.accepted).toBe(2);
    expect(await customersOf(siteKey)).toEqual(first);
  });

  it("rejects bad lines with a precise reason and line number and writes the good ones", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const csv = [
      "customer_id,lifetime_revenue,orders,last_order_at,email",
      "C-1,10,1,2024-01-01,a@example.com",
      ",10,1,2024-01-01,",
      "C-3,12.5 EUR,1,2024-01-01,",
      "C-4,10,2.5,2024-01-01,",
      "C-5,10,1,31.12.2024,",
      "C-6,10,1,2024-02-30,",
      "C-7,10,1,2024-01-01,not-an-address",
      "C-8,10,1",
      "",
      "C-10,99,,,",
    ].join("\n");
    const { body } = await importAnswer(apiKey, csv);
    expect(body.accepted).toBe(2);
    expect(body.rejected).toMatchObject([
      { line: 3, reason: "missing customer_id" },
      { line: 4, reason: 'lifetime_revenue: not a number ("12.5 EUR")' },
      { line: 5, reason: 'orders: not a whole number of at least 0 ("2.5")' },
      {
        line: 6,
        reason: 'last_order_at: bad date ("31.12.2024"); expected ISO 8601 such as 2024-05-31 or 2024-05-31T14:00:00Z',
      },
      {
        line: 7,
        reason: 'last_order_at: bad date ("2024-02-30"); expected ISO 8601 such as 2024-05-31 or 2024-05-31T14:00:00Z',
      },
      { line: 8, reason: "email: not an e-mail address" },
      { line: 9, reason: "expected 5 columns as in the header, found 3" },
    ]);
    expect((await customersOf(siteKey)).map((r) => [r.customer_id, r.orders, r.last_order_at])).toEqual([
      ["C-1", 1, Date.UTC(2024, 0, 1)],
      ["C-10", null, null],
    ]);
  });

  it("accepts a file with an unknown column, ignoring that column and naming it in the answer", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const { body } = await importAnswer(apiKey, "customer_id,lifetime_revnue\nC-1,10\nC-2,20\n");
    expect(body).toMatchObject({ accepted: 2, rejected: [], ignored_columns: ["lifetime_revnue"] });
    const rows = await customersOf(siteKey);
    expect(rows.map((r) => [r.customer_id, r.lifetime_revenue])).toEqual([
      ["C-1", null],
      ["C-2", null],
    ]);
  });

  it("changes nothing when every row is bad", async () => {
    const { apiKey, siteKey } = await createTestSite();
    await importAnswer(apiKey, "customer_id,orders\nC-1,4\n");
    const before = await customersOf(siteKey);
    const { body } = await importAnswer(apiKey, "customer_id,orders\nC-1,many\n,3\nC-2,-1\n");
    expect(body.accepted).toBe(0);
    expect(body.rejected.map((r) => r.line)).toEqual([2, 3, 4]);
    expect(await customersOf(siteKey)).toEqual(before);
  });

  it("keeps columns a file does not carry, clears emptied ones and merges attributes", async () => {
    const { apiKey, siteKey } = await createTestSite();
    await importAnswer(apiKey, GOOD);
    await importAnswer(apiKey, "customer_id,gender,attr.tier,attr.vip\nC-1,,,true\n");
    const [c1] = await customersOf(siteKey);
    expect(c1).toMatchObject({ gender: null, orders: 3, lifetime_revenue: 120.5 });
    expect(JSON.parse(c1.attributes as string)).toEqual({ zip: "01234", vip: true });
  });

  it("lists every problem of a refused line in the answer, each on its own and joined in reason", async () => {
    const { apiKey } = await createTestSite();
    const csv = "customer_id,email,orders,lifetime_revenue,attr.tier\n,nobody,-1,lots,\nC-2,c2@example.com,1,5,gold\n";
    const { body } = await importAnswer(apiKey, csv);
    expect(body.accepted).toBe(1);
    const problems = [
      "missing customer_id",
      "email: not an e-mail address",
      'orders: not a whole number of at least 0 ("-1")',
      'lifetime_revenue: not a number ("lots")',
    ];
    expect(body.rejected).toEqual([{ line: 2, reason: problems.join("; "), problems }]);
    const links = await importAnswer(apiKey, "cookie_id,customer_id\nnot-a-cookie,\n", "/api/v1/import/links");
    expect(links.body.rejected).toEqual([
      {
        line: 2,
        reason: "cookie_id: not a tw_id (32 hex characters); missing customer_id",
        problems: ["cookie_id: not a tw_id (32 hex characters)", "missing customer_id"],
      },
    ]);
  });

  it("reads NDJSON by content type, ignoring an unknown key", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const ndjson = [
      JSON.stringify({ customer_id: "N-1", email_sha256: "A".repeat(64), lifetime_revenue: 250, clusters: ["gifts"] }),
      JSON.stringify({ customer_id: "N-2", colour: "red" }),
      "{not json",
      "",
      JSON.stringify({ customer_id: 42, "attr.score": 7, last_order_at: "2025-03-01T08:00:00+02:00" }),
      JSON.stringify({ lifetime_revenue: 1 }),
    ].join("\n");
    const res = await call("/api/v1/import/customers", {
      method: "POST",
      key: apiKey,
      body: ndjson,
      headers: { "Content-Type": "application/x-ndjson" },
    });
    const body = (await res.json()) as ImportAnswer;
    expect(body.accepted).toBe(3);
    expect(body.rejected).toMatchObject([
      { line: 3, reason: "not valid JSON" },
      { line: 6, reason: "missing customer_id" },
    ]);
    expect(body.ignored_columns).toEqual(["colour"]);
    const rows = await customersOf(siteKey);
    expect(rows.map((r) => r.customer_id)).toEqual(["42", "N-1", "N-2"]);
    expect(rows[0]).toMatchObject({ last_order_at: Date.UTC(2025, 2, 1, 6) });
    expect(rows[1]).toMatchObject({ email_sha256: "a".repeat(64), lifetime_revenue: 250 });
  });

  it("reads CSV exported by spreadsheet tools: byte order mark, CRLF line ends, quoted commas and header case", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const csv = '\ufeffCustomer_ID,Gender,attr.Note\r\nX-1,f,"likes rings, gold"\r\nX-2,m,"said ""hi"""\r\n';
    const { body } = await importAnswer(apiKey, csv);
    expect(body).toMatchObject({ accepted: 2, rejected: [] });
    const rows = await customersOf(siteKey);
    expect(rows.map((r) => [r.customer_id, r.gender, JSON.parse(r.attributes as string)])).toEqual([
      ["X-1", "f", { Note: "likes rings, gold" }],
      ["X-2", "m", { Note: 'said "hi"' }],
    ]);
  });

  it("answers 415 for other content types and 401 without a key", async () => {
    const { apiKey } = await createTestSite();
    const json = await call("/api/v1/import/customers", { method: "POST", key: apiKey, json: [{ customer_id: "x" }] });
    expect(json.status).toBe(415);
    const anonymous = await call("/api/v1/import/customers", {
      method: "POST",
      body: GOOD,
      headers: { "Content-Type": "text/csv" },
    });
    expect(anonymous.status).toBe(401);
  });

  it("streams a large file through many batches, reporting a CSV syntax error and keeping the rows before it", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const rows = 2_500;
    const encoder = new TextEncoder();
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i === 0) controller.enqueue(encoder.encode("customer_id,orders,clusters,attr.n\n"));
        const lines: string[] = [];
        for (let k = 0; k < 250 && i < rows; k++, i++) lines.push(`B-${i},${i % 7},a;b,${i}`);
        controller.enqueue(encoder.encode(`${lines.join("\n")}\n`));
        if (i >= rows) {
          controller.enqueue(encoder.encode('B-x,"1"x\nB-y,2,,\n'));
          controller.close();
        }
      },
    });
    const res = await call("/api/v1/import/customers", {
      method: "POST",
      key: apiKey,
      body: stream,
      headers: { "Content-Type": "text/csv" },
    });
    const body = (await res.json()) as ImportAnswer;
    expect(body.accepted).toBe(rows);
    expect(body.rejected).toMatchObject([
      {
        line: rows + 2,
        reason: expect.stringMatching(
          new RegExp(
            `^CSV syntax error in the record starting on line ${rows + 2}: .*nothing from line ${rows + 2} on was read$`,
          ),
        ),
      },
    ]);
    const siteId = await siteIdOf(siteKey);
    const counts = await peopleAll<{ n: number }>(
      siteId,
      "select count(*) as n from customers where site_id = ?",
      siteId,
    );
    expect(counts.reduce((sum, count) => sum + count.n, 0)).toBe(rows);
  });
});

describe("link import", () => {
  it("links cookies to customers, creating unknown visitors, and rejects bad cookie IDs and unknown customers", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const known = "a".repeat(32);
    const siteId = await siteIdOf(siteKey);
    await (await peopleDbFor(siteId, known))
      .prepare("insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, visits) values (?, ?, 1, 2, 5)")
      .bind(siteId, known)
      .run();
    await importAnswer(apiKey, "customer_id\nC-1\nC-2\nC-3");
    const csv = `cookie_id,customer_id\n${known},C-1\n${"B".repeat(32)},C-2\nnot-a-cookie,C-3\n${"c".repeat(32)},\n${"d".repeat(32)},C-9\n`;
    const { body } = await importAnswer(apiKey, csv, "/api/v1/import/links");
    expect(body).toMatchObject({
      accepted: 2,
      rejected: [
        { line: 4, reason: "cookie_id: not a tw_id (32 hex characters)" },
        { line: 5, reason: "missing customer_id" },
        { line: 6, reason: 'unknown customer "C-9"' },
      ],
    });
    const results = (
      await peopleAll<{ cookie_id: string; customer_id: string; visits: number; first_seen_at: number }>(
        siteId,
        "select cookie_id, customer_id, visits, first_seen_at from visitors where site_id = ? order by cookie_id",
        siteId,
      )
    ).sort((a, b) => a.cookie_id.localeCompare(b.cookie_id));
    expect(results.map((r) => [r.cookie_id, r.customer_id, r.visits])).toEqual([
      [known, "C-1", 5],
      ["b".repeat(32), "C-2", 0],
    ]);
    expect(results[0].first_seen_at).toBe(1);
    expect(results[1].first_seen_at).toBeGreaterThan(1);
  });
});
