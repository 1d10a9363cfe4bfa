/**
 * Compiles a segment AST into one SQL condition over the aliases `v` (visitors) and `c` (customers)
 * of profilesFrom() (worker/segments/query.ts). Every value of the expression, and `now`, is a bound
 * parameter; only fixed SQL text of this module is ever concatenated.
 *
 * The semantics are those documented in worker/segments/evaluate.ts, reproduced here: every
 * comparison is wrapped so that it yields 0 instead of NULL when a value is missing (SQLite's
 * three-valued logic would otherwise make `not (missing = x)` NULL, i.e. false, where the
 * evaluator says true). Per-day maps and free attributes are read with json_each, matching keys
 * exactly (no JSON paths built from user text).
 */
import { type SQL, sql } from "drizzle-orm";
import { utcDayKey, utcDayNumber } from "../lib/time";
import { MS_PER_DAY, MS_PER_HOUR } from "./fields";
import { type CompareOp, type FieldRef, type Literal, type SegmentAst, SegmentError } from "./parser";

/** D1 allows 100 bound parameters per statement; the FROM clause and the caller's own values (site, ID ranges) use the rest. */
const MAX_WHERE_PARAMS = 90;

type Context = { now: number; params: number };

function param(ctx: Context, value: string | number): SQL {
  ctx.params++;
  return sql`${value}`;
}

function windowParams(ctx: Context, days: number): [SQL, SQL] {
  const today = Math.floor(ctx.now / MS_PER_DAY) * MS_PER_DAY;
  return [param(ctx, utcDayKey(today - (days - 1) * MS_PER_DAY)), param(ctx, utcDayKey(today))];
}

/** Whole UTC days from the column's day to now's (the evaluator's utcDayNumber difference). */
function daysSince(ctx: Context, column: SQL): SQL {
  return sql`(${param(ctx, utcDayNumber(ctx.now))} - floor(${column} / ${sql.raw(`${MS_PER_DAY}.0`)}))`;
}

/** Whole hours elapsed since the column's time. */
function hoursSince(ctx: Context, column: SQL): SQL {
  return sql`floor((${param(ctx, ctx.now)} - ${column}) / ${sql.raw(`${MS_PER_HOUR}.0`)})`;
}

/** A visitor column that only counts once the visitor has visited (not a link-import or click row). */
function visitedOnly(column: SQL): SQL {
  return sql`(case when v.visits > 0 then ${column} end)`;
}

/** `count(key)` in a JSON {key: count} column: 0 when absent, NULL without a visitor. */
function countOf(ctx: Context, column: SQL, key: string): SQL {
  return sql`(case when v.id is null then null else coalesce((select i.value from json_each(${column}) i where i.key = ${param(ctx, key)}), 0) end)`;
}

/** The window's sum in a JSON {key: {day: count}} column. */
function keyWindowSum(ctx: Context, column: SQL, key: string, days: number): SQL {
  const name = param(ctx, key);
  const [from, to] = windowParams(ctx, days);
  return sql`(case when v.id is null then null else (select coalesce(sum(d.value), 0) from json_each(${column}) k, json_each(k.value) d where k.key = ${name} and d.key >= ${from} and d.key <= ${to}) end)`;
}

/** The window's sum in a JSON {day: count} column. */
function windowSum(ctx: Context, column: SQL, days: number): SQL {
  const [from, to] = windowParams(ctx, days);
  return sql`(case when v.id is null then null else (select coalesce(sum(d.value), 0) from json_each(${column}) d where d.key >= ${from} and d.key <= ${to}) end)`;
}

/** The SQL value of a number or text field; NULL when missing. */
function fieldValue(field: FieldRef, ctx: Context): SQL {
  switch (field.kind) {
    case "number":
      switch (field.name) {
        case "lifetime_revenue":
          return sql`c.lifetime_revenue`;
        case "orders":
          return sql`c.orders`;
        case "coupons_redeemed":
          return sql`c.coupons_redeemed`;
        case "days_since_first_order":
          return daysSince(ctx, sql`c.first_order_at`);
        case "days_since_last_order":
          return daysSince(ctx, sql`c.last_order_at`);
        case "visits":
          return sql`v.visits`;
        case "pageviews":
          return sql`v.pageviews`;
        case "days_since_first_visit":
          return visitedOnly(daysSince(ctx, sql`v.first_seen_at`));
        case "days_since_last_visit":
          return visitedOnly(daysSince(ctx, sql`v.last_seen_at`));
        case "cart_items":
          return sql`v.cart_items`;
        case "cart_value":
          return sql`v.cart_value`;
        case "cart_age_hours":
          return hoursSince(ctx, sql`v.cart_updated_at`);
        case "days_since_last_purchase":
          return daysSince(ctx, sql`v.last_purchase_at`);
        case "lookalike_score":
          return sql`v.lookalike_score`;
      }
      break;
    case "text":
      if (field.name === "gender") return sql`c.gender`;
      if (field.name === "acquisition") return sql`v.acquisition`;
      throw new SegmentError(
        field.pos,
        `${field.name} is request context, known only when a banner is decided; audiences and counts cannot use it`,
      );
    case "interest":
      return field.days === null
        ? countOf(ctx, sql`v.interests`, field.category)
        : keyWindowSum(ctx, sql`v.interest_days`, field.category, field.days);
    case "event":
      return field.days === null
        ? countOf(ctx, sql`v.event_counts`, field.name)
        : keyWindowSum(ctx, sql`v.event_days`, field.name, field.days);
    case "visits_window":
      return windowSum(ctx, sql`v.visit_days`, field.days);
    case "purchases_window":
      return windowSum(ctx, sql`v.purchase_days`, field.days);
  }
  throw new Error(`no SQL value for field kind ${field.kind}`);
}

function operator(op: Exclude<CompareOp, "contains">): SQL {
  return sql.raw(op);
}

function compileAttr(name: string, op: CompareOp, value: Literal, ctx: Context): SQL {
  const key = param(ctx, name);
  let test: SQL;
  if (typeof value === "boolean") {
    const wanted = (op === "=") === value ? "true" : "false";
    test = sql`a.type = ${sql.raw(`'${wanted}'`)}`;
  } else if (op === "contains") {
    test = sql`a.type = 'text' and instr(a.atom, ${param(ctx, value as string)}) > 0`;
  } else if (typeof value === "number") {
    test = sql`a.type in ('integer', 'real') and a.atom ${operator(op)} ${param(ctx, value)}`;
  } else {
    test = sql`a.type = 'text' and a.atom ${operator(op)} ${param(ctx, value)}`;
  }
  return sql`exists (select 1 from json_each(c.attributes) a where a.key = ${key} and ${test})`;
}

function compileCompare(field: FieldRef, op: CompareOp, value: Literal, ctx: Context): SQL {
  switch (field.kind) {
    case "customer": {
      const linked = sql`(coalesce(c.customer_id, v.customer_id) is not null)`;
      return (op === "=") === value ? linked : sql`(not ${linked})`;
    }
    case "cluster": {
      const member = sql`exists (select 1 from json_each(c.clusters) m where m.value = ${param(ctx, value as string)})`;
      return op === "!=" ? sql`(c.id is not null and not ${member})` : sql`(c.id is not null and ${member})`;
    }
    case "attr":
      return compileAttr(field.name, op, value, ctx);
    default: {
      const column = fieldValue(field, ctx);
      if (op === "contains") return sql`coalesce(instr(${column}, ${param(ctx, value as string)}) > 0, 0)`;
      return sql`coalesce(${column} ${operator(op)} ${param(ctx, value as string | number)}, 0)`;
    }
  }
}

function compileNode(ast: SegmentAst, ctx: Context): SQL {
  switch (ast.type) {
    case "compare":
      return compileCompare(ast.field, ast.op, ast.value, ctx);
    case "not":
      return sql`(not ${compileNode(ast.item, ctx)})`;
    case "and":
      return sql`(${sql.join(
        ast.items.map((item) => compileNode(item, ctx)),
        sql` and `,
      )})`;
    case "or":
      return sql`(${sql.join(
        ast.items.map((item) => compileNode(item, ctx)),
        sql` or `,
      )})`;
  }
}

export function compileAstToSql(ast: SegmentAst, now: number): SQL {
  const ctx: Context = { now, params: 0 };
  const where = compileNode(ast, ctx);
  if (ctx.params > MAX_WHERE_PARAMS) {
    throw new SegmentError(
      1,
      `an expression with at most ${MAX_WHERE_PARAMS} values for audiences and counts (D1 binds at most 100 per query); this one needs ${ctx.params}`,
    );
  }
  return where;
}
