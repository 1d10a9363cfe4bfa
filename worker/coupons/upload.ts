/**
 * Uploading pre-made codes into a `list` pool: CSV (a `code` column, or a single column without
 * a header) or plain text, one code per line. Every refused line is reported with its number and
 * why — an invalid code, a duplicate within the upload, or a code the site already has — and
 * nothing else is dropped.
 *
 * Inserts go in chunks through `json_each(?)`: three bound parameters per statement whatever the
 * chunk size, far inside D1's 100-parameter limit; all chunks run in one batch (one transaction),
 * and `ON CONFLICT DO NOTHING RETURNING code` tells which codes the site already had.
 */
import { parse } from "csv-parse/sync";
import type { D1Like } from "../db/raw";

const CODE_PATTERN = /^[A-Za-z0-9_-]+$/;
const MAX_CODE_LENGTH = 64;
export const MAX_UPLOAD_LINES = 100_000;
const CHUNK = 1_000;

type Rejection = { line: number; reason: string };
export type UploadResult = { accepted: number; rejected: Rejection[] };
type Candidate = { line: number; code: string };

export class UploadError extends Error {}

/** Lines of the upload as (line number, raw code); CSV headers and blank lines are skipped. */
function readCodes(text: string, format: "csv" | "text"): Candidate[] {
  if (format === "text") {
    return text
      .split(/\r?\n/)
      .map((raw, i) => ({ line: i + 1, code: raw.trim() }))
      .filter((c) => c.code !== "");
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new UploadError(`Unreadable CSV: ${(err as Error).message}`);
  }
  if (records.length === 0) return [];
  const header = records[0].record.map((h) => h.toLowerCase());
  const column = header.indexOf("code");
  if (column === -1 && header.length > 1) {
    throw new UploadError('A CSV with several columns needs a header row with a "code" column');
  }
  const rows = column === -1 ? records : records.slice(1);
  const index = Math.max(column, 0);
  return rows.map(({ record, info }) => ({ line: info.lines, code: record[index] ?? "" }));
}

/** Splits candidates into valid, first-seen codes and the rejected lines. */
function validateCodes(candidates: Candidate[]): { valid: Candidate[]; rejected: Rejection[] } {
  const seen = new Map<string, number>();
  const valid: Candidate[] = [];
  const rejected: Rejection[] = [];
  for (const { line, code } of candidates) {
    if (code === "") rejected.push({ line, reason: "empty code" });
    else if (code.length > MAX_CODE_LENGTH)
      rejected.push({ line, reason: `longer than ${MAX_CODE_LENGTH} characters` });
    else if (!CODE_PATTERN.test(code)) {
      rejected.push({ line, reason: "invalid characters: only A-Z, a-z, 0-9, - and _ are allowed" });
    } else if (seen.has(code)) rejected.push({ line, reason: `duplicate of line ${seen.get(code)} in this upload` });
    else {
      seen.set(code, line);
      valid.push({ line, code });
    }
  }
  return { valid, rejected };
}

export async function uploadCodes(
  d1: D1Like,
  siteId: number,
  poolId: number,
  text: string,
  format: "csv" | "text",
): Promise<UploadResult> {
  const candidates = readCodes(text, format);
  if (candidates.length > MAX_UPLOAD_LINES) {
    throw new UploadError(`At most ${MAX_UPLOAD_LINES} codes per upload; split the file`);
  }
  const { valid, rejected } = validateCodes(candidates);
  const chunks: Candidate[][] = [];
  for (let i = 0; i < valid.length; i += CHUNK) chunks.push(valid.slice(i, i + CHUNK));
  const inserted = new Set<string>();
  if (chunks.length > 0) {
    const results = await d1.batch<{ code: string }>(
      chunks.map((chunk) =>
        d1
          .prepare(
            `insert into coupons (site_id, pool_id, code)
             select ?1, ?2, value from json_each(?3) where true
             on conflict do nothing returning code`,
          )
          .bind(siteId, poolId, JSON.stringify(chunk.map((c) => c.code))),
      ),
    );
    for (const result of results) for (const row of result.results) inserted.add(row.code);
  }
  for (const { line, code } of valid) {
    if (!inserted.has(code)) rejected.push({ line, reason: "code exists already in this site" });
  }
  rejected.sort((a, b) => a.line - b.line);
  return { accepted: inserted.size, rejected };
}
