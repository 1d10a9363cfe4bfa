/**
 * `POST /api/v1/placements/:placement/explain`: why this visitor gets what. It runs the decision's
 * own pieces — the same one keyed read of the decision row, on the cookie's shard, the same cached rule set, the same
 * per-rule checks (skipReasons / inHoldout from choose.ts, every failing check listed) and the same renderer — but records no
 * impression and claims no code: for a pool it only looks at what the visitor already holds and
 * whether a free code is left.
 */

import { and, desc, eq } from "drizzle-orm";
import { assignmentsByPool, couponHolder } from "../coupons";
import type { CompiledCreative, JsonFields } from "../creatives/compile";
import { toD1 } from "../db/raw";
import { customers, rules, visitors } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY, utcDayKey } from "../lib/time";
import { mayPersonalise } from "../privacy/consent";
import { buildProfile } from "../segments/profile";
import { peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";
import { deviceOf, inHoldout, type SkipReason, skipReasons } from "./choose";
import { clusterFor, productValues } from "./decision-path";
import { type DecisionSite, type DecisionState, emptyState, loadDecisionState } from "./load";
import { arbitrate, DEFAULT_SETTING, learnedOffers, offersFor, UNKNOWN_CONTEXT, visitorContext } from "./offers";
import { fitsFormat, type ResponseFormat } from "./render";
import { type CompiledRule, cachedRuleSet, loadRuleSet } from "./rule-set";

export type ExplainWho = { cookie_id: string } | { customer: string };

type RuleExplanation = {
  id: number;
  name: string;
  priority: number;
  matched: boolean;
  /** Every reason, joined by "; " (the list in `reasons` when a rule fails more than one check). */
  reason: string;
  reasons?: string[];
  /** Under `best`, for each eligible rule: its posterior mean in the visitor's context and this decision's sample. */
  offer?: { mean: number; sample: number; impressions: number };
};

type CouponExplanation = {
  pool_id: number;
  /**
   * held: the visitor's live code; would_claim: a first view claims one; redeemed / dry: shown
   * without a code; no_consent: the visitor may not be personalised, /b shows and claims no code.
   */
  state: "held" | "would_claim" | "redeemed" | "dry" | "no_consent";
  code: string | null;
  expires: string | null;
};

export type Explanation = {
  placement: string;
  arbitration: { mode: "priority" | "best"; objective: "clicks" | "redemptions" | "revenue"; context: string };
  visitor: { cookie_id: string | null; customer: string | null; known: boolean };
  rules: RuleExplanation[];
  chosen: number | null;
  holdout: { rule: number; share: number } | null;
  outcome: "rule" | "holdout" | "fallback" | "empty";
  coupon: CouponExplanation | null;
  creative: { id: number; format: string; width: number; height: number; body: string | JsonFields } | null;
};

const REASONS: Record<SkipReason, string> = {
  not_started: "outside schedule: not started yet",
  ended: "outside schedule: ended",
  capped: "capped: the visitor saw it as often as the daily cap allows",
  converted: "converted: stops after conversion, and this visitor converted",
  segment_false: "segment false: the visitor is not in the rule's segment",
};

/**
 * The visitor whose decision is explained: the cookie given, or the customer's most recent cookie,
 * asked of every database of the site's set (docs/architecture.md, "Shards": a customer's cookies
 * are each on their own shard).
 */
async function resolveWho(
  env: ShardEnv,
  site: ExplainSite,
  who: ExplainWho,
): Promise<{ cookieId: string | null; customer: string | null }> {
  if ("cookie_id" in who) return { cookieId: who.cookie_id, customer: null };
  const latest = await Promise.all(
    peopleOfSite(env, site).map(async ({ db }) => {
      const [linked] = await db
        .select({ cookieId: visitors.cookieId, lastSeenAt: visitors.lastSeenAt })
        .from(visitors)
        .where(and(eq(visitors.siteId, site.id), eq(visitors.customerId, who.customer)))
        .orderBy(desc(visitors.lastSeenAt))
        .limit(1);
      return linked;
    }),
  );
  // The first database wins a tie, as the first row of one database's order did.
  type Latest = { cookieId: string; lastSeenAt: number } | undefined;
  const linked = latest.reduce<Latest>(
    (best, row) => (row && (!best || row.lastSeenAt > best.lastSeenAt) ? row : best),
    undefined,
  );
  return { cookieId: linked?.cookieId ?? null, customer: who.customer };
}

/** The site as explain needs it: the decision's fields and where its people live. */
export type ExplainSite = DecisionSite & { shards: ShardSet };

/** What the coupon would be, without claiming: the held code, or whether the pool has one to give. */
async function couponOf(
  db: Db,
  state: DecisionState,
  rule: CompiledRule,
  now: number,
): Promise<CouponExplanation | null> {
  const pool = rule.pool;
  if (!pool || !state.cookieId) return null;
  const customerId = state.visitor?.customerId ?? state.customer?.customerId ?? null;
  const holders = customerId
    ? [couponHolder({ customerId }), couponHolder({ cookieId: state.cookieId })]
    : [couponHolder({ cookieId: state.cookieId })];
  const held = assignmentsByPool(state.assignments, holders, now).get(pool.id);
  if (held?.redeemedAt != null) return { pool_id: pool.id, state: "redeemed", code: held.code, expires: null };
  if (held) {
    return { pool_id: pool.id, state: "held", code: held.code, expires: new Date(held.expiresAt).toISOString() };
  }
  if (pool.kind === "list") {
    const free = await toD1(db)
      .prepare("select 1 as one from coupons where pool_id = ?1 and holder is null limit 1")
      .bind(pool.id)
      .first();
    if (!free) return { pool_id: pool.id, state: "dry", code: null, expires: null };
  }
  // The date a claim now would give (worker/coupons/claim.ts: now + valid_days): a preview reading
  // "valid until" with no date was issue 30's complaint.
  const expires = new Date(now + pool.validDays * MS_PER_DAY).toISOString();
  return { pool_id: pool.id, state: "would_claim", code: null, expires };
}

/** Sample text in place of a code that only a real view would claim. */
const CODE_TO_COME = "YOUR-CODE";

function render(
  state: DecisionState,
  creative: CompiledCreative,
  rule: CompiledRule | null,
  coupon: CouponExplanation | null,
  format: ResponseFormat,
) {
  const showCode = coupon && (coupon.state === "held" || coupon.state === "would_claim");
  const body = creative.render({
    ...productValues(state, creative.landingUrl),
    cluster: clusterFor(state, rule),
    // The landing URL itself: an explanation mints no click token, so clicking it records nothing.
    click_url: creative.landingUrl,
    coupon: showCode ? (coupon.code ?? CODE_TO_COME) : "",
    discount: showCode ? (rule?.pool?.discount ?? "") : "",
    expires: showCode ? (coupon.expires ? utcDayKey(Date.parse(coupon.expires)) : "") : "",
  });
  return {
    id: creative.id,
    format: format === "json" ? "json" : creative.format,
    width: creative.width,
    height: creative.height,
    body,
  };
}

export async function explainPlacement(
  env: ShardEnv,
  db: Db,
  site: ExplainSite,
  placement: string,
  who: ExplainWho,
  opts: { format?: ResponseFormat; userAgent?: string; country?: string; now?: number } = {},
): Promise<Explanation> {
  const now = opts.now ?? Date.now();
  const format = opts.format ?? "html";
  const { cookieId, customer } = await resolveWho(env, site, who);
  let state = await loadDecisionState(db, env, site.key, { cookieId, partner: null }, now);
  const current = state.site;
  if (!current) throw apiError(404, "not_found", "No such site");
  if (!state.visitor && customer) {
    // A CRM customer no cookie is linked to yet: its customer fields alone make the profile.
    const [row] = await peopleFor(env, site, customer)
      .db.select()
      .from(customers)
      .where(and(eq(customers.siteId, site.id), eq(customers.customerId, customer), eq(customers.copy, false)));
    if (!row) throw apiError(404, "not_found", `No customer "${customer}" in this site`);
    state = { ...state, cookieId: null, customer: row };
  }
  if ("cookie_id" in who && !state.visitor) {
    // An unknown cookie is still explained (it is what a first visit gets), but said so.
    state = { ...state, cookieId: who.cookie_id };
  }
  // The same rule /b applies (privacy/consent.ts; decision-path.ts): a visitor who may not be
  // personalised is decided as an anonymous browser — no profile, caps, conversions or code.
  const personalised = mayPersonalise(current.consentMode, state.visitor?.consent ?? null);
  const decided = personalised ? state : { ...emptyState(), site: current };
  const ruleSet =
    cachedRuleSet(site.id, current.rulesVersion) ?? (await loadRuleSet(db, site.id, current.rulesVersion));
  const compiled = new Map((ruleSet.byPlacement.get(placement) ?? []).map((r) => [r.id, r]));
  const all = await db
    .select({ id: rules.id, name: rules.name, priority: rules.priority, enabled: rules.enabled })
    .from(rules)
    .where(and(eq(rules.siteId, site.id), eq(rules.placement, placement)))
    .orderBy(rules.priority, rules.id);
  const profile = buildProfile(decided.visitor, decided.customer, {
    placement,
    country: opts.country,
    device: deviceOf(opts.userAgent),
  });
  const input = {
    profile,
    cookieId: decided.cookieId,
    caps: decided.caps,
    converted: decided.converted,
    siteHoldout: current.holdout,
    now,
  };
  const setting = ruleSet.settings.get(placement) ?? DEFAULT_SETTING;
  const context = decided.cookieId === null ? UNKNOWN_CONTEXT : visitorContext(decided.visitor, decided.customer);
  const eligible: CompiledRule[] = [];
  let winner: CompiledRule | null = null;
  let winnerName = "";
  const explained: RuleExplanation[] = all.map((row) => {
    const why = explainRule(row);
    return personalised || why.reason === "disabled"
      ? why
      : { ...why, reason: `no consent (decided as for an anonymous browser, without a code): ${why.reason}` };
  });
  function explainRule(row: (typeof all)[number]): RuleExplanation {
    const base = { id: row.id, name: row.name, priority: row.priority };
    const rule = compiled.get(row.id);
    if (!row.enabled || !rule) return { ...base, matched: false, reason: "disabled" };
    if (!fitsFormat(rule.creative, format)) {
      return {
        ...base,
        matched: false,
        reason: `format: its ${rule.creative.format} creative cannot be served as ${format}`,
      };
    }
    let skips: SkipReason[];
    try {
      skips = skipReasons(rule, input);
    } catch (error) {
      return { ...base, matched: false, reason: `segment error: ${String(error)} (the placement serves its fallback)` };
    }
    // Every failing check, not only the first: a marketer fixing the schedule learns the cap is next.
    if (skips.length > 0) {
      const reasons = skips.map((skip) => REASONS[skip]);
      return { ...base, matched: false, reason: reasons.join("; "), reasons };
    }
    if (setting.arbitration === "best") {
      // Filled in below, once every eligible rule has drawn its sample.
      eligible.push(rule);
      return { ...base, matched: true, reason: "" };
    }
    // Named, not numbered: people know their rules by name (issue 30); the ID follows for scripts.
    if (winner) {
      return { ...base, matched: true, reason: `matches, but “${winnerName}” (rule ${winner.id}) comes first` };
    }
    winner = rule;
    winnerName = row.name;
    if (inHoldout(rule, input)) {
      return { ...base, matched: true, reason: "matched; the visitor is in this rule's holdout and sees the fallback" };
    }
    return { ...base, matched: true, reason: "matched: this rule is shown" };
  }
  if (setting.arbitration === "best" && eligible.length > 0) {
    // The same sampling /b does (choose.ts chooseBest), over the same learned state.
    const learned = await learnedOffers(db, site.id, ruleSet.bestPlacements, now);
    const { winner: sampled, draws } = arbitrate(eligible, offersFor(learned, placement, context, setting.objective));
    winner = sampled;
    const won = draws.find((d) => d.ruleId === sampled?.id);
    const nameOf = (id: number) => all.find((row) => row.id === id)?.name ?? "";
    for (const entry of explained) {
      const draw = draws.find((d) => d.ruleId === entry.id);
      if (!draw || !won) continue;
      const figures = `posterior mean ${draw.mean.toFixed(4)}, sample ${draw.sample.toFixed(4)} (${draw.impressions} impressions in context “${context}”)`;
      entry.offer = { mean: draw.mean, sample: draw.sample, impressions: draw.impressions };
      entry.reason =
        draw.ruleId === won.ruleId
          ? inHoldout(eligible.find((r) => r.id === draw.ruleId) as CompiledRule, input)
            ? `matched; ${figures}: the highest sample, and the visitor is in this rule's holdout and sees the fallback`
            : `matched; ${figures}: the highest sample — this rule is shown`
          : `matches; ${figures}: below “${nameOf(won.ruleId)}” (rule ${won.ruleId}), whose sample decided`;
    }
  }
  const chosen = winner as CompiledRule | null;
  const holdout = chosen && inHoldout(chosen, input);
  const fallback = ruleSet.fallbacks.get(placement);
  const usableFallback = fallback && fitsFormat(fallback, format) ? fallback : null;
  let coupon: CouponExplanation | null = null;
  let creative: Explanation["creative"] = null;
  let outcome: Explanation["outcome"];
  if (chosen && !holdout) {
    coupon = personalised
      ? await couponOf(db, state, chosen, now)
      : chosen.pool && { pool_id: chosen.pool.id, state: "no_consent", code: null, expires: null };
    creative = render(decided, chosen.creative, chosen, coupon, format);
    outcome = "rule";
  } else {
    if (usableFallback) creative = render(decided, usableFallback, null, null, format);
    outcome = holdout ? "holdout" : usableFallback ? "fallback" : "empty";
  }
  return {
    placement,
    arbitration: { mode: setting.arbitration, objective: setting.objective, context },
    visitor: {
      cookie_id: input.cookieId,
      customer: state.visitor?.customerId ?? state.customer?.customerId ?? customer,
      known: state.visitor !== null || state.customer !== null,
    },
    rules: explained,
    chosen: chosen?.id ?? null,
    holdout: chosen && holdout ? { rule: chosen.id, share: chosen.holdout ?? current.holdout } : null,
    outcome,
    coupon,
    creative,
  };
}
