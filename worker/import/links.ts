/**
 * CRM cookie-ID links (`POST /api/v1/import/links`, columns `cookie_id,customer_id`): the CRM knows
 * which tw_id belongs to which customer (e.g. from its own login tracking). A link sets the
 * visitor's customer ID, creating the visitor (first and last seen now, no visits) when tagwerk has
 * not seen that cookie yet, so segments and audiences find the customer under that cookie.
 *
 * A link names a customer tagwerk must know: a link to a customer not imported yet is refused and
 * reported (`unknown customer`), so a typo or an import in the wrong order is seen, not stored as a
 * link to nobody. Linking merges the cookie's coupon codes into the customer's in the same
 * transaction (worker/coupons/merge.ts: one customer is one person).
 */
import type { SQL } from "drizzle-orm";
import { type BoundStatement, runBatch, toD1 } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";
import { linkCookies } from "../identity/link";
import { type ColumnReport, LINK_ALIASES, mapColumns } from "./columns";
import { type ImportFormat, readRows } from "./read-rows";
import {
  type ImportOptions,
  type ImportResult,
  problemList,
  type Refusal,
  runImport,
  type WriteRejection,
} from "./run-import";
import { parseId } from "./values";

type Link = { cookieId: string; customerId: string };

const KNOWN = ["cookie_id", "customer_id"];
/** site_id, cookie_id, customer_id, first_seen_at, last_seen_at. */
const ROWS_PER_STATEMENT = Math.floor(100 / 5);

function checkLinkColumn(name: string): { column: string } | undefined {
  const lower = name.toLowerCase();
  return KNOWN.includes(lower) ? { column: lower } : undefined;
}

async function validateLink(values: Map<string, unknown>): Promise<Link | Refusal> {
  const row = problemList();
  const cookie = row.take(parseId("cookie_id", values.get("cookie_id")));
  if (cookie === null) row.add("missing cookie_id");
  else if (cookie !== undefined && !/^[0-9a-fA-F]{32}$/.test(cookie))
    row.add("cookie_id: not a tw_id (32 hex characters)");
  const customer = row.take(parseId("customer_id", values.get("customer_id")));
  if (customer === null) row.add("missing customer_id");
  return row.refusal() ?? { cookieId: (cookie as string).toLowerCase(), customerId: customer as string };
}

function linkStatements(siteId: number, links: Link[], now: number): (BoundStatement | SQL)[] {
  const statements: (BoundStatement | SQL)[] = [];
  for (let i = 0; i < links.length; i += ROWS_PER_STATEMENT) {
    const chunk = links.slice(i, i + ROWS_PER_STATEMENT);
    statements.push({
      text: `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at)
        values ${chunk.map(() => "(?, ?, ?, ?, ?)").join(", ")}
        on conflict (site_id, cookie_id) do update set customer_id = excluded.customer_id`,
      params: chunk.flatMap((link) => [siteId, link.cookieId, link.customerId, now, now]),
    });
  }
  const customers = [...new Set(links.map((link) => link.customerId))];
  statements.push(...refreshStatements(siteId, { cookies: links.map((link) => link.cookieId), customers }, now));
  return statements;
}

/** The customers among `links` that the site knows (one read per flush). */
async function knownCustomers(db: Db, siteId: number, links: Link[]): Promise<Set<string>> {
  const ids = JSON.stringify([...new Set(links.map((link) => link.customerId))]);
  const { results } = await toD1(db)
    .prepare(
      "select customer_id from customers where site_id = ?1 and customer_id in (select value from json_each(?2))",
    )
    .bind(siteId, ids)
    .all<{ customer_id: string }>();
  return new Set(results.map((row) => row.customer_id));
}

export async function importLinks(
  db: Db,
  siteId: number,
  body: ReadableStream<Uint8Array>,
  format: ImportFormat,
  now: number,
  options: ImportOptions = {},
): Promise<ImportResult & ColumnReport> {
  const columns = mapColumns(checkLinkColumn, LINK_ALIASES);
  const result = await runImport(
    readRows(body, format, columns.check, KNOWN),
    validateLink,
    async (links) => {
      const known = await knownCustomers(db, siteId, links);
      const refused: WriteRejection[] = [];
      const kept: Link[] = [];
      links.forEach((link, index) => {
        if (known.has(link.customerId)) kept.push(link);
        else refused.push({ index, reason: `unknown customer ${JSON.stringify(link.customerId.slice(0, 80))}` });
      });
      if (kept.length > 0) {
        await runBatch(db, linkStatements(siteId, kept, now));
        // The coupon codes of one person (identity/link.ts); this import writes HOME's people.
        await linkCookies({ DB: toD1(db) as D1Database }, { id: siteId, shards: null }, kept, now);
      }
      options.written?.cookies.push(...kept.map((link) => link.cookieId));
      options.written?.customers.push(...kept.map((link) => link.customerId));
      return refused;
    },
    options,
  );
  return { ...result, ...columns.report() };
}
