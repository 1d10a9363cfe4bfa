/**
 * The operator's moves of a site's people from one placement to another (docs/architecture.md,
 * "Shards"): from a shard set, or from HOME for a site
 * created before shards (`sites.shards` null: the upgrade path), to a new shard set. A move copies,
 * verifies (counts and checksums per table and destination), switches `sites.shards` and only then
 * deletes from where the rows no longer belong.
 *
 * Its phases, each a series of bounded steps (one chunk of one table of one database) whose cursor
 * is kept in HOME's `shard_moves`, so that any step may be the last one before an interruption:
 *
 * 1. `copying` — every person table of the site, chunk by chunk in row ID order, from each database
 *    of the old placement to where the routing puts each row in the new set. Writers go on writing
 *    the old placement, which stays complete.
 * 2. `holding` — `sites.shards_held` is set: the queue consumers put the site's messages back for
 *    later (holdMovingSites) and synchronous writers are told to try again. The step waits
 *    SETTLE_MS, longer than any isolate caches a site row, so every isolate has seen the hold.
 * 3. `syncing` — the copy again, now that nothing writes: rows are upserted by their unique key
 *    (what changed during the copy is overwritten with its final state), events (append-only)
 *    continue from the copy's cursor, so nothing is doubled.
 * 4. `verifying` — per table and destination, the count and a checksum of the rows' columns (each
 *    row serialised by SQL as `json_array(...)`, the same text in every database) at the source
 *    and at the destination; any difference fails the move, which can then be rolled back.
 * 5. `switched` — `sites.shards` becomes the new set, still held; the step waits SETTLE_MS again,
 *    so every isolate that sees the hold lifted routes with the new set (the hold and the set are
 *    one row, but a writer may cache them apart).
 * 6. `codes` — the hold is lifted, and the site's codes are copied again from HOME's coupons (where
 *    claims and redemptions are decided) to the new set: a claim during the hold may have synced
 *    its code to the old placement after the sync had passed it.
 * 7. `deleting` — the moved rows are deleted from the old placement.
 *
 * A move that fails or is interrupted says so (`state` failed, or a lease that ran out) and can be
 * resumed from its cursor; before `switched` it can be rolled back: the old placement is still
 * complete, and what was copied to the new set is deleted.
 */
import { type AnyColumn, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as people from "../db/people-schema";
import { shardMoves, sites } from "../db/schema";
import { codesRefreshStatements } from "../decide/decision-rows";
import { forgetDecisionSite } from "../decide/trusted-sites";
import type { Db } from "../env";
import { apiError } from "../errors";
import { IsolateCache } from "../lib/isolate-cache";
import { forgetCachedSite } from "../sites/site-cache";
import { type PeopleDb, peopleOfSite, type ShardEnv, shardBindings, shardOf } from "./routing";

/** Rows per step: well within D1's 100 bound parameters per `in (...)` list and its batch limits. */
const MOVE_CHUNK = 90;
/**
 * How long a hold (and a switch) waits before the move goes on: longer than any isolate trusts a
 * site row (sites/site-cache.ts and decide/trusted-sites.ts: 10 s; HOLD_CACHE_MS here: 5 s), plus
 * time for a request that read the row just before to finish its writes.
 */
export const SETTLE_MS = 15_000;
/** How long a step may hold a move's lease: far longer than one step takes. */
const LEASE_MS = 60_000;
/** How long a held site's queue message waits before it is delivered again. */
export const HOLD_RETRY_SECONDS = 10;

type MovePhase = "copying" | "holding" | "syncing" | "verifying" | "switched" | "codes" | "deleting" | "done";
type MoveState = "running" | "failed" | "rolling_back" | "rolled_back" | "done";
type Placement = readonly number[] | null;

// --- The person tables, and the key that places each row ----------------------------------------

/**
 * How a row's databases in a set follow from its key (docs/architecture.md, "Shards", the table):
 * `cookie` the key's shard; `holder` `v:COOKIE` the cookie's shard, `c:CUSTOMER` every shard of
 * the set; `member` (webhook memberships) `v:COOKIE` the cookie's, `c:CUSTOMER` the customer's
 * shard; `customer` the customer's own shard plus a copy on every shard with a cookie linked to
 * it; `everywhere` every shard of the set (the catalogue's copies).
 */
type Route = "cookie" | "holder" | "member" | "customer" | "everywhere";

type MoveTable = {
  name: string;
  table: SQLiteTable;
  /** The SQL expression of the row's routing key. */
  key: string;
  route: Route;
  /** The unique key an upsert goes by; null for events, which are only ever appended. */
  conflict: string[] | null;
  /** How the site's rows are found: by site_id, or (no site_id) by the site's audiences or webhooks. */
  owner: "site" | "audience" | "webhook";
  /** Rows that are copies of others (customer copies, `c:` holders, the catalogue) are read once. */
  readFrom?: "home-catalogue" | "first-for-customers";
  /**
   * Columns the checksum leaves out: what differs between a customer's own row and its copies, or
   * what may change after an append-only row was copied.
   */
  placementColumns?: string[];
  /** Columns that are IDs of another table's rows in the same database, found again at the destination. */
  remap?: { column: string; table: string; by: string; from: string };
};

const columnsOf = (table: SQLiteTable) =>
  Object.entries(getTableColumns(table) as Record<string, AnyColumn>)
    // A local autoincrement ID means nothing in another database: the destination gives its own.
    .filter(([key, column]) => !(key === "id" && column.primary))
    .map(([key]) => toSnakeCase(key));

/**
 * The tables a move carries, in order: visitors and customers before the rows that point at their
 * local IDs. Not carried: `applied_messages` (the ledger is per database, not per site), and the
 * audience exports' state (`audience_space_members`, `audience_changes`), which the routing table
 * places nowhere yet. Decision rows are copied like any row: they are derived from rows that all
 * move with them, so the copy equals a rebuild there (and POST …/decision-rows/rebuild can redo it).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export const MOVE_TABLES: MoveTable[] = [
  {
    name: "products",
    table: people.products,
    key: "sku",
    route: "everywhere",
    conflict: ["site_id", "sku"],
    owner: "site",
    readFrom: "home-catalogue",
  },
  {
    name: "product_affinities",
    table: people.productAffinities,
    key: "sku",
    route: "everywhere",
    conflict: ["site_id", "sku", "other_sku"],
    owner: "site",
    readFrom: "home-catalogue",
  },
  {
    name: "visitors",
    table: people.visitors,
    key: "cookie_id",
    route: "cookie",
    conflict: ["site_id", "cookie_id"],
    owner: "site",
  },
  {
    name: "customers",
    table: people.customers,
    key: "customer_id",
    route: "customer",
    conflict: ["site_id", "customer_id"],
    owner: "site",
    readFrom: "first-for-customers",
    placementColumns: ["copy", "copies_on"],
  },
  {
    name: "id_links",
    table: people.idLinks,
    key: "partner_key || ':' || partner_user_id",
    route: "cookie",
    conflict: ["site_id", "partner_key", "partner_user_id"],
    owner: "site",
  },
  { name: "events", table: people.events, key: "cookie_id", route: "cookie", conflict: null, owner: "site" },
  {
    name: "exposures",
    table: people.exposures,
    key: "cookie_id",
    route: "cookie",
    conflict: ["site_id", "rule_id", "cookie_id", "holdout"],
    owner: "site",
  },
  {
    name: "rule_conversions",
    table: people.ruleConversions,
    key: "cookie_id",
    route: "cookie",
    conflict: ["rule_id", "cookie_id"],
    owner: "site",
  },
  {
    // A sweep of erased cookies' archive lines: the first cookie's shard. Its `cursor` (how far the
    // sweep got) may move on during the copy; the sweep is idempotent, so it is left out of the checksum.
    name: "archive_sweeps",
    table: people.archiveSweeps,
    key: "json_extract(cookies, '$[0]')",
    route: "cookie",
    conflict: null,
    owner: "site",
    placementColumns: ["cursor"],
  },
  {
    name: "erasures",
    table: people.erasures,
    key: "subject",
    route: "cookie",
    conflict: ["site_id", "kind", "subject"],
    owner: "site",
  },
  {
    name: "person_codes",
    table: people.personCodes,
    key: "holder",
    route: "holder",
    conflict: ["site_id", "holder", "coupon_id"],
    owner: "site",
    readFrom: "first-for-customers",
  },
  {
    name: "person_caps",
    table: people.personCaps,
    key: "holder",
    route: "holder",
    conflict: ["site_id", "holder", "day", "rule_id"],
    owner: "site",
    readFrom: "first-for-customers",
  },
  {
    name: "decision_rows",
    table: people.decisionRows,
    key: "cookie_id",
    route: "cookie",
    conflict: ["site_id", "cookie_id"],
    owner: "site",
  },
  {
    name: "audience_members",
    table: people.audienceMembers,
    key: "cookie_id",
    route: "cookie",
    conflict: ["audience_id", "visitor_id"],
    owner: "audience",
    remap: { column: "visitor_id", table: "visitors", by: "cookie_id", from: "cookie_id" },
  },
  {
    name: "audience_customer_members",
    table: people.audienceCustomerMembers,
    key: "customer_id",
    route: "cookie",
    conflict: ["audience_id", "customer_row_id"],
    owner: "audience",
    remap: { column: "customer_row_id", table: "customers", by: "customer_id", from: "customer_id" },
  },
  {
    name: "webhook_members",
    table: people.webhookMembers,
    key: "cookie_id",
    route: "cookie",
    conflict: ["webhook_id", "cookie_id"],
    owner: "webhook",
  },
  {
    name: "webhook_memberships",
    table: people.webhookMemberships,
    key: "member",
    route: "member",
    conflict: ["webhook_id", "member"],
    owner: "webhook",
  },
];

// --- Databases of a placement ---------------------------------------------------------------------

/** A database by its index in the deployment, HOME as -1 (a placement of null). */
const HOME = -1;
const idsOf = (placement: Placement) => (placement === null ? [HOME] : [...placement]);

function dbOf(env: ShardEnv, id: number): PeopleDb {
  return peopleOfSite(env, { shards: id === HOME ? null : [id] })[0] as PeopleDb;
}

type Ctx = {
  env: ShardEnv;
  siteId: number;
  from: Placement;
  to: readonly number[];
  /** JSON arrays of the site's audience and webhook IDs (HOME), for tables without site_id. */
  audiences: string;
  webhooks: string;
};

function ownerFilter(spec: MoveTable, ctx: Ctx): { sql: string; params: unknown[] } {
  if (spec.owner === "audience")
    return { sql: "audience_id in (select value from json_each(?))", params: [ctx.audiences] };
  if (spec.owner === "webhook")
    return { sql: "webhook_id in (select value from json_each(?))", params: [ctx.webhooks] };
  return { sql: "site_id = ?", params: [ctx.siteId] };
}

/** Where `spec`'s rows are read from in `placement`: the catalogue from HOME's own, copies once. */
function sourcesOf(spec: MoveTable, placement: Placement): Array<{ id: number; extra: string }> {
  if (spec.readFrom === "home-catalogue") return [{ id: HOME, extra: "" }];
  const ids = idsOf(placement);
  if (spec.readFrom !== "first-for-customers" || placement === null) return ids.map((id) => ({ id, extra: "" }));
  // A customer's own row is on one shard; its copies, and a `c:` holder's rows, on several.
  const copies = spec.name === "customers" ? "copy = 0" : "holder not like 'c:%'";
  return ids.map((id, i) => ({ id, extra: spec.name === "customers" ? copies : i === 0 ? "" : copies }));
}

// --- Rows and where they go -----------------------------------------------------------------------

type SourceRow = { rowid: number; key: string; sum: string; values: unknown[] };

async function readChunk(
  d1: D1Database,
  spec: MoveTable,
  ctx: Ctx,
  after: number,
  extra = "",
  columns = columnsOf(spec.table),
  upto = Number.MAX_SAFE_INTEGER,
): Promise<SourceRow[]> {
  const filter = ownerFilter(spec, ctx);
  const sums = columnsOf(spec.table).filter((c) => !spec.placementColumns?.includes(c) && c !== spec.remap?.column);
  const selected = [`rowid as _rowid`, `${spec.key} as _key`, `json_array(${sums.join(", ")}) as _sum`, ...columns];
  const result = await d1
    .prepare(
      `select ${selected.join(", ")} from ${spec.name} where ${filter.sql} and rowid > ? and rowid <= ?` +
        `${extra ? ` and ${extra}` : ""} order by rowid limit ${MOVE_CHUNK}`,
    )
    .bind(...filter.params, after, upto)
    .all<Record<string, unknown>>();
  return result.results.map((row) => ({
    rowid: Number(row._rowid),
    key: String(row._key),
    sum: String(row._sum),
    values: columns.map((c) => row[c]),
  }));
}

async function lastRowId(d1: D1Database, spec: MoveTable, ctx: Ctx): Promise<number> {
  const filter = ownerFilter(spec, ctx);
  const row = await d1
    .prepare(`select max(rowid) as last from ${spec.name} where ${filter.sql}`)
    .bind(...filter.params)
    .first<{ last: number | null }>();
  return row?.last ?? 0;
}

/**
 * The cookies linked to each customer, over every database of `set`: the placement being routed
 * to, whose visitors MOVE_TABLES' order has already copied (or, rolling back, never left).
 */
async function linkedCookies(ctx: Ctx, set: Placement, customerIds: string[]): Promise<Map<string, string[]>> {
  const linked = new Map<string, string[]>();
  if (customerIds.length === 0) return linked;
  for (const id of idsOf(set)) {
    const rows = await dbOf(ctx.env, id)
      .d1.prepare(
        "select customer_id, cookie_id from visitors where site_id = ? and customer_id in (select value from json_each(?))",
      )
      .bind(ctx.siteId, JSON.stringify(customerIds))
      .all<{ customer_id: string; cookie_id: string }>();
    for (const row of rows.results)
      linked.set(row.customer_id, [...(linked.get(row.customer_id) ?? []), row.cookie_id]);
  }
  return linked;
}

/**
 * The rows of a chunk read from database `id` of the old placement that the old placement holds
 * there: on a database of both sets, the rows the move copied in are the new set's, not a source.
 */
async function oldPlacementRows(spec: MoveTable, rows: SourceRow[], id: number, ctx: Ctx): Promise<SourceRow[]> {
  if (ctx.from === null || !ctx.to.includes(id)) return rows;
  const placed = await place(spec, rows, ctx.from, ctx);
  // A customer's own row (the only kind read as a source) is on the first of its databases.
  const here = (p: Placed) => (spec.route === "customer" ? p.dbs[0] === id : p.dbs.includes(id));
  return placed.filter(here).map((p) => p.row);
}

/** A row's databases in `set`: the first is its own (for a customer, the one holding its own row). */
type Placed = { row: SourceRow; dbs: number[] };

async function place(spec: MoveTable, rows: SourceRow[], set: Placement, ctx: Ctx): Promise<Placed[]> {
  if (set === null) return rows.map((row) => ({ row, dbs: [HOME] }));
  const linked =
    spec.route === "customer"
      ? await linkedCookies(
          ctx,
          set,
          rows.map((r) => r.key),
        )
      : new Map<string, string[]>();
  return rows.map((row) => {
    const key = row.key;
    switch (spec.route) {
      case "everywhere":
        return { row, dbs: [...set] };
      case "holder":
        return { row, dbs: key.startsWith("c:") ? [...set] : [shardOf(set, key.slice(2))] };
      case "member":
        return { row, dbs: [shardOf(set, key.slice(2))] };
      case "customer": {
        const own = shardOf(set, key);
        const others = new Set((linked.get(key) ?? []).map((cookie) => shardOf(set, cookie)));
        others.delete(own);
        return { row, dbs: [own, ...[...others].sort((a, b) => a - b)] };
      }
      default:
        return { row, dbs: [shardOf(set, key)] };
    }
  });
}

function upsertStatement(
  d1: D1Database,
  spec: MoveTable,
  columns: string[],
  placed: Placed,
  db: number,
  siteId: number,
) {
  let values = placed.row.values;
  if (spec.route === "customer") {
    // The row as it is on `db` of the new set: the customer's own row lists the shards of its copies.
    const own = placed.dbs[0] === db;
    values = columns.map((c, i) =>
      c === "copy" ? (own ? 0 : 1) : c === "copies_on" ? JSON.stringify(own ? placed.dbs.slice(1) : []) : values[i],
    );
  }
  const onConflict = spec.conflict
    ? ` on conflict (${spec.conflict.join(", ")}) do update set ${columns
        .filter((c) => !spec.conflict?.includes(c))
        .map((c) => `${c} = excluded.${c}`)
        .join(", ")}`
    : "";
  if (spec.remap) {
    // The local ID of the visitor (customer) row with the same cookie (customer) ID at the
    // destination, copied there before this table (MOVE_TABLES' order). The select's `where` also
    // keeps SQLite from reading `on conflict` as part of a join (its documented parsing ambiguity).
    const { column, table, by, from } = spec.remap;
    const list = columns.map((c) => (c === column ? "r.id" : "?"));
    return d1
      .prepare(
        `insert into ${spec.name} (${columns.join(", ")}) select ${list.join(", ")} from ${table} r ` +
          `where r.site_id = ? and r.${by} = ?${onConflict}`,
      )
      .bind(...values.filter((_, i) => columns[i] !== column), siteId, values[columns.indexOf(from)]);
  }
  return d1
    .prepare(
      `insert into ${spec.name} (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})${onConflict}`,
    )
    .bind(...values);
}

// --- Checksums ------------------------------------------------------------------------------------

/**
 * Two FNV-1a variants of a row's SQL-serialised columns, summed per table and destination: a sum is
 * independent of row order (the source's rows arrive by source, the destination's by its own IDs),
 * and two 32-bit hashes make an accidental match of different contents about one in 2^64.
 */
function rowDigest(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}

type Tally = { rows: number; checksum: string };
type Sums = Record<string, { n: number; a: number; b: number }>;

function add(sums: Sums, key: string, text: string) {
  const entry = sums[key] ?? { n: 0, a: 0, b: 0 };
  const [a, b] = rowDigest(text);
  entry.n += 1;
  entry.a = (entry.a + a) % 2 ** 32;
  entry.b = (entry.b + b) % 2 ** 32;
  sums[key] = entry;
}

const tally = (entry: { n: number; a: number; b: number } | undefined): Tally => ({
  rows: entry?.n ?? 0,
  checksum: `${(entry?.a ?? 0).toString(16).padStart(8, "0")}${(entry?.b ?? 0).toString(16).padStart(8, "0")}`,
});

// --- The move row ---------------------------------------------------------------------------------

type MoveRow = typeof shardMoves.$inferSelect;
type Cursor = {
  /** Table index in MOVE_TABLES, source (or destination) index, last row ID done. */
  t?: number;
  s?: number;
  after?: number;
  /** The copy's last row ID of the table and database it is at (rows above it are the sync's). */
  upto?: number;
  /** Events copied so far, per source database: the sync continues from there. */
  events?: Record<string, number>;
  /** The checksum's side being read: the old placement's rows, or the new one's. */
  side?: "source" | "destination";
  source?: Sums;
  destination?: Sums;
};

export type MoveView = {
  moveId: number;
  from: number[] | null;
  to: number[];
  state: MoveState;
  phase: MovePhase;
  progress: Record<string, number>;
  verified: Record<string, Record<string, { source: Tally; destination: Tally; ok: boolean }>>;
  error: string | null;
  /** A running move whose lease ran out with no step since: its driver was lost; resume it. */
  stalled: boolean;
  canResume: boolean;
  canRollBack: boolean;
  createdAt: number;
  updatedAt: number;
};

const BEFORE_SWITCH: readonly string[] = ["copying", "holding", "syncing", "verifying"];

export function moveView(move: MoveRow, now = Date.now()): MoveView {
  const stalled =
    (move.state === "running" || move.state === "rolling_back") &&
    (move.leaseUntil ?? 0) < now &&
    now - move.updatedAt > LEASE_MS + SETTLE_MS;
  return {
    moveId: move.id,
    from: move.fromShards,
    to: move.toShards,
    state: move.state,
    phase: move.phase as MovePhase,
    progress: move.progress,
    verified: move.verified as MoveView["verified"],
    error: move.error,
    stalled,
    canResume: move.state === "failed" || stalled,
    canRollBack: (move.state === "failed" || move.state === "running") && BEFORE_SWITCH.includes(move.phase),
    createdAt: move.createdAt,
    updatedAt: move.updatedAt,
  };
}

export async function lastMove(db: Db, siteId: number): Promise<MoveRow | undefined> {
  const [move] = await db
    .select()
    .from(shardMoves)
    .where(eq(shardMoves.siteId, siteId))
    .orderBy(desc(shardMoves.id))
    .limit(1);
  return move;
}

/** Why a requested set cannot be moved to, or null: what the route answers 400 or 409 with. */
export function refuseSet(env: ShardEnv, current: Placement, set: readonly number[]): string | null {
  if (set.length === 0) return "an empty shard set holds nothing";
  if (new Set(set).size !== set.length) return "the set names a shard twice";
  const bound = shardBindings(env).length;
  const unknown = set.filter((k) => !Number.isInteger(k) || k < 0 || k >= bound);
  if (unknown.length > 0)
    return `shard ${unknown.join(", ")} is not bound in this deployment (it binds shards 0 to ${bound - 1})`;
  if (current !== null && current.length === set.length && current.every((k, i) => k === set[i])) {
    return "the site is on that set already";
  }
  return null;
}

/**
 * Starts a move of the site's people to `to`. Null when another move of the site is still running
 * or failed and not rolled back (the route answers 409): one move at a time, and a failed one is
 * resumed or rolled back before the next.
 */
export async function startMove(
  db: Db,
  site: { id: number; shards: Placement },
  to: readonly number[],
  now = Date.now(),
): Promise<MoveRow | null> {
  // The insert checks for an open move in the same statement: two calls at once cannot both start.
  const inserted = await db.all<{ id: number }>(sql`
    insert into shard_moves (site_id, from_shards, to_shards, state, phase, phase_at, created_at, updated_at)
    select ${site.id}, ${site.shards === null ? null : JSON.stringify(site.shards)}, ${JSON.stringify(to)},
      'running', 'copying', ${now}, ${now}, ${now}
    where not exists (
      select 1 from shard_moves where site_id = ${site.id} and state in ('running', 'failed', 'rolling_back')
    )
    returning id`);
  const id = inserted[0]?.id;
  if (id === undefined) return null;
  const [move] = await db.select().from(shardMoves).where(eq(shardMoves.id, id));
  return move ?? null;
}

async function context(env: ShardEnv, move: MoveRow): Promise<Ctx> {
  const ids = async (table: string) =>
    JSON.stringify(
      (
        await env.DB.prepare(`select id from ${table} where site_id = ?`).bind(move.siteId).all<{ id: number }>()
      ).results.map((r) => r.id),
    );
  return {
    env,
    siteId: move.siteId,
    from: move.fromShards,
    to: move.toShards,
    audiences: await ids("audiences"),
    webhooks: await ids("webhooks"),
  };
}

/**
 * How long an isolate trusts its list of held sites (heldSites): shorter than SETTLE_MS, the time a
 * move waits after setting a hold before it copies the last changes, so no consumer writes by then.
 */
const HOLD_CACHE_MS = 5_000;
const held = new IsolateCache<{ ids: Set<number>; keys: Set<string> }>(HOLD_CACHE_MS, 1);

/**
 * The sites whose person writes a move holds now (`sites.shards_held`), as of HOLD_CACHE_MS ago at
 * most: what the queue consumer asks before it writes (pipeline/shard-moves.ts). One small read
 * per isolate every few seconds; sites carries no index on the flag, and holds are rare and short.
 */
export async function heldSites(db: Db, now = Date.now()) {
  const hit = held.get("held", now);
  if (hit) return hit;
  const rows = await db.$client
    .prepare("select id, key from sites where shards_held = 1")
    .all<{ id: number; key: string }>();
  const found = { ids: new Set(rows.results.map((r) => r.id)), keys: new Set(rows.results.map((r) => r.key)) };
  held.set("held", found, now);
  return found;
}

/**
 * For the synchronous writers of a site's people (identify, the link and CRM imports, server
 * events, erasure, `/e` when no queue takes its batch): while a move holds the site's writes they
 * answer 503 with Retry-After rather than write to a placement being switched — the caller sends
 * again and nothing is lost. Reads the flag from the site row the writer already has, so it costs
 * nothing; the writers call it where they route through `peopleFor` (docs/architecture.md, "Shards").
 */
export function refuseWhileHeld(site: { shardsHeld: boolean }) {
  if (site.shardsHeld) {
    throw apiError(503, "moving", "This site's people are being moved to other shards; retry shortly", {
      "Retry-After": String(HOLD_RETRY_SECONDS),
    });
  }
}

/** Drops this isolate's cached site rows at once (other isolates see the change within SETTLE_MS). */
async function forgetSite(db: Db, siteId: number) {
  const [site] = await db.select({ key: sites.key }).from(sites).where(eq(sites.id, siteId));
  if (site) forgetCachedSite(site.key);
  forgetDecisionSite(siteId);
  held.delete("held");
}

// --- Steps ----------------------------------------------------------------------------------------

export type StepResult = { state: MoveState; phase: MovePhase; waitMs: number };

type Update = Partial<Pick<MoveRow, "phase" | "phaseAt" | "state" | "progress" | "verified" | "error">> & {
  cursor: Cursor;
};

/**
 * One bounded step of the move: under its lease, so a redelivered message and a resume never run
 * one move twice at once. Returns where the move is and how long to wait before the next step (0:
 * at once); null when the move is not to be stepped now (finished, failed, or leased elsewhere).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function runMoveStep(env: ShardEnv, db: Db, moveId: number, now = Date.now()): Promise<StepResult | null> {
  const [move] = await db
    .update(shardMoves)
    .set({ leaseUntil: now + LEASE_MS })
    .where(
      sql`${shardMoves.id} = ${moveId} and ${shardMoves.state} in ('running', 'rolling_back') and (${shardMoves.leaseUntil} is null or ${shardMoves.leaseUntil} < ${now})`,
    )
    .returning();
  if (!move) return null;
  let update: Update;
  try {
    const ctx = await context(env, move);
    update = move.state === "rolling_back" ? await rollbackStep(db, move, ctx) : await step(db, move, ctx, now);
  } catch (error) {
    const rollingBack = move.state === "rolling_back";
    update = {
      cursor: move.cursor as Cursor,
      state: "failed",
      error: `${rollingBack ? ROLLBACK_FAILED : ""}${String(error).slice(0, 1_000)}`,
    };
    if (!rollingBack) await releaseIfBeforeSwitch(db, move);
  }
  // Only under the lease this step took: a rollback started meanwhile (it clears the lease) wins.
  const [after] = await db
    .update(shardMoves)
    .set({ ...update, leaseUntil: null, updatedAt: now })
    .where(sql`${shardMoves.id} = ${moveId} and ${shardMoves.leaseUntil} = ${now + LEASE_MS}`)
    .returning();
  if (!after) return null;
  const done = after;
  const waitMs =
    done.state === "running" && (done.phase === "holding" || done.phase === "switched")
      ? Math.max(0, done.phaseAt + SETTLE_MS - now)
      : 0;
  return { state: done.state, phase: done.phase as MovePhase, waitMs };
}

async function step(db: Db, move: MoveRow, ctx: Ctx, now: number): Promise<Update> {
  const cursor = move.cursor as Cursor;
  switch (move.phase as MovePhase) {
    case "copying":
    case "syncing": {
      const copied = await copyStep(ctx, cursor, move.phase === "syncing", move.progress);
      if (!copied.done) return { cursor: copied.cursor, progress: copied.progress };
      if (move.phase === "syncing")
        return {
          cursor: { events: copied.cursor.events },
          progress: copied.progress,
          phase: "verifying",
          phaseAt: now,
        };
      // Hold the site's writes: every isolate sees the hold within SETTLE_MS (holding waits that out).
      await db.update(sites).set({ shardsHeld: true }).where(eq(sites.id, move.siteId));
      await forgetSite(db, move.siteId);
      return { cursor: { events: copied.cursor.events }, progress: copied.progress, phase: "holding", phaseAt: now };
    }
    case "holding":
      if (now < move.phaseAt + SETTLE_MS) return { cursor };
      return { cursor: { events: cursor.events }, phase: "syncing", phaseAt: now };
    case "verifying": {
      const verified = await verifyStep(ctx, cursor);
      if (!verified.done) return { cursor: verified.cursor };
      const report = compare(verified.cursor);
      const bad = Object.entries(report).flatMap(([table, dbs]) =>
        Object.entries(dbs)
          .filter(([, v]) => !v.ok)
          .map(
            ([d, v]) =>
              `${table} on ${d}: ${v.source.rows} rows at the source, ${v.destination.rows} at the destination`,
          ),
      );
      if (bad.length > 0) {
        await releaseIfBeforeSwitch(db, move);
        return { cursor: {}, verified: report, state: "failed", error: `verification failed: ${bad.join("; ")}` };
      }
      // The switch, still held: see the file's comment (5).
      await db
        .update(sites)
        .set({ shards: [...ctx.to] })
        .where(eq(sites.id, move.siteId));
      await forgetSite(db, move.siteId);
      return { cursor: {}, verified: report, phase: "switched", phaseAt: now };
    }
    case "switched":
      if (now < move.phaseAt + SETTLE_MS) return { cursor };
      await db.update(sites).set({ shardsHeld: false }).where(eq(sites.id, move.siteId));
      await forgetSite(db, move.siteId);
      return { cursor: {}, phase: "codes", phaseAt: now };
    case "codes": {
      const rebuilt = await codesStep(ctx, cursor, now);
      if (!rebuilt.done) return { cursor: rebuilt.cursor };
      return { cursor: {}, phase: "deleting", phaseAt: now };
    }
    case "deleting": {
      const deleted = await deleteStep(ctx, cursor, ctx.from, ctx.to, true);
      if (!deleted.done) return { cursor: deleted.cursor };
      return { cursor: {}, phase: "done", state: "done", phaseAt: now };
    }
    default:
      return { cursor, state: "done" };
  }
}

/** One chunk of one table of one source database, written to its databases in the new set. */
async function copyStep(
  ctx: Ctx,
  cursor: Cursor,
  syncing: boolean,
  progress: Record<string, number>,
): Promise<{ done: boolean; cursor: Cursor; progress: Record<string, number> }> {
  const events = { ...(cursor.events ?? {}) };
  let t = cursor.t ?? 0;
  let s = cursor.s ?? 0;
  let after = cursor.after ?? 0;
  for (;;) {
    const spec = MOVE_TABLES[t];
    if (!spec) return { done: true, cursor: { events }, progress };
    const sources = sourcesOf(spec, ctx.from);
    const source = sources[s];
    if (!source) {
      t += 1;
      s = 0;
      after = 0;
      continue;
    }
    // Events are appended, never changed: the sync continues where the copy stopped.
    const eventsKey = `${spec.name}:${source.id}`;
    if (spec.conflict === null && after === 0) after = events[eventsKey] ?? 0;
    const d1 = dbOf(ctx.env, source.id).d1;
    // The copy takes the rows there were when it reached the table: rows written since are the
    // sync's, or a busy site's new visitors would keep the copy chasing them for ever.
    const here = cursor.t === t && cursor.s === s && cursor.upto !== undefined;
    const upto = syncing ? Number.MAX_SAFE_INTEGER : here ? (cursor.upto as number) : await lastRowId(d1, spec, ctx);
    const columns = columnsOf(spec.table);
    const chunk = await readChunk(d1, spec, ctx, after, source.extra, columns, upto);
    if (chunk.length === 0) {
      s += 1;
      after = 0;
      continue;
    }
    const rows = await oldPlacementRows(spec, chunk, source.id, ctx);
    const placed = await place(spec, rows, ctx.to, ctx);
    const fromIds = idsOf(ctx.from);
    const byDb = new Map<number, D1PreparedStatement[]>();
    let copied = 0;
    for (const p of placed) {
      for (const db of p.dbs) {
        // A row that stays where it is needs no copy; a customer's row on a database of both sets
        // changes its copy flag, which the old placement still reads: it is written once writes are held.
        if (db === source.id && spec.route !== "customer" && spec.route !== "everywhere") continue;
        if (spec.route === "customer" && !syncing && fromIds.includes(db)) continue;
        const d1 = dbOf(ctx.env, db).d1;
        const list = byDb.get(db) ?? [];
        list.push(upsertStatement(d1, spec, columns, p, db, ctx.siteId));
        byDb.set(db, list);
        copied += 1;
      }
    }
    for (const [db, statements] of byDb) await dbOf(ctx.env, db).d1.batch(statements);
    const last = (chunk[chunk.length - 1] as SourceRow).rowid;
    if (spec.conflict === null) events[eventsKey] = last;
    const next = {
      ...progress,
      [spec.name]: (progress[spec.name] ?? 0) + (syncing && spec.conflict !== null ? 0 : copied),
    };
    return { done: false, cursor: { t, s, after: last, events, ...(syncing ? {} : { upto }) }, progress: next };
  }
}

/**
 * One chunk of the site's codes copied again from HOME's coupons, where claims and redemptions are
 * decided, to the holders' databases in the new set, and the `codes` of their decision rows
 * refreshed there. A claim during the hold synced its code to the placement its site row named,
 * possibly the old one after the sync had passed; by now every writer routes with the new set, so
 * what HOME holds is on the new set when this phase ends (docs/architecture.md, "Shards").
 */
async function codesStep(ctx: Ctx, cursor: Cursor, now: number): Promise<{ done: boolean; cursor: Cursor }> {
  const after = cursor.after ?? 0;
  const rows = await ctx.env.DB.prepare(
    `select c.id, c.holder, c.pool_id, c.rule_id, c.code, c.expires_at, c.redeemed_at
     from coupons c where c.site_id = ? and c.id > ? and (c.holder like 'v:%' or c.holder like 'c:%')
     order by c.id limit ${MOVE_CHUNK}`,
  )
    .bind(ctx.siteId, after)
    .all<{
      id: number;
      holder: string;
      pool_id: number;
      rule_id: number | null;
      code: string;
      expires_at: number | null;
      redeemed_at: number | null;
    }>();
  if (rows.results.length === 0) return { done: true, cursor: {} };
  const byDb = new Map<number, { statements: D1PreparedStatement[]; cookies: string[]; customers: string[] }>();
  for (const row of rows.results) {
    const dbs = row.holder.startsWith("c:") ? [...ctx.to] : [shardOf(ctx.to, row.holder.slice(2))];
    for (const id of dbs) {
      const d1 = dbOf(ctx.env, id).d1;
      const entry = byDb.get(id) ?? { statements: [], cookies: [], customers: [] };
      entry.statements.push(
        d1
          .prepare(
            `insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)
             values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (site_id, holder, coupon_id) do update set
             pool_id = excluded.pool_id, rule_id = excluded.rule_id, code = excluded.code,
             expires_at = excluded.expires_at, redeemed_at = excluded.redeemed_at`,
          )
          .bind(ctx.siteId, row.holder, row.id, row.pool_id, row.rule_id, row.code, row.expires_at, row.redeemed_at),
      );
      (row.holder.startsWith("c:") ? entry.customers : entry.cookies).push(row.holder.slice(2));
      byDb.set(id, entry);
    }
  }
  for (const [id, entry] of byDb) {
    const d1 = dbOf(ctx.env, id).d1;
    const refresh = codesRefreshStatements(ctx.siteId, { cookies: entry.cookies, customers: entry.customers }, now);
    await d1.batch([...entry.statements, ...refresh.map((r) => d1.prepare(r.text).bind(...r.params))]);
  }
  return { done: false, cursor: { after: (rows.results[rows.results.length - 1] as { id: number }).id } };
}

/** One chunk of the checksums: the old placement's rows by where they go, then the new set's rows. */
async function verifyStep(ctx: Ctx, cursor: Cursor): Promise<{ done: boolean; cursor: Cursor }> {
  let t = cursor.t ?? 0;
  let s = cursor.s ?? 0;
  let after = cursor.after ?? 0;
  let side = cursor.side ?? "source";
  const sums = { source: cursor.source ?? {}, destination: cursor.destination ?? {} };
  for (;;) {
    const spec = MOVE_TABLES[t];
    if (!spec) {
      if (side === "destination") return { done: true, cursor: { ...sums, side } };
      side = "destination";
      t = 0;
      s = 0;
      after = 0;
      continue;
    }
    const dbs = side === "source" ? sourcesOf(spec, ctx.from) : ctx.to.map((id) => ({ id, extra: "" }));
    const db = dbs[s];
    if (!db) {
      t += 1;
      s = 0;
      after = 0;
      continue;
    }
    const chunk = await readChunk(dbOf(ctx.env, db.id).d1, spec, ctx, after, db.extra);
    if (chunk.length === 0) {
      s += 1;
      after = 0;
      continue;
    }
    const rows = side === "source" ? await oldPlacementRows(spec, chunk, db.id, ctx) : chunk;
    const placed = await place(spec, rows, ctx.to, ctx);
    for (const p of placed) {
      if (side === "source") {
        for (const target of p.dbs) add(sums.source, `${spec.name}|${target}`, p.row.sum);
      } else if (!idsOf(ctx.from).includes(db.id) || p.dbs.includes(db.id)) {
        // On a database of both sets, rows still to be deleted from it are not the new set's.
        add(sums.destination, `${spec.name}|${db.id}`, p.row.sum);
      }
    }
    return { done: false, cursor: { t, s, after: (chunk[chunk.length - 1] as SourceRow).rowid, side, ...sums } };
  }
}

function compare(cursor: Cursor): MoveView["verified"] {
  const report: MoveView["verified"] = {};
  const keys = new Set([...Object.keys(cursor.source ?? {}), ...Object.keys(cursor.destination ?? {})]);
  for (const key of [...keys].sort()) {
    const [table, db] = key.split("|") as [string, string];
    const source = tally(cursor.source?.[key]);
    const destination = tally(cursor.destination?.[key]);
    report[table] = {
      ...(report[table] ?? {}),
      [db]: {
        source,
        destination,
        ok: source.rows === destination.rows && source.checksum === destination.checksum,
      },
    };
  }
  return report;
}

/**
 * One chunk of deletions from `from`'s databases of the rows that do not belong there in `keep`:
 * everything of the site on a database outside `keep`, the rows whose key now routes elsewhere on
 * one inside it. HOME's catalogue is the shop's own and is never deleted.
 */
async function deleteStep(
  ctx: Ctx,
  cursor: Cursor,
  from: Placement,
  keep: Placement,
  leavingHome: boolean,
): Promise<{ done: boolean; cursor: Cursor }> {
  let t = cursor.t ?? 0;
  let s = cursor.s ?? 0;
  let after = cursor.after ?? 0;
  const ids = idsOf(from);
  const kept = idsOf(keep);
  for (;;) {
    const spec = MOVE_TABLES[t];
    if (!spec) return { done: true, cursor: {} };
    const id = ids[s];
    if (id === undefined) {
      t += 1;
      s = 0;
      after = 0;
      continue;
    }
    if (id === HOME && spec.readFrom === "home-catalogue" && leavingHome) {
      s += 1;
      continue;
    }
    const d1 = dbOf(ctx.env, id).d1;
    const rows = await readChunk(d1, spec, ctx, after, "", []);
    if (rows.length === 0) {
      s += 1;
      after = 0;
      continue;
    }
    const placed = kept.includes(id) ? await place(spec, rows, keep, ctx) : rows.map((row) => ({ row, dbs: [] }));
    const gone = placed.filter((p) => !p.dbs.includes(id)).map((p) => p.row.rowid);
    if (gone.length > 0) {
      await d1
        .prepare(`delete from ${spec.name} where rowid in (select value from json_each(?))`)
        .bind(JSON.stringify(gone))
        .run();
    }
    return { done: false, cursor: { t, s, after: (rows[rows.length - 1] as SourceRow).rowid } };
  }
}

/** Rolling back: what was copied to the new set goes, what the old placement holds stays. */
async function rollbackStep(db: Db, move: MoveRow, ctx: Ctx): Promise<Update> {
  const deleted = await deleteStep(ctx, move.cursor as Cursor, ctx.to, ctx.from, false);
  if (!deleted.done) return { cursor: deleted.cursor };
  await db.update(sites).set({ shardsHeld: false }).where(eq(sites.id, move.siteId));
  await forgetSite(db, move.siteId);
  return { cursor: {}, state: "rolled_back" };
}

const ROLLBACK_FAILED = "rollback: ";

/**
 * A move that fails before its switch lifts its hold: the old placement is still the site's and
 * complete, so its writers go on there rather than wait for an operator.
 */
async function releaseIfBeforeSwitch(db: Db, move: MoveRow) {
  if (!BEFORE_SWITCH.includes(move.phase)) return;
  await db.update(sites).set({ shardsHeld: false }).where(eq(sites.id, move.siteId));
  await forgetSite(db, move.siteId);
}

/**
 * Resume: a failed or stalled move runs again from its cursor. One that failed while writes were
 * held (its hold was lifted, releaseIfBeforeSwitch) holds again and syncs everything again; a
 * failed rollback goes on rolling back.
 */
export async function resumeMove(db: Db, move: MoveRow, now = Date.now()): Promise<boolean> {
  if (!moveView(move, now).canResume) return false;
  const cursor = move.cursor as Cursor;
  let change: Partial<MoveRow> = { state: move.state === "failed" ? "running" : move.state };
  if (move.state === "failed" && move.error?.startsWith(ROLLBACK_FAILED)) change = { state: "rolling_back" };
  else if (move.state === "failed" && ["holding", "syncing", "verifying"].includes(move.phase)) {
    await db.update(sites).set({ shardsHeld: true }).where(eq(sites.id, move.siteId));
    await forgetSite(db, move.siteId);
    change = { state: "running", phase: "holding", phaseAt: now, cursor: { events: cursor.events } };
  }
  await db
    .update(shardMoves)
    .set({ ...change, error: null, leaseUntil: null, updatedAt: now })
    .where(eq(shardMoves.id, move.id));
  return true;
}

/**
 * Rollback: allowed until the switch, when the old placement is still complete, and not while a
 * step runs (its lease): a chunk written after the rollback passed its table would stay behind.
 */
export async function rollBackMove(db: Db, move: MoveRow, now = Date.now()): Promise<boolean> {
  if (!moveView(move, now).canRollBack) return false;
  const [changed] = await db
    .update(shardMoves)
    .set({ state: "rolling_back", error: null, cursor: {}, leaseUntil: null, updatedAt: now })
    .where(
      sql`${shardMoves.id} = ${move.id} and ${shardMoves.state} in ('running', 'failed') and ${shardMoves.phase} in ('copying', 'holding', 'syncing', 'verifying') and (${shardMoves.leaseUntil} is null or ${shardMoves.leaseUntil} < ${now})`,
    )
    .returning();
  return changed !== undefined;
}

// --- Driving ----------------------------------------------------------------------------------------

/** Steps per queue message or direct run before handing over: each is one chunk, so a few seconds. */
const STEPS_PER_RUN = 20;

/**
 * Runs steps until the move waits, ends, or has run `maxSteps`; returns the last result (null: not
 * stepped, e.g. leased by another driver) — what the queue consumer and the direct fallback call.
 */
export async function driveMove(
  env: ShardEnv,
  db: Db,
  moveId: number,
  clock: () => number = Date.now,
  maxSteps = STEPS_PER_RUN,
): Promise<StepResult | null> {
  let last: StepResult | null = null;
  for (let i = 0; i < maxSteps; i++) {
    const result = await runMoveStep(env, db, moveId, clock());
    if (!result) return last;
    last = result;
    if (result.waitMs > 0 || (result.state !== "running" && result.state !== "rolling_back")) return last;
  }
  return last;
}
