/**
 * The opt-out cookie. `GET /optout` sets `tw_optout=1` (first-party, 400 days) and erases the
 * visitor; from then on /e stores nothing, /b serves only the non-personalised fallback and /sync
 * links nothing, for as long as the browser keeps the cookie.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";

export const OPTOUT_COOKIE = "tw_optout";
export const OPTOUT_MAX_AGE = 400 * 24 * 60 * 60;

export function isOptedOut(c: Context): boolean {
  return getCookie(c, OPTOUT_COOKIE) === "1";
}
