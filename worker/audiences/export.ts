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
import type { Db } from "../env";
import { csvCell, type PageOptions, pagedCsv } from "../lib/csv";

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

/** The audience's IDs in `idSpace` as of its last refresh, in the layout's columns. */
export function exportStream(
  db: Db,
  audienceId: number,
  idSpace: string,
  options: ExportOptions = {},
): ReadableStream<Uint8Array> {
  const header = LAYOUT_HEADER[options.layout ?? defaultLayout(idSpace)];
  return pagedCsv(
    header,
    "",
    async (after, limit) => {
      const rows = await db.all<{ value: string }>(sql`
      select value from audience_space_members
      where audience_id = ${audienceId} and id_space = ${idSpace} and value > ${after}
      order by value limit ${limit}`);
      return { rows: rows.map((r) => ({ k: r.value, line: cellOf(idSpace, r.value) })) };
    },
    options,
  );
}

/** The changes in `idSpace` after seq `from` up to `to`, as `op,id` rows in the order they happened. */
export function changesStream(
  db: Db,
  audienceId: number,
  idSpace: string,
  from: number,
  to: number,
  options: ExportOptions = {},
): ReadableStream<Uint8Array> {
  return pagedCsv(
    "op,id",
    from,
    async (after, limit) => {
      const rows = await db.all<{ seq: number; op: string; value: string }>(sql`
      select seq, op, value from audience_changes
      where audience_id = ${audienceId} and id_space = ${idSpace} and seq > ${after} and seq <= ${to}
      order by seq limit ${limit}`);
      return { rows: rows.map((r) => ({ k: r.seq, line: `${r.op},${cellOf(idSpace, r.value)}` })) };
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
