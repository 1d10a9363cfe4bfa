/**
 * Ready-to-paste third-party ad tags for a placement (`GET /api/v1/placements/:placement/tag`):
 * an iframe of `/b/:placement` with the ad server's own click and cache-buster macros in place.
 *
 * `click=` comes last and carries the network's UNESCAPED click macro: the ad server expands it to
 * its redirector URL with its own `?` and `&`s, and `/b` takes everything after `click=` as the
 * prefix (worker/decide/click-macro.ts) — the convention third-party ad servers use, so that the
 * macro needs no second escaping. The cache-buster rides as `ord=`, which `/b` ignores.
 */
import { and, asc, eq } from "drizzle-orm";
import { creatives, placementFallbacks, rules } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";

export const AD_NETWORKS = ["gam", "xandr", "generic"] as const;
export type AdNetwork = (typeof AD_NETWORKS)[number];

/** Each ad server's macros: GAM (Google Ad Manager) and Xandr (Microsoft Invest/Monetize). */
export const NETWORK_MACROS: Record<AdNetwork, { click: string; cacheBuster: string } | null> = {
  gam: { click: "%%CLICK_URL_UNESC%%", cacheBuster: "%%CACHEBUSTER%%" },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax, not a JS template
  xandr: { click: "${CLICK_URL}", cacheBuster: "${CACHEBUSTER}" },
  generic: null,
};

/**
 * The placement's slot size: its fallback creative's, else that of the first enabled rule's
 * creative (by priority). 404 for a placement that has neither: no tag for a slot that serves nothing.
 */
export async function placementSize(db: Db, siteId: number, placement: string) {
  const [fallback] = await db
    .select({ width: creatives.width, height: creatives.height })
    .from(placementFallbacks)
    .innerJoin(creatives, eq(creatives.id, placementFallbacks.creativeId))
    .where(and(eq(placementFallbacks.siteId, siteId), eq(placementFallbacks.placement, placement)));
  if (fallback) return fallback;
  const [rule] = await db
    .select({ width: creatives.width, height: creatives.height })
    .from(rules)
    .innerJoin(creatives, eq(creatives.id, rules.creativeId))
    .where(and(eq(rules.siteId, siteId), eq(rules.placement, placement), eq(rules.enabled, true)))
    .orderBy(asc(rules.priority), asc(rules.id))
    .limit(1);
  if (!rule) throw apiError(404, "not_found", `No rule or fallback for placement "${placement}" in this site`);
  return rule;
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The iframe tag. Site key and placement are pattern-checked already; they are escaped anyway. */
export function adTag(input: {
  edge: string;
  siteKey: string;
  placement: string;
  width: number;
  height: number;
  network: AdNetwork;
}): string {
  const macros = NETWORK_MACROS[input.network];
  let src = `${input.edge}/b/${encodeURIComponent(input.placement)}?site=${encodeURIComponent(input.siteKey)}`;
  if (macros) src += `&ord=${macros.cacheBuster}&click=${macros.click}`;
  return (
    `<iframe src="${escapeAttribute(src)}" width="${input.width}" height="${input.height}" ` +
    `frameborder="0" scrolling="no" marginwidth="0" marginheight="0" style="border:0;overflow:hidden"></iframe>`
  );
}
