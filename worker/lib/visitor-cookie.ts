/**
 * The `tw_id` cookie: tagwerk's visitor ID, minted by `/e` and `/sync`, read by `/b`, `/c`,
 * `/optout` and the token API. Its name, shape, scope and fixed attributes live here once, so
 * that every path that sets, reads or deletes it agrees on them.
 *
 * Its companion `tw_idp` proves that a browser holds the tw_id it was given rather than one it
 * names: an HMAC of the cookie ID under a key derived from SIGNING_SECRET, set beside tw_id with
 * the same attributes whenever the Worker mints one, HttpOnly, never stored, never sent to partners
 * or webhooks. Cookie IDs do travel (sync redirects, exports, webhook payloads), so anyone may know
 * one; only its browser holds the proof. `/optout` erases a profile only with it (README,
 * "Opt-out"; SECURITY.md).
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { randomHex, timingSafeEqualText, toBase64Url } from "../auth/crypto";
import { deriveKey, hmacSha256, signingSecretOf } from "../auth/signing";
import type { AppEnv, Site } from "../env";
import { SECONDS_PER_DAY } from "./time";

export const VISITOR_COOKIE = "tw_id";
export const COOKIE_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * The longest lifetime a browser keeps a cookie: Chrome caps every cookie at 400 days (RFC 6265bis
 * proposes the same), so asking for more buys nothing. tagwerk's long-lived first-party cookies
 * (`tw_id` from `/e`, `tw_optout`) ask for exactly this; the sync cookie for at most this.
 */
export const MAX_COOKIE_DAYS = 400;
export const MAX_COOKIE_AGE_SECONDS = MAX_COOKIE_DAYS * SECONDS_PER_DAY;

/** 128 random bits as 32 lower-case hex characters. */
export function newCookieId(): string {
  return randomHex(16);
}

/** The request's tw_id when it has the shape tagwerk mints, else null (a forged value is ignored). */
export function readCookieId(c: Context): string | null {
  const value = getCookie(c, VISITOR_COOKIE);
  return value && COOKIE_ID_PATTERN.test(value) ? value : null;
}

/** Where the cookie lives: a cookie is only replaced or deleted with the same path and domain. */
export function visitorCookieScope(site: Pick<Site, "cookieDomain">) {
  return { path: "/", ...(site.cookieDomain ? { domain: site.cookieDomain } : {}) };
}

/**
 * The attributes of a tw_id being set. Script never reads it (HttpOnly) and it only travels over
 * HTTPS; SameSite and lifetime differ by context: first-party `/e` sets Lax, the cross-site sync
 * pixel needs None.
 */
function visitorCookieOptions(site: Pick<Site, "cookieDomain">, sameSite: "Lax" | "None", maxAge: number) {
  return { ...visitorCookieScope(site), httpOnly: true, secure: true, sameSite, maxAge };
}

export const PROOF_COOKIE = "tw_idp";

/** The proof for a cookie ID: 128 bits of HMAC-SHA256, base64url. */
async function cookieProof(env: { SIGNING_SECRET?: string }, cookieId: string): Promise<string> {
  const key = await deriveKey(signingSecretOf(env), "cookie-proof", VISITOR_COOKIE);
  return toBase64Url(new Uint8Array(await hmacSha256(key, cookieId)).slice(0, 16));
}

/** Sets a freshly minted tw_id and its proof, with the same attributes. */
export async function setVisitorCookie(
  c: Context<AppEnv>,
  site: Pick<Site, "cookieDomain">,
  cookieId: string,
  sameSite: "Lax" | "None",
  maxAge: number,
) {
  const options = visitorCookieOptions(site, sameSite, maxAge);
  setCookie(c, VISITOR_COOKIE, cookieId, options);
  setCookie(c, PROOF_COOKIE, await cookieProof(c.env, cookieId), options);
}

/** True when the request's tw_idp proves its tw_id `cookieId`. */
export async function holdsCookie(c: Context<AppEnv>, cookieId: string): Promise<boolean> {
  const proof = getCookie(c, PROOF_COOKIE);
  return proof !== undefined && (await timingSafeEqualText(proof, await cookieProof(c.env, cookieId)));
}
