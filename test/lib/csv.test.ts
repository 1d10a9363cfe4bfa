/**
 * CSV formula injection (worker/lib/csv.ts): every cell the product writes that a spreadsheet
 * would read as a formula is neutralised by OWASP's rule, and every cell reads back — with the
 * ordinary CSV parser a network uses — as the value itself, or the value behind one single quote.
 */
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../../worker/lib/csv";

describe("csvCell", () => {
  it.each([
    ['=HYPERLINK("https://evil.example","click")', '"\'=HYPERLINK(""https://evil.example"",""click"")"'],
    ["+cmd|' /C calc'!A0", "\"'+cmd|' /C calc'!A0\""],
    ["-2+3+cmd|' /C calc'!A0", "\"'-2+3+cmd|' /C calc'!A0\""],
    ["@SUM(1+9)*cmd|' /C calc'!A0", "\"'@SUM(1+9)*cmd|' /C calc'!A0\""],
    ["\t=1+1", '"\'\t=1+1"'],
    ["\r=1+1", '"\'\r=1+1"'],
  ])("neutralises %j as %s", (value, written) => {
    expect(csvCell(value)).toBe(written);
  });

  it("leaves ordinary IDs as they are and quotes commas, quotes and line breaks", () => {
    expect(csvCell("0f3a9c2e4b5d6e7f8091a2b3c4d5e6f7")).toBe("0f3a9c2e4b5d6e7f8091a2b3c4d5e6f7");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell(null)).toBe("");
  });

  it("reads back, for any value, as the value or the value behind one quote, never a formula", () => {
    fc.assert(
      // At least two cells: a line holding one empty cell is an empty line, which CSV readers skip.
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 30 }), { minLength: 2, maxLength: 5 }), (cells) => {
        const [row] = parse(csvRow(cells)) as string[][];
        expect(row).toHaveLength(cells.length);
        row.forEach((read, i) => {
          const formula = /^[=+\-@\t\r]/.test(cells[i]);
          expect(read).toBe(formula ? `'${cells[i]}` : cells[i]);
          expect(/^[=+\-@\t\r]/.test(read)).toBe(false);
        });
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});
