/**
 * CRM customer import (`POST /api/v1/import/customers`): validates each row and upserts by
 * (site, customer_id). Columns present in the file overwrite the stored values (an empty cell
 * clears one); columns absent keep what is stored. `attr.NAME` columns set or (when empty) remove
 * that attribute and leave other attributes alone. A clear `email` is hashed here into both
 * e-mail ID spaces (worker/import/email-hash.ts) before anything is stored: the address itself
 * never reaches the database. An `email_sha256` column sets that hash and clears the UID2 hash,
 * which cannot be made from it. `ads_consent` (true/false, or Shopify's "Accepts Marketing" yes/no)
 * decides whether audience exports may send the customer to ad networks (worker/audiences/id-spaces.ts).
 *
 * Where the rows go (docs/architecture.md, "Shards"): a customer's own row on the customer's shard,
 * and the same update on each copy of it (the shards its `copies_on` lists, where cookies linked to
 * it live), then the decision rows of the customer's cookies on each of those shards. One batch per
 * database per flush; a site whose people are in HOME writes one batch there, as before shards.
 */

import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { isReservedKey } from "../lib/reserved-keys";
import { ATTR_NAME_PATTERN } from "../segments/fields";
import { type PeopleDb, peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";
import { type ColumnReport, CUSTOMER_ALIASES, mapColumns, tagsAsClusters } from "./columns";
import { emailSha256, uid2EmailHash } from "./email-hash";
import { type ImportFormat, readRows } from "./read-rows";
import { type ImportOptions, type ImportResult, problemList, type Refusal, runImport } from "./run-import";
import {
  type Parsed,
  parseAttribute,
  parseClusters,
  parseCount,
  parseDate,
  parseFlag,
  parseId,
  parseNumber,
  parseText,
} from "./values";

/** Import column → customers column, in the order they are written. */
const COLUMNS = {
  email: "email_sha256",
  email_sha256: "email_sha256",
  gender: "gender",
  lifetime_revenue: "lifetime_revenue",
  orders: "orders",
  first_order_at: "first_order_at",
  last_order_at: "last_order_at",
  coupons_redeemed: "coupons_redeemed",
  clusters: "clusters",
  ads_consent: "ads_consent",
} as const;

const KNOWN = ["customer_id", ...Object.keys(COLUMNS)];
const MAX_ATTR_COLUMNS = 40;

/** uid2_email is no import column: it is made from `email` only. */
type DbColumn = (typeof COLUMNS)[keyof typeof COLUMNS] | "uid2_email";
type CustomerUpsert = {
  customerId: string;
  set: Map<DbColumn, string | number | null>;
  attributes: Map<string, string | number | boolean | null>;
};

/** The contract's columns; other names go to the export-name mapping (columns.ts) or are ignored. */
function checkCustomerColumn(name: string): { column: string } | { error: string } | undefined {
  const lower = name.toLowerCase();
  if (KNOWN.includes(lower)) return { column: lower };
  if (lower.startsWith("attr.")) {
    const attr = name.slice(5);
    if (isReservedKey(attr))
      return { error: `attribute name "${attr}" is reserved (__proto__, constructor, prototype)` };
    if (ATTR_NAME_PATTERN.test(attr)) return { column: `attr.${attr}` };
    return { error: `unknown column "${name}": attribute names are letters, digits and _` };
  }
  // Not ignored like other unknown names: a reserved key is refused with its reason (SECURITY.md).
  if (isReservedKey(name)) return { error: `column name "${name}" is reserved (__proto__, constructor, prototype)` };
  return undefined;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

type EmailHashes = { sha256: string | null; uid2: string | null };

async function parseEmailHash(values: Map<string, unknown>): Promise<Parsed<EmailHashes> | undefined> {
  if (values.has("email")) {
    const email = parseText("email", values.get("email"), 320);
    if ("reason" in email) return email;
    if (email.value !== null) {
      if (!EMAIL.test(email.value.toLowerCase())) return { reason: "email: not an e-mail address" };
      return { value: { sha256: await emailSha256(email.value), uid2: await uid2EmailHash(email.value) } };
    }
    if (!values.has("email_sha256")) return { value: { sha256: null, uid2: null } };
  }
  if (values.has("email_sha256")) {
    const hash = parseText("email_sha256", values.get("email_sha256"));
    if ("reason" in hash) return hash;
    if (hash.value === null) return { value: { sha256: null, uid2: null } };
    if (!/^[0-9a-fA-F]{64}$/.test(hash.value)) {
      return { reason: "email_sha256: not a SHA-256 digest (64 hex characters)" };
    }
    // A UID2 hash needs the clear address (its gmail rule); a stored one may be of an older address.
    return { value: { sha256: hash.value.toLowerCase(), uid2: null } };
  }
  return undefined;
}

async function validateCustomer(values: Map<string, unknown>): Promise<CustomerUpsert | Refusal> {
  tagsAsClusters(values);
  const row = problemList();
  const id = row.take(parseId("customer_id", values.get("customer_id")));
  if (id === null) row.add("missing customer_id");
  const set = new Map<DbColumn, string | number | null>();
  const attributes = new Map<string, string | number | boolean | null>();
  const email = await parseEmailHash(values);
  const hashes = email && row.take(email);
  if (hashes) {
    set.set("email_sha256", hashes.sha256);
    set.set("uid2_email", hashes.uid2);
  }
  for (const [column, raw] of values) {
    let parsed: Parsed<string | number | null>;
    switch (column) {
      case "gender":
        parsed = parseText(column, raw, 40);
        break;
      case "lifetime_revenue":
        parsed = parseNumber(column, raw);
        break;
      case "orders":
      case "coupons_redeemed":
        parsed = parseCount(column, raw);
        break;
      case "first_order_at":
      case "last_order_at":
        parsed = parseDate(column, raw);
        break;
      case "ads_consent":
        parsed = parseFlag(column, raw);
        break;
      case "clusters": {
        const clusters = parseClusters(column, raw);
        parsed = "reason" in clusters ? clusters : { value: JSON.stringify(clusters.value) };
        break;
      }
      default:
        if (column.startsWith("attr.")) {
          const attr = parseAttribute(column, raw);
          if ("value" in attr) attributes.set(column.slice(5), attr.value);
          else row.add(attr.reason);
        }
        continue;
    }
    const value = row.take(parsed);
    if (value !== undefined) set.set(column as DbColumn, value);
  }
  if (attributes.size > MAX_ATTR_COLUMNS) row.add(`more than ${MAX_ATTR_COLUMNS} attr. columns`);
  return row.refusal() ?? { customerId: id as string, set, attributes };
}

/**
 * Multi-row upserts, one statement per group of rows with the same columns, each within D1's 100
 * bound parameters: site_id, customer_id, updated_at, the row's columns and (with attributes) one
 * JSON object per row, plus one JSON path per attribute name for removing the file's attributes
 * before merging the new values. Column names come from the fixed COLUMNS table, never from input.
 */
function upsertStatements(siteId: number, rows: CustomerUpsert[], now: number, copy = false): BoundStatement[] {
  const groups = new Map<string, CustomerUpsert[]>();
  for (const row of rows) {
    const signature = `${[...row.set.keys()].join(",")}|${[...row.attributes.keys()].sort().join(",")}`;
    groups.set(signature, [...(groups.get(signature) ?? []), row]);
  }
  const statements: BoundStatement[] = [];
  for (const group of groups.values()) {
    const columns = [...group[0].set.keys()];
    const attrNames = [...group[0].attributes.keys()].sort();
    const withAttrs = attrNames.length > 0;
    const perRow = 3 + columns.length + (withAttrs ? 1 : 0);
    const rowsPerStatement = Math.floor((100 - attrNames.length) / perRow);
    // A copy is inserted as one (`copy` = 1); the conflict never changes what a row is.
    const columnList = [
      "site_id",
      "customer_id",
      "updated_at",
      ...(copy ? ["copy"] : []),
      ...columns,
      ...(withAttrs ? ["attributes"] : []),
    ];
    const updates = ["updated_at = excluded.updated_at", ...columns.map((c) => `${c} = excluded.${c}`)];
    if (withAttrs) {
      const paths = attrNames.map(() => "?").join(", ");
      updates.push(`attributes = json_patch(json_remove(customers.attributes, ${paths}), excluded.attributes)`);
    }
    // json_patch onto {} drops the nulls: an emptied attribute is removed, never stored as null.
    const tuple = `(?, ?, ?${copy ? ", 1" : ""}${", ?".repeat(columns.length)}${withAttrs ? ", json_patch('{}', ?)" : ""})`;
    for (let i = 0; i < group.length; i += rowsPerStatement) {
      const chunk = group.slice(i, i + rowsPerStatement);
      const params: unknown[] = [];
      for (const row of chunk) {
        params.push(siteId, row.customerId, now, ...columns.map((c) => row.set.get(c)));
        if (withAttrs) params.push(JSON.stringify(Object.fromEntries(row.attributes)));
      }
      params.push(...attrNames.map((name) => `$."${name}"`));
      statements.push({
        text: `insert into customers (${columnList.join(", ")}) values ${chunk.map(() => tuple).join(", ")}
          on conflict (site_id, customer_id) do update set ${updates.join(", ")}`,
        params,
      });
    }
  }
  return statements;
}

type Site = { id: number; shards: ShardSet };

/**
 * The shards other than its own where each of `customers` has linked cookies: where its row needs
 * a copy. Asked of every shard of the set (one read each), not taken from the own row's
 * `copies_on`: a cookie an identify event linked before the customer was imported has no copy and
 * is in no `copies_on` yet, and this import is what gives it both. None for a site in HOME.
 */
async function copiesOf(env: ShardEnv, site: Site, customers: string[]): Promise<Map<string, PeopleDb[]>> {
  const copies = new Map<string, PeopleDb[]>();
  if (site.shards === null) return copies;
  const ids = JSON.stringify([...new Set(customers)]);
  await Promise.all(
    peopleOfSite(env, site).map(async (people) => {
      const { results } = await people.d1
        .prepare(
          `select distinct customer_id from visitors
            where site_id = ?1 and customer_id in (select value from json_each(?2))`,
        )
        .bind(site.id, ids)
        .all<{ customer_id: string }>();
      for (const { customer_id: id } of results) {
        if (peopleFor(env, site, id).d1 === people.d1) continue;
        copies.set(id, [...(copies.get(id) ?? []), people]);
      }
    }),
  );
  return copies;
}

/** Adds the shards in `copied` ([customer ID, [shard, …]] pairs) to those own rows' `copies_on`. */
function notedCopiesStatement(siteId: number, copied: Array<[string, number[]]>): BoundStatement {
  return {
    text: `update customers set copies_on = (
        select json_group_array(value) from (
          select value from json_each(customers.copies_on)
          union select k.value from json_each(?2) p, json_each(p.value, '$[1]') k
            where json_extract(p.value, '$[0]') = customers.customer_id
          order by 1))
      where site_id = ?1 and not copy and customer_id in (select json_extract(value, '$[0]') from json_each(?2))`,
    params: [siteId, JSON.stringify(copied)],
  };
}

/**
 * One flush of the import: per database, the upserts of the customers whose own row is there
 * (noting where their copies are), of the copies it holds, and the refresh of the decision rows
 * of those customers' cookies there.
 */
async function writeCustomers(env: ShardEnv, site: Site, rows: CustomerUpsert[], now: number): Promise<void> {
  const copies = await copiesOf(
    env,
    site,
    rows.map((row) => row.customerId),
  );
  const batches = new Map<
    D1Database,
    { people: PeopleDb; own: CustomerUpsert[]; copies: CustomerUpsert[]; noted: Array<[string, number[]]> }
  >();
  const batchOf = (people: PeopleDb) => {
    const batch = batches.get(people.d1) ?? { people, own: [], copies: [], noted: [] };
    batches.set(people.d1, batch);
    return batch;
  };
  for (const row of rows) {
    const home = batchOf(peopleFor(env, site, row.customerId));
    home.own.push(row);
    const elsewhere = copies.get(row.customerId) ?? [];
    if (elsewhere.length > 0) home.noted.push([row.customerId, elsewhere.map((people) => people.shard as number)]);
    for (const people of elsewhere) batchOf(people).copies.push(row);
  }
  // Each database's batch is atomic; a refused one fails the flush (503), and sending the file
  // again completes it: every statement is an idempotent upsert (run-import.ts).
  await Promise.all(
    [...batches.values()].map(({ people, own, copies: copied, noted }) => {
      const customers = [...new Set([...own, ...copied].map((row) => row.customerId))];
      return runBatch(people.d1, [
        ...upsertStatements(site.id, own, now),
        ...(noted.length > 0 ? [notedCopiesStatement(site.id, noted)] : []),
        ...upsertStatements(site.id, copied, now, true),
        // The decision rows of the customers' cookies here carry their CRM fields.
        ...refreshStatements(site.id, { customers }, now),
      ]);
    }),
  );
}

export async function importCustomers(
  env: ShardEnv,
  site: Site,
  body: ReadableStream<Uint8Array>,
  format: ImportFormat,
  now: number,
  options: ImportOptions = {},
): Promise<ImportResult & ColumnReport> {
  const columns = mapColumns(checkCustomerColumn, CUSTOMER_ALIASES);
  const result = await runImport(
    readRows(body, format, columns.check, ["customer_id"]),
    validateCustomer,
    async (rows) => {
      await writeCustomers(env, site, rows, now);
      options.written?.customers.push(...rows.map((row) => row.customerId));
      return undefined;
    },
    options,
  );
  return { ...result, ...columns.report() };
}
