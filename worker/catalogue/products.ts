/**
 * The catalogue (`POST /api/v1/products`): the only writer of `products` (docs/architecture.md,
 * "Trust boundaries": product names, prices, URLs and images come from the shop's catalogue, never from
 * events, which name SKUs only). CSV with a header row or NDJSON, upsert by SKU: columns present
 * overwrite, columns absent keep what is stored.
 *
 * Both tagwerk's own column names and those of a Google Merchant Center product feed are read,
 * so a shop can send the feed it already has: `id`→sku, `title`→name, `price` "99.00 EUR" (amount
 * and currency), `link`→url, `image_link`→image_url, `product_type`→category, `availability`
 * ("in stock", "out of stock", "preorder", "backorder")→available. The feed's other standard
 * attributes (description, brand, gtin, …) are read and not stored; any other column refuses the
 * file, so a typo never silently drops a field.
 *
 * HOME holds the shop's catalogue; each shard of a site's set holds a copy, which its decision rows
 * take their product from (docs/architecture.md, "Shards"). A write goes to HOME first, then to
 * every copy with the refresh of the decision rows there: one batch per database. No transaction
 * spans them; a write refused part-way fails the request, and sending it again (upserts, deletes)
 * makes every copy whole.
 */

import { type BoundStatement, runBatch, toD1 } from "../db/raw";
import { catalogueRefreshStatement } from "../decide/decision-rows";
import type { Db } from "../env";
import { type ImportFormat, readRows } from "../import/read-rows";
import { type ImportResult, problemList, type Refusal, runImport } from "../import/run-import";
import { type Parsed, parseText } from "../import/values";
import { peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

/** Import column (either naming) → products column. */
const COLUMNS: Record<string, ProductColumn> = {
  sku: "sku",
  id: "sku",
  name: "name",
  title: "name",
  price: "price",
  currency: "currency",
  category: "category",
  product_type: "category",
  url: "url",
  link: "url",
  image_url: "image_url",
  image_link: "image_url",
  available: "available",
  availability: "available",
};

/** Merchant Center attributes a feed carries that tagwerk does not use: accepted, not stored. */
const FEED_EXTRAS = new Set([
  "description",
  "brand",
  "gtin",
  "mpn",
  "condition",
  "google_product_category",
  "sale_price",
  "sale_price_effective_date",
  "additional_image_link",
  "item_group_id",
  "shipping",
  "shipping_weight",
  "color",
  "size",
  "gender",
  "age_group",
  "material",
  "pattern",
  "identifier_exists",
  "adult",
  "mobile_link",
  "custom_label_0",
  "custom_label_1",
  "custom_label_2",
  "custom_label_3",
  "custom_label_4",
]);

type ProductColumn = "sku" | "name" | "price" | "currency" | "category" | "url" | "image_url" | "available";
type ProductRow = { sku: string; set: Map<Exclude<ProductColumn, "sku">, string | number | null> };

function checkProductColumn(name: string): { column: string } | { error: string } {
  const lower = name.toLowerCase();
  if (lower in COLUMNS || FEED_EXTRAS.has(lower)) return { column: lower };
  return {
    error: `unknown column "${name}" (known: ${Object.keys(COLUMNS).join(", ")} and the Merchant Center feed's attributes)`,
  };
}

const CURRENCY = /^[A-Za-z]{3}$/;
const MAX_PRICE = 1e9;

/** `99.00`, `99.00 EUR` (Merchant Center), or a JSON number. */
function parsePrice(raw: unknown): Parsed<{ amount: number | null; currency: string | null }> {
  if (raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === "")) {
    return { value: { amount: null, currency: null } };
  }
  if (typeof raw === "number") {
    return Number.isFinite(raw) && raw >= 0 && raw <= MAX_PRICE
      ? { value: { amount: raw, currency: null } }
      : { reason: `price: not an amount between 0 and ${MAX_PRICE}` };
  }
  const match = typeof raw === "string" ? /^\s*(\d{1,10}(?:\.\d{1,4})?)(?:\s+([A-Za-z]{3}))?\s*$/.exec(raw) : null;
  if (!match)
    return { reason: `price: expected an amount such as 99.00 or 99.00 EUR (${JSON.stringify(raw).slice(0, 40)})` };
  const amount = Number(match[1]);
  if (amount > MAX_PRICE) return { reason: `price: more than ${MAX_PRICE}` };
  return { value: { amount, currency: match[2]?.toUpperCase() ?? null } };
}

function parseAvailable(raw: unknown): Parsed<number | null> {
  if (raw === null || raw === undefined || raw === "") return { value: null };
  if (typeof raw === "boolean") return { value: raw ? 1 : 0 };
  const text = String(raw).trim().toLowerCase().replace(/_/g, " ");
  if (["true", "1", "yes", "in stock", "preorder", "backorder"].includes(text)) return { value: 1 };
  if (["false", "0", "no", "out of stock"].includes(text)) return { value: 0 };
  return { reason: `availability: expected in stock, out of stock, preorder, backorder, true or false` };
}

/** An absolute http(s) URL, or a path on the shop (resolved against the creative's landing URL). */
function parseLink(column: string, raw: unknown): Parsed<string | null> {
  const text = parseText(column, raw, 2048);
  if ("reason" in text || text.value === null) return text;
  if (text.value.startsWith("/") && !text.value.startsWith("//")) return text;
  try {
    const url = new URL(text.value);
    if (url.protocol === "https:" || url.protocol === "http:") return { value: url.href };
  } catch {
    // fall through
  }
  return { reason: `${column}: not an http(s) URL or a path starting with /` };
}

async function validateProduct(values: Map<string, unknown>): Promise<ProductRow | Refusal> {
  const row = problemList();
  const byColumn = new Map<ProductColumn, unknown>();
  for (const [name, raw] of values) {
    const column = COLUMNS[name];
    if (!column) continue;
    if (byColumn.has(column)) row.add(`${name}: given twice (as ${column})`);
    else byColumn.set(column, raw);
  }
  const sku = row.take(parseText("sku", byColumn.get("sku"), 100));
  if (sku === null) row.add("missing sku (or id)");
  const set: ProductRow["set"] = new Map();
  const take = (column: Exclude<ProductColumn, "sku">, parsed: Parsed<string | number | null>) => {
    const value = row.take(parsed);
    if (value !== undefined) set.set(column, value);
  };
  for (const [column, raw] of byColumn) {
    if (column === "name") take(column, parseText("name", raw, 200));
    else if (column === "category") take(column, parseText("category", raw, 100));
    else if (column === "url" || column === "image_url") take(column, parseLink(column, raw));
    else if (column === "available") take(column, parseAvailable(raw));
  }
  if (byColumn.has("price") || byColumn.has("currency")) {
    const price = row.take(parsePrice(byColumn.get("price")));
    let currency = row.take(parseText("currency", byColumn.get("currency"), 3));
    if (currency && !CURRENCY.test(currency)) {
      row.add("currency: not an ISO 4217 code");
      currency = undefined;
    }
    const stated = currency?.toUpperCase() ?? null;
    if (price && stated && price.currency && stated !== price.currency) {
      row.add("price: its currency differs from the currency column");
    }
    if (price && byColumn.has("price")) set.set("price", price.amount);
    if (price && currency !== undefined) {
      if (stated ?? price.currency) set.set("currency", stated ?? price.currency);
      else if (byColumn.has("currency")) set.set("currency", null);
    }
  }
  // An empty availability keeps the stored value (the column cannot be empty).
  if (set.get("available") === null) set.delete("available");
  return row.refusal() ?? { sku: sku as string, set };
}

/** One upsert per row; column names come from the fixed COLUMNS table, never from input. */
function upsertStatements(siteId: number, rows: ProductRow[], now: number): BoundStatement[] {
  return rows.map((row) => {
    const columns = [...row.set.keys()];
    const updates = ["updated_at = excluded.updated_at", ...columns.map((c) => `${c} = excluded.${c}`)];
    return {
      text: `insert into products (site_id, sku, updated_at${columns.map((c) => `, ${c}`).join("")})
        values (?, ?, ?${", ?".repeat(columns.length)})
        on conflict (site_id, sku) do update set ${updates.join(", ")}`,
      params: [siteId, row.sku, now, ...columns.map((c) => row.set.get(c))],
    };
  });
}

type Site = { id: number; shards: ShardSet };

/**
 * Runs `statements(siteId)` in HOME, then on every copy of the site's catalogue with the refresh of
 * the decision rows that `skus` may change there. A site whose people are in HOME has one batch.
 * Answers HOME's results.
 */
async function writeCatalogue(
  env: ShardEnv,
  site: Site,
  statements: BoundStatement[],
  skus: readonly string[],
  now: number,
): Promise<D1Result[]> {
  const refresh = catalogueRefreshStatement(site.id, skus, now);
  if (site.shards === null) return runBatch(env.DB, [...statements, refresh]);
  // HOME first: a copy never has what the shop's own catalogue lacks.
  const home = await runBatch(env.DB, statements);
  await Promise.all(peopleOfSite(env, site).map((people) => runBatch(people.d1, [...statements, refresh])));
  return home;
}

export async function importProducts(
  env: ShardEnv,
  site: Site,
  body: ReadableStream<Uint8Array>,
  format: ImportFormat,
  now: number,
): Promise<ImportResult> {
  return runImport(readRows(body, format, checkProductColumn, []), validateProduct, async (rows) => {
    const skus = rows.map((row) => row.sku);
    await writeCatalogue(env, site, upsertStatements(site.id, rows, now), skus, now);
    return undefined;
  });
}

export type ProductJson = {
  sku: string;
  name: string | null;
  price: number | null;
  currency: string | null;
  category: string | null;
  url: string | null;
  image_url: string | null;
  available: boolean;
  updated_at: number;
};

const SELECT = `select sku, name, price, currency, category, url, image_url, available, updated_at from products`;

function toJson(row: Record<string, unknown>): ProductJson {
  return { ...(row as Omit<ProductJson, "available">), available: row.available === 1 };
}

/** One page of the catalogue in SKU order; `after` is the last SKU of the previous page. */
export async function listProducts(db: Db, siteId: number, limit: number, after: string | undefined) {
  const rows = await toD1(db)
    .prepare(`${SELECT} where site_id = ?1 and sku > ?2 order by sku limit ?3`)
    .bind(siteId, after ?? "", limit)
    .all<Record<string, unknown>>();
  const products = rows.results.map(toJson);
  return { products, next: products.length === limit ? products[products.length - 1].sku : null };
}

export async function findProduct(db: Db, siteId: number, sku: string): Promise<ProductJson | null> {
  const row = await toD1(db)
    .prepare(`${SELECT} where site_id = ?1 and sku = ?2`)
    .bind(siteId, sku)
    .first<Record<string, unknown>>();
  return row ? toJson(row) : null;
}

export async function deleteProduct(env: ShardEnv, site: Site, sku: string, now = Date.now()): Promise<boolean> {
  const [result] = await writeCatalogue(
    env,
    site,
    [{ text: "delete from products where site_id = ?1 and sku = ?2", params: [site.id, sku] }],
    [sku],
    now,
  );
  return result.meta.changes > 0;
}
