/**
 * Every signed token tagwerk issues goes through this one module (jose): the algorithm is pinned to
 * HS256, the issuer is "tagwerk", each use has its own audience, and every token expires soon.
 *
 * Keys are per site: HMAC-SHA256(secret, "tagwerk:" + purpose + ":" + site key). A token minted for
 * one site (or one purpose) never verifies for another, and the deployment holds one secret only.
 */
import { errors, jwtVerify, SignJWT } from "jose";

const ISSUER = "tagwerk";
const ALG = "HS256";

export type Audience = "visitor-token" | "admin-session";

const encoder = new TextEncoder();
/**
 * Derived keys are cached per isolate as CryptoKeys: jose imports a raw key (`importKey`) on every
 * sign and verify, which cost more than the HMAC itself (≈60–160 µs per token, measured in
 * bench/RESULTS.md). Bounded: an isolate serving many sites drops its oldest entries first.
 */
const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_MAX = 1_000;

async function deriveSiteKey(secret: string, siteKey: string, purpose: Audience): Promise<CryptoKey> {
  const hmac = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const derived = await crypto.subtle.sign("HMAC", hmac, encoder.encode(`tagwerk:${purpose}:${siteKey}`));
  // The same key signs and verifies; jose checks the key's algorithm and usages against HS256.
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function siteSigningKey(secret: string, siteKey: string, purpose: Audience): Promise<CryptoKey> {
  if (!secret) throw new Error("SIGNING_SECRET is not set");
  const cacheKey = `${purpose}\u0000${siteKey}\u0000${secret}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = deriveSiteKey(secret, siteKey, purpose);
    // A failed derivation must not stay cached.
    key.catch(() => keyCache.delete(cacheKey));
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(cacheKey, key);
  }
  return key;
}

export async function signToken(
  secret: string,
  siteKey: string,
  audience: Audience,
  claims: Record<string, unknown>,
  ttlSeconds: number,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(await siteSigningKey(secret, siteKey, audience));
}

/** The claims of a valid token, or null when it is malformed, tampered with, expired or for another use. */
export async function verifyToken(
  secret: string,
  siteKey: string,
  audience: Audience,
  token: string,
  now = Date.now(),
): Promise<Record<string, unknown> | null> {
  try {
    const { payload } = await jwtVerify(token, await siteSigningKey(secret, siteKey, audience), {
      algorithms: [ALG],
      issuer: ISSUER,
      audience,
      currentDate: new Date(now),
    });
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof errors.JOSEError || err instanceof TypeError) return null;
    throw err;
  }
}

/** Visitor tokens (`t=` on /b): short-lived, name one cookie ID of one site. */
export const VISITOR_TOKEN_TTL_SECONDS = 20 * 60;

export function mintVisitorToken(secret: string, siteKey: string, cookieId: string, now = Date.now()) {
  return signToken(secret, siteKey, "visitor-token", { sub: cookieId }, VISITOR_TOKEN_TTL_SECONDS, now);
}

export async function verifyVisitorToken(secret: string, siteKey: string, token: string, now = Date.now()) {
  const claims = await verifyToken(secret, siteKey, "visitor-token", token, now);
  return typeof claims?.sub === "string" ? claims.sub : null;
}
