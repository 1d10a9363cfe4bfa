/**
 * The admin UI's session: e-mail + password login (PBKDF2, worker/auth/password.ts) with a slow-down
 * after repeated failures, and a jose-signed JWT (worker/auth/jwt.ts, audience "admin-session",
 * 8 hours) in the `tw_admin` cookie (HttpOnly, Secure, SameSite=Strict, Path=/).
 *
 * The same session authenticates the JSON management API (`sessionApiAuth`), so the admin UI uses
 * exactly the API scripts use. Every request re-reads the user row: a deleted user or a changed
 * role takes effect at once, not when the token expires.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { adminUsers, sites } from "../db/schema";
import type { AppEnv, Db, Role, Site } from "../env";
import { apiError } from "../errors";
import { signToken, verifyToken } from "./jwt";
import { hashPassword, verifyPassword } from "./password";

export const SESSION_COOKIE = "tw_admin";
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** The session key is deployment-wide (a user's site is a claim), not derived per site. */
const SESSION_KEY_SUBJECT = "admin";

/** Failed logins allowed before the account locks; each further failure doubles the lock. */
export const FREE_ATTEMPTS = 5;
export const BASE_LOCK_MS = 30_000;
export const MAX_LOCK_MS = 60 * 60_000;

export type AdminUser = { id: number; email: string; role: Role };
export type SessionClaims = { userId: number; siteId: number; role: Role };

function sessionSecret(env: Env): string {
  const secret = env.SESSION_SECRET;
  if (!secret || secret.length < 16) throw new Error("SESSION_SECRET is not set (at least 16 characters)");
  return secret;
}

export function signSession(env: Env, claims: SessionClaims, now = Date.now()): Promise<string> {
  return signToken(
    sessionSecret(env),
    SESSION_KEY_SUBJECT,
    "admin-session",
    { sub: String(claims.userId), site: claims.siteId, role: claims.role },
    SESSION_TTL_SECONDS,
    now,
  );
}

export async function verifySession(env: Env, token: string, now = Date.now()): Promise<SessionClaims | null> {
  const claims = await verifyToken(sessionSecret(env), SESSION_KEY_SUBJECT, "admin-session", token, now);
  if (!claims || typeof claims.sub !== "string" || typeof claims.site !== "number") return null;
  const userId = Number(claims.sub);
  if (!Number.isInteger(userId)) return null;
  return { userId, siteId: claims.site, role: claims.role as Role };
}

/** The signed-in user and site behind a session token, re-read from D1; null when none is valid. */
export async function resolveSession(
  env: Env,
  db: Db,
  token: string | undefined,
  now = Date.now(),
): Promise<{ user: AdminUser; site: Site } | null> {
  if (!token) return null;
  const claims = await verifySession(env, token, now);
  if (!claims) return null;
  const [row] = await db
    .select({ user: { id: adminUsers.id, email: adminUsers.email, role: adminUsers.role }, site: sites })
    .from(adminUsers)
    .innerJoin(sites, eq(sites.id, adminUsers.siteId))
    .where(and(eq(adminUsers.id, claims.userId), eq(adminUsers.siteId, claims.siteId)));
  return row ?? null;
}

export function setSessionCookie(c: Context, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: SESSION_TTL_SECONDS,
  });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
}

export type LoginResult =
  | { status: "ok"; user: AdminUser; siteId: number }
  | { status: "invalid" }
  | { status: "locked"; retryAfterMs: number };

/** How long the account stays locked after `failures` consecutive failures (0 below the threshold). */
export function lockDuration(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_LOCK_MS, BASE_LOCK_MS * 2 ** (failures - FREE_ATTEMPTS));
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks e-mail and password. A locked account is refused without looking at the password (so a
 * guesser learns nothing while locked); an unknown e-mail costs the same PBKDF2 work as a known one.
 */
export async function login(db: Db, email: string, password: string, now = Date.now()): Promise<LoginResult> {
  const normalized = email.trim().toLowerCase();
  const [user] = await db
    .select()
    .from(adminUsers)
    .where(eq(sql`lower(${adminUsers.email})`, normalized));
  if (!user) {
    dummyHash ??= hashPassword("tagwerk-no-such-user");
    await verifyPassword(password, await dummyHash);
    return { status: "invalid" };
  }
  if (user.lockedUntil !== null && user.lockedUntil > now) {
    return { status: "locked", retryAfterMs: user.lockedUntil - now };
  }
  if (await verifyPassword(password, user.passwordHash)) {
    if (user.failedLogins !== 0 || user.lockedUntil !== null) {
      await db.update(adminUsers).set({ failedLogins: 0, lockedUntil: null }).where(eq(adminUsers.id, user.id));
    }
    return { status: "ok", user: { id: user.id, email: user.email, role: user.role }, siteId: user.siteId };
  }
  // Counted in SQL so that parallel guesses cannot overwrite each other's increments.
  const [updated] = await db
    .update(adminUsers)
    .set({ failedLogins: sql`${adminUsers.failedLogins} + 1` })
    .where(eq(adminUsers.id, user.id))
    .returning({ failedLogins: adminUsers.failedLogins });
  const lock = lockDuration(updated.failedLogins);
  if (lock > 0) {
    await db
      .update(adminUsers)
      .set({ lockedUntil: now + lock })
      .where(eq(adminUsers.id, user.id));
    return { status: "locked", retryAfterMs: lock };
  }
  return { status: "invalid" };
}

const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;

/** True when an unsafe request comes from this origin (Origin header, else Sec-Fetch-Site). */
export function isSameOriginRequest(c: Context): boolean {
  const origin = c.req.header("Origin");
  if (origin) return origin === new URL(c.req.url).origin;
  return c.req.header("Sec-Fetch-Site") === "same-origin";
}

/**
 * Registered for `/api/v1/*` before every route: a request without an Authorization header but
 * with a valid admin session acts as that user's site and role. requireApiKey then passes because
 * `site` is set. Writes by cookie must come from our own origin (CSRF), on top of SameSite=Strict.
 */
export const sessionApiAuth = createMiddleware<AppEnv>(async function sessionApiAuth(c, next) {
  if (c.req.header("Authorization") || !getCookie(c, SESSION_COOKIE)) return next();
  const session = await resolveSession(c.env, c.var.db, getCookie(c, SESSION_COOKIE));
  if (!session) {
    throw apiError(401, "unauthorized", "The admin session has expired; log in again");
  }
  if (!SAFE_METHOD.test(c.req.method) && !isSameOriginRequest(c)) {
    throw apiError(403, "cross_origin", "Cross-origin writes with an admin session are refused");
  }
  c.set("site", session.site);
  c.set("role", session.user.role);
  c.set("adminUser", session.user);
  await next();
});
