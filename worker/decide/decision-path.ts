/**
 * The decision path for one banner (docs/architecture.md, "Decision path"): identity, one D1
 * batch, the cached rules, the first matching rule and its holdout, the coupon, the rendered
 * creative and the impression message. Any fault serves the placement's fallback creative, and if
 * even that fails the built-in empty one: an ad network never sees a 5xx.
 */
import { randomHex } from "../auth/crypto";
import { verifyVisitorToken } from "../auth/jwt";
import { mintClickToken } from "../clicks/tokens";
import { type Assignment, assignmentsByPool, claimThroughGate, couponHolder } from "../coupons";
import type { CompiledCreative } from "../creatives/compile";
import { safeUrl, type TemplateValues } from "../creatives/template";
import type { Db } from "../env";
import { budgetOf, CLAIM_BUDGET_FACTOR, OverBudget, withinBudget } from "../lib/budget";
import { IsolateCache } from "../lib/isolate-cache";
import { logError } from "../lib/log";
import { utcDayKey } from "../lib/time";
import { COOKIE_ID_PATTERN } from "../lib/visitor-cookie";
import type { ImpressionMessage } from "../pipeline/messages";
import { mayPersonalise } from "../privacy/consent";
import { buildProfile } from "../segments/profile";
import type { BrowserCaps } from "./cap-cookie";
import { type Choice, chooseRule, deviceOf } from "./choose";
import {
  type DecisionSite,
  type DecisionState,
  emptyState,
  type Identity,
  loadDecisionState,
  loadFallback,
} from "./load";
import { learnedOffers, offersFor, UNKNOWN_CONTEXT, visitorContext } from "./offers";
import { emptyCreative, fitsFormat, type Rendered, type ResponseFormat, renderResponse } from "./render";
import { type CompiledRule, cachedRuleSet, lastKnownRuleSet, loadRuleSet, type RuleSet } from "./rule-set";
import { trustedDecisionSite } from "./trusted-sites";

export type DecideInput = {
  siteKey: string;
  placement: string;
  format: ResponseFormat;
  /** The tw_id cookie, if any. */
  cookie: string | undefined;
  /** `t`: a visitor token minted by tagwerk. */
  token: string | undefined;
  partner: { key: string; userId: string } | null;
  /** `click`: the ad network's click macro, a prefix for our click URL. */
  clickMacro: string | undefined;
  userAgent: string | undefined;
  country: string | undefined;
  /** scheme://host of this Worker, for the click URL. */
  origin: string;
  now: number;
  /** Opted out (tw_optout) or rate-limited: no identity, no rules, only the placement's fallback. */
  anonymous?: boolean;
  /** The client's address: only a key of the claim bounds (coupons/claim-gate.ts), never stored. */
  ip?: string;
  /** This browser's own cap counts (tw_cap cookie and isolate note, cap-cookie.ts). */
  browserCaps?: BrowserCaps | null;
  /** Work after the response (`waitUntil`): a claim's code copies (coupons/person-codes.ts). */
  defer?: (work: Promise<unknown>) => Promise<unknown> | undefined;
};

/**
 * What a decision comes to: a banner to answer with — a rule's creative, the placement's fallback
 * or the built-in empty creative, every one a 200 — or a site key nobody registered (404).
 * `claimed`: this decision wrote a coupon claim, which the next decision's replica read must see.
 */
export type Decision =
  | { kind: "unknown-site" }
  | { kind: "banner"; rendered: Rendered; impression: ImpressionMessage | null; claimed: boolean };

type Banner = Extract<Decision, { kind: "banner" }>;

/** The built-in empty creative (1×1): what a placement without any fallback answers. */
function emptyBanner(format: ResponseFormat, impression: ImpressionMessage | null = null): Banner {
  return { kind: "banner", rendered: emptyCreative(format), impression, claimed: false };
}

async function resolveIdentity(secret: string, input: DecideInput): Promise<Identity> {
  if (input.anonymous) return { cookieId: null, partner: null };
  if (input.cookie && COOKIE_ID_PATTERN.test(input.cookie)) return { cookieId: input.cookie, partner: null };
  if (input.partner) return { cookieId: null, partner: input.partner };
  if (input.token) {
    const cookieId = await verifyVisitorToken(secret, input.siteKey, input.token, input.now);
    if (cookieId && COOKIE_ID_PATTERN.test(cookieId)) return { cookieId, partner: null };
  }
  return { cookieId: null, partner: null };
}

function impressionUid(): string {
  return randomHex(16);
}

/** The code to show: the holder's live assignment, or a freshly claimed one (a second round trip). */
async function couponFor(
  db: Db,
  state: DecisionState,
  siteId: number,
  rule: CompiledRule,
  now: number,
  gate: {
    env: Env;
    siteKey: string;
    ip: string;
    shards: number[] | null;
    defer?: (work: Promise<unknown>) => Promise<unknown> | undefined;
  },
): Promise<{ id: number; code: string; expiresAt: number; fresh: boolean } | null> {
  const pool = rule.pool;
  const cookieId = state.cookieId;
  if (!pool || !cookieId) return null;
  const customerId = state.visitor?.customerId ?? null;
  const holders = customerId
    ? [couponHolder({ customerId }), couponHolder({ cookieId })]
    : [couponHolder({ cookieId })];
  const held: Assignment | undefined = assignmentsByPool(state.assignments, holders, now).get(pool.id);
  if (held?.redeemedAt != null) return null;
  if (held && held.holder === holders[0]) {
    return { id: held.couponId, code: held.code, expiresAt: held.expiresAt, fresh: false };
  }
  const claimed = await claimThroughGate(gate.env, db, {
    ...gate,
    siteId,
    pool,
    holder: holders[0],
    cookieId,
    customerId,
    ruleId: rule.id,
    visits: state.visitor?.visits ?? 0,
    now,
  });
  return claimed
    ? { id: claimed.couponId, code: claimed.code, expiresAt: claimed.expiresAt, fresh: claimed.fresh }
    : null;
}

/** Product URLs may be shop-relative (as the tag reports them): resolved against the landing URL. */
function absolute(url: string | null, base: string): string {
  if (!url) return "";
  try {
    return new URL(url, base).href;
  } catch {
    return "";
  }
}

export function productValues(state: DecisionState, landingUrl: string): TemplateValues {
  const p = state.product;
  if (!p) return {};
  return {
    product_name: p.name ?? "",
    product_price: p.price == null ? "" : p.price.toFixed(2),
    product_sku: p.sku,
    product_category: p.category ?? "",
    product_url: absolute(p.url, landingUrl),
    product_image: absolute(p.imageUrl, landingUrl),
  };
}

/** The customer's first cluster that the rule's segment names, else their first cluster (also for explain.ts). */
export function clusterFor(state: DecisionState, rule: CompiledRule | null): string {
  const clusters = state.customer?.clusters ?? [];
  return clusters.find((c) => rule?.segmentLiterals.includes(c)) ?? clusters[0] ?? "";
}

async function clickUrl(secret: string, input: DecideInput, claims: Parameters<typeof mintClickToken>[1]) {
  const ours = `${input.origin}/c/${await mintClickToken(secret, claims, input.now)}`;
  // The network's macro is a prefix it expands to its own redirector; only http(s) is honoured.
  return input.clickMacro && safeUrl(input.clickMacro) ? input.clickMacro + encodeURIComponent(ours) : ours;
}

type Serve = {
  creative: CompiledCreative;
  rule: CompiledRule | null;
  holdout: boolean;
  /** The visitor's context (offers.ts): what the impression and its click teach the learned arbitration. */
  context?: string;
  coupon: { id: number; code: string; expiresAt: number; discount: string } | null;
};

async function serve(
  secret: string,
  input: DecideInput,
  state: DecisionState,
  site: NonNullable<DecisionState["site"]>,
  chosen: Serve,
): Promise<Banner> {
  const { creative, rule, coupon } = chosen;
  const uid = impressionUid();
  const shownRule = chosen.holdout ? null : rule;
  const url = await clickUrl(secret, input, {
    site: site.key,
    siteId: site.id,
    impression: uid,
    ruleId: shownRule?.id ?? null,
    placement: input.placement,
    creativeId: creative.id,
    holdout: chosen.holdout,
    ...(shownRule && chosen.context ? { context: chosen.context } : {}),
    landingUrl: creative.landingUrl,
    coupon: coupon?.code ?? null,
    couponParam: site.couponParam,
  });
  const values: TemplateValues = {
    ...productValues(state, creative.landingUrl),
    cluster: clusterFor(state, shownRule),
    click_url: url,
    coupon: coupon?.code ?? "",
    discount: coupon?.discount ?? "",
    expires: coupon ? utcDayKey(coupon.expiresAt) : "",
  };
  const rendered = renderResponse(input.format, creative, values, {
    impression: uid,
    rule: shownRule?.id ?? null,
    coupon: coupon ? { code: coupon.code, expires: new Date(coupon.expiresAt).toISOString() } : null,
    click_url: url,
  });
  return {
    kind: "banner",
    rendered,
    claimed: false,
    impression: {
      kind: "impression",
      siteId: site.id,
      uid,
      placement: input.placement,
      ruleId: rule?.id ?? null,
      creativeId: creative.id,
      cookieId: state.cookieId,
      couponId: coupon?.id ?? null,
      holdout: chosen.holdout,
      capped: !chosen.holdout && rule?.capPerDay != null,
      ...(!chosen.holdout && rule?.capPerDay != null && state.visitor?.customerId
        ? { holder: `c:${state.visitor.customerId}` }
        : {}),
      ...(shownRule && chosen.context ? { context: chosen.context } : {}),
      ts: input.now,
    },
  };
}

function fallbackOf(ruleSet: RuleSet | undefined, input: DecideInput): CompiledCreative | null {
  const creative = ruleSet?.fallbacks.get(input.placement);
  return creative && fitsFormat(creative, input.format) ? creative : null;
}

/**
 * Decides and renders. Never throws: every fault ends in fallbackAfterFault(), and an ad network
 * never sees a 5xx (docs/architecture.md, "Decision path").
 */
export async function decide(env: Env, db: Db, input: DecideInput): Promise<Decision> {
  const secret = env.SIGNING_SECRET;
  let state: DecisionState | undefined;
  let ruleSet: RuleSet | undefined;
  try {
    // D1 time budgets (worker/lib/budget.ts): past them the fallback is served from the isolate's
    // caches with no further D1 call; a code a late claim still takes stays with the visitor.
    const budget = budgetOf(env);
    const identity = await resolveIdentity(secret, input);
    const held = fromIsolate(input, identity);
    state =
      held ?? (await withinBudget(loadDecisionState(db, env, input.siteKey, identity, input.now), budget, "read"));
    const site = state.site;
    if (!site) return { kind: "unknown-site" };
    lastKnownSites.set(input.siteKey, site);
    // A visitor who may not be personalised (refused consent, or never granted it on a site that
    // requires it: privacy/consent.ts) gets the decision an anonymous browser gets: no profile,
    // no coupon, no cookie ID on the impression.
    if (!mayPersonalise(site.consentMode, state.visitor?.consent ?? null)) state = { ...emptyState(), site };
    // The steady state: the rules of this version are in the isolate already, no second trip.
    ruleSet =
      cachedRuleSet(site.id, site.rulesVersion) ??
      (await withinBudget(loadRuleSet(db, site.id, site.rulesVersion), budget, "rules"));
    const rules = (ruleSet.byPlacement.get(input.placement) ?? []).filter((r) => fitsFormat(r.creative, input.format));
    const profile = buildProfile(state.visitor, state.customer, {
      placement: input.placement,
      country: input.country,
      device: deviceOf(input.userAgent),
    });
    // Caps as this browser knows them too, ahead of the queue (README.md, "Frequency caps under bursts").
    const caps = input.browserCaps?.merge(state.cookieId, state.caps) ?? state.caps;
    // Next best offer (offers.ts): the learned state of a `best` placement comes from the isolate,
    // read again at most every 30 s and never past the budget.
    const context = state.cookieId === null ? UNKNOWN_CONTEXT : visitorContext(state.visitor, state.customer);
    const setting = ruleSet.settings.get(input.placement);
    const offers =
      setting?.arbitration === "best" && rules.length > 0 && !input.anonymous
        ? offersFor(
            await learnedOffers(db, site.id, ruleSet.bestPlacements, input.now, (work) =>
              withinBudget(work, budget, "learned offers"),
            ),
            input.placement,
            context,
            setting.objective,
          )
        : null;
    const choice: Choice = input.anonymous
      ? { kind: "none" }
      : chooseRule({
          rules,
          profile,
          cookieId: state.cookieId,
          caps,
          converted: state.converted,
          siteHoldout: site.holdout,
          now: input.now,
          offers,
        });
    if (choice.kind === "rule") {
      const rule = choice.rule;
      input.browserCaps?.served(state.cookieId, rule, caps);
      // A partner user ID is not authenticated (it travels in URLs and bid requests): it gets the
      // rule's targeting but never a personal code (README, "Partner IDs").
      const coupon = identity.partner
        ? null
        : await withinBudget(
            couponFor(db, state, site.id, rule, input.now, {
              env,
              siteKey: site.key,
              ip: input.ip ?? "unknown",
              shards: site.shards,
              defer: input.defer,
            }),
            budget * CLAIM_BUDGET_FACTOR,
            "claim",
          );
      const out = await serve(secret, input, state, site, {
        creative: rule.creative,
        rule,
        holdout: false,
        // Only a `best` placement learns: a `priority` one neither seals the context into its
        // click token nor writes per-context counters (each costs every banner something).
        context: offers ? context : undefined,
        coupon: coupon && { ...coupon, discount: rule.pool?.discount ?? "" },
      });
      return { ...out, claimed: coupon?.fresh === true };
    }
    const fallback = fallbackOf(ruleSet, input);
    if (!fallback) {
      // Nothing to show; a holdout is still recorded (the control group is what uplift is measured on),
      // and otherwise that the placement was asked for (the Placements page lists it: impressions.ts).
      return emptyBanner(
        input.format,
        choice.kind === "holdout" ? holdoutOnly(site.id, input, state, choice.rule) : seenOnly(site.id, input),
      );
    }
    return await serve(secret, input, state, site, {
      creative: fallback,
      rule: choice.kind === "holdout" ? choice.rule : null,
      holdout: choice.kind === "holdout",
      coupon: null,
    });
  } catch (error) {
    logError("decide.failed", { site: input.siteKey, placement: input.placement, error });
    // Over budget: D1 is stalling, so no further D1 call and nothing half-read — only what the
    // isolate holds. Any other fault may use what this decision read, and one more D1 read.
    return fallbackAfterFault(secret, input, error instanceof OverBudget ? {} : { db, state, ruleSet });
  }
}

/**
 * A browser with no identity (no cookie, partner ID or valid token) has no profile, caps,
 * assignments or conversions: its decision needs only the site and the compiled rules, which the
 * isolate holds — no D1 round trip (docs/architecture.md, "Decision path"; trusted-sites.ts). Null
 * when the isolate does not hold them fresh, or when the placement is unknown to the cached rules
 * (it may be new: D1 decides).
 */
function fromIsolate(input: DecideInput, identity: Identity): DecisionState | null {
  if (identity.cookieId !== null || identity.partner !== null) return null;
  const site = trustedDecisionSite(input.siteKey, input.now);
  const rules = site && cachedRuleSet(site.id, site.rulesVersion);
  if (!site || !rules || !(rules.byPlacement.has(input.placement) || rules.fallbacks.has(input.placement))) return null;
  return { ...emptyState(), site };
}

/**
 * The empty creative's message: no rule and no creative, so it counts no impression; the consumer
 * only notes the placement as seen. No cookie: who asked does not matter here.
 */
function seenOnly(siteId: number, input: DecideInput): ImpressionMessage {
  return {
    kind: "impression",
    siteId,
    uid: impressionUid(),
    placement: input.placement,
    ruleId: null,
    creativeId: null,
    cookieId: null,
    couponId: null,
    holdout: false,
    capped: false,
    ts: input.now,
  };
}

function holdoutOnly(siteId: number, input: DecideInput, state: DecisionState, rule: CompiledRule): ImpressionMessage {
  return {
    kind: "impression",
    siteId,
    uid: impressionUid(),
    placement: input.placement,
    ruleId: rule.id,
    creativeId: null,
    cookieId: state.cookieId,
    couponId: null,
    holdout: true,
    ts: input.now,
  };
}

/**
 * The one fallback path after a fault: the placement's fallback creative, served anonymously (no
 * rule, no coupon), looked for in what the decision already read (`state`, `ruleSet`), then in the
 * isolate's caches (no D1), then — only with `db` — in a D1 read of its own that needs no visitor,
 * so that as little as possible has to work. If none is found, or serving it fails too, the
 * built-in empty creative.
 */
async function fallbackAfterFault(
  secret: string,
  input: DecideInput,
  read: { db?: Db; state?: DecisionState; ruleSet?: RuleSet },
): Promise<Banner> {
  try {
    let site = read.state?.site;
    let fallback = fallbackOf(read.ruleSet, input);
    if (!site || !fallback) {
      site = lastKnownSites.get(input.siteKey);
      fallback = site ? fallbackOf(lastKnownRuleSet(site.id), input) : null;
    }
    if ((!site || !fallback) && read.db) {
      const direct = await loadFallback(read.db, input.siteKey, input.placement);
      site = direct?.site;
      fallback = direct && fitsFormat(direct.creative, input.format) ? direct.creative : null;
    }
    if (site && fallback) {
      return await serve(secret, input, { ...(read.state ?? emptyState()), site }, site, {
        creative: fallback,
        rule: null,
        holdout: false,
        coupon: null,
      });
    }
  } catch (error) {
    logError("decide.fallback_failed", { site: input.siteKey, placement: input.placement, error });
  }
  return emptyBanner(input.format);
}

/**
 * The last site row this isolate read for each key, however old: with lastKnownRuleSet() it lets
 * the fallback be served when D1 is down or stalls (not trusted-sites.ts, whose entries are trusted
 * for deciding and expire).
 */
const lastKnownSites = new IsolateCache<DecisionSite>(Number.POSITIVE_INFINITY);
