/**
 * The fields of the segment language (README.md, "Segments") and their types. The parser
 * checks every comparison against these types, so the evaluator and the SQL compiler only ever see
 * comparisons that mean the same thing on both sides (a number field against numbers, a text field
 * against strings, ...).
 */

import { DAY_HISTORY } from "../lib/time";

/* Field kinds: numbers take ordered comparisons; text =, !=, contains (substring); flags true/false;
 * sets membership (cluster); `attr.NAME` a free CRM attribute, typed by the value it is compared to. */

export const NUMBER_FIELDS = [
  "lifetime_revenue",
  "orders",
  "coupons_redeemed",
  "days_since_first_order",
  "days_since_last_order",
  "visits",
  "pageviews",
  "days_since_first_visit",
  "days_since_last_visit",
  "cart_items",
  "cart_value",
  "cart_age_hours",
  "days_since_last_purchase",
  "lookalike_score",
] as const;

const TEXT_FIELDS = ["gender", "acquisition"] as const;

/** Request context: known on the edge only; the SQL compiler refuses them. */
const EDGE_FIELDS = ["placement", "country", "device"] as const;

export type NumberField = (typeof NUMBER_FIELDS)[number];
export type TextField = (typeof TEXT_FIELDS)[number] | (typeof EDGE_FIELDS)[number];

/** Every plain field name, for error messages ("expected a field (...)"). */
export const FIELD_NAMES = [
  "customer",
  "gender",
  "cluster",
  ...NUMBER_FIELDS,
  "attr.NAME",
  'interest("category")',
  'interest("category", DAYS)',
  "visits(DAYS)",
  'event("NAME")',
  'event("NAME", DAYS)',
  "purchases(DAYS)",
  ...EDGE_FIELDS,
];

const NUMBER_SET = new Set<string>(NUMBER_FIELDS);
const TEXT_SET = new Set<string>([...TEXT_FIELDS, ...EDGE_FIELDS]);

export function isNumberField(name: string): name is NumberField {
  return NUMBER_SET.has(name);
}

export function isTextField(name: string): name is TextField {
  return TEXT_SET.has(name);
}

/** Names allowed after `attr.` and as import column suffixes: they become JSON object keys. */
export const ATTR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Longest window for `interest("c", DAYS)`, `visits(DAYS)`, `event("n", DAYS)` and
 * `purchases(DAYS)`: the per-day history profiles keep. A longer window would silently answer a
 * shorter one, so the parser refuses it.
 */
export const MAX_WINDOW_DAYS = DAY_HISTORY;

export { MS_PER_DAY } from "../lib/time";
export const MS_PER_HOUR = 3_600_000;
