/**
 * Audience export: the member list as CSV, in tagwerk's ID space (cookie IDs) or a partner's
 * (partner user IDs through id_links; members never synced with that partner are skipped), only
 * for visitors whose consent allows it.
 *
 * Flat memory for any size: a pull-based ReadableStream fetches one page per pull with keyset
 * pagination on visitor_id (`visitor_id > last ORDER BY visitor_id LIMIT n`, an index range on
 * audience_members) — never OFFSET, whose cost grows with the page number — so the stream only
 * holds one page, and a slow reader slows the queries instead of buffering rows.
 *
 * Signed download URLs let a network fetch the list without the API key: HMAC-SHA256 over
 * (audience, format, ID space, expiry) with a per-site key derived from SIGNING_SECRET.
 */
import { type SQL, sql } from "drizzle-orm";
import { deriveKey, hmacSha256Hex, verifyHmacHex } from "../auth/signing";
import type { Db, Site } from "../env";

const EXPORT_PAGE_SIZE = 1000;

/** consent != 'denied'; on a consent_mode 'required' site only an explicit 'granted'. */
function consentCondition(site: Site): SQL {
  return site.consentMode === "required"
    ? sql`v.consent = 'granted'`
    : sql`(v.consent is null or v.consent != 'denied')`;
}

/** RFC 4180 quoting; partner IDs are free text. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One page of the export after visitor_id `after`. */
async function exportPage(
  db: Db,
  site: Site,
  audienceId: number,
  idSpace: string,
  after: number,
  limit: number,
): Promise<{ k: number; id: string }[]> {
  const consent = consentCondition(site);
  if (idSpace === "tw") {
    return db.all<{ k: number; id: string }>(sql`
      select m.visitor_id as k, m.cookie_id as id
      from audience_members m join visitors v on v.id = m.visitor_id
      where m.audience_id = ${audienceId} and m.visitor_id > ${after} and v.site_id = ${site.id} and ${consent}
      order by m.visitor_id limit ${limit}`);
  }
  // A cookie synced several times with one partner exports its latest partner ID only.
  return db.all<{ k: number; id: string }>(sql`
    select m.visitor_id as k, l.partner_user_id as id
    from audience_members m
      join visitors v on v.id = m.visitor_id
      join id_links l on l.id = (
        select l2.id from id_links l2
        where l2.site_id = ${site.id} and l2.cookie_id = m.cookie_id and l2.partner_key = ${idSpace}
        order by l2.updated_at desc, l2.id desc limit 1)
    where m.audience_id = ${audienceId} and m.visitor_id > ${after} and v.site_id = ${site.id} and ${consent}
    order by m.visitor_id limit ${limit}`);
}

export function exportStream(
  db: Db,
  site: Site,
  audienceId: number,
  idSpace: string,
  { pageSize = EXPORT_PAGE_SIZE, onPage }: { pageSize?: number; onPage?: (rows: number) => void } = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = 0;
  let headerSent = false;
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode("id\n"));
          return;
        }
        if (done) {
          controller.close();
          return;
        }
        const rows = await exportPage(db, site, audienceId, idSpace, after, pageSize);
        onPage?.(rows.length);
        if (rows.length < pageSize) done = true;
        if (rows.length === 0) {
          controller.close();
          return;
        }
        after = rows[rows.length - 1].k;
        controller.enqueue(encoder.encode(rows.map((r) => `${csvField(r.id)}\n`).join("")));
      },
    },
    { highWaterMark: 1 },
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
