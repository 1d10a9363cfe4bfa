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

/**
 * One CSV line (with its line break) of the given cells.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function csvRow(cells: (string | number | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\n`;
}
