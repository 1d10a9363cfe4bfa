/**
 * Verified identify (docs/architecture.md, "Trust boundaries"). A browser can claim to be anyone, so the
 * shop's backend signs the customer ID it writes into the page: `sig` is the lower-case hex
 * HMAC-SHA256 of the customer ID (UTF-8) under the site's identity secret (UTF-8). Only an
 * identify whose signature matches links a cookie to a customer; any other links nothing and is
 * reported as rejected with the reason `unverified identify`.
 *
 * The same scheme as Intercom's and Segment's identity verification, so shop developers know it.
 */
import { eq } from "drizzle-orm";
import { randomBytes, timingSafeEqualText, toBase64Url } from "../auth/crypto";
import { hmacSha256Hex } from "../auth/signing";
import { sites } from "../db/schema";
import type { Db, Site } from "../env";
import { forgetCachedSite } from "../sites/site-cache";

export const UNVERIFIED_IDENTIFY = "unverified identify";

/** What the shop's backend computes; exported for the demo shop and tests. */
export function signCustomerId(secret: string, customerId: string): Promise<string> {
  return hmacSha256Hex(secret, customerId);
}

/** True when `sig` is the signature of `customerId` under the site's identity secret. */
export async function verifyIdentify(
  site: Pick<Site, "identitySecret">,
  customerId: string,
  sig: string | undefined,
): Promise<boolean> {
  if (!site.identitySecret || !sig) return false;
  return timingSafeEqualText(await signCustomerId(site.identitySecret, customerId), sig.toLowerCase());
}

/** Makes a new secret for the site (the old one stops working at once in this isolate). */
export async function rotateIdentitySecret(db: Db, site: Pick<Site, "id" | "key">): Promise<string> {
  const secret = `twid_${toBase64Url(randomBytes(32))}`;
  await db.update(sites).set({ identitySecret: secret, updatedAt: Date.now() }).where(eq(sites.id, site.id));
  forgetCachedSite(site.key);
  return secret;
}
