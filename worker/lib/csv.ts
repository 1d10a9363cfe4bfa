/**
 * Writing CSV: the one helper every CSV the product writes goes through (audience exports in
 * every ID space, and any other download), so that a file opened in a spreadsheet cannot run a
 * formula planted in a value. Partner user IDs come from anonymous `/sync` calls, so a cell may be
 * `=HYPERLINK(...)`, `@SUM(...)` or `+cmd|' /C calc'!A0` written by anyone.
 *
 * OWASP's rule (CSV Injection): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
 * return gets a single quote in front — spreadsheets then read it as text — and is quoted; RFC 4180
 * quoting (double quotes doubled) for cells with a comma, quote or line break. Hand-written: five
 * lines, and csv-stringify does neither the OWASP rule nor streaming pages any better.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: formula-neutralised (OWASP) and quoted where RFC 4180 needs it. */
export function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  if (FORMULA_START.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (with its line break) of the given cells. */
export function csvRow(cells: (string | number | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\n`;
}

/** Rows per D1 query of a streamed CSV: one page of a large export stays far below the Worker's memory. */
const CSV_PAGE_SIZE = 1_000;

export type PageOptions = { pageSize?: number; onPage?: (rows: number) => void };

type CsvPage<K> = { rows: { k: K; line: string }[] };

/** A CSV body pulled page by page: `next(after)` returns the rows after key `after`. */
export function pagedCsv<K>(
  header: string | null,
  first: K,
  next: (after: K, limit: number) => Promise<CsvPage<K>>,
  { pageSize = CSV_PAGE_SIZE, onPage }: PageOptions,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = first;
  let headerSent = header === null;
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(`${header}\n`));
          return;
        }
        if (done) {
          controller.close();
          return;
        }
        const { rows } = await next(after, pageSize);
        onPage?.(rows.length);
        if (rows.length < pageSize) done = true;
        if (rows.length === 0) {
          controller.close();
          return;
        }
        after = rows[rows.length - 1].k;
        controller.enqueue(encoder.encode(rows.map((r) => `${r.line}\n`).join("")));
      },
    },
    { highWaterMark: 1 },
  );
}
