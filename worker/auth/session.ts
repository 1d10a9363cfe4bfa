/**
 * The admin UI's session: e-mail + password login (PBKDF2, worker/auth/password.ts) with a slow-down
 * after repeated failures, and a jose-signed JWT (worker/auth/jwt.ts, audience "admin-session",
 * 8 hours) in the `__Host-tw_admin` cookie (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain).
 * The `__Host-` prefix makes browsers refuse the cookie unless it is host-only: it belongs to the
 * Worker's own host and is never sent to a shop's origin (not even a sibling subdomain can plant
 * one); under BASE_PATH the admin is not served at all (worker/lib/base-path.ts, README
 * "Same-origin route"). Browsers treat http://localhost as secure, so it works in `npm run dev`.
 *
 * The same session authenticates the JSON management API (`sessionApiAuth`), so the admin UI uses
 * exactly the API scripts use. Every request re-reads the user row: a deleted user or a changed
 * role takes effect at once, not when the token expires. The token carries the user's session
 * version; logout, a password change and a role change bump it, so every older token (on any
 * device) stops working at once.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { adminUsers, sites } from "../db/schema";
import type { AppEnv, Db, Role, Site } from "../env";
import { apiError } from "../errors";
import { signToken, verifyToken } from "./jwt";
import { attemptBounds, clearAttempts, refundAttempt, reserveAttempt } from "./login-attempts";
import { hashPassword, verifyPassword } from "./password";

export const SESSION_COOKIE = "__Host-tw_admin";
/** @internal Exported for tests; the Worker itself does not import it. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** The session key is deployment-wide (a user's site is a claim), not derived per site. */
const SESSION_KEY_SUBJECT = "admin";

/** Password checks per login: one e-mail rarely has accounts in more than a few sites. */
const MAX_ACCOUNTS_PER_EMAIL = 5;

export type AdminUser = { id: number; email: string; role: Role };
/** `sessionVersion`: the user's version when the token was issued; a later bump revokes it. */
export type SessionClaims = { userId: number; siteId: number; role: Role; sessionVersion?: number };

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
    { sub: String(claims.userId), site: claims.siteId, role: claims.role, sv: claims.sessionVersion ?? 0 },
    SESSION_TTL_SECONDS,
    now,
  );
}

export async function verifySession(
  env: Env,
  token: string,
  now = Date.now(),
): Promise<Required<SessionClaims> | null> {
  const claims = await verifyToken(sessionSecret(env), SESSION_KEY_SUBJECT, "admin-session", token, now);
  if (!claims || typeof claims.sub !== "string" || typeof claims.site !== "number") return null;
  if (typeof claims.sv !== "number") return null;
  const userId = Number(claims.sub);
  if (!Number.isInteger(userId)) return null;
  return { userId, siteId: claims.site, role: claims.role as Role, sessionVersion: claims.sv };
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
  // The version check rides on the row read every request does anyway: revocation costs nothing.
  const [row] = await db
    .select({ user: { id: adminUsers.id, email: adminUsers.email, role: adminUsers.role }, site: sites })
    .from(adminUsers)
    .innerJoin(sites, eq(sites.id, adminUsers.siteId))
    .where(
      and(
        eq(adminUsers.id, claims.userId),
        eq(adminUsers.siteId, claims.siteId),
        eq(adminUsers.sessionVersion, claims.sessionVersion),
      ),
    );
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
  | { status: "ok"; user: AdminUser; siteId: number; sessionVersion: number }
  | { status: "invalid" }
  | { status: "locked"; retryAfterMs: number };

let dummyHash: Promise<string> | undefined;

/**
 * Checks e-mail and password, answering alike for known and unknown e-mails: the slow-down is
 * counted per (e-mail, network), per network and per e-mail whether or not an account exists
 * (worker/auth/login-attempts.ts), and
 * an unknown e-mail costs a PBKDF2 run against a dummy hash, as a known one costs its own. A
 * locked pair is refused without looking at the password. The same e-mail may hold accounts in
 * several sites (each its own row): the first whose password matches is signed in.
 */
export async function login(
  db: Db,
  env: Env,
  email: string,
  password: string,
  ip: string,
  now = Date.now(),
): Promise<LoginResult> {
  const normalized = email.trim().toLowerCase();
  const [pair, network, account] = await attemptBounds(sessionSecret(env), normalized, ip);
  // Each bound only when the one before granted: a refused guess counts against nothing further.
  let lockedUntil = 0;
  for (const bound of [pair, network, account]) {
    const reservation = await reserveAttempt(db, bound.key, now, bound.free);
    if (!reservation.granted) return { status: "locked", retryAfterMs: reservation.retryAfterMs };
    lockedUntil = Math.max(lockedUntil, reservation.lockedUntil);
  }
  const accounts = await db
    .select()
    .from(adminUsers)
    .where(eq(sql`lower(${adminUsers.email})`, normalized))
    .orderBy(asc(adminUsers.id))
    .limit(MAX_ACCOUNTS_PER_EMAIL);
  if (accounts.length === 0) {
    dummyHash ??= hashPassword("tagwerk-no-such-user");
    await verifyPassword(password, await dummyHash);
  }
  for (const user of accounts) {
    if (await verifyPassword(password, user.passwordHash)) {
      await clearAttempts(db, pair.key);
      await clearAttempts(db, account.key);
      await refundAttempt(db, network.key, network.free);
      return {
        status: "ok",
        user: { id: user.id, email: user.email, role: user.role },
        siteId: user.siteId,
        sessionVersion: user.sessionVersion,
      };
    }
  }
  if (lockedUntil > now) return { status: "locked", retryAfterMs: lockedUntil - now };
  return { status: "invalid" };
}

/** Ends every session of the user (logout, password or role change): their tokens name an older version. */
export async function revokeSessions(db: Db, userId: number) {
  await db
    .update(adminUsers)
    .set({ sessionVersion: sql`${adminUsers.sessionVersion} + 1` })
    .where(eq(adminUsers.id, userId));
}

const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;

/** True when an unsafe request comes from this origin (Origin header, else Sec-Fetch-Site). */
function isSameOriginRequest(c: Context): boolean {
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
