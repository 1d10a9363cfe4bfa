/**
 * The decision logic alone, in Node, against the budget of 50 µs (docs/architecture.md, "Budgets and where they are measured"): the rules
 * of one placement compiled as the Worker's rule-set cache holds them (worker/decide/rule-set.ts),
 * then per profile what worker/decide/decision-path.ts does between the D1 batch and the response —
 * chooseRule (schedule, cap, conversion, segment, holdout) and renderResponse (escaped template
 * into the iframe document). Minting the click token (an HMAC through WebCrypto) is timed on its
 * own: it is a platform call, not our logic. Worst case: all 200 rules on one placement, the only
 * matching one last; typical: 20 rules per placement, as in the generated database. Under
 * `arbitration: "best"` (worker/decide/offers.ts) every rule is checked and every eligible one
 * draws a Beta sample from the learned state of the visitor's context: timed with the 200 rules as
 * above, and with 200 rules that all match (200 samples per decision, the sampler's worst case).
 */
import { mintClickToken } from "../worker/clicks/tokens";
import { compileCreative } from "../worker/creatives/compile";
import { chooseRule } from "../worker/decide/choose";
import { type OfferStats, offersFor, visitorContext } from "../worker/decide/offers";
import { renderResponse } from "../worker/decide/render";
import type { CompiledRule } from "../worker/decide/rule-set";
import { MS_PER_DAY } from "../worker/lib/time";
import { compileSegment } from "../worker/segments";
import type { Profile } from "../worker/segments/profile";
import { creativeTemplate, segmentExpressions } from "./generate";
import { makeProfiles } from "./profiles";

export type DecisionFigures = {
  profiles: number;
  /** µs per decision, median of 5 passes over all profiles. */
  worstCaseMicros: number;
  typicalMicros: number;
  clickTokenMicros: number;
  rulesWorst: number;
  rulesTypical: number;
  /** Arbitration `best`: the worst-case rules, and as many rules that all match. */
  bestMicros: number;
  bestAllEligibleMicros: number;
};

/**
 * A learned state for every rule in every context the profiles have: a few hundred impressions
 * and some clicks each, as a placement has after a few days.
 */
function learnedFor(rules: CompiledRule[], profiles: Profile[], now: number) {
  const contexts = new Set(profiles.map((p) => visitorContext(p.visitor, p.customer)));
  const byContext = new Map<string, Map<number, OfferStats>>();
  for (const context of contexts) {
    byContext.set(
      context,
      new Map(
        rules.map((r) => [r.id, { impressions: 300 + r.id, clicks: 3 + (r.id % 11), redemptions: 0, revenue: 0 }]),
      ),
    );
  }
  return { at: now, of: "p", placements: new Map([["p", { byContext, revenuePerRedemption: 1 }]]) };
}

function compileRules(count: number, now: number): CompiledRule[] {
  const expressions = segmentExpressions(count);
  return expressions.map((expression, i) => {
    const last = i === count - 1;
    return {
      id: i + 1,
      priority: (i + 1) * 10,
      startsAt: i % 7 === 0 ? now - MS_PER_DAY : null,
      endsAt: null,
      capPerDay: i % 5 === 0 ? 3 : null,
      holdout: last ? 0 : null,
      stopAfterConversion: i % 4 === 0,
      matches: last ? null : compileSegment(expression),
      segmentLiterals: [...expression.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]),
      creative: compileCreative({
        id: i + 1,
        format: "html",
        template: creativeTemplate(i),
        width: 300,
        height: 250,
        landingUrl: `https://shop.bench.example/offer/${i}`,
      }),
      pool: last ? { id: 1, kind: "list", prefix: "", validDays: 30, discount: "10 %" } : null,
    };
  });
}

type Learned = ReturnType<typeof learnedFor>;

function decideOne(rules: CompiledRule[], profile: Profile, now: number, learned?: Learned) {
  // What decision-path.ts adds for a `best` placement: the visitor's context and its learned state.
  const offers = learned ? offersFor(learned, "p", visitorContext(profile.visitor, profile.customer), "clicks") : null;
  const choice = chooseRule({
    offers,
    rules,
    profile,
    cookieId: profile.cookieId,
    caps: new Map(),
    converted: new Set(),
    siteHoldout: 0.05,
    now,
  });
  const rule = choice.kind === "rule" ? choice.rule : rules[rules.length - 1];
  const clusters = profile.customer?.clusters ?? [];
  return renderResponse(
    "html",
    rule.creative,
    {
      cluster: clusters.find((c) => rule.segmentLiterals.includes(c)) ?? clusters[0] ?? "",
      click_url: "https://edge.bench.example/c/eyJhbGciOiJIUzI1NiJ9.e30.signature",
      coupon: "B00001A",
      discount: "10 %",
      expires: "2026-12-31",
    },
    { impression: "0123456789abcdef0123456789abcdef", rule: rule.id, coupon: null, click_url: null },
  );
}

function timePasses(rules: CompiledRule[], profiles: Profile[], now: number, learned?: Learned): number {
  const perPass: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < 6; pass++) {
    const started = performance.now();
    for (const p of profiles) sink += decideOne(rules, p, now, learned).body.length;
    // Pass 0 warms the JIT and is not counted.
    if (pass > 0) perPass.push(((performance.now() - started) * 1000) / profiles.length);
  }
  if (sink === 0) throw new Error("nothing rendered");
  return perPass.sort((a, b) => a - b)[Math.floor(perPass.length / 2)];
}

export async function measureDecisionLogic(opts: {
  rules: number;
  profiles: number;
  now: number;
}): Promise<DecisionFigures> {
  const profiles = makeProfiles(opts.profiles, opts.now, 7);
  const worst = compileRules(opts.rules, opts.now);
  const typicalCount = Math.max(2, Math.floor(opts.rules / 10));
  const typical = compileRules(typicalCount, opts.now);
  const worstCaseMicros = timePasses(worst, profiles, opts.now);
  const typicalMicros = timePasses(typical, profiles, opts.now);
  const bestMicros = timePasses(worst, profiles, opts.now, learnedFor(worst, profiles, opts.now));
  const allEligible = worst.map((rule) => ({ ...rule, matches: null, startsAt: null, capPerDay: null }));
  const bestAllEligibleMicros = timePasses(
    allEligible,
    profiles,
    opts.now,
    learnedFor(allEligible, profiles, opts.now),
  );

  const tokens = Math.min(2_000, opts.profiles);
  const claims = {
    site: "bench",
    siteId: 1,
    impression: "x",
    ruleId: 1,
    landingUrl: "https://shop.bench.example/",
    coupon: "B1",
    couponParam: "coupon",
  };
  const secret = "bench-signing-secret-0123456789abcdef";
  await mintClickToken(secret, claims, opts.now);
  const started = performance.now();
  for (let i = 0; i < tokens; i++) await mintClickToken(secret, { ...claims, impression: String(i) }, opts.now);
  const clickTokenMicros = ((performance.now() - started) * 1000) / tokens;
  return {
    profiles: profiles.length,
    worstCaseMicros,
    typicalMicros,
    clickTokenMicros,
    rulesWorst: worst.length,
    rulesTypical: typical.length,
    bestMicros,
    bestAllEligibleMicros,
  };
}
