/**
 * CRM cookie-ID links (`POST /api/v1/import/links`, columns `cookie_id,customer_id`): the CRM knows
 * which tw_id belongs to which customer (e.g. from its own login tracking). A link sets the
 * visitor's customer ID, creating the visitor (first and last seen now, no visits) when tagwerk has
 * not seen that cookie yet, so segments and audiences find the customer under that cookie.
 */
import type { Db } from "../env";
import { type ImportFormat, readRows } from "./read-rows";
import { type BoundStatement, type ImportResult, runBatch, runImport } from "./run-import";
import { parseText } from "./values";

type Link = { cookieId: string; customerId: string };

const KNOWN = ["cookie_id", "customer_id"];
/** site_id, cookie_id, customer_id, first_seen_at, last_seen_at. */
const ROWS_PER_STATEMENT = Math.floor(100 / 5);

function checkLinkColumn(name: string): { column: string } | { error: string } {
  const lower = name.toLowerCase();
  return KNOWN.includes(lower)
    ? { column: lower }
    : { error: `unknown column "${name}" (known: cookie_id, customer_id)` };
}

async function validateLink(values: Map<string, unknown>): Promise<Link | { reason: string }> {
  const cookie = parseText("cookie_id", values.get("cookie_id"));
  if ("reason" in cookie) return cookie;
  if (cookie.value === null) return { reason: "missing cookie_id" };
  if (!/^[0-9a-fA-F]{32}$/.test(cookie.value)) return { reason: "cookie_id: not a tw_id (32 hex characters)" };
  const customer = parseText("customer_id", values.get("customer_id"));
  if ("reason" in customer) return customer;
  if (customer.value === null) return { reason: "missing customer_id" };
  return { cookieId: cookie.value.toLowerCase(), customerId: customer.value };
}

function linkStatements(siteId: number, links: Link[], now: number): BoundStatement[] {
  const statements: BoundStatement[] = [];
  for (let i = 0; i < links.length; i += ROWS_PER_STATEMENT) {
    const chunk = links.slice(i, i + ROWS_PER_STATEMENT);
    statements.push({
      text: `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at)
        values ${chunk.map(() => "(?, ?, ?, ?, ?)").join(", ")}
        on conflict (site_id, cookie_id) do update set customer_id = excluded.customer_id`,
      params: chunk.flatMap((link) => [siteId, link.cookieId, link.customerId, now, now]),
    });
  }
  return statements;
}

export async function importLinks(
  db: Db,
  siteId: number,
  body: ReadableStream<Uint8Array>,
  format: ImportFormat,
  now: number,
): Promise<ImportResult> {
  return runImport(readRows(body, format, checkLinkColumn, KNOWN), validateLink, async (links) => {
    await runBatch(db, linkStatements(siteId, links, now));
  });
}
