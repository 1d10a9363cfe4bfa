/**
 * The two hashed-e-mail ID spaces, made from the clear address at import (README.md,
 * "Cookie sync, audiences and webhooks"): the address itself is never stored.
 *
 * - `email_sha256`: lower-case hex SHA-256 of the trimmed, lower-cased address — what Google
 *   Customer Match and Meta Custom Audiences take (both: remove surrounding whitespace, lower-case,
 *   SHA-256, hex). The local part is hashed as written: neither network asks to drop gmail dots.
 * - `uid2_email`: Base64 (standard alphabet, padded) of the SHA-256 bytes after UID2 normalisation
 *   — trim, lower-case, and for `gmail.com` only: every `.` and any `+suffix` of the local part
 *   removed (IABTechLab uid2docs, "Normalization and Encoding"). What The Trade Desk (UID2/EUID)
 *   takes; the Base64 is of the 32 digest bytes, not of the hex text.
 */

import { sha256Hex } from "../auth/crypto";

/** Trimmed and lower-cased: the normal form Google and Meta hash. */
function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * UID2's normal form: `normalizeEmail`, then for gmail.com no dots and no `+suffix` in the local part.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function normalizeEmailUid2(address: string): string {
  const normal = normalizeEmail(address);
  const at = normal.lastIndexOf("@");
  if (at < 0 || normal.slice(at + 1) !== "gmail.com") return normal;
  const local = normal.slice(0, at).split("+")[0].replaceAll(".", "");
  return `${local}@gmail.com`;
}

export function emailSha256(address: string): Promise<string> {
  return sha256Hex(normalizeEmail(address));
}

export async function uid2EmailHash(address: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normalizeEmailUid2(address)));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
