/**
 * Picking the banner: the first enabled rule of the placement, by priority, whose schedule,
 * segment, frequency cap and stop-after-conversion pass; then the deterministic holdout. Pure: it
 * takes the cached rules and what the decision batch read, and returns the winner.
 */
import type { Profile } from "../segments/profile";
import type { CompiledRule } from "./rule-set";

export type Choice = { kind: "rule"; rule: CompiledRule } | { kind: "holdout"; rule: CompiledRule } | { kind: "none" };

export type ChoiceInput = {
  rules: CompiledRule[];
  profile: Profile;
  /** null for an anonymous request: no caps, no holdout, no conversions to look at. */
  cookieId: string | null;
  caps: Map<number, number>;
  converted: Set<number>;
  siteHoldout: number;
  now: number;
};

/**
 * FNV-1a (32 bit) of "cookieId:ruleId" scaled to [0, 1): the same visitor always lands on the same
 * side of a rule's holdout, without state and without an async digest on the hot path.
 */
export function holdoutBucket(cookieId: string, ruleId: number): number {
  const text = `${cookieId}:${ruleId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

export function chooseRule(input: ChoiceInput): Choice {
  const { profile, cookieId, caps, converted, now } = input;
  for (const rule of input.rules) {
    if (rule.startsAt !== null && now < rule.startsAt) continue;
    if (rule.endsAt !== null && now >= rule.endsAt) continue;
    if (cookieId !== null && rule.capPerDay !== null && (caps.get(rule.id) ?? 0) >= rule.capPerDay) continue;
    if (cookieId !== null && rule.stopAfterConversion && converted.has(rule.id)) continue;
    if (rule.matches && !rule.matches(profile, now)) continue;
    const share = rule.holdout ?? input.siteHoldout;
    // Anonymous requests have no stable ID to hash: they are never put into a control group.
    if (cookieId !== null && share > 0 && holdoutBucket(cookieId, rule.id) < share) return { kind: "holdout", rule };
    return { kind: "rule", rule };
  }
  return { kind: "none" };
}

/** Device class from the User-Agent, for the `device` field of segments. */
export function deviceOf(userAgent: string | undefined): "mobile" | "tablet" | "desktop" {
  const ua = userAgent ?? "";
  if (/iPad|Tablet|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (/Mobi|iPhone|Android/i.test(ua)) return "mobile";
  return "desktop";
}
