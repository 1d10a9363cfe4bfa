/**
 * Picking the banner: among the enabled rules of the placement whose schedule, segment, frequency
 * cap and stop-after-conversion pass, the first by priority — or, on a placement with
 * `arbitration: "best"`, the one Thompson sampling picks (offers.ts); then the deterministic
 * holdout. Pure: it takes the cached rules and what the decision batch read, and returns the winner.
 */
import type { Profile } from "../segments/profile";
import { arbitrate, type OfferArbitration } from "./offers";
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
  /** Set on a placement with `arbitration: "best"`: the learned state of the visitor's context. */
  offers?: OfferArbitration | null;
};

/**
 * FNV-1a (32 bit) of "subject:ruleId" scaled to [0, 1): the same person always lands on the same
 * side of a rule's holdout, without state and without an async digest on the hot path.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function holdoutBucket(subject: string, ruleId: number): number {
  const text = `${subject}:${ruleId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

/** Why a rule is passed over for this visitor; null when it applies. */
export type SkipReason = "not_started" | "ended" | "capped" | "converted" | "segment_false";

type RuleCheck = [SkipReason, (rule: CompiledRule, input: Omit<ChoiceInput, "rules">) => boolean];

/** Each check says when it fails, in the order the decision makes them: schedule, cap, conversion, segment. */
const CHECKS: RuleCheck[] = [
  ["not_started", (rule, { now }) => rule.startsAt !== null && now < rule.startsAt],
  ["ended", (rule, { now }) => rule.endsAt !== null && now >= rule.endsAt],
  [
    "capped",
    (rule, { cookieId, caps }) =>
      cookieId !== null && rule.capPerDay !== null && (caps.get(rule.id) ?? 0) >= rule.capPerDay,
  ],
  [
    "converted",
    (rule, { cookieId, converted }) => cookieId !== null && rule.stopAfterConversion && converted.has(rule.id),
  ],
  ["segment_false", (rule, { profile, now }) => rule.matches !== null && !rule.matches(profile, now)],
];

/**
 * The first check of one rule that fails. chooseRule and the explain endpoint (explain.ts, which
 * lists every failing check with skipReasons) use the same checks, so an explanation cannot drift
 * from what /b does. A segment that fails to evaluate throws.
 */
function skipReason(rule: CompiledRule, input: Omit<ChoiceInput, "rules">): SkipReason | null {
  for (const [reason, fails] of CHECKS) if (fails(rule, input)) return reason;
  return null;
}

/** Every failing check of one rule, in order (explain: a rule capped and out of segment says both). */
export function skipReasons(rule: CompiledRule, input: Omit<ChoiceInput, "rules">): SkipReason[] {
  return CHECKS.filter(([, fails]) => fails(rule, input)).map(([reason]) => reason);
}

/**
 * Who the control group is drawn for: the person, not the device (README.md, "Banners (creatives, rules, `/b`, `/c`)"). A cookie
 * linked to a CRM customer hashes as `c:CUSTOMER_ID`, so every device of the customer lands on the
 * same side; an unlinked cookie hashes as itself (as before linking existed). Null when anonymous.
 */
function holdoutSubject(cookieId: string | null, customerId: string | null): string | null {
  if (cookieId === null) return null;
  return customerId ? `c:${customerId}` : cookieId;
}

/** The visitor falls into the rule's control group. Anonymous requests have no stable ID to hash: never. */
export function inHoldout(
  rule: CompiledRule,
  input: Pick<ChoiceInput, "cookieId" | "profile" | "siteHoldout">,
): boolean {
  const share = rule.holdout ?? input.siteHoldout;
  const subject = holdoutSubject(input.cookieId, input.profile.customerId);
  return subject !== null && share > 0 && holdoutBucket(subject, rule.id) < share;
}

/**
 * Holdouts are drawn per rule before arbitration: whether this person is in a rule's control group
 * is its hash (holdoutBucket), fixed before any sampling and independent of it. Under `best` every
 * eligible rule competes — held-out ones too — and a person whose winning rule holds them out sees
 * the fallback. Leaving held-out rules out of the contest instead would make a rule's control
 * group everyone it holds out but its exposed group only the contexts where it wins: two different
 * populations, and a dishonest uplift (test/decide/offers.test.ts).
 */
export function chooseRule(input: ChoiceInput): Choice {
  if (input.offers) return chooseBest(input, input.offers);
  for (const rule of input.rules) {
    if (skipReason(rule, input) !== null) continue;
    if (inHoldout(rule, input)) return { kind: "holdout", rule };
    return { kind: "rule", rule };
  }
  return { kind: "none" };
}

function chooseBest(input: ChoiceInput, offers: OfferArbitration): Choice {
  const eligible: CompiledRule[] = [];
  for (const rule of input.rules) if (skipReason(rule, input) === null) eligible.push(rule);
  // The draws are explain's (explain.ts runs arbitrate itself); /b keeps none.
  const { winner } = arbitrate(eligible, offers, false);
  if (!winner) return { kind: "none" };
  return { kind: inHoldout(winner, input) ? "holdout" : "rule", rule: winner };
}

/** Device class from the User-Agent, for the `device` field of segments. */
export function deviceOf(userAgent: string | undefined): "mobile" | "tablet" | "desktop" {
  const ua = userAgent ?? "";
  if (/iPad|Tablet|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (/Mobi|iPhone|Android/i.test(ua)) return "mobile";
  return "desktop";
}
