/**
 * Verified identify (docs/architecture.md, "Trust boundaries"; README, "Identity verification"). A
 * browser can claim to be anyone, so the shop's backend signs the customer ID it writes into the
 * page. Two forms:
 * - timestamped (recommended): `{customer, ts, sig}` with `ts` the Unix time in seconds when the
 *   page was made and `sig` the lower-case hex HMAC-SHA256 of `customer + "." + ts` (UTF-8) under
 *   the site's identity secret (UTF-8); accepted while `ts` is at most IDENTIFY_WINDOW_SECONDS old
 *   (and at most CLOCK_SKEW_SECONDS ahead), so a signature copied out of a page stops working;
 * - plain (legacy, the form of the public contract): `{customer, sig}` with `sig` the HMAC of the
 *   customer ID alone. Still accepted — shops integrate against it — but it never expires: only a
 *   rotation of the secret ends it.
 * Only an identify whose signature matches links a cookie to a customer; any other links nothing
 * and is reported as rejected with the reason `unverified identify`. After a rotation the
 * previous secret still verifies for a grace period (`previousIdentitySecretUntil`), so pages
 * rendered just before it keep working.
 *
 * The same scheme as Intercom's and Segment's identity verification, so shop developers know it.
 */
import { eq, sql } from "drizzle-orm";
import { randomBytes, timingSafeEqualText, toBase64Url } from "../auth/crypto";
import { hmacSha256Hex } from "../auth/signing";
import { sites } from "../db/schema";
import type { Db, Site } from "../env";
import { SECONDS_PER_DAY } from "../lib/time";
import { forgetCachedSite } from "../sites/site-cache";

export const UNVERIFIED_IDENTIFY = "unverified identify";

/** How long a timestamped signature is accepted: a day covers a tab left open overnight. */
const IDENTIFY_WINDOW_SECONDS = SECONDS_PER_DAY;
/** How far ahead of this Worker's clock the shop's clock may be. */
const CLOCK_SKEW_SECONDS = 300;
/**
 * How long the previous secret keeps verifying after a rotation, unless the call asks for a grace
 * period: none, as the public contract says ("the old one stops working", README "Identity verification").
 */
export const DEFAULT_GRACE_HOURS = 0;
const MS_PER_HOUR = 3_600_000;

/**
 * What the shop's backend computes; exported for the demo shop and tests. With `ts` (Unix seconds)
 * the timestamped form, without it the plain legacy form.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function signCustomerId(secret: string, customerId: string, ts?: number): Promise<string> {
  return hmacSha256Hex(secret, ts === undefined ? customerId : `${customerId}.${ts}`);
}

/**
 * True when `sig` signs `customerId` (and `ts`, when given and within the window) under the site's
 * identity secret, or under the previous one during its grace period.
 */
export async function verifyIdentify(
  site: Pick<Site, "identitySecret" | "previousIdentitySecret" | "previousIdentitySecretUntil">,
  identify: { customer: string; sig?: string; ts?: number },
  now: number,
): Promise<boolean> {
  const { customer, sig, ts } = identify;
  if (!sig) return false;
  if (ts !== undefined) {
    const seconds = Math.floor(now / 1000);
    if (ts < seconds - IDENTIFY_WINDOW_SECONDS || ts > seconds + CLOCK_SKEW_SECONDS) return false;
  }
  const secrets = [site.identitySecret];
  if (site.previousIdentitySecret && (site.previousIdentitySecretUntil ?? 0) > now) {
    secrets.push(site.previousIdentitySecret);
  }
  for (const secret of secrets) {
    if (secret && (await timingSafeEqualText(await signCustomerId(secret, customer, ts), sig.toLowerCase()))) {
      return true;
    }
  }
  return false;
}

/**
 * Makes a new secret for the site. The one it replaces keeps verifying for `graceHours` (0: it
 * stops at once, e.g. after a leak); a secret still in its grace is dropped by the next rotation.
 */
export async function rotateIdentitySecret(
  db: Db,
  site: Pick<Site, "id" | "key">,
  graceHours: number,
  now: number,
): Promise<{ secret: string; previousValidUntil: number | null }> {
  const secret = `twid_${toBase64Url(randomBytes(32))}`;
  const until = graceHours > 0 ? now + graceHours * MS_PER_HOUR : null;
  // The secret replaced is read inside the UPDATE (SQLite's right-hand sides see the old row), not
  // from a cached site row that another isolate's rotation may have made stale.
  const [row] = await db
    .update(sites)
    .set({
      identitySecret: secret,
      previousIdentitySecret: until === null ? null : sql`${sites.identitySecret}`,
      previousIdentitySecretUntil:
        until === null ? null : sql`case when ${sites.identitySecret} is null then null else ${until} end`,
      updatedAt: now,
    })
    .where(eq(sites.id, site.id))
    .returning({ previousValidUntil: sites.previousIdentitySecretUntil });
  forgetCachedSite(site.key);
  return { secret, previousValidUntil: row?.previousValidUntil ?? null };
}
