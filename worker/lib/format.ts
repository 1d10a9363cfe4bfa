/**
 * How numbers, money, shares and dates are written for people — one module for the admin's
 * server-rendered pages, its chart script (admin/client/charts.ts, bundled from this same file)
 * and the report's plain-words verdict (reports/uplift.ts), so a figure reads the same in a card,
 * a table, a chart's axis, its legend and a sentence (issue 30: revenue had no currency and two
 * number formats, dates two formats).
 *
 * One locale ("en": 1,234.5) and UTC dates as ISO days (2026-12-06) and minutes
 * (2026-12-06 14:03): the counters behind every figure are whole UTC days (docs/architecture.md,
 * "Counters"), so a local date would put a figure on the wrong day. Money is in the site's
 * currency (`currency` in GET /api/v1/site).
 */

const LOCALE = "en";

/** What a chart's or a card's values are: counts, money, shares (0.12 = 12 %) or differences of shares. */
export type Unit = "count" | "money" | "percent" | "points";

const counts = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const moneyFormats = new Map<string, Intl.NumberFormat>();

export function formatCount(n: number | null | undefined): string {
  return n == null ? "—" : counts.format(n);
}

/** 1234.5 in EUR → "€1,234.50". */
export function formatMoney(amount: number | null | undefined, currency: string): string {
  if (amount == null) return "—";
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    moneyFormats.set(currency, format);
  }
  return format.format(amount);
}

/** "EUR — Euro", for the settings page's currency list. */
export function currencyLabel(code: string): string {
  const name = new Intl.DisplayNames(LOCALE, { type: "currency" }).of(code);
  return name && name !== code ? `${code} — ${name}` : code;
}

/** A share as a percentage: 0.1234 → "12.3 %". */
export function formatPercent(share: number | null | undefined, digits = 1): string {
  return share == null ? "—" : `${(share * 100).toFixed(digits)} %`;
}

/** A difference of two rates in percentage points, signed: 0.0123 → "+1.23 pts" (unsigned: "1.23 pts"). */
export function formatPoints(diff: number | null | undefined, { signed = true } = {}): string {
  if (diff == null) return "—";
  const text = Math.abs(diff * 100).toFixed(2);
  // −0.00 reads as a sign error: a difference that rounds to zero has none.
  if (!signed || Number(text) === 0) return `${text} pts`;
  return `${diff > 0 ? "+" : "−"}${text} pts`;
}

/** A 95 % interval of a difference: "[−0.40, +2.10] pts". */
export function formatInterval(ci: { low: number; high: number } | null | undefined): string {
  if (!ci) return "—";
  const bare = (x: number) => formatPoints(x).replace(" pts", "");
  return `[${bare(ci.low)}, ${bare(ci.high)}] pts`;
}

/** "+12 % vs previous" against the previous period; empty when there is nothing to compare with. */
export function formatChange(now: number | null, before: number | null): string {
  if (now == null || before == null || before === 0) return "";
  const d = ((now - before) / before) * 100;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(0)} % vs previous`;
}

/** A value in its unit, as cards, tables, axes and legends show it (`currency`: for money). */
export function formatValue(value: number | null | undefined, unit: Unit, currency: string | null): string {
  switch (unit) {
    case "money":
      return currency ? formatMoney(value, currency) : formatCount(value);
    case "percent":
      return formatPercent(value, 2);
    case "points":
      return formatPoints(value);
    default:
      return formatCount(value);
  }
}

const toDate = (at: number | string) => new Date(typeof at === "number" ? at : Date.parse(at));

/** A UTC day: "2026-12-06". Takes milliseconds or an ISO string. */
export function formatDay(at: number | string | null | undefined): string {
  return at == null ? "—" : toDate(at).toISOString().slice(0, 10);
}

/** A UTC time: "2026-12-06 14:03" (with `seconds`, "2026-12-06 14:03:09", for live event lists). */
export function formatTime(at: number | string | null | undefined, { seconds = false } = {}): string {
  if (at == null) return "—";
  return toDate(at)
    .toISOString()
    .replace("T", " ")
    .slice(0, seconds ? 19 : 16);
}
