/**
 * The bench worker's meter of D1 (bench/bench-worker.ts): wraps every D1 binding of the Worker's
 * env so that each request, and each queue delivery, counts its round trips and sums D1's own
 * `meta.rows_written` of every statement it runs (index entries included, as D1 bills them:
 * docs/architecture.md, "Budgets and where they are measured"). Counting through D1's result
 * metadata keeps the bench independent of the schema: no table is named here.
 */

/**
 * What a request (or the whole isolate) did to D1. `sql` is filled only for a traced request.
 * `byBinding` counts the round trips per D1 binding (HOME's `DB`, each `PEOPLE_k`) and
 * `rowsReturned` the rows the statements answered: with them the shard bench (bench/shards.ts)
 * checks that a steady `/b` is one read of one row on the cookie's own shard.
 */
export type Meter = {
  calls: number;
  rowsWritten: number;
  unmetered: number;
  rowsReturned: number;
  byBinding: Record<string, number>;
  sql?: string[];
};

export const newMeter = (traced = false): Meter => ({
  calls: 0,
  rowsWritten: 0,
  unmetered: 0,
  rowsReturned: 0,
  byBinding: {},
  sql: traced ? [] : undefined,
});

function note(meters: Meter[], binding: string, what: string) {
  for (const m of meters) {
    m.calls++;
    m.byBinding[binding] = (m.byBinding[binding] ?? 0) + 1;
    m.sql?.push(what.replace(/\s+/g, " ").slice(0, 30000));
  }
}

function returned(meters: Meter[], rows: number) {
  for (const m of meters) m.rowsReturned += rows;
}

function written(meters: Meter[], meta: { rows_written?: number; duration?: number } | undefined) {
  const rows = meta?.rows_written;
  for (const m of meters) {
    if (typeof rows === "number") m.rowsWritten += rows;
    else m.unmetered++;
    // A traced request also says how long SQLite took (D1's meta.duration, ms): which statement is slow.
    const last = m.sql?.length ? m.sql.length - 1 : -1;
    if (m.sql && last >= 0 && typeof meta?.duration === "number") m.sql[last] += ` [${meta.duration.toFixed(2)} ms]`;
  }
}

/**
 * What `raw()` goes through inside workerd's D1 binding (its `raw()` drops the result's meta).
 * Not a public API: when a runtime update removes it, raw() falls back to the binding's own and
 * the statement is counted as unmetered, which the report shows and the tiny run asserts is zero.
 */
type RawSender = {
  _send?: (
    endpoint: string,
    query: string,
    params: unknown[],
    format: "ROWS_AND_COLUMNS",
    span: { setAttribute: () => void },
  ) => Promise<
    | {
        success: boolean;
        error?: string;
        meta?: { rows_written?: number };
        results?: { columns: string[]; rows: unknown[][] };
      }[]
    | { success: boolean; error?: string }
  >;
};
type RawInternals = { dbSession?: RawSender; statement?: string; params?: unknown[] };

/**
 * One statement, counted when it runs: first/all/run/raw. D1's statement objects carry private
 * state that `batch` reads, so the wrapper unwraps them before batching.
 */
class MeteredStatement {
  constructor(
    readonly real: D1PreparedStatement,
    private readonly meters: Meter[],
    private readonly binding: string,
    private readonly query: string,
    private readonly values: unknown[] = [],
  ) {}
  /** The statement with its bound values, for a traced request. */
  traced() {
    return `${this.query} -- ${JSON.stringify(this.values)}`;
  }
  bind(...values: unknown[]) {
    return new MeteredStatement(this.real.bind(...values), this.meters, this.binding, this.query, values);
  }
  /** first() through all(): D1's first() runs the whole query too, but returns no meta. */
  async first(column?: string) {
    note(this.meters, this.binding, this.traced());
    const result = await this.real.all<Record<string, unknown>>();
    written(this.meters, result.meta);
    returned(this.meters, result.results.length);
    const row = result.results[0] ?? null;
    return column === undefined || row === null ? row : (row[column] ?? null);
  }
  async all() {
    note(this.meters, this.binding, this.traced());
    const result = await this.real.all();
    written(this.meters, result.meta);
    returned(this.meters, result.results.length);
    return result;
  }
  async run() {
    note(this.meters, this.binding, this.traced());
    const result = await this.real.run();
    written(this.meters, result.meta);
    returned(this.meters, result.results?.length ?? 0);
    return result;
  }
  async raw(options?: { columnNames?: boolean }) {
    note(this.meters, this.binding, this.traced());
    const internals = this.real as unknown as RawInternals;
    const session = internals.dbSession;
    if (typeof session?._send !== "function" || internals.statement === undefined) {
      written(this.meters, undefined);
      // biome-ignore lint/suspicious/noExplicitAny: D1's raw() overloads differ only in their options type.
      return this.real.raw(options as any);
    }
    // The span is the binding's tracing hook, which its own raw() passes; the bench traces nothing.
    const answer = await session._send("/query", internals.statement, internals.params ?? [], "ROWS_AND_COLUMNS", {
      setAttribute: () => {},
    });
    const first = Array.isArray(answer) ? answer[0] : answer;
    if (!first.success) throw new Error(`D1_ERROR: ${first.error}`, { cause: new Error(first.error) });
    const result = first as {
      meta?: { rows_written?: number };
      results?: { columns: string[]; rows: unknown[][] } | Record<string, unknown>[];
    };
    written(this.meters, result.meta);
    returned(this.meters, Array.isArray(result.results) ? result.results.length : (result.results?.rows.length ?? 0));
    if (!result.results) return [];
    // As the binding's own raw(): a database may answer objects instead of rows and columns.
    const { columns, rows } = Array.isArray(result.results)
      ? {
          columns: Object.keys(result.results[0] ?? {}),
          rows: result.results.map((row) => Object.values(row)),
        }
      : result.results;
    return [...(options?.columnNames && (rows.length || !Array.isArray(result.results)) ? [columns] : []), ...rows];
  }
}

type Batchable = Pick<D1Database, "prepare" | "batch">;

function unwrap(statements: (D1PreparedStatement | MeteredStatement)[]) {
  return statements.map((s) => (s instanceof MeteredStatement ? s.real : s));
}

function describeBatch(statements: (D1PreparedStatement | MeteredStatement)[]) {
  const parts = statements.map((s) => (s instanceof MeteredStatement ? s.traced() : "?"));
  return `batch[${statements.length}]: ${parts.join(" ;; ")}`;
}

/** What a D1 binding and a D1 session share: statements and batches, both metered. */
class MeteredBatcher<T extends Batchable> {
  constructor(
    protected readonly real: T,
    protected readonly meters: Meter[],
    protected readonly binding: string,
  ) {}
  prepare(query: string) {
    return new MeteredStatement(this.real.prepare(query), this.meters, this.binding, query);
  }
  async batch(statements: (D1PreparedStatement | MeteredStatement)[]) {
    note(this.meters, this.binding, describeBatch(statements));
    const results = await this.real.batch(unwrap(statements));
    for (const result of results) {
      written(this.meters, result.meta);
      returned(this.meters, result.results?.length ?? 0);
    }
    return results;
  }
}

class MeteredSession extends MeteredBatcher<D1DatabaseSession> {
  getBookmark() {
    return this.real.getBookmark();
  }
}

class MeteredDb extends MeteredBatcher<D1Database> {
  /** exec() answers no rows_written: counted as unmetered (migrations use it, no hot path does). */
  exec(query: string) {
    note(this.meters, this.binding, query);
    written(this.meters, undefined);
    return this.real.exec(query);
  }
  dump() {
    return this.real.dump();
  }
  withSession(constraintOrBookmark?: string) {
    return new MeteredSession(this.real.withSession(constraintOrBookmark), this.meters, this.binding);
  }
}

function isD1(binding: unknown): binding is D1Database {
  const b = binding as Partial<D1Database> | null;
  return (
    typeof b === "object" &&
    b !== null &&
    typeof b.prepare === "function" &&
    typeof b.batch === "function" &&
    typeof b.withSession === "function"
  );
}

/** The env with every D1 binding (HOME's `DB` and any shard) metered into `meters`. */
export function meteredEnv(env: Env, meters: Meter[]): Env {
  const out: Record<string, unknown> = { ...env };
  for (const [name, binding] of Object.entries(env)) {
    if (isD1(binding)) out[name] = new MeteredDb(binding, meters, name) as unknown as D1Database;
  }
  return out as unknown as Env;
}
