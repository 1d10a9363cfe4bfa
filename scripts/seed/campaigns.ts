/**
 * The demo jewellery shop's banner campaigns (issue 5), made with the same functions the management
 * API uses (createCreative, createRule, setFallback), so the demo and the scenario tests exercise
 * real validation. Idempotent: a segment, pool, creative or rule that exists by name is left as is.
 *
 * All on the placement `home-hero` (300×250), tried in this order:
 *   10 cart reminder, personal code   cart_items > 0 and cart_age_hours >= 1
 *   20 reactivation, one-time code    days_since_last_order >= 180           (stops after conversion)
 *   30 earrings banner                cluster = "earrings"                   (3 a day per visitor)
 *   40 chronograph banner             cluster = "watches"
 *   50 acquisition banner             not (days_since_first_order <= 28)     (new customers excluded)
 * and a house banner as the placement's fallback. The shop's other slots — `category-top`,
 * `product-side` and `cart` — show a product spotlight as their fallback: the visitor's last cart
 * item, else the newest product of their top interest, with its picture and page from the catalogue.
 */
import { and, eq } from "drizzle-orm";
import { createCreative } from "../../worker/creatives/store";
import { createDb } from "../../worker/db/client";
import { couponPools, creatives, rules, segments, sites } from "../../worker/db/schema";
import type { Db } from "../../worker/env";
import { createRule, setFallback } from "../../worker/rules/store";

export const DEMO_PLACEMENT = "home-hero";
const PRODUCT_PLACEMENTS = ["category-top", "product-side", "cart"] as const;

const BOX =
  "display:block;box-sizing:border-box;width:300px;height:250px;padding:18px;text-decoration:none;font:15px/1.4 Georgia,serif";

const banner = (background: string, headline: string, body: string) =>
  `<a href="{{click_url}}" style="${BOX};background:${background};color:#2b1d10"><strong style="font-size:20px">${headline}</strong><p>${body}</p></a>`;

const DEMO_CAMPAIGNS = {
  segments: {
    cart: "cart_items > 0 and cart_age_hours >= 1",
    dormant: "days_since_last_order >= 180",
    earrings: 'cluster = "earrings"',
    watches: 'cluster = "watches"',
    acquisition: "not (days_since_first_order <= 28)",
  },
  pools: {
    cart: { name: "Cart reminder codes", prefix: "CART", validDays: 7, discount: "10 %" },
    dormant: { name: "Welcome back codes", prefix: "BACK", validDays: 30, discount: "15 %" },
  },
} as const;

async function idByName(
  db: Db,
  table: typeof segments | typeof couponPools | typeof creatives | typeof rules,
  siteId: number,
  name: string,
) {
  const [row] = await db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.siteId, siteId), eq(table.name, name)));
  return row?.id;
}

export async function seedCampaigns(
  d1: D1Database,
  { siteKey = "demo", shopUrl }: { siteKey?: string; shopUrl: string },
) {
  const db = createDb(d1);
  const [site] = await db.select().from(sites).where(eq(sites.key, siteKey));
  if (!site) throw new Error(`seed the site "${siteKey}" first`);
  const landing = (path: string) => new URL(path, shopUrl).href;

  const segment = async (name: string, expression: string) =>
    (await idByName(db, segments, site.id, name)) ??
    (await db.insert(segments).values({ siteId: site.id, name, expression }).returning())[0].id;
  const pool = async (p: { name: string; prefix: string; validDays: number; discount: string }) =>
    (await idByName(db, couponPools, site.id, p.name)) ??
    (
      await db
        .insert(couponPools)
        .values({ siteId: site.id, kind: "generated", ...p })
        .returning()
    )[0].id;
  const creative = async (name: string, template: string, path: string) =>
    (await idByName(db, creatives, site.id, name)) ??
    (
      await createCreative(
        db,
        site.id,
        { name, format: "html", template, width: 300, height: 250, landing_url: landing(path) },
        Date.now(),
        // HTMLRewriter (the markup allow-list's parser) exists only in workerd; `npm run dev`
        // seeds from Node. In workerd (test/decide/scenarios.test.ts) the real policy runs.
        typeof HTMLRewriter === "undefined" ? async () => {} : undefined,
      )
    ).id;

  const s = DEMO_CAMPAIGNS.segments;
  const ids = {
    cartSegment: await segment("Cart abandoners (1 h)", s.cart),
    dormantSegment: await segment("Dormant customers (180 days)", s.dormant),
    earringsSegment: await segment("Cluster earrings", s.earrings),
    watchesSegment: await segment("Cluster watches", s.watches),
    acquisitionSegment: await segment("Everyone but new customers (28 days)", s.acquisition),
    cartPool: await pool(DEMO_CAMPAIGNS.pools.cart),
    dormantPool: await pool(DEMO_CAMPAIGNS.pools.dormant),
    cartCreative: await creative(
      "Cart reminder",
      banner(
        "#fdf1e4",
        "Your cart is waiting",
        "{{#product_name}}{{product_name}} is still in your cart. {{/product_name}}{{#coupon}}{{discount}} off with your personal code <b>{{coupon}}</b>, valid until {{expires}}.{{/coupon}}{{^coupon}}Free shipping on every order.{{/coupon}}",
      ),
      "/cart",
    ),
    dormantCreative: await creative(
      "Reactivation",
      banner(
        "#eef3f8",
        "We missed you",
        "{{#coupon}}Come back for {{discount}} off with your one-time code <b>{{coupon}}</b> (until {{expires}}).{{/coupon}}{{^coupon}}See what is new this season.{{/coupon}}",
      ),
      "/",
    ),
    earringsCreative: await creative(
      "Earrings banner",
      banner("#f8eef2", "Earrings, gift-wrapped", "For someone who loves {{cluster}}: pearl studs to diamond drops."),
      "/category/earrings",
    ),
    watchesCreative: await creative(
      "Chronograph banner",
      banner("#eceff1", "The chronograph", "Built for you: automatic chronographs with a five-year warranty."),
      "/category/watches",
    ),
    acquisitionCreative: await creative(
      "Acquisition banner",
      banner("#f4f1ea", "Maison Bijou", "Fine jewellery, made in Pforzheim. Free engraving on your first order."),
      "/",
    ),
    productCreative: await creative(
      "Product spotlight",
      `<a href="{{click_url}}" style="${BOX};background:#fffaf3;color:#2b1d10">{{#product_image}}<img src="{{product_image}}" alt="" width="150" height="150" style="display:block;margin:0 auto 6px"><strong>{{product_name}}</strong><br>{{product_price}} EUR{{/product_image}}{{^product_image}}<strong style="font-size:20px">Maison Bijou</strong><p>Rings, earrings, necklaces and watches.</p>{{/product_image}}</a>`,
      "/",
    ),
    houseCreative: await creative(
      "House banner",
      banner("#ffffff", "Maison Bijou", "Rings, earrings, necklaces and watches."),
      "/",
    ),
  };

  const rule = async (name: string, input: Omit<Parameters<typeof createRule>[2], "name" | "placement">) =>
    (await idByName(db, rules, site.id, name)) ??
    (await createRule(db, site.id, { name, placement: DEMO_PLACEMENT, ...input })).id;
  const defaults = { starts_at: null, ends_at: null, holdout: null, enabled: true, stop_after_conversion: false };
  const ruleIds = {
    cart: await rule("Cart reminder with a personal code", {
      ...defaults,
      priority: 10,
      segment_id: ids.cartSegment,
      creative_id: ids.cartCreative,
      pool_id: ids.cartPool,
      cap_per_day: null,
    }),
    dormant: await rule("Reactivation with a one-time code", {
      ...defaults,
      priority: 20,
      segment_id: ids.dormantSegment,
      creative_id: ids.dormantCreative,
      pool_id: ids.dormantPool,
      cap_per_day: null,
      stop_after_conversion: true,
    }),
    earrings: await rule("Earrings banner", {
      ...defaults,
      priority: 30,
      segment_id: ids.earringsSegment,
      creative_id: ids.earringsCreative,
      pool_id: null,
      cap_per_day: 3,
    }),
    watches: await rule("Chronograph banner", {
      ...defaults,
      priority: 40,
      segment_id: ids.watchesSegment,
      creative_id: ids.watchesCreative,
      pool_id: null,
      cap_per_day: null,
    }),
    acquisition: await rule("Acquisition, new customers excluded", {
      ...defaults,
      priority: 50,
      segment_id: ids.acquisitionSegment,
      creative_id: ids.acquisitionCreative,
      pool_id: null,
      cap_per_day: null,
    }),
  };
  await setFallback(db, site.id, DEMO_PLACEMENT, ids.houseCreative);
  for (const placement of PRODUCT_PLACEMENTS) await setFallback(db, site.id, placement, ids.productCreative);
  return { siteId: site.id, creatives: ids, rules: ruleIds };
}
