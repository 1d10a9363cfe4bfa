/**
 * A pool's codes for its owner: the handed-out ones page by page (newest first, a keyset on the
 * row ID, so page 100 costs what page 1 does), every code as a streamed CSV download, and a sample
 * code that shows what the pool hands out. Each code reads as the lookup shows it (lookup.ts,
 * codeToJson): the holder's kind and customer ID, never a cookie ID.
 */
import { and, desc, eq, isNotNull, lt, or, sql } from "drizzle-orm";
import { coupons } from "../db/schema";
import type { Db } from "../env";
import { csvRow, type PageOptions, pagedCsv } from "../lib/csv";
import { generateCode } from "./code-format";
import { codeToJson } from "./lookup";
import type { Pool } from "./pools";

export const CODES_PAGE_SIZE = 50;

/** Codes that were handed out (assigned, expired, redeemed, archived), newest first, before row `before`. */
export async function handedOutCodes(
  db: Db,
  siteId: number,
  poolId: number,
  now: number,
  { before, limit = CODES_PAGE_SIZE }: { before?: number; limit?: number } = {},
) {
  const rows = await db
    .select()
    .from(coupons)
    .where(
      and(
        eq(coupons.siteId, siteId),
        eq(coupons.poolId, poolId),
        or(isNotNull(coupons.holder), isNotNull(coupons.redeemedAt)),
        before === undefined ? undefined : lt(coupons.id, before),
      ),
    )
    .orderBy(desc(coupons.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    codes: page.map((row) => codeToJson(row, now)),
    // The cursor of the next page: the last row shown, when there is more.
    next: rows.length > limit ? page[page.length - 1].id : null,
  };
}

/**
 * What the pool hands out: a generated pool's code is made here as a claim would make it (never
 * stored, never redeemable); a list pool shows its next free code, or null when it ran dry.
 */
export async function sampleCode(db: Db, pool: Pool): Promise<string | null> {
  if (pool.kind === "generated") return generateCode(pool.prefix);
  const [free] = await db
    .select({ code: coupons.code })
    .from(coupons)
    .where(and(eq(coupons.poolId, pool.id), sql`${coupons.holder} is null`))
    .orderBy(coupons.id)
    .limit(1);
  return free?.code ?? null;
}

const EXPORT_COLUMNS = [
  "code",
  "state",
  "holder_kind",
  "customer",
  "rule_id",
  "assigned_at",
  "expires_at",
  "redeemed_at",
  "archived_at",
  "order",
] as const;

/** Every code of the pool, free ones included, as CSV in upload/claim order, read page by page. */
export function poolCodesCsv(db: Db, siteId: number, poolId: number, now: number, options: PageOptions = {}) {
  return pagedCsv(
    EXPORT_COLUMNS.join(","),
    0,
    async (after, limit) => {
      const rows = await db
        .select()
        .from(coupons)
        .where(and(eq(coupons.siteId, siteId), eq(coupons.poolId, poolId), sql`${coupons.id} > ${after}`))
        .orderBy(coupons.id)
        .limit(limit);
      return {
        rows: rows.map((row) => {
          const json = codeToJson(row, now);
          return { k: row.id, line: csvRow(EXPORT_COLUMNS.map((column) => json[column])).slice(0, -1) };
        }),
      };
    },
    options,
  );
}
