/**
 * Everything one decision needs from D1: the visitor's decision row, ONE keyed read
 * (worker/decide/decision-rows.ts) — the visitor, its customer, the product to show, today's cap
 * counts, the coupon assignments and the rules converted on, caps and conversions over every cookie
 * of the visitor's customer. The site comes from the isolate (trusted-sites.ts) and is read from D1
 * only when the isolate has not held it for SITE_TRUST_MS; the rules come from the isolate's rule
 * cache (rule-set.ts) by the site's rules version.
 */
import { and, eq } from "drizzle-orm";
import type { AssignmentRow } from "../coupons";
import { type CompiledCreative, compileCreative } from "../creatives/compile";
import { toD1 } from "../db/raw";
import { creatives, type customers, placementFallbacks, type products, sites, type visitors } from "../db/schema";
import type { Db } from "../env";
import { peopleFor, type ShardEnv } from "../shards/routing";
import { resolvePartner } from "../sync/cookie-sync";
import { parseDecisionRow, readDecisionRow, type StoredDecisionRow } from "./decision-rows";
import { rememberDecisionSite, trustedDecisionSite } from "./trusted-sites";

export type Identity = {
  /** From the tw_id cookie or a verified visitor token. */
  cookieId: string | null;
  /** A partner user ID to resolve through id_links when there is no cookie ID. */
  partner: { key: string; userId: string } | null;
};

export type DecisionSite = {
  id: number;
  key: string;
  holdout: number;
  couponParam: string;
  rulesVersion: number;
  consentMode: "required" | "implied";
  /** Where the site's people live (worker/shards/routing.ts): null is HOME. */
  shards: number[] | null;
};

export type DecisionState = {
  site: DecisionSite | null;
  /** The visitor's cookie ID as resolved (request, token or id_links); null when anonymous. */
  cookieId: string | null;
  visitor: typeof visitors.$inferSelect | null;
  customer: typeof customers.$inferSelect | null;
  /** Today's impressions per rule, over every cookie of the visitor's customer. */
  caps: Map<number, number>;
  assignments: AssignmentRow[];
  /** Rules this visitor (or any cookie of its customer) converted on. */
  converted: Set<number>;
  product: typeof products.$inferSelect | null;
};

const SITE_COLUMNS = {
  id: sites.id,
  key: sites.key,
  holdout: sites.holdout,
  couponParam: sites.couponParam,
  rulesVersion: sites.rulesVersion,
  consentMode: sites.consentMode,
  shards: sites.shards,
};

/** The site by key: from the isolate while it is trusted, else one read (and remembered). */
async function decisionSite(db: Db, siteKey: string, now: number): Promise<DecisionSite | null> {
  const held = trustedDecisionSite(siteKey, now);
  if (held) return held;
  const row = await toD1(db)
    .prepare(
      `select id, key, holdout, coupon_param as couponParam, rules_version as rulesVersion,
        consent_mode as consentMode, shards from sites where key = ?1`,
    )
    .bind(siteKey)
    .first<Omit<DecisionSite, "shards"> & { shards: string | null }>();
  if (!row) return null;
  const site = { ...row, shards: row.shards === null ? null : (JSON.parse(row.shards) as number[]) };
  rememberDecisionSite(site, now);
  return site;
}

/**
 * The decision row of the visitor, on its shard (worker/shards/routing.ts); `home` reads a site
 * whose people are still in HOME, through the request's D1 session (read-replica.ts). A partner
 * user ID is resolved first where its link lives (the shard of `PARTNER:USER_ID`), which costs a
 * partner banner of a sharded site a second read.
 */
async function readVisitorRow(
  home: Db,
  env: ShardEnv,
  site: DecisionSite,
  who: { cookieId: string } | { partner: string; userId: string },
): Promise<StoredDecisionRow | null> {
  // `return await`: a rejection of the read is handled here at once, not one microtask later when
  // the returned promise is adopted (workerd reports a rejection without a handler as unhandled).
  if (site.shards === null) return await readDecisionRow(toD1(home), site.id, who);
  if ("cookieId" in who) return await readDecisionRow(peopleFor(env, site, who.cookieId).d1, site.id, who);
  const cookieId = await resolvePartner(env, site, who.partner, who.userId);
  return cookieId ? await readDecisionRow(peopleFor(env, site, cookieId).d1, site.id, { cookieId }) : null;
}

export async function loadDecisionState(
  db: Db,
  env: ShardEnv,
  siteKey: string,
  identity: Identity,
  now: number,
): Promise<DecisionState> {
  const site = await decisionSite(db, siteKey, now);
  if (!site) return emptyState();
  const who = identity.cookieId
    ? { cookieId: identity.cookieId }
    : identity.partner
      ? { partner: identity.partner.key, userId: identity.partner.userId }
      : null;
  const stored = who && (await readVisitorRow(db, env, site, who));
  // A cookie without a row has sent nothing tagwerk kept: no profile, caps, codes or conversions.
  if (!stored) return { ...emptyState(), site, cookieId: identity.cookieId };
  const row = parseDecisionRow(stored, now);
  return {
    site,
    cookieId: row.cookieId,
    visitor: row.visitor,
    customer: row.customer,
    caps: row.caps,
    assignments: row.assignments,
    converted: row.converted,
    product: row.product,
  };
}

/** A decision state without a visitor: what the fallback after a fault is rendered with. */
export function emptyState(): DecisionState {
  return {
    site: null,
    cookieId: null,
    visitor: null,
    customer: null,
    caps: new Map(),
    assignments: [],
    converted: new Set(),
    product: null,
  };
}

/** The site and the placement's fallback creative, read on their own (after a fault). */
export async function loadFallback(
  db: Db,
  siteKey: string,
  placement: string,
): Promise<{ site: DecisionSite; creative: CompiledCreative } | null> {
  const [row] = await db
    .select({
      site: SITE_COLUMNS,
      creative: creatives,
    })
    .from(sites)
    .innerJoin(
      placementFallbacks,
      and(eq(placementFallbacks.siteId, sites.id), eq(placementFallbacks.placement, placement)),
    )
    .innerJoin(creatives, eq(creatives.id, placementFallbacks.creativeId))
    .where(eq(sites.key, siteKey));
  return row ? { site: row.site, creative: compileCreative(row.creative) } : null;
}
