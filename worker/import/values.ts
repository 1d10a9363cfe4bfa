/**
 * Cell parsing for imports, the same for CSV (every cell a string) and NDJSON (JSON values).
 * An empty cell (or JSON null) means "no value": the column is set to NULL. Each parser returns the
 * value or a reason naming the column, e.g. `orders: not a whole number ("2.5")`.
 */
import { hasControlCharacters, NO_CONTROL_CHARACTERS } from "../lib/identifiers";

export type Parsed<T> = { value: T } | { reason: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** ISO 8601 date, or date and time with optional seconds, fraction and zone (UTC when absent). */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function show(raw: unknown): string {
  const text = typeof raw === "string" ? raw : JSON.stringify(raw);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function isEmpty(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
}

export function parseText(column: string, raw: unknown, maxLength = 200): Parsed<string | null> {
  if (isEmpty(raw)) return { value: null };
  if (typeof raw === "number" && Number.isFinite(raw)) return { value: String(raw) };
  if (typeof raw !== "string") return { reason: `${column}: not a text value (${show(raw)})` };
  const value = raw.trim();
  if (value.length > maxLength) return { reason: `${column}: longer than ${maxLength} characters` };
  return { value };
}

/** An identifier that is exported (customer and cookie IDs): text without control characters. */
export function parseId(column: string, raw: unknown): Parsed<string | null> {
  const parsed = parseText(column, raw);
  if ("value" in parsed && parsed.value !== null && hasControlCharacters(parsed.value)) {
    return { reason: `${column}: ${NO_CONTROL_CHARACTERS}` };
  }
  return parsed;
}

/**
 * A finite number. `1e999` or a 400-digit figure matches the number syntax but is Infinity as a
 * double, which D1 stores as NULL: refused with a reason rather than stored as empty.
 */
export function parseNumber(column: string, raw: unknown): Parsed<number | null> {
  if (isEmpty(raw)) return { value: null };
  const outOfRange = { reason: `${column}: number out of range (${show(raw)})` };
  if (typeof raw === "number") return Number.isFinite(raw) ? { value: raw } : outOfRange;
  if (typeof raw === "string" && NUMBER.test(raw.trim())) {
    const value = Number(raw.trim());
    return Number.isFinite(value) ? { value } : outOfRange;
  }
  return { reason: `${column}: not a number (${show(raw)})` };
}

export function parseCount(column: string, raw: unknown): Parsed<number | null> {
  const parsed = parseNumber(column, raw);
  if ("reason" in parsed || parsed.value === null) return parsed;
  if (!Number.isSafeInteger(parsed.value) || parsed.value < 0) {
    return { reason: `${column}: not a whole number of at least 0 (${show(raw)})` };
  }
  return parsed;
}

const YES = new Set(["true", "yes", "y", "1"]);
const NO = new Set(["false", "no", "n", "0"]);

/**
 * A yes/no cell: `true`/`false` (the contract), and `yes`/`no`, `1`/`0` as CRM exports write them
 * (Shopify's "Accepts Marketing" column says yes or no). Stored as 1/0.
 */
export function parseFlag(column: string, raw: unknown): Parsed<number | null> {
  if (isEmpty(raw)) return { value: null };
  if (typeof raw === "boolean") return { value: raw ? 1 : 0 };
  const text = String(raw).trim().toLowerCase();
  if (YES.has(text)) return { value: 1 };
  if (NO.has(text)) return { value: 0 };
  return { reason: `${column}: expected true or false (${show(raw)})` };
}

/** ISO 8601 to ms since the epoch; a calendar-invalid date (2024-02-30) is a bad date too. */
export function parseDate(column: string, raw: unknown): Parsed<number | null> {
  if (isEmpty(raw)) return { value: null };
  const bad = {
    reason: `${column}: bad date (${show(raw)}); expected ISO 8601 such as 2024-05-31 or 2024-05-31T14:00:00Z`,
  };
  if (typeof raw !== "string") return bad;
  const text = raw.trim();
  const match = ISO_DATE.exec(text);
  if (!match) return bad;
  const [, year, month, day, hour, minute, second, zone] = match;
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return bad;
  if (hour !== undefined && (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59)) return bad;
  const normalized =
    hour === undefined ? `${year}-${month}-${day}T00:00:00Z` : `${text.replace(" ", "T")}${zone ? "" : "Z"}`;
  const ms = Date.parse(normalized);
  return Number.isFinite(ms) ? { value: ms } : bad;
}

/** `;`-separated in CSV (an array of strings in NDJSON); blanks and duplicates dropped. */
export function parseClusters(column: string, raw: unknown): Parsed<string[]> {
  if (isEmpty(raw)) return { value: [] };
  const parts = typeof raw === "string" ? raw.split(";") : Array.isArray(raw) ? raw : undefined;
  if (!parts || parts.some((p) => typeof p !== "string")) {
    return { reason: `${column}: expected names separated by ";" (${show(raw)})` };
  }
  return { value: [...new Set(parts.map((p: string) => p.trim()).filter(Boolean))] };
}

/** Significant digits a double holds exactly: a longer digit string would change as a number. */
const EXACT_DIGITS = 15;

/**
 * A free attribute. Strings (every CSV cell) are typed so that segments can compare them: a plain
 * decimal number (no leading zeros, so "01234" stays text) becomes a number, `true`/`false` a
 * boolean, anything else text. A digit string a double cannot hold exactly (more than 15
 * significant digits: a card number, a 400-digit figure) stays text, exactly as given, rather
 * than becoming a rounded number or Infinity (stored as null). JSON numbers and booleans stay as
 * they are; a JSON number that is not finite, or an integer beyond 2^53 (already rounded by
 * JSON.parse), is refused with a reason. Empty or null removes the attribute.
 */
export function parseAttribute(column: string, raw: unknown): Parsed<string | number | boolean | null> {
  if (isEmpty(raw)) return { value: null };
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) return { reason: `${column}: number out of range (${show(raw)})` };
    if (Number.isInteger(raw) && !Number.isSafeInteger(raw)) {
      return { reason: `${column}: integer too large to keep exactly; send it as a string (${show(raw)})` };
    }
    return { value: raw };
  }
  if (typeof raw === "boolean") return { value: raw };
  if (typeof raw !== "string") return { reason: `${column}: not a text, number or boolean value (${show(raw)})` };
  const text = raw.trim();
  const digits = text.replace(/^-?0*/, "").replace(".", "").replace(/^0+/, "").length;
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) && digits <= EXACT_DIGITS) return { value: Number(text) };
  if (text === "true" || text === "false") return { value: text === "true" };
  if (text.length > 500) return { reason: `${column}: longer than 500 characters` };
  return { value: text };
}
