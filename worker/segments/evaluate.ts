/**
 * Compiles a segment AST into a JS closure over one profile: the edge decision evaluates every
 * segment of a placement per request, so the tree is walked once at compile time and each request
 * runs only nested closures (no re-parsing, no tree interpretation, no allocation per comparison).
 *
 * Semantics shared with the SQL compiler (worker/segments/sql.ts) — the property test holds both to it:
 * - Two-valued logic: every comparison is true or false; a comparison with a missing value is
 *   false, whatever the operator (`gender != "f"` is false when gender is missing), and `not`
 *   simply negates (`not gender = "f"` is true when gender is missing).
 * - Missing: customer fields without a CRM customer; behaviour fields without a visitor; nullable
 *   columns that are null; `attr.NAME` absent, null, or of another type than the value compared.
 * - `interest("c")` / `interest("c", D)` / `visits(D)` / `event("n")` / `event("n", D)` /
 *   `purchases(D)` are 0 for a visitor who never had any, and missing for a CRM customer without a
 *   visitor. Windows sum the per-day maps (UTC "YYYY-MM-DD") over the D days ending with now's UTC
 *   day, inclusive (D is at most the per-day history that is kept: the parser refuses more).
 * - `days_since_*` count whole UTC calendar days: now's UTC day number minus the time's, so
 *   `days_since_last_order = 0` is an order today (UTC), 1 yesterday, and `>= 180` is 180 days ago
 *   or earlier — the same days as the windows. `cart_age_hours` counts whole hours elapsed
 *   (floor((now - cart updated) / 3 600 000)): `cart_age_hours >= 1` is at least an hour.
 * - A visitor row without a visit yet (made by a CRM link import or a banner click) has no first or
 *   last visit: `days_since_first_visit` and `days_since_last_visit` are missing for it.
 * - Strings compare case-sensitively and exactly; `contains` on text is a substring test, on
 *   `cluster` a membership test; `cluster = x` is membership and `cluster != x` non-membership.
 * - `customer` is true when the profile has a CRM customer ID (a linked or identified visitor, or a
 *   CRM-only customer).
 */

import { utcDayKey, utcDayNumber } from "../lib/time";
import { MS_PER_DAY, MS_PER_HOUR } from "./fields";
import type { CompareOp, FieldRef, Literal, SegmentAst } from "./parser";
import type { Profile } from "./profile";

export type SegmentPredicate = (profile: Profile, now: number) => boolean;
type Getter = (profile: Profile, now: number) => unknown;

const hasOwn = Object.hasOwn;

/** Whole UTC days from `value`'s day to now's day; null when missing. */
function daysSince(value: number | null | undefined, now: number): number | null {
  return value === null || value === undefined ? null : utcDayNumber(now) - utcDayNumber(value);
}

function hoursSince(value: number | null | undefined, now: number): number | null {
  return value === null || value === undefined ? null : Math.floor((now - value) / MS_PER_HOUR);
}

/** The visitor's visit times, unless it has no visit yet (a row made by a link import or a click). */
const visited = (p: Profile) => (p.visitor && p.visitor.visits > 0 ? p.visitor : null);

/** UTC day keys of the window [now's day - (days - 1), now's day], cached per `now`. */
function windowKeys(days: number) {
  let lastNow = Number.NaN;
  let from = "";
  let to = "";
  return (now: number) => {
    if (now !== lastNow) {
      lastNow = now;
      const today = Math.floor(now / MS_PER_DAY) * MS_PER_DAY;
      to = utcDayKey(today);
      from = utcDayKey(today - (days - 1) * MS_PER_DAY);
    }
    return [from, to] as const;
  };
}

function sumWindow(map: Record<string, number> | undefined, from: string, to: string): number {
  let total = 0;
  if (!map) return total;
  for (const key in map) {
    if (hasOwn(map, key) && key >= from && key <= to) total += map[key];
  }
  return total;
}

const NUMBER_GETTERS: Record<string, Getter> = {
  lifetime_revenue: (p) => p.customer?.lifetimeRevenue ?? null,
  orders: (p) => p.customer?.orders ?? null,
  coupons_redeemed: (p) => p.customer?.couponsRedeemed ?? null,
  days_since_first_order: (p, now) => daysSince(p.customer?.firstOrderAt, now),
  days_since_last_order: (p, now) => daysSince(p.customer?.lastOrderAt, now),
  visits: (p) => p.visitor?.visits ?? null,
  pageviews: (p) => p.visitor?.pageviews ?? null,
  days_since_first_visit: (p, now) => daysSince(visited(p)?.firstSeenAt, now),
  days_since_last_visit: (p, now) => daysSince(visited(p)?.lastSeenAt, now),
  cart_items: (p) => p.visitor?.cartItems ?? null,
  cart_value: (p) => p.visitor?.cartValue ?? null,
  cart_age_hours: (p, now) => hoursSince(p.visitor?.cartUpdatedAt, now),
  days_since_last_purchase: (p, now) => daysSince(p.visitor?.lastPurchaseAt, now),
  lookalike_score: (p) => p.visitor?.lookalikeScore ?? null,
};

/** `interest("c"[, D])` / `event("n"[, D])`: the key's count all time or over the window; 0 when absent. */
function keyedCount(
  key: string,
  days: number | null,
  allTime: "interests" | "eventCounts",
  perDay: "interestDays" | "eventDays",
): Getter {
  if (days === null) {
    return (p) => {
      if (!p.visitor) return null;
      const counts = p.visitor[allTime];
      return hasOwn(counts, key) ? counts[key] : 0;
    };
  }
  const keys = windowKeys(days);
  return (p, now) => {
    if (!p.visitor) return null;
    const byKey = p.visitor[perDay];
    const [from, to] = keys(now);
    return hasOwn(byKey, key) ? sumWindow(byKey[key], from, to) : 0;
  };
}

/** `visits(D)` / `purchases(D)`: the per-day map summed over the window. */
function dayCount(days: number, perDay: "visitDays" | "purchaseDays"): Getter {
  const keys = windowKeys(days);
  return (p, now) => {
    if (!p.visitor) return null;
    const [from, to] = keys(now);
    return sumWindow(p.visitor[perDay], from, to);
  };
}

function getter(field: FieldRef): Getter {
  switch (field.kind) {
    case "number":
      return NUMBER_GETTERS[field.name];
    case "text":
      if (field.name === "gender") return (p) => p.customer?.gender ?? null;
      if (field.name === "acquisition") return (p) => p.visitor?.acquisition ?? null;
      return (p) => p.context[field.name as "placement" | "country" | "device"] ?? null;
    case "attr": {
      const name = field.name;
      return (p) => {
        const attributes = p.customer?.attributes;
        return attributes && hasOwn(attributes, name) ? attributes[name] : null;
      };
    }
    case "interest":
      return keyedCount(field.category, field.days, "interests", "interestDays");
    case "event":
      return keyedCount(field.name, field.days, "eventCounts", "eventDays");
    case "visits_window":
      return dayCount(field.days, "visitDays");
    case "purchases_window":
      return dayCount(field.days, "purchaseDays");
    case "customer":
      return (p) => p.customerId !== null;
    case "cluster":
      return (p) => p.customer?.clusters ?? null;
  }
}

/**
 * Field values of the profile being evaluated, computed on first use and reused by every segment
 * evaluated against the same profile object at the same `now`: the decision runs all segments of
 * a placement for one profile in a row, and with a shared slot per field each comparison costs an
 * array read instead of a chain of megamorphic getter calls (bench/segment-latency.ts). A profile
 * must therefore not be mutated between evaluations at the same `now`. Slots are numbered at
 * compile time, one per distinct field (and category, window, attribute name) in the isolate.
 */
const slotIds = new Map<string, number>();
const slotGetters: Getter[] = [];
const slotValues: unknown[] = [];
const slotStamps: number[] = [];
let currentProfile: Profile | null = null;
let currentNow = Number.NaN;
let generation = 0;

function slotKey(field: FieldRef): string {
  switch (field.kind) {
    case "number":
    case "text":
      return field.name;
    case "attr":
      return `attr.${field.name}`;
    case "interest":
      return `interest\u0000${field.category}\u0000${field.days ?? ""}`;
    case "visits_window":
      return `visits\u0000${field.days}`;
    case "event":
      return `event\u0000${field.name}\u0000${field.days ?? ""}`;
    case "purchases_window":
      return `purchases\u0000${field.days}`;
    default:
      return field.kind;
  }
}

function slotFor(field: FieldRef): number {
  const key = slotKey(field);
  let slot = slotIds.get(key);
  if (slot === undefined) {
    slot = slotGetters.length;
    slotIds.set(key, slot);
    slotGetters.push(getter(field));
    slotStamps.push(0);
    slotValues.push(null);
  }
  return slot;
}

function load(p: Profile, now: number, slot: number): unknown {
  if (p !== currentProfile || now !== currentNow) {
    currentProfile = p;
    currentNow = now;
    generation++;
  }
  if (slotStamps[slot] === generation) return slotValues[slot];
  const value = slotGetters[slot](p, now);
  slotValues[slot] = value;
  slotStamps[slot] = generation;
  return value;
}

function compileCompare(field: FieldRef, op: CompareOp, expected: Literal): SegmentPredicate {
  const slot = slotFor(field);
  if (field.kind === "cluster") {
    const member = expected as string;
    if (op === "!=") {
      return (p, now) => {
        const clusters = load(p, now, slot) as string[] | null;
        return clusters !== null && !clusters.includes(member);
      };
    }
    return (p, now) => (load(p, now, slot) as string[] | null)?.includes(member) === true;
  }
  // The value's type decides: an actual value of another type (or null) counts as missing.
  const type = typeof expected;
  switch (op) {
    case "=":
      return (p, now) => load(p, now, slot) === expected;
    case "!=":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === type && a !== expected;
      };
    case "<":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === type && (a as number) < (expected as number);
      };
    case "<=":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === type && (a as number) <= (expected as number);
      };
    case ">":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === type && (a as number) > (expected as number);
      };
    case ">=":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === type && (a as number) >= (expected as number);
      };
    case "contains":
      return (p, now) => {
        const a = load(p, now, slot);
        return typeof a === "string" && a.includes(expected as string);
      };
  }
}

export function compileAst(ast: SegmentAst): SegmentPredicate {
  switch (ast.type) {
    case "compare":
      return compileCompare(ast.field, ast.op, ast.value);
    case "not": {
      const inner = compileAst(ast.item);
      return (p, now) => !inner(p, now);
    }
    case "and":
      // Folded into binary closures: `items.every(item => ...)` would allocate a closure per call.
      return ast.items.map(compileAst).reduceRight((rest, first) => (p, now) => first(p, now) && rest(p, now));
    case "or":
      return ast.items.map(compileAst).reduceRight((rest, first) => (p, now) => first(p, now) || rest(p, now));
  }
}
