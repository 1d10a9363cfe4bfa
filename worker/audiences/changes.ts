/**
 * Membership changes that reach the networks (`since=CURSOR` exports, README.md, "Cookie sync, audiences and webhooks").
 *
 * Every refresh compares, per ID space, what a network was told (audience_space_members) with what
 * the audience holds now (id-spaces.ts) and writes the difference to audience_changes as `add` and
 * `remove` rows, all in one D1 batch per space (one transaction: the snapshot and the log never
 * disagree). A member who leaves — the 28-day list on day 29, a withdrawn consent, an erased
 * customer — is a `remove` row that later refreshes leave alone. Erasure writes its removals in its
 * own transaction (`erasureChangeStatements`), because the IDs it must name are deleted with it.
 *
 * Cursors are stateless: `SEQ.SIG`, SIG an HMAC over (audience, space, seq) with a per-site key, so a
 * cursor of another audience, space or site is unknown (410). Rows older than CHANGE_LOG_DAYS are
 * purged at refresh; a cursor from before the purge has expired (410): the caller takes a full
 * export, whose `X-Tagwerk-Cursor` starts a new chain.
 */
import { and, eq, lt, max, sql } from "drizzle-orm";
import { deriveKey, hmacSha256Hex } from "../auth/signing";
import { runBatch } from "../db/raw";
import { audienceChanges, audiences } from "../db/schema";
import type { Db, Site } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY as DAY } from "../lib/time";
import type { PeopleDb, ShardSet } from "../shards/routing";
import { BUILT_IN_SPACES, spaceValues } from "./id-spaces";

/** How long removals (and adds) stay fetchable: a network that polls at least monthly misses none. */
const CHANGE_LOG_DAYS = 30;

/** Brings one space's snapshot in line with the audience, logging each difference. */
export async function syncSpace(db: Db, site: Site, audienceId: number, space: string, now: number): Promise<void> {
  const current = spaceValues(site, audienceId, space);
  const snapshot = sql`audience_space_members s where s.audience_id = ${audienceId} and s.id_space = ${space}`;
  await runBatch(db, [
    sql`insert into audience_changes (audience_id, id_space, op, value, ts)
      select ${audienceId}, ${space}, 'add', q.value, ${now} from (${current}) q
      where not exists (select 1 from ${snapshot} and s.value = q.value)`,
    sql`insert into audience_changes (audience_id, id_space, op, value, ts)
      select ${audienceId}, ${space}, 'remove', s.value, ${now} from ${snapshot}
      and s.value not in (${current})`,
    sql`delete from audience_space_members where audience_id = ${audienceId} and id_space = ${space}
      and value not in (${current})`,
    sql`insert into audience_space_members (audience_id, id_space, value)
      select ${audienceId}, ${space}, q.value from (${current}) q where true on conflict do nothing`,
  ]);
}

/**
 * Drops change rows older than CHANGE_LOG_DAYS from `db` (the audience's people's database) and
 * moves the audience's expiry mark, in HOME (`home`), past them.
 */
export async function purgeChanges(db: Db, home: Db, audienceId: number, now: number): Promise<void> {
  const old = and(eq(audienceChanges.audienceId, audienceId), lt(audienceChanges.ts, now - CHANGE_LOG_DAYS * DAY));
  const [row] = await db
    .select({ seq: max(audienceChanges.seq) })
    .from(audienceChanges)
    .where(old);
  if (row?.seq == null) return;
  const mark = home
    .update(audiences)
    .set({ changesPurgedThrough: sql`max(${audiences.changesPurgedThrough}, ${row.seq})` })
    .where(eq(audiences.id, audienceId));
  const purge = db.delete(audienceChanges).where(and(old, sql`${audienceChanges.seq} <= ${row.seq}`));
  // In HOME both go in one transaction, as always; a shard purges first and HOME marks after, so a
  // cursor is never accepted for rows already gone.
  if (db.$client === home.$client) await db.batch([purge, mark]);
  else {
    await purge;
    await mark;
  }
}

/**
 * The last change's seq in this space on each database of the site's set (0 when none): where the
 * next delta starts. Each database numbers its own changes (docs/architecture.md, "Shards").
 */
export async function headSeqs(people: readonly PeopleDb[], audienceId: number, space: string): Promise<number[]> {
  return Promise.all(
    people.map(async ({ db }) => {
      const [row] = await db
        .select({ seq: max(audienceChanges.seq) })
        .from(audienceChanges)
        .where(and(eq(audienceChanges.audienceId, audienceId), eq(audienceChanges.idSpace, space)));
      return row?.seq ?? 0;
    }),
  );
}

/**
 * A point in the change log: one seq per database of the site's set, in set order. A site in HOME
 * has one, and its cursor reads `SEQ.SIG` as it always did. A site on shards has one per shard,
 * `SEQ-SEQ-….TS.SIG`, signed with its set (a cursor of another set is unknown) and the time it
 * was made: rows after a cursor were written after it, so they are purged only once the cursor
 * is older than CHANGE_LOG_DAYS — that is when it expires, with no purge mark per shard.
 */
export type Cursor = { seqs: number[]; at: number };

function cursorMessage(audienceId: number, space: string, set: ShardSet, cursor: Cursor): string {
  return set === null
    ? `${audienceId}\n${space}\n${cursor.seqs[0] ?? 0}`
    : `${audienceId}\n${space}\n${cursor.seqs.join("-")}\n${set.join(",")}\n${cursor.at}`;
}

async function cursorSignature(secret: string, siteId: number, message: string) {
  const key = await deriveKey(secret, "audience-cursor", siteId);
  return (await hmacSha256Hex(key, message)).slice(0, 32);
}

export async function makeCursor(
  secret: string,
  site: { id: number; shards: ShardSet },
  audienceId: number,
  space: string,
  cursor: Cursor,
) {
  const text = site.shards === null ? `${cursor.seqs[0] ?? 0}` : `${cursor.seqs.join("-")}.${cursor.at}`;
  return `${text}.${await cursorSignature(secret, site.id, cursorMessage(audienceId, space, site.shards, cursor))}`;
}

/** The point a cursor stands for; 410 when it is not this audience's, space's and set's, or has expired. */
export async function readCursor(
  secret: string,
  site: { id: number; shards: ShardSet },
  audience: { id: number; changesPurgedThrough: number },
  space: string,
  text: string,
  now: number,
): Promise<Cursor> {
  const match =
    site.shards === null
      ? /^(\d{1,15})()\.([0-9a-f]{32})$/.exec(text)
      : /^(\d{1,15}(?:-\d{1,15})*)\.(\d{1,15})\.([0-9a-f]{32})$/.exec(text);
  const cursor: Cursor = {
    seqs: match ? (match[1] as string).split("-").map(Number) : [],
    at: match?.[2] ? Number(match[2]) : 0,
  };
  const fits = match && (site.shards === null || cursor.seqs.length === site.shards.length);
  if (
    !fits ||
    (await cursorSignature(secret, site.id, cursorMessage(audience.id, space, site.shards, cursor))) !== match[3]
  ) {
    throw apiError(
      410,
      "cursor_unknown",
      `The cursor is not one this audience's ${space} export gave; fetch a full export (without since) and use its X-Tagwerk-Cursor`,
    );
  }
  const expired =
    site.shards === null
      ? (cursor.seqs[0] ?? 0) < audience.changesPurgedThrough
      : cursor.at < now - CHANGE_LOG_DAYS * DAY;
  if (expired) {
    throw apiError(
      410,
      "cursor_expired",
      `Changes older than ${CHANGE_LOG_DAYS} days are gone; fetch a full export (without since) and use its X-Tagwerk-Cursor`,
    );
  }
  return cursor;
}

/**
 * Erasure's part (worker/privacy/erasure.ts): in the erasure's own transaction, before the subject's
 * id_links, visitors and customer row go, every ID of the subject that a network was told becomes
 * a `remove` row, earlier rows naming those IDs are deleted, and the snapshot forgets them. `?1` is
 * the site, `?2` the subject, COOKIES the subquery of the subject's cookie IDs. With `customer`
 * the customer's e-mail hashes are removed too.
 */
export function erasureChangeStatements(customer: boolean): string[] {
  const of = (table: string) => `${table}.audience_id in (select id from audiences where site_id = ?1) and (
    (${table}.id_space = 'tw' and ${table}.value in (COOKIES))
    or (${table}.id_space not in (${[...BUILT_IN_SPACES].map((s) => `'${s}'`).join(", ")})
      and ${table}.value in (select partner_user_id from id_links where site_id = ?1
        and partner_key = ${table}.id_space and cookie_id in (COOKIES)))
    ${
      customer
        ? `or (${table}.id_space = 'email_sha256' and ${table}.value = (select email_sha256 from customers where site_id = ?1 and customer_id = ?2))
    or (${table}.id_space = 'uid2_email' and ${table}.value = (select uid2_email from customers where site_id = ?1 and customer_id = ?2))`
        : ""
    })`;
  return [
    `delete from audience_changes where ${of("audience_changes")}`,
    `insert into audience_changes (audience_id, id_space, op, value, ts)
      select audience_id, id_space, 'remove', value, cast(unixepoch('subsecond') * 1000 as integer)
      from audience_space_members where ${of("audience_space_members")}`,
    `delete from audience_space_members where ${of("audience_space_members")}`,
  ];
}
