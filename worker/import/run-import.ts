/**
 * The import loop shared by customers and links: validate each row, buffer good ones, write them in
 * D1 batches. What "nothing is half-written" means here:
 * - A row is written whole or not at all; a bad row is reported (`rejected: [{line, reason, problems}]`,
 *   every problem of the row, not only its first, so one round of fixes is enough) and never written, good rows of the same file are accepted. A file whose every row is bad, or whose
 *   header is refused, writes nothing.
 * - Rows are written in `db.batch` calls of up to FLUSH_ROWS rows; each call is one D1 transaction.
 *   If D1 refuses a batch, that batch is rolled back, the import stops and answers 503 saying how
 *   many rows were written before it. Upserts are idempotent, so sending the same file again
 *   completes it and leaves the same data.
 */
import { apiError } from "../errors";
import type { SourceRow } from "./read-rows";

/** `reason`: the problems joined with "; " (the contract's field); `problems`: each on its own. */
type Rejection = { line: number; reason: string; problems: string[] };

/** A row a validator refused, with every problem it found. */
export type Refusal = { problems: string[] };

/** Collects a row's problems while it is validated; `refusal()` is null when there were none. */
export function problemList() {
  const problems: string[] = [];
  return {
    /** Takes a parsed cell's value, or records its reason and answers undefined. */
    take<T>(parsed: { value: T } | { reason: string }): T | undefined {
      if ("reason" in parsed) {
        problems.push(parsed.reason);
        return undefined;
      }
      return parsed.value;
    },
    add(problem: string) {
      problems.push(problem);
    },
    refusal: (): Refusal | null => (problems.length > 0 ? { problems } : null),
  };
}
export type ImportResult = {
  accepted: number;
  rejected: Rejection[];
  rejected_count: number;
};
export type ImportOptions = {
  /** Collects the cookies and customers the import wrote (for the webhooks' entry check). */
  written?: { cookies: string[]; customers: string[] };
  /** Hears every rejection as it happens, also beyond the listed ones (the NDJSON report). */
  onReject?: (rejection: Rejection) => void | Promise<void>;
};
/** A row the writer refused after validation (e.g. a link to an unknown customer), by its index in the flush. */
export type WriteRejection = { index: number; reason: string };

/** Rows per flush: bounds memory and makes each flush one D1 transaction of a few dozen statements. */
const FLUSH_ROWS = 400;
/** At most this many rejections are listed; `rejected_count` has the total. */
const MAX_LISTED_REJECTIONS = 1_000;

export async function runImport<T>(
  rows: AsyncIterable<SourceRow>,
  validate: (values: Map<string, unknown>) => Promise<T | Refusal>,
  write: (records: T[]) => Promise<WriteRejection[] | undefined>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const result: ImportResult = { accepted: 0, rejected: [], rejected_count: 0 };
  const reject = async (line: number, problems: string[]) => {
    const rejection = { line, reason: problems.join("; "), problems };
    result.rejected_count++;
    if (result.rejected.length < MAX_LISTED_REJECTIONS) result.rejected.push(rejection);
    await options.onReject?.(rejection);
  };
  let buffer: T[] = [];
  let lines: number[] = [];
  let firstBufferedLine = 0;
  const flush = async () => {
    if (buffer.length === 0) return;
    let refused: WriteRejection[] | undefined;
    try {
      refused = await write(buffer);
    } catch (err) {
      throw apiError(
        503,
        "import_interrupted",
        `The database refused the rows from line ${firstBufferedLine} on (${String(err)}); ` +
          `${result.accepted} rows before them were written. Send the file again: importing is idempotent.`,
      );
    }
    for (const { index, reason } of refused ?? []) await reject(lines[index], [reason]);
    result.accepted += buffer.length - (refused?.length ?? 0);
    buffer = [];
    lines = [];
  };
  for await (const row of rows) {
    if ("error" in row) {
      // A fatal error (bad header, CSV syntax) ends the rows; good rows before it are still written.
      await reject(row.line, [row.error]);
      continue;
    }
    const record = await validate(row.values);
    if (record && typeof record === "object" && "problems" in record) {
      await reject(row.line, (record as Refusal).problems);
      continue;
    }
    if (buffer.length === 0) firstBufferedLine = row.line;
    buffer.push(record as T);
    lines.push(row.line);
    if (buffer.length >= FLUSH_ROWS) await flush();
  }
  await flush();
  // Rows the writer refused are reported when their flush ran: the list goes in line order.
  result.rejected.sort((a, b) => a.line - b.line);
  return result;
}
