/**
 * CRM cookie-ID links (`POST /api/v1/import/links`, columns `cookie_id,customer_id`): the CRM knows
 * which tw_id belongs to which customer (e.g. from its own login tracking). A link sets the
 * visitor's customer ID, creating the visitor (first and last seen now, no visits) when tagwerk has
 * not seen that cookie yet, so segments and audiences find the customer under that cookie.
 *
 * A link names a customer tagwerk must know: a link to a customer not imported yet is refused and
 * reported (`unknown customer`), so a typo or an import in the wrong order is seen, not stored as a
 * link to nobody. Linking merges the cookie's coupon codes into the customer's
 * (worker/coupons/merge.ts: one customer is one person) and, for a site on shards, copies the
 * customer's row to the cookie's shard: worker/identity/link-cookies.ts, one batch per database.
 */
import { runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { type Link, linkCookies, linkVisitorsStatement, type Site } from "../identity/link";
import { groupByShard, type ShardEnv } from "../shards/routing";
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

const KNOWN = ["cookie_id", "customer_id"];
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

/** The customers among `links` that the site knows: one read per shard holding their own rows. */
async function knownCustomers(env: ShardEnv, site: Site, links: Link[]): Promise<Set<string>> {
  const ids = [...new Set(links.map((link) => link.customerId))];
  const answers = await Promise.all(
    groupByShard(env, site, ids, (id) => id).map(({ people, items }) =>
      people.d1
        .prepare(
          `select customer_id from customers where site_id = ?1 and not copy
            and customer_id in (select value from json_each(?2))`,
        )
        .bind(site.id, JSON.stringify(items))
        .all<{ customer_id: string }>(),
    ),
  );
  return new Set(answers.flatMap(({ results }) => results.map((row) => row.customer_id)));
}

export async function importLinks(
  env: ShardEnv,
  site: Site,
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
      const known = await knownCustomers(env, site, links);
      const refused: WriteRejection[] = [];
      const kept: Link[] = [];
      links.forEach((link, index) => {
        if (known.has(link.customerId)) kept.push(link);
        else refused.push({ index, reason: `unknown customer ${JSON.stringify(link.customerId.slice(0, 80))}` });
      });
      // The visitor rows on the cookies' shards (one batch each, with their decision rows), then
      // what a link means beyond them: the customer's copy, one person's codes (identity/link.ts).
      await Promise.all(
        groupByShard(env, site, kept, (link) => link.cookieId).map(({ people, items }) =>
          runBatch(people.d1, [
            linkVisitorsStatement(site.id, items, now),
            ...refreshStatements(
              site.id,
              { cookies: items.map((link) => link.cookieId), customers: [...new Set(items.map((l) => l.customerId))] },
              now,
            ),
          ]),
        ),
      );
      await linkCookies(env, site, kept, now);
      options.written?.cookies.push(...kept.map((link) => link.cookieId));
      options.written?.customers.push(...kept.map((link) => link.customerId));
      return refused;
    },
    options,
  );
  return { ...result, ...columns.report() };
}
