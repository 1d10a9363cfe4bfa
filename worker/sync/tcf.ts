/**
 * The IAB TCF consent signal a sync carries, as Prebid Server's `/setuid` takes it: `gdpr` (1 when
 * GDPR applies, 0 when not) and `gdpr_consent` (the TC string). With `gdpr=1` a partner ID is linked
 * and a cookie set only when the TC string grants purposes 1 ("store and access information on a
 * device") and 4 ("use profiles to select personalised advertising") — the purposes the tag's CMP
 * mode asks for too; a missing or unreadable string grants nothing. The string is decoded by the
 * IAB's own @iabtechlabtcf/core, never parsed by hand.
 */
import { TCString } from "@iabtechlabtcf/core";

export type TcfSignal = { gdpr?: "0" | "1"; consent?: string };

export function tcfAllowsSync(signal: TcfSignal): boolean {
  if (signal.gdpr !== "1") return true;
  if (!signal.consent) return false;
  try {
    const tc = TCString.decode(signal.consent);
    return tc.purposeConsents.has(1) && tc.purposeConsents.has(4);
  } catch {
    return false;
  }
}

/** Placeholders in a partner's sync URL, filled like Prebid's `{{.GDPR}}` / `{{.GDPRConsent}}`. */
export const GDPR_PLACEHOLDER = "{gdpr}";
export const GDPR_CONSENT_PLACEHOLDER = "{gdpr_consent}";
