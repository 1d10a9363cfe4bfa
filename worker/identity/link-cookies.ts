/**
 * Linking cookies to CRM customers (a links import; a verified identify event), for a site on
 * shards as for a site whose people are in HOME (docs/architecture.md, "Shards"):
 *
 * 1. on the cookie's shard, the visitor's `customer_id` (the visitor is created, first and last
 *    seen now, no visits, when tagwerk has not seen the cookie yet) and, when the customer's own
 *    row lives on another shard, a copy of it (`copy` = 1), so that the cookie's decision row is
 *    derived on its own shard; the customer's own row notes that shard in `copies_on`, which is
 *    how the CRM import finds the copies to update;
 * 2. in HOME, the cookies' coupon codes merge into the customer's (worker/coupons/merge.ts: one
 *    customer is one person), over every cookie of the customer, asked of every shard of the set;
 * 3. the copies of the codes of every holder the merge touched (`person_codes`), and the decision
 *    rows of the customers' cookies on every shard that has some.
 *
 * No transaction spans two databases: each step is one batch per database, each idempotent, so a
 * failure part-way is completed by linking again (an import sent again; the rebuild).
 */
import { type LinkedCookie, mergeHoldingsOfCookiesStatements } from "../coupons/merge";
import { syncPersonCodes } from "../coupons/person-codes";
import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { groupByShard, type PeopleDb, peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

export type Site = { id: number; shards: ShardSet };

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
 * The links on one database: one statement, the pairs bound as one JSON array. A cookie or customer
 * erased here is not linked (its tombstone, worker/privacy/erasure.ts): erasure is final, as for
 * the identify events of a batch queued before it (collect/apply-events.ts checks the same).
 */
function visitorStatement(siteId: number, links: readonly LinkedCookie[], now: number): BoundStatement {
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
 * row has it, but `copy` = 1 and no `copies_on` of its own. One statement per customer (the
 * columns are ~20 bound values).
 */
function copyStatement(row: Record<string, unknown>): BoundStatement {
  // The names are the columns `select *` answered (the table's own), never input.
  const columns = Object.keys(row).filter((name) => name !== "id");
  const values = columns.map((name) => (name === "copy" ? 1 : name === "copies_on" ? "[]" : row[name]));
  const updates = columns
    .filter((name) => !["site_id", "customer_id", "copies_on"].includes(name))
    .map((name) => `${name} = excluded.${name}`);
  return {
    text: `insert into customers (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})
      on conflict (site_id, customer_id) do update set ${updates.join(", ")}`,
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

/** Every cookie linked to one of `customerIds`, asked of every database of the site's set. */
export async function cookiesOfCustomers(
  env: ShardEnv,
  site: Site,
  customerIds: readonly string[],
): Promise<Array<LinkedCookie & { people: PeopleDb }>> {
  if (customerIds.length === 0) return [];
  const ids = JSON.stringify([...new Set(customerIds)]);
  const answers = await Promise.all(
    peopleOfSite(env, site).map(async (people) => {
      const { results } = await people.d1
        .prepare(
          `select cookie_id as cookieId, customer_id as customerId from visitors
            where site_id = ?1 and customer_id in (select value from json_each(?2))`,
        )
        .bind(site.id, ids)
        .all<LinkedCookie>();
      return results.map((row) => ({ ...row, people }));
    }),
  );
  return answers.flat();
}

/**
 * Links each cookie to its customer; see the module comment for what it writes where. The links
 * import links only customers the CRM sent (knownCustomers()); an identify event may name one not
 * imported yet: its cookie is linked, and the customer's row (and its copy on the cookie's shard)
 * comes with the CRM import, which looks for the customer's cookies on every shard.
 */
export async function linkCookies(
  env: ShardEnv,
  site: Site,
  links: readonly LinkedCookie[],
  now: number,
): Promise<void> {
  if (links.length === 0) return;
  const customerIds = [...new Set(links.map((link) => link.customerId))];

  // 1. Visitors and copies on the cookies' shards; `copies_on` on the customers' own shards.
  const remote = new Set(
    site.shards === null
      ? []
      : links.filter((link) => peopleFor(env, site, link.cookieId).d1 !== peopleFor(env, site, link.customerId).d1),
  );
  const own = await ownRows(env, site, [...new Set([...remote].map((link) => link.customerId))]);
  const writes = new Batches();
  for (const { people, items } of groupByShard(env, site, links, (link) => link.cookieId)) {
    const copied = new Set<string>();
    for (const link of items) {
      const row = own.get(link.customerId);
      if (!row || copied.has(link.customerId) || !remote.has(link)) continue;
      copied.add(link.customerId);
      writes.add(people, copyStatement(row));
      writes.add(
        peopleFor(env, site, link.customerId),
        notedCopyStatement(site.id, link.customerId, people.shard as number),
      );
    }
    // Visitors after their customer's copy: a decision row derived in between finds the copy.
    writes.add(people, visitorStatement(site.id, items, now));
  }
  await writes.run();

  // 2. The codes merge in HOME, over every cookie of the customers (of every shard).
  const cookies = await cookiesOfCustomers(env, site, customerIds);
  await runBatch(env.DB, mergeHoldingsOfCookiesStatements(site.id, customerIds, cookies, now));

  // 3. The copies of the merged holders' codes, then the decision rows where the cookies are.
  await syncPersonCodes(
    env,
    site,
    [...customerIds.map((id) => `c:${id}`), ...cookies.map((cookie) => `v:${cookie.cookieId}`)],
    now,
  );
  const refresh = new Batches();
  const byDb = new Map<D1Database, { people: PeopleDb; cookies: string[] }>();
  for (const cookie of cookies) {
    const entry = byDb.get(cookie.people.d1) ?? { people: cookie.people, cookies: [] };
    entry.cookies.push(cookie.cookieId);
    byDb.set(cookie.people.d1, entry);
  }
  for (const { people, cookies: here } of byDb.values()) {
    refresh.add(people, ...refreshStatements(site.id, { cookies: here, customers: customerIds }, now));
  }
  await refresh.run();
}
