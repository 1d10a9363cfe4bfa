/**
 * Post/redirect/get for results that carry data (a new API key, a webhook secret, a signed export
 * URL, an upload's report): the post stores the result in a short-lived cookie and answers 303, the
 * page that follows shows it once and deletes the cookie — so reloading shows the page, never posts
 * again (issuing a second key). The cookie is encrypted (AES-GCM, a key derived from SESSION_SECRET)
 * because it may hold a secret shown "only this once"; HttpOnly, SameSite=Strict, scoped to /admin
 * and two minutes long, like the session cookie it travels beside (docs/admin.md, "Admin UI").
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AdminEnv } from "./api";

const FLASH_COOKIE = "tw_flash";
const FLASH_SECONDS = 120;

/** What a post hands to the page after its redirect. */
export type Flash = {
  /** A sentence of success ("Key issued."). */
  notice?: string;
  /** A value shown once with a copy button (an API key, a secret, a signed URL). */
  secret?: { label: string; value: string };
  /** Lines of detail (e.g. every refused line of an upload). */
  problems?: string[];
};

async function flashKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`tagwerk admin flash\0${secret}`));
  return crypto.subtle.importKey("raw", material, "AES-GCM", false, ["encrypt", "decrypt"]);
}

const toBase64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** Stores `flash` for the next page and redirects there (303: the browser follows with a GET). */
export async function redirectWithFlash(c: Context<AdminEnv>, location: string, flash: Flash) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await flashKey(c.env.SESSION_SECRET),
    new TextEncoder().encode(JSON.stringify(flash)),
  );
  setCookie(c, FLASH_COOKIE, `${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/admin",
    maxAge: FLASH_SECONDS,
  });
  return c.redirect(location, 303);
}

/** The flash left by the previous post, deleted as it is read (shown once); null when none or unreadable. */
export async function takeFlash(c: Context<AdminEnv>): Promise<Flash | null> {
  const value = getCookie(c, FLASH_COOKIE);
  if (!value) return null;
  deleteCookie(c, FLASH_COOKIE, { path: "/admin", secure: true, httpOnly: true, sameSite: "Strict" });
  const [iv, sealed] = value.split(".");
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64Url(iv ?? "") },
      await flashKey(c.env.SESSION_SECRET),
      fromBase64Url(sealed ?? ""),
    );
    return JSON.parse(new TextDecoder().decode(plain)) as Flash;
  } catch {
    return null;
  }
}
