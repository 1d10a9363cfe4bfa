/**
 * Read replicas for the decision path (README.md, "Scaling a shop"), through the D1 Sessions API.
 *
 * A decision is a read (one batch) that may be answered by the nearest replica:
 * `withSession("first-unconstrained")` lets D1 pick any instance for the first query. The one
 * write a decision can make — a first coupon claim — goes to the primary through the same session.
 * So that the visitor's NEXT decision sees that claim even on a replica that has not caught up,
 * the session's bookmark after the claim travels to the browser in the `tw_bm` cookie and the
 * next session starts from it (`withSession(bookmark)`: D1 waits until the replica is at least that
 * current). Without the bookmark nothing breaks — a stale replica shows no assignment, the claim
 * batch finds the holder's existing code on the primary and serves it — it just costs the second
 * round trip again, which is what the bookmark saves.
 *
 * A bookmark is a position in the database's commit log: no personal data.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { createDb } from "../db/client";
import type { AppEnv, Db } from "../env";

/** @internal Exported for tests; the Worker itself does not import it. */
export const BOOKMARK_COOKIE = "tw_bm";
/** Replicas lag by seconds at most; the bookmark only has to outlive that. */
const BOOKMARK_MAX_AGE = 300;
/** D1 bookmarks are dash-separated hex fields; anything else is ignored. */
const BOOKMARK_PATTERN = /^[0-9a-f-]{1,128}$/i;

export type DecisionSession = { db: Db; bookmark(): string | null };

function openDecisionSession(d1: D1Database, bookmark: string | undefined): DecisionSession {
  // A binding without the Sessions API (an older runtime) reads the primary, as before.
  if (typeof d1.withSession !== "function") return { db: createDb(d1), bookmark: () => null };
  let session: D1DatabaseSession | undefined;
  if (bookmark && BOOKMARK_PATTERN.test(bookmark)) {
    try {
      session = d1.withSession(bookmark);
    } catch {
      // A bookmark of another database or a corrupt one: read unconstrained instead.
    }
  }
  session ??= d1.withSession("first-unconstrained");
  const s = session;
  // drizzle's D1 driver only calls prepare() and batch(), which a session has.
  return { db: createDb(s as unknown as D1Database), bookmark: () => s.getBookmark() };
}

/** The session for this /b request, from the visitor's bookmark cookie if any. */
export function decisionSessionFor(c: Context<AppEnv>): DecisionSession {
  return openDecisionSession(c.env.DB, getCookie(c, BOOKMARK_COOKIE));
}

/** After a write the next decision must see: hand the session's bookmark to the browser. */
export function carryBookmark(c: Context<AppEnv>, session: DecisionSession) {
  const bookmark = session.bookmark();
  if (!bookmark) return;
  // SameSite=None: /b is framed on the ad network's page, a third-party context.
  setCookie(c, BOOKMARK_COOKIE, bookmark, {
    httpOnly: true,
    secure: true,
    sameSite: "None",
    path: "/b",
    maxAge: BOOKMARK_MAX_AGE,
  });
}
