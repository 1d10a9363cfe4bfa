/**
 * Import column names: the contract's own names first, then the names common CRM exports use for
 * the same thing, and everything else ignored with a warning instead of refusing the file — a
 * Shopify or Klaviyo export carries dozens of columns tagwerk has no use for (names, addresses,
 * phone numbers), and a CRM engineer should not have to cut them out by hand.
 *
 * The export names, from the vendors' customer exports:
 * - Shopify: `Customer ID`, `Email`, `Total Spent`, `Total Orders`, `Tags` (comma-separated),
 *   `Accepts Marketing` / `Accepts Email Marketing` (yes/no: taken as `ads_consent`);
 * - Mailchimp audience export: `Email Address`, `TAGS` (it has no customer ID of the shop: such a
 *   file is refused for its missing customer_id, naming the column);
 * - Klaviyo profile export: `External ID` (the shop's customer ID), `Email`, `Gender`,
 *   `Historic Customer Lifetime Value`, `Historic Number Of Orders`.
 * Names match case-insensitively with spaces, `_` and `-` alike. An ignored column is dropped
 * before any value is read: its content (often personal data) is never stored.
 */
import type { ColumnCheck } from "./read-rows";

/** What a column name check makes of a name the contract may know: a column, an error, or unknown. */
export type ContractCheck = (name: string) => { column: string } | { error: string } | undefined;

/** The prefix of ignored columns' internal names: validators skip every column they do not know. */
const IGNORED = "ignored:";

export const CUSTOMER_ALIASES: Record<string, string> = {
  "customer id": "customer_id",
  "external id": "customer_id",
  "customer number": "customer_id",
  "email address": "email",
  "e mail": "email",
  "total spent": "lifetime_revenue",
  "historic customer lifetime value": "lifetime_revenue",
  "total orders": "orders",
  "historic number of orders": "orders",
  "orders count": "orders",
  "first order date": "first_order_at",
  "last order date": "last_order_at",
  // Shopify's opt-in to marketing: whether audience exports may send the customer (README.md, "Cookie sync, audiences and webhooks").
  "accepts marketing": "ads_consent",
  "accepts email marketing": "ads_consent",
  // Shopify and Mailchimp tags are comma-separated: see tagsAsClusters().
  tags: "tags",
};

export const LINK_ALIASES: Record<string, string> = {
  "tw id": "cookie_id",
  "cookie id": "cookie_id",
  "customer id": "customer_id",
  "external id": "customer_id",
};

function normalise(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, " ");
}

export type ColumnReport = {
  /** Columns of the file that are neither the contract's nor a known export name. */
  ignored_columns: string[];
  /** Export names taken as the contract's columns, e.g. {"Total Spent": "lifetime_revenue"}. */
  mapped_columns: Record<string, string>;
};

/**
 * A column check for readRows() that knows the contract (`contract`), the export names (`aliases`)
 * and ignores the rest, and the report of what it did for the import's answer.
 */
export function mapColumns(
  contract: ContractCheck,
  aliases: Record<string, string>,
): { check: ColumnCheck; report: () => ColumnReport } {
  const ignored = new Set<string>();
  const mapped = new Map<string, string>();
  let unknown = 0;
  const check: ColumnCheck = (name) => {
    const known = contract(name);
    if (known) return known;
    const alias = aliases[normalise(name)];
    if (alias) {
      mapped.set(name, alias === "tags" ? "clusters" : alias);
      return { column: alias };
    }
    ignored.add(name);
    unknown++;
    return { column: `${IGNORED}${unknown}` };
  };
  return {
    check,
    report: () => ({ ignored_columns: [...ignored].slice(0, 100), mapped_columns: Object.fromEntries(mapped) }),
  };
}

/**
 * A `tags` column (Shopify, Mailchimp) becomes the clusters when the file has no `clusters` of its
 * own: tags are separated by commas there, clusters by `;`.
 */
export function tagsAsClusters(values: Map<string, unknown>): void {
  if (!values.has("tags")) return;
  const tags = values.get("tags");
  values.delete("tags");
  if (values.has("clusters")) return;
  values.set("clusters", typeof tags === "string" ? tags.replace(/"/g, "").replaceAll(",", ";") : tags);
}
