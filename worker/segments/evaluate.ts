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
 * - `interest("c")` / `interest("c", D)` / `visits(D)` are 0 for a visitor who never had any, and
 *   missing for a CRM customer without a visitor. Windows sum the per-day maps (UTC "YYYY-MM-DD")
 *   over the D days ending with now's UTC day, inclusive.
 * - `days_since_*` = (now - time) / 86 400 000 and `cart_age_hours` = (now - cart updated) / 3 600 000,
 *   as real numbers (not floored): `days_since_last_order >= 180` means at least 180 × 24 h.
 * - Strings compare case-sensitively and exactly; `contains` on text is a substring test, on
 *   `cluster` a membership test; `cluster = x` is membership and `cluster != x` non-membership.
 * - `customer` is true when the profile has a CRM customer ID (a linked or identified visitor, or a
 *   CRM-only customer).
 */

import { utcDayKey } from "../lib/time";
import { MS_PER_DAY, MS_PER_HOUR } from "./fields";
import type { CompareOp, FieldRef, Literal, SegmentAst } from "./parser";
import type { Profile } from "./profile";

export type SegmentPredicate = (profile: Profile, now: number) => boolean;
type Getter = (profile: Profile, now: number) => unknown;

const hasOwn = Object.hasOwn;

function since(value: number | null | undefined, now: number, unit: number): number | null {
  return value === null || value === undefined ? null : (now - value) / unit;
}

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
  days_since_first_order: (p, now) => since(p.customer?.firstOrderAt, now, MS_PER_DAY),
  days_since_last_order: (p, now) => since(p.customer?.lastOrderAt, now, MS_PER_DAY),
  visits: (p) => p.visitor?.visits ?? null,
  pageviews: (p) => p.visitor?.pageviews ?? null,
  days_since_first_visit: (p, now) => since(p.visitor?.firstSeenAt, now, MS_PER_DAY),
  days_since_last_visit: (p, now) => since(p.visitor?.lastSeenAt, now, MS_PER_DAY),
  cart_items: (p) => p.visitor?.cartItems ?? null,
  cart_value: (p) => p.visitor?.cartValue ?? null,
  cart_age_hours: (p, now) => since(p.visitor?.cartUpdatedAt, now, MS_PER_HOUR),
  days_since_last_purchase: (p, now) => since(p.visitor?.lastPurchaseAt, now, MS_PER_DAY),
  lookalike_score: (p) => p.visitor?.lookalikeScore ?? null,
};

function getter(field: FieldRef): Getter {
  switch (field.kind) {
    case "number":
      return NUMBER_GETTERS[field.name];
    case "text":
      if (field.name === "gender") return (p) => p.customer?.gender ?? null;
      return (p) => p.context[field.name as "placement" | "country" | "device"] ?? null;
    case "attr": {
      const name = field.name;
      return (p) => {
        const attributes = p.customer?.attributes;
        return attributes && hasOwn(attributes, name) ? attributes[name] : null;
      };
    }
    case "interest": {
      const category = field.category;
      if (field.days === null) {
        return (p) => {
          if (!p.visitor) return null;
          const interests = p.visitor.interests;
          return hasOwn(interests, category) ? interests[category] : 0;
        };
      }
      const keys = windowKeys(field.days);
      return (p, now) => {
        if (!p.visitor) return null;
        const perDay = p.visitor.interestDays;
        const [from, to] = keys(now);
        return hasOwn(perDay, category) ? sumWindow(perDay[category], from, to) : 0;
      };
    }
    case "visits_window": {
      const keys = windowKeys(field.days);
      return (p, now) => {
        if (!p.visitor) return null;
        const [from, to] = keys(now);
        return sumWindow(p.visitor.visitDays, from, to);
      };
    }
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
 * array read instead of a chain of megamorphic getter calls (bench/segments-eval.ts). A profile
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
