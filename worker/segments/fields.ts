/**
 * The fields of the segment language (README.md, "Segments") and their types. The parser
 * checks every comparison against these types, so the evaluator and the SQL compiler only ever see
 * comparisons that mean the same thing on both sides (a number field against numbers, a text field
 * against strings, ...).
 */

import { DAY_HISTORY } from "../lib/time";

/* Field kinds: numbers take ordered comparisons; text =, !=, contains (substring); flags true/false;
 * sets membership (cluster); `attr.NAME` a free CRM attribute, typed by the value it is compared to. */

/** @internal Exported for tests; the Worker itself does not import it. */
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
  ...TEXT_FIELDS,
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

/** Every name a field can start with, for "did you mean …?" and the editor's autocomplete. */
export const PLAIN_FIELD_NAMES = [
  "customer",
  "cluster",
  ...TEXT_FIELDS,
  ...NUMBER_FIELDS,
  ...EDGE_FIELDS,
  "interest",
  "event",
  "purchases",
] as const;

/** Edit distance (insert, delete, replace, swap of neighbours), small strings only. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known field closest to a mistyped one ("vists" → "visits"), or null when none is close. */
export function suggestField(typed: string): string | null {
  const word = typed.toLowerCase();
  let best: { name: string; d: number } | null = null;
  for (const name of PLAIN_FIELD_NAMES) {
    const d = name.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, name);
    if (!best || d < best.d) best = { name, d };
  }
  // At most two edits, and fewer than a third of the word: "ordrs" → orders, "foo" → nothing.
  return best && best.d <= Math.min(2, Math.max(1, Math.floor(word.length / 3))) ? best.name : null;
}

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
