/**
 * Click tokens (`GET /c/:token`): `PAYLOAD.MAC`, where PAYLOAD is the base64url of a small JSON
 * object naming the impression and MAC the base64url HMAC-SHA256 of PAYLOAD. It carries everything
 * the redirect needs — the landing URL, the coupon code and the site's coupon parameter — because
 * the impression row may still be in the queue when the click arrives. It names no person: no
 * cookie ID, no customer ID.
 *
 * The coupon code is a personal secret, and the token travels through the ad network's click
 * macro, its logs and redirectors: the code is sealed in the payload with AES-GCM (WebCrypto; a key
 * derived from SIGNING_SECRET for this purpose alone, a random 96-bit IV per token, the impression
 * as additional data so a sealed code cannot be moved into another token), written `~IV+CIPHERTEXT`
 * in base64url. /c opens it with no D1 read. A token minted before sealing carries the code in clear
 * (no `~`): still honoured, since the MAC proves tagwerk minted it, until it expires within a day.
 * The visitor's context (a CRM cluster or interest category, decide/offers.ts) is sealed the same
 * way: a cluster such as "dormant" is something an ad network must not learn about its user.
 *
 * Not a JWT: one is minted per impression, and a jose JWS (header, registered claims, algorithm
 * checks) cost about 110 µs per banner where this costs a few (bench/RESULTS.md, "Decision path").
 * The key is derived from SIGNING_SECRET for this one purpose ("tagwerk:click") and imported once
 * per isolate; the site is inside the signed payload, so a token cannot be re-pointed at another
 * site, and no other signature of the deployment (visitor tokens, exports, webhooks) verifies as one.
 */
import { fromBase64Url, toBase64Url } from "../auth/crypto";
import { SECONDS_PER_DAY } from "../lib/time";

/** Clicks normally follow within minutes; a day covers a tab left open overnight. */
const CLICK_TOKEN_TTL_SECONDS = SECONDS_PER_DAY;
const KEY_LABEL = "tagwerk:click";
const SEAL_LABEL = "tagwerk:click-coupon";
/** Marks a sealed code; a clear code (only A-Z a-z 0-9 - _: coupons/code-format.ts) never starts with it. */
const SEALED = "~";
const IV_BYTES = 12;

export type ClickClaims = {
  site: string;
  siteId: number;
  impression: string;
  ruleId: number | null;
  /** Where the click is counted (report counters): the impression's placement, creative and arm. */
  placement?: string;
  creativeId?: number | null;
  holdout?: boolean;
  /** The visitor's context when a rule was shown (decide/offers.ts), sealed in the token. */
  context?: string;
  landingUrl: string;
  coupon: string | null;
  couponParam: string;
};

/** What the payload holds: the claims under short names, and the expiry (Unix seconds). */
type Payload = {
  site: string;
  sid: number;
  imp: string;
  r: number | null;
  pl?: string;
  cr?: number | null;
  h?: 1;
  cx?: string;
  l: string;
  cp: string | null;
  q: string;
  exp: number;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The click keys per secret and purpose, imported once per isolate (a deployment has one secret). */
const keys = new Map<string, Promise<CryptoKey>>();

async function deriveKey(secret: string, label: string): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const derived = await crypto.subtle.sign("HMAC", master, encoder.encode(label));
  return label === SEAL_LABEL
    ? crypto.subtle.importKey("raw", derived, { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
    : crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function keyFor(secret: string, label: string): Promise<CryptoKey> {
  if (!secret) throw new Error("SIGNING_SECRET is not set");
  const id = `${label}|${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = deriveKey(secret, label);
    // A failed derivation must not stay cached.
    key.catch(() => keys.delete(id));
    keys.set(id, key);
  }
  return key;
}

const clickKey = (secret: string) => keyFor(secret, KEY_LABEL);

/** `~` + base64url(IV + AES-GCM(text)), bound to the impression it was minted for. */
async function seal(secret: string, code: string, impression: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(impression) },
    await keyFor(secret, SEAL_LABEL),
    encoder.encode(code),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return SEALED + toBase64Url(out);
}

/** The text sealed in `value` (or a legacy clear code), or null when it does not open. */
async function unseal(secret: string, value: string, impression: string): Promise<string | null> {
  if (!value.startsWith(SEALED)) return value;
  try {
    const bytes = fromBase64Url(value.slice(SEALED.length));
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: encoder.encode(impression) },
      await keyFor(secret, SEAL_LABEL),
      bytes.slice(IV_BYTES),
    );
    return decoder.decode(opened);
  } catch {
    return null;
  }
}

export async function mintClickToken(secret: string, claims: ClickClaims, now = Date.now()): Promise<string> {
  const payload: Payload = {
    site: claims.site,
    sid: claims.siteId,
    imp: claims.impression,
    r: claims.ruleId,
    pl: claims.placement,
    cr: claims.creativeId ?? null,
    ...(claims.holdout ? { h: 1 as const } : {}),
    ...(claims.context ? { cx: await seal(secret, claims.context, claims.impression) } : {}),
    l: claims.landingUrl,
    cp: claims.coupon === null ? null : await seal(secret, claims.coupon, claims.impression),
    q: claims.couponParam,
    exp: Math.floor(now / 1000) + CLICK_TOKEN_TTL_SECONDS,
  };
  const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
  const mac = await crypto.subtle.sign("HMAC", await clickKey(secret), encoder.encode(body));
  return `${body}.${toBase64Url(mac)}`;
}

function parsePayload(body: string): Payload | null {
  try {
    const p = JSON.parse(decoder.decode(fromBase64Url(body))) as Partial<Payload> | null;
    if (
      !p ||
      typeof p.site !== "string" ||
      typeof p.sid !== "number" ||
      typeof p.imp !== "string" ||
      typeof p.l !== "string" ||
      typeof p.q !== "string" ||
      typeof p.exp !== "number"
    ) {
      return null;
    }
    return p as Payload;
  } catch {
    return null;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The claims of a genuine, unexpired click token, or null. */
export async function readClickToken(secret: string, token: string, now = Date.now()): Promise<ClickClaims | null> {
  const parts = token.split(".");
  if (parts.length !== 2 || !BASE64URL.test(parts[0]) || !BASE64URL.test(parts[1])) return null;
  const [body, mac] = parts;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = fromBase64Url(mac);
  } catch {
    return null;
  }
  // crypto.subtle.verify compares in constant time; the payload is read only once it is genuine.
  if (!(await crypto.subtle.verify("HMAC", await clickKey(secret), signature, encoder.encode(body)))) return null;
  const p = parsePayload(body);
  // Expired from the second named in `exp` on, as a JWT's `exp` (RFC 7519, 4.1.4).
  if (!p || Math.floor(now / 1000) >= p.exp) return null;
  const coupon = typeof p.cp === "string" ? await unseal(secret, p.cp, p.imp) : null;
  if (typeof p.cp === "string" && coupon === null) return null;
  const context = typeof p.cx === "string" ? await unseal(secret, p.cx, p.imp) : null;
  return {
    site: p.site,
    siteId: p.sid,
    impression: p.imp,
    ruleId: typeof p.r === "number" ? p.r : null,
    // Tokens minted before these claims existed count under an empty placement.
    placement: typeof p.pl === "string" ? p.pl : "",
    creativeId: typeof p.cr === "number" ? p.cr : null,
    holdout: p.h === 1,
    ...(context ? { context } : {}),
    landingUrl: p.l,
    coupon,
    couponParam: p.q,
  };
}

/** The landing URL with the coupon in the site's parameter (kept as is when there is no coupon). */
export function landingWithCoupon(claims: ClickClaims): string {
  const url = new URL(claims.landingUrl);
  if (claims.coupon) url.searchParams.set(claims.couponParam, claims.coupon);
  return url.href;
}
