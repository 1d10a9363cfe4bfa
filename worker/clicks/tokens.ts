/**
 * Click tokens (`GET /c/:token`): a jose HS256 JWS, signed with the site's own key (audience
 * "click"), naming the impression. It carries everything the redirect needs — the landing URL, the
 * coupon code and the site's coupon parameter — because the impression row may still be in the
 * queue when the click arrives. It names no person: no cookie ID, no customer ID.
 */
import { decodeJwt } from "jose";
import { signToken, verifyToken } from "../auth/jwt";
import { SECONDS_PER_DAY } from "../lib/time";

/** Clicks normally follow within minutes; a day covers a tab left open overnight. */
const CLICK_TOKEN_TTL_SECONDS = SECONDS_PER_DAY;

export type ClickClaims = {
  site: string;
  siteId: number;
  impression: string;
  ruleId: number | null;
  landingUrl: string;
  coupon: string | null;
  couponParam: string;
};

export function mintClickToken(secret: string, claims: ClickClaims, now = Date.now()): Promise<string> {
  return signToken(
    secret,
    claims.site,
    "click",
    {
      site: claims.site,
      sid: claims.siteId,
      imp: claims.impression,
      r: claims.ruleId,
      l: claims.landingUrl,
      cp: claims.coupon,
      q: claims.couponParam,
    },
    CLICK_TOKEN_TTL_SECONDS,
    now,
  );
}

/** The claims of a genuine, unexpired click token, or null. */
export async function readClickToken(secret: string, token: string, now = Date.now()): Promise<ClickClaims | null> {
  let site: unknown;
  try {
    // Only to pick the key: the signature check below is made with that site's key, so a token
    // that names another site than it was signed for fails.
    site = decodeJwt(token).site;
  } catch {
    return null;
  }
  if (typeof site !== "string") return null;
  const claims = await verifyToken(secret, site, "click", token, now);
  if (
    !claims ||
    typeof claims.sid !== "number" ||
    typeof claims.imp !== "string" ||
    typeof claims.l !== "string" ||
    typeof claims.q !== "string"
  ) {
    return null;
  }
  return {
    site,
    siteId: claims.sid,
    impression: claims.imp,
    ruleId: typeof claims.r === "number" ? claims.r : null,
    landingUrl: claims.l,
    coupon: typeof claims.cp === "string" ? claims.cp : null,
    couponParam: claims.q,
  };
}

/** The landing URL with the coupon in the site's parameter (kept as is when there is no coupon). */
export function landingWithCoupon(claims: ClickClaims): string {
  const url = new URL(claims.landingUrl);
  if (claims.coupon) url.searchParams.set(claims.couponParam, claims.coupon);
  return url.href;
}
