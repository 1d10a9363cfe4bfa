/**
 * The `tw_id` cookie: tagwerk's visitor ID, minted by `/e` and `/sync`, read by `/b`, `/c`,
 * `/optout` and the token API. Its name, shape, scope and fixed attributes live here once, so
 * that every path that sets, reads or deletes it agrees on them.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { randomHex } from "../auth/crypto";
import type { Site } from "../env";
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
export function visitorCookieOptions(site: Pick<Site, "cookieDomain">, sameSite: "Lax" | "None", maxAge: number) {
  return { ...visitorCookieScope(site), httpOnly: true, secure: true, sameSite, maxAge };
}
