/**
 * HMAC-SHA256 signing for things that are not JWTs: signed export URLs and webhook bodies. Keys
 * are derived per purpose (and per site or webhook) from the deployment's SIGNING_SECRET, so one
 * leaked derived key exposes nothing else and nothing derived is ever stored.
 */
import { timingSafeEqualText, toHex } from "./crypto";

const encoder = new TextEncoder();

/**
 * Imported keys are cached per isolate (bounded, oldest dropped first): `importKey` costs more
 * than the HMAC it serves, and the same few secrets (the deployment's, a site's export key, a
 * webhook's) sign again and again.
 */
const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_MAX = 1_000;

function importRaw(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

function importHmacKey(secret: string | Uint8Array): Promise<CryptoKey> {
  if (typeof secret !== "string") return importRaw(secret);
  let key = keyCache.get(secret);
  if (!key) {
    key = importRaw(encoder.encode(secret));
    key.catch(() => keyCache.delete(secret));
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(secret, key);
  }
  return key;
}

export async function hmacSha256(secret: string | Uint8Array, message: string): Promise<ArrayBuffer> {
  const key = await importHmacKey(secret);
  return crypto.subtle.sign("HMAC", key, encoder.encode(message));
}

export async function hmacSha256Hex(secret: string | Uint8Array, message: string): Promise<string> {
  return toHex(await hmacSha256(secret, message));
}

/** The raw bytes of deriveKey(): for secrets handed out in another encoding (webhooks' `whsec_`). */
export async function deriveKeyBytes(signingSecret: string, purpose: string, subject: string | number) {
  return new Uint8Array(await hmacSha256(signingSecret, `tagwerk:${purpose}:${subject}`));
}

/** A key for one purpose and subject, e.g. ("export", site key) or ("webhook", webhook id). */
export function deriveKey(signingSecret: string, purpose: string, subject: string | number): Promise<string> {
  return hmacSha256Hex(signingSecret, `tagwerk:${purpose}:${subject}`);
}

export async function verifyHmacHex(secret: string, message: string, signature: string): Promise<boolean> {
  return timingSafeEqualText(await hmacSha256Hex(secret, message), signature.toLowerCase());
}

/** The deployment's signing secret, refusing to run with a missing or toy one. */
export function signingSecretOf(env: { SIGNING_SECRET?: string }): string {
  const secret = env.SIGNING_SECRET;
  if (!secret || secret.length < 16) throw new Error("SIGNING_SECRET is not set (at least 16 characters)");
  return secret;
}
