/**
 * Audience export: the member list as CSV in one ID space — tagwerk's (cookie IDs), a partner's
 * (partner user IDs through id_links; members never synced with that partner are skipped), or a
 * hashed-e-mail space (`email_sha256`, `uid2_email`) — only for visitors whose consent allows it,
 * in the column layout the destination's upload takes (LAYOUTS). With a cursor it lists the
 * changes since then instead (`op,id`, changes.ts).
 *
 * Both read what the last refresh recorded (audience_space_members, audience_changes), so a full
 * export and the deltas after its cursor add up to the same list. Partner IDs are free text from
 * anonymous /sync calls: their cells go through csvCell (formula injection neutralised, lib/csv.ts).
 *
 * Flat memory for any size: a pull-based ReadableStream fetches one page per pull with keyset
 * pagination (`value > last ORDER BY value LIMIT n` on the snapshot's unique index, `seq > last`
 * on the log's) — never OFFSET, whose cost grows with the page number — so the stream only holds
 * one page, and a slow reader slows the queries instead of buffering rows.
 *
 * Signed download URLs let a network fetch the list without the API key: HMAC-SHA256 over
 * (audience, format, ID space, expiry) with a per-site key derived from SIGNING_SECRET.
 */
import { sql } from "drizzle-orm";
import { deriveKey, hmacSha256Hex, verifyHmacHex } from "../auth/signing";
import { csvCell, type PageOptions, pagedCsv } from "../lib/csv";
import { byBinary } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";

/**
 * Column layouts, by destination. `id`: one `id` column (cookie-synced DSPs, any space). `google`:
 * Google Customer Match's customer-list file, whose `Email` column takes SHA-256 hex hashes.
 * `meta`: Meta Custom Audiences' `EMAIL_SHA256` schema. `ttd`: The Trade Desk's CRM data of UID2
 * e-mail hashes, one Base64 hash per line and no header row.
 */
export const LAYOUTS = ["id", "google", "meta", "ttd"] as const;
export type Layout = (typeof LAYOUTS)[number];
const LAYOUT_HEADER: Record<Layout, string | null> = { id: "id", google: "Email", meta: "EMAIL_SHA256", ttd: null };
const LAYOUT_SPACE: Partial<Record<Layout, string>> = {
  google: "email_sha256",
  meta: "email_sha256",
  ttd: "uid2_email",
};

/** The layout a space exports in when none is asked for. */
export function defaultLayout(space: string): Layout {
  if (space === "email_sha256") return "google";
  if (space === "uid2_email") return "ttd";
  return "id";
}

/** Null when the layout fits the space, else why not. */
export function layoutMismatch(layout: Layout, space: string): string | null {
  const needs = LAYOUT_SPACE[layout];
  return needs && needs !== space ? `layout ${layout} takes id_space ${needs}` : null;
}

/**
 * A cell of an ID in `idSpace`. Cookie IDs (hex) and e-mail hashes (hex, Base64) are made by
 * tagwerk and checked to their alphabet: they go out exactly as the network must match them — a
 * Base64 UID2 hash may start with "+", and a quote in front would make it match nobody. Partner
 * IDs are anyone's text: OWASP's rule applies (csvCell).
 */
function cellOf(idSpace: string, value: string): string {
  return OWN_ID_SPACES.has(idSpace) ? value : csvCell(value);
}
const OWN_ID_SPACES = new Set(["tw", "email_sha256", "uid2_email"]);

type ExportOptions = PageOptions & { layout?: Layout };

/**
 * The audience's IDs in `idSpace` as of its last refresh, in the layout's columns, sorted: each
 * page asks every database of the site's set for its next IDs after the last one sent and merges
 * them, an ID held on several shards (one customer's hash through cookies on two shards) once.
 */
export function exportStream(
  people: readonly PeopleDb[],
  audienceId: number,
  idSpace: string,
  options: ExportOptions = {},
): ReadableStream<Uint8Array> {
  const header = LAYOUT_HEADER[options.layout ?? defaultLayout(idSpace)];
  return pagedCsv(
    header,
    "",
    async (after, limit) => {
      const page: string[] = [];
      let last = after;
      // A short page ends the stream (pagedCsv), so the page is filled from further reads when
      // one database's full list cut it short.
      for (;;) {
        const lists = await Promise.all(
          people.map(({ db }) =>
            db.all<{ value: string }>(sql`
      select value from audience_space_members
      where audience_id = ${audienceId} and id_space = ${idSpace} and value > ${last}
      order by value limit ${limit}`),
          ),
        );
        // Only IDs up to the smallest last ID of a full list are certain to have no smaller one unread.
        const bound = lists
          .filter((list) => list.length === limit)
          .map((list) => (list[list.length - 1] as { value: string }).value)
          .sort(byBinary)[0];
        const values = [...new Set(lists.flat().map((r) => r.value))]
          .filter((v) => bound === undefined || v <= bound)
          .sort(byBinary)
          .slice(0, limit - page.length);
        page.push(...values);
        if (bound === undefined || page.length >= limit || values.length === 0) break;
        last = page[page.length - 1] as string;
      }
      return { rows: page.map((value) => ({ k: value, line: cellOf(idSpace, value) })) };
    },
    options,
  );
}

type Change = { seq: number; op: string; value: string; ts: number };

/**
 * For the IDs among `lists` (one list per database), the databases whose snapshot holds them now.
 * Only a space whose IDs can come from several shards needs it: a cookie ID is on one.
 */
async function heldElsewhere(
  people: readonly PeopleDb[],
  audienceId: number,
  idSpace: string,
  lists: Change[][],
): Promise<Map<string, Set<number>>> {
  const held = new Map<string, Set<number>>();
  const values = [...new Set(lists.flat().map((r) => r.value))];
  if (people.length === 1 || idSpace === "tw" || values.length === 0) return held;
  await Promise.all(
    people.map(async ({ db }, k) => {
      const rows = await db.all<{ value: string }>(sql`select value from audience_space_members
        where audience_id = ${audienceId} and id_space = ${idSpace}
          and value in (select value from json_each(${JSON.stringify(values)}))`);
      for (const { value } of rows) held.set(value, new Set([...(held.get(value) ?? []), k]));
    }),
  );
  return held;
}

/**
 * The changes in `idSpace` after `from` up to `to` (one seq per database of the set), as `op,id`
 * rows in the order they happened: every database's rows merged by time, then set order, then seq.
 * A row's key is the point after it, so the next page starts where this one stopped. A remove that
 * another shard's snapshot contradicts is left out, and an add only the first holder tells
 * (heldElsewhere), so that a network applying the stream to what it held at the cursor ends with
 * the union the full export lists.
 */
export function changesStream(
  people: readonly PeopleDb[],
  audienceId: number,
  idSpace: string,
  from: readonly number[],
  to: readonly number[],
  options: ExportOptions = {},
): ReadableStream<Uint8Array> {
  return pagedCsv<readonly number[]>(
    "op,id",
    from,
    async (after, limit) => {
      const point = [...after];
      const rows: { k: readonly number[]; line: string }[] = [];
      // A short page ends the stream (pagedCsv): read again while a database's full page was used up.
      for (let more = true; more && rows.length < limit; ) {
        const lists = await Promise.all(
          people.map(({ db }, k) =>
            db.all<Change>(sql`
      select seq, op, value, ts from audience_changes
      where audience_id = ${audienceId} and id_space = ${idSpace} and seq > ${point[k] ?? 0} and seq <= ${to[k] ?? 0}
      order by seq limit ${limit}`),
          ),
        );
        const held = await heldElsewhere(people, audienceId, idSpace, lists);
        const heads = lists.map(() => 0);
        more = false;
        while (rows.length < limit) {
          let best = -1;
          for (let k = 0; k < lists.length; k++) {
            const row = lists[k]?.[heads[k] as number];
            const current = lists[best]?.[heads[best] as number];
            if (row && (best < 0 || (current && row.ts < current.ts))) best = k;
          }
          if (best < 0) break;
          const row = (lists[best] as Change[])[heads[best] as number] as Change;
          heads[best] = (heads[best] as number) + 1;
          point[best] = row.seq;
          // An ID another shard still exports (one customer's hash, cookies on two shards) is no change:
          // its remove is left out, and its add is told by the first shard of the set that holds it.
          const holders = [...(held.get(row.value) ?? [])];
          const kept = !holders.some((k) => (row.op === "remove" ? k !== best : k < best));
          if (kept) rows.push({ k: [...point], line: `${row.op},${cellOf(idSpace, row.value)}` });
          // A database whose full page is used up may hold later rows that sort before the others'.
          if (heads[best] === limit) {
            more = true;
            break;
          }
        }
      }
      return { rows };
    },
    options,
  );
}

function exportSigningKey(secret: string, siteId: number): Promise<string> {
  return deriveKey(secret, "audience-export", siteId);
}

function exportMessage(audienceId: number, format: string, idSpace: string, expiresAt: number): string {
  return `${audienceId}\n${format}\n${idSpace}\n${expiresAt}`;
}

export async function signExportUrl(
  secret: string,
  origin: string,
  siteId: number,
  audienceId: number,
  idSpace: string,
  expiresAt: number,
): Promise<string> {
  const key = await exportSigningKey(secret, siteId);
  const sig = await hmacSha256Hex(key, exportMessage(audienceId, "csv", idSpace, expiresAt));
  const params = new URLSearchParams({ format: "csv", id_space: idSpace, exp: String(expiresAt), sig });
  return `${origin}/api/v1/audiences/${audienceId}/export?${params}`;
}

export async function verifyExportSignature(
  secret: string,
  siteId: number,
  audienceId: number,
  format: string,
  idSpace: string,
  expiresAt: string,
  sig: string,
): Promise<boolean> {
  if (!/^\d{1,16}$/.test(expiresAt) || !/^[0-9a-f]{64}$/i.test(sig)) return false;
  const key = await exportSigningKey(secret, siteId);
  return verifyHmacHex(key, exportMessage(audienceId, format, idSpace, Number(expiresAt)), sig);
}
