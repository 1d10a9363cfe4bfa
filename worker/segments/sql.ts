/**
 * Compiles a segment AST into one SQL condition over the aliases `v` (visitors) and `c` (customers)
 * of PROFILES_FROM (worker/segments/query.ts). Every value of the expression, and `now`, is a bound
 * parameter; only fixed SQL text of this module is ever concatenated.
 *
 * The semantics are those documented in worker/segments/evaluate.ts, reproduced here: every
 * comparison is wrapped so that it yields 0 instead of NULL when a value is missing (SQLite's
 * three-valued logic would otherwise make `not (missing = x)` NULL, i.e. false, where the
 * evaluator says true). Per-day maps and free attributes are read with json_each, matching keys
 * exactly (no JSON paths built from user text).
 */
import { type SQL, sql } from "drizzle-orm";
import { utcDayKey } from "../lib/time";
import { MS_PER_DAY, MS_PER_HOUR } from "./fields";
import { type CompareOp, type FieldRef, type Literal, type SegmentAst, SegmentError } from "./parser";

/** D1 allows 100 bound parameters per statement; PROFILES_FROM and paging use the rest. */
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

function since(ctx: Context, column: SQL, unit: number): SQL {
  return sql`((${param(ctx, ctx.now)} - ${column}) / ${sql.raw(`${unit}.0`)})`;
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
          return since(ctx, sql`c.first_order_at`, MS_PER_DAY);
        case "days_since_last_order":
          return since(ctx, sql`c.last_order_at`, MS_PER_DAY);
        case "visits":
          return sql`v.visits`;
        case "pageviews":
          return sql`v.pageviews`;
        case "days_since_first_visit":
          return since(ctx, sql`v.first_seen_at`, MS_PER_DAY);
        case "days_since_last_visit":
          return since(ctx, sql`v.last_seen_at`, MS_PER_DAY);
        case "cart_items":
          return sql`v.cart_items`;
        case "cart_value":
          return sql`v.cart_value`;
        case "cart_age_hours":
          return since(ctx, sql`v.cart_updated_at`, MS_PER_HOUR);
        case "days_since_last_purchase":
          return since(ctx, sql`v.last_purchase_at`, MS_PER_DAY);
        case "lookalike_score":
          return sql`v.lookalike_score`;
      }
      break;
    case "text":
      if (field.name === "gender") return sql`c.gender`;
      throw new SegmentError(
        field.pos,
        `${field.name} is request context, known only when a banner is decided; audiences and counts cannot use it`,
      );
    case "interest": {
      const category = param(ctx, field.category);
      if (field.days === null) {
        return sql`(case when v.id is null then null else coalesce((select i.value from json_each(v.interests) i where i.key = ${category}), 0) end)`;
      }
      const [from, to] = windowParams(ctx, field.days);
      return sql`(case when v.id is null then null else (select coalesce(sum(d.value), 0) from json_each(v.interest_days) k, json_each(k.value) d where k.key = ${category} and d.key >= ${from} and d.key <= ${to}) end)`;
    }
    case "visits_window": {
      const [from, to] = windowParams(ctx, field.days);
      return sql`(case when v.id is null then null else (select coalesce(sum(d.value), 0) from json_each(v.visit_days) d where d.key >= ${from} and d.key <= ${to}) end)`;
    }
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
