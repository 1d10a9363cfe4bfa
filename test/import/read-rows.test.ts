/**
 * CSV syntax errors are reported where their record starts (issue 13 item 10): an unterminated
 * quote swallows the rest of the file, and the report names the line where the quote opened,
 * while every line before it is imported (or rejected) as usual.
 */
import { describe, expect, it } from "vitest";
import { createTestSite, importCsv } from "../fixtures/api";

type Answer = { accepted: number; rejected: { line: number; reason: string }[] };

async function run(text: string) {
  const { apiKey } = await createTestSite();
  const res = await importCsv(apiKey, text);
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

describe("CSV syntax errors", () => {
  it("reports an unterminated quote at the line where it opens, after the lines before it", async () => {
    const body = await run(
      'customer_id,orders,clusters\nA-1,1,rings\nA-2,x,rings\nA-3,2,"rings;earrings\nA-4,3,watches\nA-5,4,rings\n',
    );
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([
      { line: 3, reason: expect.stringMatching(/^orders: /) },
      {
        line: 4,
        reason:
          "CSV syntax error in the record starting on line 4: a quote opened on line 4 is never closed; nothing from line 4 on was read",
      },
    ]);
  });

  it("counts empty lines and quoted newlines before the error", async () => {
    const body = await run('customer_id,clusters\nB-1,"rings\nwatches"\n\nB-2,rings\n\nB-3,"open\nB-4,x\n');
    expect(body.accepted).toBe(2);
    expect(body.rejected).toMatchObject([{ line: 7, reason: expect.stringContaining("a quote opened on line 7") }]);
  });

  it("reports a stray quote inside a field at its own line", async () => {
    const body = await run('customer_id,orders\nC-1,1\nC-2,"2"x\nC-3,3\n');
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([
      { line: 3, reason: expect.stringMatching(/^CSV syntax error in the record starting on line 3: /) },
    ]);
  });
});
