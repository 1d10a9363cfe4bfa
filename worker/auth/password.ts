/**
 * Admin passwords: PBKDF2-SHA-256 through WebCrypto (available in workerd and Node alike, so the
 * dev seed hashes exactly as the login verifies). workerd caps PBKDF2 at 100,000 iterations.
 */
import { fromBase64Url, randomBytes, timingSafeEqualText, toBase64Url } from "./crypto";

const ITERATIONS = 100_000;
const SCHEME = "pbkdf2-sha256";

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<string> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256);
  return toBase64Url(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `${SCHEME}$${ITERATIONS}$${toBase64Url(salt)}$${await derive(password, salt, ITERATIONS)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, hash] = stored.split("$");
  if (scheme !== SCHEME || !iterations || !salt || !hash) return false;
  const candidate = await derive(password, fromBase64Url(salt), Number(iterations));
  return timingSafeEqualText(candidate, hash);
}
