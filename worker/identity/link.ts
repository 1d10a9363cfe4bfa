/**
 * Linking cookies to CRM customers across shards (docs/architecture.md, "Shards"): a verified
 * identify or a links import says "this cookie is that customer". The cookie's visitor row names
 * the customer (its writer did that); what lives elsewhere follows here:
 * - the customer's row, whose home is the customer's shard, gets a copy on the cookie's shard when
 *   that is another one (`copy` = 1, noted in the home row's `copies_on`), so the cookie's decision
 *   row can show it;
 * - the coupon codes of the customer and of every cookie linked to it merge into one person's
 *   (coupons/merge.ts, in HOME), the cookies found by asking every shard of the site's set;
 * - the holders' code copies and the decision rows follow (coupons/person-codes.ts).
 * A site whose people are in HOME goes through the same steps on HOME.
 */
import { mergeHoldingsStatements, type PersonCookies } from "../coupons/merge";
import { type CodeCopy, holderCodesStatement, writePersonCodes } from "../coupons/person-codes";
import { runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

type Site = { id: number; shards: ShardSet };

/** The columns of a customer row a copy repeats (all but its ID, copy flag and copies_on). */
const COPIED = `customer_id, email_sha256, uid2_email, gender, lifetime_revenue, orders, first_order_at, last_order_at,
  coupons_redeemed, ads_consent, clusters, attributes, created_at, updated_at`;

/**
 * Puts a copy of `customerId`'s row beside `cookieId` when its home is another shard, and notes
 * that shard in the home row. Nothing to do in HOME or when both share a shard, or when the CRM
 * does not know the customer (yet: the CRM import writes the copies of rows it creates later).
 */
async function copyCustomerBeside(env: ShardEnv, site: Site, cookieId: string, customerId: string, now: number) {
  const home = peopleFor(env, site, customerId);
  const beside = peopleFor(env, site, cookieId);
  if (home.d1 === beside.d1 || beside.shard === null) return;
  const row = await home.d1
    .prepare(`select ${COPIED} from customers where site_id = ?1 and customer_id = ?2 and copy = 0`)
    .bind(site.id, customerId)
    .first<Record<string, unknown>>();
  if (!row) return;
  const columns = COPIED.split(",").map((c) => c.trim());
  await Promise.all([
    beside.d1.batch([
      beside.d1
        .prepare(
          `insert into customers (site_id, copy, ${columns.join(", ")}) values (?1, 1, ${columns.map((_, i) => `?${i + 2}`).join(", ")})
           on conflict (site_id, customer_id) do update set ${columns.map((c) => `${c} = excluded.${c}`).join(", ")}
           where customers.copy = 1`,
        )
        .bind(site.id, ...columns.map((c) => row[c] ?? null)),
      ...refreshStatements(site.id, { cookies: [cookieId] }, now).map((s) =>
        beside.d1.prepare(s.text).bind(...s.params),
      ),
    ]),
    home.d1
      .prepare(
        `update customers set copies_on = (select json_group_array(value) from (
           select value from json_each(copies_on) union select ?3 order by 1))
         where site_id = ?1 and customer_id = ?2 and copy = 0`,
      )
      .bind(site.id, customerId, beside.shard)
      .run(),
  ]);
}

/** Every cookie linked to each of the customers, asking each database of the site's set. */
async function cookiesOf(env: ShardEnv, site: Site, customerIds: string[]): Promise<PersonCookies> {
  const people: PersonCookies = Object.fromEntries(customerIds.map((c) => [c, []]));
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
 * that show them.
 */
export async function linkCookies(
  env: ShardEnv,
  site: Site,
  links: readonly { cookieId: string; customerId: string }[],
  now: number,
  options: { mergeCodes?: boolean } = {},
): Promise<void> {
  if (links.length === 0) return;
  await Promise.all(links.map((l) => copyCustomerBeside(env, site, l.cookieId, l.customerId, now)));
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
