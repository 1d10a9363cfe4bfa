/**
 * Linking cookies to CRM customers across shards (docs/architecture.md, "Shards"): a verified
 * identify or a links import says "this cookie is that customer". The cookie's visitor row names
 * the customer (its writer did that: collect/apply-events.ts, or linkVisitorsStatement() for the
 * links import); what lives elsewhere follows here:
 * - the customer's row, whose home is the customer's shard, gets a copy on the cookie's shard when
 *   that is another one (`copy` = 1, noted in the home row's `copies_on`), so the cookie's decision
 *   row can show it; one batch per shard for all the links of a call;
 * - the coupon codes of the customer and of every cookie linked to it merge into one person's
 *   (coupons/merge.ts, in HOME), the cookies found by asking every shard of the site's set;
 * - the holders' code copies and their decision rows' codes follow (coupons/person-codes.ts).
 * A site whose people are in HOME goes through the same steps on HOME (no copies there).
 *
 * No transaction spans two databases: each step is one batch per database, each idempotent, so a
 * link cut short part-way is completed by linking again (an import sent again; the rebuild).
 */
import { mergeHoldingsStatements, type PersonCookies } from "../coupons/merge";
import { type CodeCopy, holderCodesStatement, writePersonCodes } from "../coupons/person-codes";
import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { groupByShard, type PeopleDb, peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

export type Site = { id: number; shards: ShardSet };
export type Link = { cookieId: string; customerId: string };

/**
 * The visitor rows of `links` on one database (the links import's own writer; event ingestion
 * writes its own): the cookie names the customer, and a cookie tagwerk has not seen yet is created
 * (first and last seen now, no visits). One statement, the pairs bound as one JSON array. A cookie
 * or customer erased here is not linked (its tombstone, worker/privacy/erasure.ts): erasure is
 * final, as for the identify events of a batch queued before it.
 */
export function linkVisitorsStatement(siteId: number, links: readonly Link[], now: number): BoundStatement {
  return {
    text: `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at)
      select ?1, json_extract(l.value, '$[0]'), json_extract(l.value, '$[1]'), ?2, ?2 from json_each(?3) l
      where not exists (select 1 from erasures e where e.site_id = ?1
        and ((e.kind = 'cookie' and e.subject = json_extract(l.value, '$[0]'))
          or (e.kind = 'customer' and e.subject = json_extract(l.value, '$[1]'))))
      on conflict (site_id, cookie_id) do update set customer_id = excluded.customer_id`,
    params: [siteId, now, JSON.stringify(links.map((link) => [link.cookieId, link.customerId]))],
  };
}

/** The customers' own rows as stored (column name → value), read from each customer's shard. */
async function ownRows(
  env: ShardEnv,
  site: Site,
  customerIds: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const rows = new Map<string, Record<string, unknown>>();
  const answers = await Promise.all(
    groupByShard(env, site, customerIds, (id) => id).map(({ people, items }) =>
      people.d1
        .prepare(
          "select * from customers where site_id = ?1 and not copy and customer_id in (select value from json_each(?2))",
        )
        .bind(site.id, JSON.stringify(items))
        .all<Record<string, unknown>>(),
    ),
  );
  for (const { results } of answers) for (const row of results) rows.set(row.customer_id as string, row);
  return rows;
}

/**
 * The upsert of a copy of `row` (a customer's own row) on another shard: every column as the own
 * row has it, but `copy` = 1 and no `copies_on` of its own; it never turns an own row into a copy.
 */
function copyStatement(row: Record<string, unknown>): BoundStatement {
  // The names are the columns `select *` answered (the table's own), never input.
  const columns = Object.keys(row).filter((name) => name !== "id");
  const values = columns.map((name) => (name === "copy" ? 1 : name === "copies_on" ? "[]" : row[name]));
  const updates = columns
    .filter((name) => !["site_id", "customer_id", "copy", "copies_on"].includes(name))
    .map((name) => `${name} = excluded.${name}`);
  return {
    text: `insert into customers (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})
      on conflict (site_id, customer_id) do update set ${updates.join(", ")} where customers.copy = 1`,
    params: values,
  };
}

/** Adds shard `k` to the customer's own row's `copies_on` (once). */
function notedCopyStatement(siteId: number, customerId: string, k: number): BoundStatement {
  // `cast`: D1 binds JavaScript numbers as reals, and the list holds shard indexes (`[2]`, not `[2.0]`).
  return {
    text: `update customers set copies_on = (
        select json_group_array(value) from (
          select value from json_each(customers.copies_on) union select cast(?3 as integer) order by 1))
      where site_id = ?1 and customer_id = ?2 and not copy and not exists (
        select 1 from json_each(customers.copies_on) where value = cast(?3 as integer))`,
    params: [siteId, customerId, k],
  };
}

/** Statements per database, in the order they were added: one batch each. */
class Batches {
  private readonly byDb = new Map<D1Database, { people: PeopleDb; statements: BoundStatement[] }>();
  add(people: PeopleDb, ...statements: BoundStatement[]) {
    const entry = this.byDb.get(people.d1) ?? { people, statements: [] };
    entry.statements.push(...statements);
    this.byDb.set(people.d1, entry);
  }
  async run(): Promise<void> {
    await Promise.all(
      [...this.byDb.values()]
        .filter(({ statements }) => statements.length > 0)
        .map(({ people, statements }) => runBatch(people.d1, statements)),
    );
  }
}

/**
 * Puts a copy of each customer's row beside its cookies on other shards (and refreshes those
 * cookies' decision rows there), and notes those shards in the own rows: one batch per database.
 * Nothing in HOME, nothing when cookie and customer share a shard, nothing for a customer the CRM
 * has not sent (yet: the CRM import writes the copies of rows it creates, worker/import/customers.ts).
 */
async function copyCustomersBeside(env: ShardEnv, site: Site, links: readonly Link[], now: number) {
  if (site.shards === null) return;
  const remote = links.filter(
    (link) => peopleFor(env, site, link.cookieId).d1 !== peopleFor(env, site, link.customerId).d1,
  );
  if (remote.length === 0) return;
  const own = await ownRows(env, site, [...new Set(remote.map((link) => link.customerId))]);
  const writes = new Batches();
  const noted = new Map<D1Database, { people: PeopleDb; customers: Set<string> }>();
  for (const { people, items } of groupByShard(env, site, remote, (link) => link.cookieId)) {
    const copied = new Set<string>();
    const cookies: string[] = [];
    for (const link of items) {
      const row = own.get(link.customerId);
      if (!row) continue;
      cookies.push(link.cookieId);
      if (copied.has(link.customerId)) continue;
      copied.add(link.customerId);
      writes.add(people, copyStatement(row));
      const home = peopleFor(env, site, link.customerId);
      writes.add(home, notedCopyStatement(site.id, link.customerId, people.shard as number));
      const entry = noted.get(home.d1) ?? { people: home, customers: new Set<string>() };
      entry.customers.add(link.customerId);
      noted.set(home.d1, entry);
    }
    // After the copies, in their batch: the cookies' rows show the customer from here on.
    writes.add(people, ...refreshStatements(site.id, { cookies }, now));
  }
  // The rows of the customers' cookies on their own shard show the own row, `copies_on` included.
  for (const { people, customers } of noted.values()) {
    writes.add(people, ...refreshStatements(site.id, { customers: [...customers] }, now));
  }
  await writes.run();
}

/** Every cookie linked to each of the customers, asking each database of the site's set. */
async function cookiesOf(env: ShardEnv, site: Site, customerIds: readonly string[]): Promise<PersonCookies> {
  const people: PersonCookies = Object.fromEntries(customerIds.map((c) => [c, []]));
  if (customerIds.length === 0) return people;
  const answers = await Promise.all(
    peopleOfSite(env, site).map((p) =>
      p.d1
        .prepare(
          "select cookie_id, customer_id from visitors where site_id = ?1 and customer_id in (select value from json_each(?2))",
        )
        .bind(site.id, JSON.stringify(customerIds))
        .all<{ cookie_id: string; customer_id: string }>(),
    ),
  );
  for (const { results } of answers) for (const r of results) people[r.customer_id]?.push(r.cookie_id);
  return people;
}

/**
 * What linking `links` means beyond the cookies' own visitor rows (which their writer links): the
 * customers' rows beside the cookies, one person's coupon codes, and the copies and decision rows
 * that show them. `mergeCodes: false` for a trusted batch naming its customer, whose codes are
 * merged when the customer is linked by an identify or an import.
 */
export async function linkCookies(
  env: ShardEnv,
  site: Site,
  links: readonly Link[],
  now: number,
  options: { mergeCodes?: boolean } = {},
): Promise<void> {
  if (links.length === 0) return;
  await copyCustomersBeside(env, site, links, now);
  if (options.mergeCodes === false) return;
  const customerIds = [...new Set(links.map((l) => l.customerId))];
  const people = await cookiesOf(env, site, customerIds);
  const holders = [
    ...customerIds.map((c) => `c:${c}`),
    ...Object.values(people).flatMap((cookies) => cookies.map((c) => `v:${c}`)),
  ];
  await runBatch(env.DB, mergeHoldingsStatements(site.id, people, now));
  const { results: codes } = await holderCodesStatement(env.DB, site.id, holders).all<CodeCopy>();
  await writePersonCodes(env, site, holders, codes, now);
}
