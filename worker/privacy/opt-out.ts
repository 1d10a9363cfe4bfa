/**
 * The browser's "do not track me" signals, honoured on the server as the tag honours them in the
 * browser: the opt-out cookie `tw_optout=1` (set by `GET /optout`, first-party, 400 days), the
 * Global Privacy Control header `Sec-GPC: 1` and `DNT: 1`. With any of them /e stores nothing (not
 * even the rejection), /b serves only the non-personalised fallback (no profile read, no coupon)
 * and /sync links nothing and sets no cookie.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";

export const OPTOUT_COOKIE = "tw_optout";

/** The reason this request must not be tracked, or null. */
export function trackingRefusal(c: Context): "opted out" | "global privacy control" | "do not track" | null {
  if (getCookie(c, OPTOUT_COOKIE) === "1") return "opted out";
  if (c.req.header("Sec-GPC") === "1") return "global privacy control";
  if (c.req.header("DNT") === "1") return "do not track";
  return null;
}

export function isOptedOut(c: Context): boolean {
  return trackingRefusal(c) !== null;
}
