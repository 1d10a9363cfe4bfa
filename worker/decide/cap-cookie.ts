/**
 * A browser's own frequency caps, exact before the queue consumer writes (README.md, "Frequency
 * caps under bursts"). Cap counters in D1 arrive through the events queue, so banners asked for
 * back to back, or all at once, read counts that are behind. Two things close that gap for the
 * browser that asks:
 *
 * - a small signed cookie per site, `tw_cap_SITE` = `DAY.RULE-COUNT_RULE-COUNT.MAC`: today's counts
 *   of the capped rules this browser was shown, which every `/b` answer that serves a capped rule
 *   rewrites. MAC = HMAC-SHA256 (first 128 bits, hex) over site, tw_id, day and the pairs, under a
 *   key derived from SIGNING_SECRET: a cookie copied from another browser or edited is ignored. It
 *   holds no personal data, only rule IDs and counts;
 * - the isolate's own note of what it served to this browser today, for requests that arrive
 *   together and so all carry the same (stale) cookie: the note is updated synchronously between
 *   the cap check and the next await, so of concurrent requests in one isolate only the allowed
 *   number see an open cap.
 *
 * A decision counts max(stored, cookie, note) per rule. Across a customer's devices the stored
 * counters still decide, as far as the queue has delivered them (a lag of seconds).
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { timingSafeEqualText } from "../auth/crypto";
import { deriveKey, hmacSha256Hex } from "../auth/signing";
import { utcDayNumber } from "../lib/time";
import { readCookieId } from "../lib/visitor-cookie";
import type { CompiledRule } from "./rule-set";

const COOKIE_PREFIX = "tw_cap_";
/** Rules kept in the cookie: enough for every capped rule a page shows in a day, and a small cookie. */
const MAX_RULES = 24;
/** Browsers the isolate remembers (oldest dropped first): a bounded map, never a leak. */
const NOTE_MAX = 10_000;
const SECONDS_PER_DAY = 86_400;

/** site:cookie:day → rule → count this isolate knows the browser reached today. */
const notes = new Map<string, Map<number, number>>();

/**
 * Forgets the isolate's notes: what a request landing on another isolate would see (tests).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function forgetServedNotes(): void {
  notes.clear();
}

const keys = new Map<string, Promise<string>>();
function capKey(secret: string, siteKey: string): Promise<string> {
  let key = keys.get(siteKey);
  if (!key) {
    key = deriveKey(secret, "cap-cookie", siteKey);
    if (keys.size >= NOTE_MAX) keys.delete(keys.keys().next().value as string);
    keys.set(siteKey, key);
  }
  return key;
}

async function mac(secret: string, siteKey: string, cookieId: string, day: number, pairs: string) {
  return (await hmacSha256Hex(await capKey(secret, siteKey), `${siteKey}\n${cookieId}\n${day}\n${pairs}`)).slice(0, 32);
}

function encodePairs(counts: Map<number, number>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, MAX_RULES)
    .map(([rule, count]) => `${rule}-${count}`)
    .join("_");
}

function decodePairs(pairs: string): Map<number, number> | null {
  const counts = new Map<number, number>();
  if (pairs === "") return counts;
  for (const pair of pairs.split("_")) {
    const match = /^(\d{1,9})-(\d{1,6})$/.exec(pair);
    if (!match) return null;
    counts.set(Number(match[1]), Number(match[2]));
  }
  return counts.size > MAX_RULES ? null : counts;
}

/** This browser's caps for one `/b` request: what its cookie says, and what the isolate noted. */
export class BrowserCaps {
  private changed = false;

  constructor(
    readonly siteKey: string,
    readonly cookieId: string,
    readonly day: number,
    private readonly counts: Map<number, number>,
  ) {}

  private get noteKey() {
    return `${this.siteKey}:${this.cookieId}:${this.day}`;
  }

  /** max(stored, cookie, isolate note) per rule, for the decision of `cookieId`; the stored map alone otherwise. */
  merge(cookieId: string | null, stored: Map<number, number>): Map<number, number> {
    if (cookieId !== this.cookieId) return stored;
    const merged = new Map(stored);
    const note = notes.get(this.noteKey);
    for (const source of [this.counts, note ?? new Map<number, number>()]) {
      for (const [rule, count] of source) merged.set(rule, Math.max(merged.get(rule) ?? 0, count));
    }
    return merged;
  }

  /**
   * The decision served `rule` to this browser: count it, in the isolate's note at once (the caller
   * has not awaited since merge()) and in the cookie this answer sets. `caps` is what merge() gave.
   */
  served(cookieId: string | null, rule: CompiledRule, caps: Map<number, number>): void {
    if (cookieId !== this.cookieId || rule.capPerDay === null) return;
    const count = (caps.get(rule.id) ?? 0) + 1;
    this.counts.set(rule.id, count);
    this.changed = true;
    const key = this.noteKey;
    const note = notes.get(key) ?? new Map<number, number>();
    note.set(rule.id, Math.max(note.get(rule.id) ?? 0, count));
    notes.delete(key);
    if (notes.size >= NOTE_MAX) notes.delete(notes.keys().next().value as string);
    notes.set(key, note);
  }

  /** Sets the updated cookie on the answer, when this decision counted a capped rule. */
  async write(c: Context, secret: string | undefined): Promise<void> {
    if (!this.changed || !secret) return;
    const pairs = encodePairs(this.counts);
    const value = `${this.day}.${pairs}.${await mac(secret, this.siteKey, this.cookieId, this.day, pairs)}`;
    const endOfDay = (this.day + 1) * SECONDS_PER_DAY - Math.floor(Date.now() / 1000);
    // /b runs in ad networks' iframes, a third-party context: SameSite=None (and so Secure).
    setCookie(c, `${COOKIE_PREFIX}${this.siteKey}`, value, {
      path: "/",
      httpOnly: true,
      secure: true,
      sameSite: "None",
      maxAge: Math.max(60, endOfDay),
    });
  }
}

/**
 * The request's browser caps: null without a tw_id (an anonymous browser has no caps). A cookie of
 * another day, another tw_id, or with a wrong MAC counts as empty.
 */
export async function readBrowserCaps(
  c: Context,
  secret: string | undefined,
  siteKey: string,
  now: number,
): Promise<BrowserCaps | null> {
  const cookieId = readCookieId(c);
  // Without a signing secret the cookie cannot be trusted: the stored counters alone decide.
  if (!cookieId || !secret) return null;
  const day = utcDayNumber(now);
  const raw = getCookie(c, `${COOKIE_PREFIX}${siteKey}`) ?? "";
  const match = /^(\d{1,7})\.([0-9_-]{0,400})\.([0-9a-f]{32})$/.exec(raw);
  let counts = new Map<number, number>();
  if (match && Number(match[1]) === day) {
    const expected = await mac(secret, siteKey, cookieId, day, match[2]);
    if (await timingSafeEqualText(expected, match[3])) counts = decodePairs(match[2]) ?? counts;
  }
  return new BrowserCaps(siteKey, cookieId, day, counts);
}
