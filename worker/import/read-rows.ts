/**
 * Reads an import body (CSV with a header row, or NDJSON) chunk by chunk from the request stream,
 * so a 50 MB upload never sits in memory whole: at most one network chunk and the rows parsed from
 * it are held at a time.
 *
 * CSV goes through csv-parse's Web Streams parser (csv-parse/stream, which runs in workerd with
 * nodejs_compat). Records are taken in its `on_record` hook rather than from its readable side:
 * a syntax error errors the TransformStream and would discard the records already parsed from the
 * same chunk, which then would be neither accepted nor reported. NDJSON needs no parser beyond
 * JSON.parse per line.
 *
 * Line numbers are those of the file (the header is line 1); for a CSV record spanning several
 * lines (a quoted newline) it is the line where the record ends. A CSV syntax error is reported at
 * the line where its record starts — for an unterminated quote that is where the quote opened,
 * not the end of the file the open quote swallowed. Every record before it is yielded first. The
 * start is the line after the previous record's end, which holds because empty lines reach
 * on_record too (skip_empty_lines off; they are skipped here) instead of being skipped unseen.
 */
import { parse } from "csv-parse/stream";

export type ImportFormat = "csv" | "ndjson";

export type SourceRow =
  | { line: number; values: Map<string, unknown> }
  /** `fatal`: the file cannot be read further (bad header, CSV syntax); nothing after it is read. */
  | { line: number; error: string; fatal?: boolean };

/** Checks a column name; returns the canonical name, or an error reason (e.g. unknown column). */
export type ColumnCheck = (name: string) => { column: string } | { error: string };

const MAX_NDJSON_LINE = 1_000_000;

export function readRows(
  body: ReadableStream<Uint8Array>,
  format: ImportFormat,
  checkColumn: ColumnCheck,
  requiredColumns: string[],
): AsyncGenerator<SourceRow> {
  return format === "csv"
    ? readCsv(body, checkColumn, requiredColumns)
    : readNdjson(body, checkColumn, requiredColumns);
}

function checkHeader(
  names: string[],
  checkColumn: ColumnCheck,
  requiredColumns: string[],
): { columns: string[] } | { error: string } {
  const columns: string[] = [];
  for (const name of names) {
    const checked = checkColumn(name.trim());
    if ("error" in checked) return checked;
    if (columns.includes(checked.column)) return { error: `column "${checked.column}" appears twice` };
    columns.push(checked.column);
  }
  const missing = requiredColumns.filter((c) => !columns.includes(c));
  if (missing.length) return { error: `missing column ${missing.join(", ")}` };
  return { columns };
}

async function* readCsv(
  body: ReadableStream<Uint8Array>,
  checkColumn: ColumnCheck,
  requiredColumns: string[],
): AsyncGenerator<SourceRow> {
  const captured: { record: string[]; line: number }[] = [];
  const csv = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: false,
    on_record: (record: string[], context: { lines: number }) => {
      captured.push({ record, line: context.lines });
      return null;
    },
  });
  const writer = csv.writable.getWriter();
  const output = csv.readable.getReader();
  let syntaxError: (Error & { code?: string }) | undefined;
  output.closed.catch((err) => {
    syntaxError = err;
  });
  const source = body.getReader();
  let header: string[] | undefined;
  let lastLine = 0;
  for (let done = false; !done; ) {
    const chunk = await source.read();
    if (chunk.done) {
      done = true;
      await writer.close().catch(() => undefined);
    } else {
      await writer.write(chunk.value).catch(() => undefined);
    }
    // Let the parser's error (if any) reach the `closed` handler before draining.
    await Promise.resolve();
    for (const { record, line } of captured.splice(0)) {
      lastLine = line;
      if (record.length === 1 && record[0] === "") continue; // an empty line
      if (!header) {
        const checked = checkHeader(record, checkColumn, requiredColumns);
        if ("error" in checked) {
          await source.cancel().catch(() => undefined);
          yield { line, error: checked.error, fatal: true };
          return;
        }
        header = checked.columns;
        continue;
      }
      if (record.length !== header.length) {
        yield { line, error: `expected ${header.length} columns as in the header, found ${record.length}` };
        continue;
      }
      yield { line, values: new Map(header.map((column, i) => [column, record[i]])) };
    }
    if (syntaxError) {
      await source.cancel().catch(() => undefined);
      const start = lastLine + 1;
      const what =
        syntaxError.code === "CSV_QUOTE_NOT_CLOSED"
          ? `a quote opened on line ${start} is never closed`
          : syntaxError.message.replace(/ at line \d+$/, "");
      yield {
        line: start,
        error: `CSV syntax error in the record starting on line ${start}: ${what}; nothing from line ${start} on was read`,
        fatal: true,
      };
      return;
    }
  }
  if (!header) yield { line: 1, error: "empty file: expected a header row", fatal: true };
}

async function* readNdjson(
  body: ReadableStream<Uint8Array>,
  checkColumn: ColumnCheck,
  requiredColumns: string[],
): AsyncGenerator<SourceRow> {
  const source = body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let line = 0;
  const parseLine = (text: string): SourceRow | undefined => {
    line++;
    const trimmed = text.trim();
    if (!trimmed) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return { line, error: "not valid JSON" };
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { line, error: "not a JSON object" };
    const values = new Map<string, unknown>();
    for (const [name, value] of Object.entries(parsed)) {
      const checked = checkColumn(name);
      if ("error" in checked) return { line, error: checked.error };
      values.set(checked.column, value);
    }
    const missing = requiredColumns.find((c) => values.get(c) === undefined || values.get(c) === null);
    if (missing) return { line, error: `missing ${missing}` };
    return { line, values };
  };
  for (;;) {
    const chunk = await source.read();
    if (chunk.done) break;
    pending += chunk.value;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const text of lines) {
      const row = parseLine(text);
      if (row) yield row;
    }
    if (pending.length > MAX_NDJSON_LINE) {
      await source.cancel().catch(() => undefined);
      yield { line: line + 1, error: `line longer than ${MAX_NDJSON_LINE} characters`, fatal: true };
      return;
    }
  }
  const last = parseLine(pending);
  if (last) yield last;
}
