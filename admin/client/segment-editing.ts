/**
 * What the segment editor's page (admin/pages/segments.tsx) and its script (segment-editor.ts)
 * both need, in one place: the fields to insert and complete — taken from the parser's own list
 * (worker/segments/fields.ts), so `acquisition` and every later field appear without a second
 * list — where the parser's error points, and the explain link of a sample profile.
 */
import { PLAIN_FIELD_NAMES } from "../../worker/segments/fields";

/** Every field as it is typed, functions with example arguments: the chips and the autocomplete. */
export const SEGMENT_FIELDS: readonly string[] = [
  ...PLAIN_FIELD_NAMES.filter((f) => !["interest", "event", "purchases"].includes(f)),
  'interest("rings", 30)',
  'event("newsletter_signup", 7)',
  "purchases(30)",
  "visits(30)",
  "attr.NAME",
];

/** The fields that continue `word` (case-insensitive), the word itself excluded, at most `limit`. */
export function completionsOf(word: string, limit = 8): string[] {
  const typed = word.toLowerCase();
  if (typed === "") return [];
  return SEGMENT_FIELDS.filter((f) => f.toLowerCase().startsWith(typed) && f.toLowerCase() !== typed).slice(0, limit);
}

/** The 1-based column in the parser's "at N: …" message (worker/segments/parser.ts), or null. */
export function errorPosition(message: string): number | null {
  const at = /^at (\d+):/.exec(message);
  return at ? Number(at[1]) : null;
}

const TOKEN = /"[^"]*"?|[A-Za-z_][\w.]*|\d+(?:\.\d+)?|[<>!=]=?|\S/y;

/**
 * The expression around the token the error names: `token` is that whole token (a word, a
 * number, a string, an operator), empty when the error is at the end ("expected a value").
 */
export function markedParts(expression: string, position: number) {
  const start = Math.min(Math.max(position - 1, 0), expression.length);
  TOKEN.lastIndex = start;
  const token = TOKEN.exec(expression)?.[0] ?? "";
  return { before: expression.slice(0, start), token, after: expression.slice(start + token.length) };
}

/** A profile of the preview's sample (POST /api/v1/segments/preview). */
export type SampleProfile = {
  cookie_id: string | null;
  customer_id: string | null;
  visits: number | null;
  cart_items: number | null;
  orders: number | null;
};

/** Explain (admin/pages/explain.tsx) for this profile: its cookie when it has one, else its customer ID. */
export function explainHref(profile: SampleProfile, placement: string | undefined): string {
  const who = profile.cookie_id ?? profile.customer_id ?? "";
  const query = new URLSearchParams(placement ? { who, placement } : { who });
  return `/admin/explain?${query}`;
}
